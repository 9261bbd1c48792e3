"""require_https, trusted proxies and HSTS in the three examples under real servers:
Starlette and FastAPI under uvicorn, Flask under gunicorn, over HTTPS with a certificate
the test made (tests/tls.py), called with ``requests`` verifying against that CA, and over
plain HTTP with this test playing the proxy.

The servers are told to trust no proxy themselves (``FORWARDED_ALLOW_IPS``, read by both
uvicorn and gunicorn, names an address nothing here uses): by default both believe
``X-Forwarded-Proto`` from 127.0.0.1 and would rewrite the scheme before the app sees it,
so the trusted-proxy rule under test is the package's (``JWT_TRUSTED_PROXIES``) alone."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from jwt_middleware import Key, encode

if TYPE_CHECKING:  # imported by pytest_plugins first, so that pytest can rewrite it
    from tests.tls import HTTPSServer, StartServer

pytest_plugins = ["tests.tls"]
pytestmark = pytest.mark.slow

ISSUER = "https://issuer.https.test"
AUDIENCE = "https-e2e"
TIMEOUT = 10
SECRET = secrets.token_urlsafe(48)
#: (server, app): the same names and behaviour in all three frameworks.
APPS = [
    ("uvicorn", "examples.starlette_app:app"),
    ("uvicorn", "examples.fastapi_app:app"),
    ("gunicorn", "examples.flask_app:app"),
]
IDS = ["starlette", "fastapi", "flask"]
LOGIN = {"username": "alice", "password": "wonderland-42"}
#: No proxy is trusted by the server itself (TEST-NET-1, RFC 5737).
SERVER_TRUSTS_NOBODY = {"FORWARDED_ALLOW_IPS": "192.0.2.1"}


def token() -> str:
    now = int(time.time())
    claims = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    return encode(claims, Key.from_secret(SECRET, "HS256"))


def bearer(**headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token()}", **headers}


@pytest.fixture
def start(
    request: pytest.FixtureRequest,
    uvicorn_https: StartServer,
    gunicorn_https: StartServer,
    tmp_path: Path,
) -> Any:
    kind, app = request.param

    def starting(env: Mapping[str, str], *, tls: bool = True) -> HTTPSServer:
        base = {
            "JWT_ALGORITHMS": "HS256",
            "JWT_SECRET": SECRET,
            "JWT_ISSUER": ISSUER,
            "JWT_AUDIENCE": AUDIENCE,
            "JWT_STORE_URL": f"sqlite:///{tmp_path}/tokens.db",
            "JWT_REQUIRE_HTTPS": "1",
            "JWT_HSTS_MAX_AGE": "600",
            **SERVER_TRUSTS_NOBODY,
        }
        runner = uvicorn_https if kind == "uvicorn" else gunicorn_https
        return runner(app, {**base, **env}, tls=tls, ready_path="/public")

    return starting


def get(server: HTTPSServer, path: str, headers: Mapping[str, str] | None = None) -> Any:
    return requests.get(server.url + path, headers=headers, verify=server.verify, timeout=TIMEOUT)


def login(server: HTTPSServer, headers: Mapping[str, str] | None = None) -> Any:
    return requests.post(
        server.url + "/auth/login",
        json=LOGIN,
        headers=headers,
        verify=server.verify,
        timeout=TIMEOUT,
    )


def assert_https_required(answer: requests.Response) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"
    assert "JWT_REQUIRE_HTTPS" in answer.json()["error_description"]
    assert 'error="invalid_request"' in answer.headers["WWW-Authenticate"]
    assert "Strict-Transport-Security" not in answer.headers


@pytest.mark.parametrize("start", APPS, ids=IDS, indirect=True)
def test_https_with_a_token_passes_with_hsts(start: Any) -> None:
    server = start({})
    answer = get(server, "/me", bearer())
    assert answer.status_code == 200, answer.text
    assert answer.json()["subject"] == "alice"
    assert answer.headers["Strict-Transport-Security"] == "max-age=600"
    refused = get(server, "/me")  # refusals over HTTPS carry it too
    assert refused.status_code == 401
    assert refused.headers["Strict-Transport-Security"] == "max-age=600"
    logged_in = login(server)  # the token routes over HTTPS
    assert logged_in.status_code == 200, logged_in.text
    assert logged_in.headers["Strict-Transport-Security"] == "max-age=600"
    issued = get(server, "/me", {"Authorization": f"Bearer {logged_in.json()['access_token']}"})
    assert issued.status_code == 200


@pytest.mark.parametrize("start", APPS, ids=IDS, indirect=True)
def test_behind_a_trusted_proxy_the_forwarded_scheme_counts(start: Any) -> None:
    """This test is the proxy: a plain-HTTP server trusting 127.0.0.1, no loopback pass."""
    server = start(
        {"JWT_TRUSTED_PROXIES": "127.0.0.1, ::1", "JWT_ALLOW_LOOPBACK_HTTP": "0"}, tls=False
    )
    forwarded = get(server, "/me", bearer(**{"X-Forwarded-Proto": "https"}))
    assert forwarded.status_code == 200, forwarded.text
    assert forwarded.headers["Strict-Transport-Security"] == "max-age=600"
    assert get(server, "/me", bearer(Forwarded="for=203.0.113.9;proto=https")).status_code == 200
    assert_https_required(get(server, "/me", bearer(**{"X-Forwarded-Proto": "http"})))
    assert_https_required(get(server, "/me", bearer(Forwarded="for=203.0.113.9;proto=http")))
    assert_https_required(get(server, "/me", bearer()))  # plain HTTP, nothing forwarded
    public = get(server, "/public")  # no token: nothing to refuse, and no HSTS over HTTP
    assert public.status_code == 200
    assert "Strict-Transport-Security" not in public.headers
    malformed = get(server, "/me", bearer(Forwarded="proto=https;proto=http"))
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "invalid_request"
    assert login(server, {"X-Forwarded-Proto": "https"}).status_code == 200
    assert_https_required(login(server))


@pytest.mark.parametrize("start", APPS, ids=IDS, indirect=True)
def test_forwarded_https_from_an_untrusted_peer_is_ignored(start: Any) -> None:
    """Security: the peer (this test, 127.0.0.1) is not a trusted proxy, so its
    X-Forwarded-Proto is ignored, and a loopback peer that forwards gets no exemption."""
    server = start({"JWT_TRUSTED_PROXIES": "10.0.0.0/8"}, tls=False)
    assert_https_required(get(server, "/me", bearer(**{"X-Forwarded-Proto": "https"})))
    assert_https_required(get(server, "/me", bearer(Forwarded="proto=https")))
    garbage = get(server, "/me", bearer(Forwarded="proto=https;;;=", **{"X-Forwarded-For": "?"}))
    assert_https_required(garbage)  # ignored, not a 400 about the header
    assert_https_required(login(server, {"X-Forwarded-Proto": "https"}))
    # The same loopback client with nothing forwarded: the development exemption.
    assert get(server, "/me", bearer()).status_code == 200
    assert login(server).status_code == 200


@pytest.mark.parametrize("start", APPS, ids=IDS, indirect=True)
def test_plain_http_refused_without_the_loopback_exemption(start: Any) -> None:
    server = start({"JWT_ALLOW_LOOPBACK_HTTP": "0", "JWT_COOKIES": "1"}, tls=False)
    assert_https_required(get(server, "/me", bearer()))
    assert_https_required(get(server, "/me", {"Cookie": f"access_token={token()}"}))
    assert_https_required(login(server))  # a password over HTTP: no header token needed
    assert get(server, "/public").status_code == 200


@pytest.mark.parametrize("start", APPS, ids=IDS, indirect=True)
def test_cookie_mode_without_secure_refuses_to_start(start: Any) -> None:
    with pytest.raises(RuntimeError) as caught:
        start({"JWT_COOKIES": "1", "JWT_COOKIE_SECURE": "0"})
    assert "JWT_COOKIE_SECURE" in str(caught.value)
    assert "JWT_REQUIRE_HTTPS" in str(caught.value)


@pytest.mark.parametrize("start", APPS, ids=IDS, indirect=True)
def test_a_dpop_login_behind_the_trusted_proxy_is_proven_for_the_public_url(start: Any) -> None:
    """The adapters put the trusted proxies where the token routes read them: a proof
    signed for the public URL (https, the proxy's host) is accepted; forwarded by a peer
    that is not trusted, the same proof names another URL and is refused."""
    from jwt_middleware import DPoPKey

    key = DPoPKey.generate()
    public = "https://api.example/auth/login"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}
    trusted = start({"JWT_TRUSTED_PROXIES": "127.0.0.1, ::1", "JWT_DPOP": "allowed"}, tls=False)
    bound = login(trusted, {**forwarded, "DPoP": key.proof("POST", public)})
    assert bound.status_code == 200, bound.text
    assert bound.json()["token_type"] == "DPoP"
    untrusted = start({"JWT_TRUSTED_PROXIES": "10.0.0.0/8", "JWT_DPOP": "allowed"}, tls=False)
    refused = login(untrusted, {"DPoP": key.proof("POST", public)})
    assert refused.status_code == 401, refused.text  # the proof is for another URL
    assert refused.json()["error"] == "invalid_dpop_proof"
