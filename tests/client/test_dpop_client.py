"""DPoPAuth against a real DPoP server on 127.0.0.1 (``dpop_server.py``): requests, httpx sync
and async; a bound login, bound calls, the nonce retry (once, never more), nonces kept per
server, and the proof alone for the token routes."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import requests

from jwt_middleware.client import DPoPAuth, DPoPKey
from tests.client.dpop_server import DPoPServer, Forced, VerifierServer
from tests.client.isolated import run_without

KEY = DPoPKey.generate()


@pytest.fixture
def server() -> Iterator[DPoPServer]:
    running = DPoPServer()
    yield running
    running.close()


def _login_requests(server: DPoPServer, dpop: DPoPAuth) -> str:
    answer = requests.post(f"{server.url}/token", data={"grant_type": "password"},
                           auth=dpop.requests_auth(), timeout=5)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


# --- requests ------------------------------------------------------------------------------


def test_requests_login_retries_once_with_the_token_endpoints_nonce(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY)
    answer = requests.post(f"{server.url}/token?x=1", data={"grant_type": "password"},
                           auth=dpop.requests_auth(), timeout=5)
    assert answer.status_code == 200
    assert answer.json()["token_type"] == "DPoP"
    first, second = server.seen
    assert first.claims is not None
    assert second.claims is not None
    assert "nonce" not in first.claims
    assert second.claims["nonce"] == server.nonce
    assert first.claims["jti"] != second.claims["jti"], "a fresh proof for the retry"
    for seen in server.seen:
        assert seen.authorization is None, "the token route gets the proof alone"
        assert seen.claims is not None
        assert "ath" not in seen.claims
        assert seen.body == b"grant_type=password", "the body is sent again"
    assert [r.status_code for r in answer.history] == [400]
    assert server.issued[answer.json()["access_token"]] == KEY.thumbprint


def test_requests_bound_call_with_a_nonce_retry_then_the_nonce_remembered(
    server: DPoPServer,
) -> None:
    dpop = DPoPAuth(KEY)
    dpop.access_token = _login_requests(server, dpop)
    server.nonce = "fresh-for-the-resource"  # as a resource with its own nonce would
    server.seen.clear()
    url = f"{server.url}/orders/7?expand=items#top"
    answer = requests.get(url, auth=dpop.requests_auth(), timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json()["jkt"] == KEY.thumbprint
    refused, retried = server.seen
    assert refused.claims is not None
    assert retried.claims is not None
    assert refused.claims["nonce"] != "fresh-for-the-resource"
    assert retried.claims["nonce"] == "fresh-for-the-resource"
    assert retried.claims["htu"] == f"{server.url}/orders/7"
    assert retried.authorization == f"DPoP {dpop.access_token}"
    assert dpop.nonce(server.url) == "fresh-for-the-resource"
    server.seen.clear()
    assert requests.get(url, auth=dpop.requests_auth(), timeout=5).status_code == 200
    assert len(server.seen) == 1, "the remembered nonce is used at once"


def test_requests_rewinds_a_file_body_for_the_retry(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY)
    dpop.access_token = _login_requests(server, dpop)
    server.nonce = "changed"
    server.seen.clear()
    upload = io.BytesIO(b"prefix|the body")
    upload.seek(7)
    answer = requests.put(f"{server.url}/files/1", data=upload, auth=dpop.requests_auth(),
                          headers={"Content-Length": "8"}, timeout=5)
    assert answer.status_code == 200, answer.text
    assert [s.body for s in server.seen] == [b"the body", b"the body"]


def test_requests_takes_the_nonce_from_successful_answers(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY)
    dpop.access_token = _login_requests(server, dpop)
    server.rotate_on_success = True
    server.seen.clear()
    with requests.Session() as session:
        session.auth = dpop.requests_auth()
        for _ in range(3):
            assert session.get(f"{server.url}/me", timeout=5).status_code == 200
    assert len(server.seen) == 3, "no refusal: each answer's nonce went into the next proof"
    assert dpop.nonce(server.url) == server.nonce


def test_a_nonce_retry_happens_at_most_once(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY, "bound-1")
    server.refuse_always = True
    answer = requests.get(f"{server.url}/me", auth=dpop.requests_auth(), timeout=5)
    assert answer.status_code == 401
    assert len(server.seen) == 2
    with httpx.Client(auth=dpop.httpx_auth()) as client:
        assert client.get(f"{server.url}/me").status_code == 401
    assert len(server.seen) == 4

    async def call() -> int:
        async with httpx.AsyncClient(auth=dpop.httpx_auth()) as client:
            return (await client.get(f"{server.url}/me")).status_code

    assert asyncio.run(call()) == 401
    assert len(server.seen) == 6


@pytest.mark.parametrize(
    ("status", "challenge", "body"),
    [
        (401, 'DPoP error="invalid_token"', {"error": "invalid_token"}),
        (401, 'DPoP error="invalid_dpop_proof"', {}),
        (400, None, {"error": "invalid_grant"}),
        (403, 'DPoP error="use_dpop_nonce"', {}),
        (500, None, {"error": "use_dpop_nonce"}),
    ],
)
def test_no_retry_unless_the_server_asks_for_its_nonce(
    server: DPoPServer, status: int, challenge: str | None, body: dict[str, str]
) -> None:
    server.answer = Forced(status, challenge, body)
    dpop = DPoPAuth(KEY, "bound-1")
    assert requests.get(f"{server.url}/me", auth=dpop.requests_auth(), timeout=5).status_code \
        == status
    with httpx.Client(auth=dpop.httpx_auth()) as client:
        assert client.get(f"{server.url}/me").status_code == status
    assert len(server.seen) == 2, "one request each, no retry"
    assert dpop.nonce(server.url) == server.nonce, "the offered nonce is kept all the same"


def test_no_retry_when_the_server_offers_the_nonce_the_proof_held(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY, "bound-1")
    dpop.remember_nonce(server.url, server.nonce)
    server.answer = Forced(401, 'DPoP error="use_dpop_nonce"')
    assert requests.get(f"{server.url}/me", auth=dpop.requests_auth(), timeout=5).status_code \
        == 401
    assert len(server.seen) == 1


def test_a_redirect_to_another_server_is_never_retried_with_the_token(
    server: DPoPServer,
) -> None:
    other = DPoPServer()
    try:
        other.answer = Forced(401, 'DPoP error="use_dpop_nonce"')
        server.redirect_to = f"{other.url}/elsewhere"
        dpop = DPoPAuth(KEY, "bound-1")
        answer = requests.get(f"{server.url}/me", auth=dpop.requests_auth(), timeout=5)
        assert answer.status_code == 401
        assert len(other.seen) == 1, "not retried at the other server"
        assert other.seen[0].authorization is None
        with httpx.Client(auth=dpop.httpx_auth(), follow_redirects=True) as client:
            assert client.get(f"{server.url}/me").status_code == 401
        assert len(other.seen) == 2
        assert other.seen[1].authorization is None
        assert dpop.nonce(other.url) == other.nonce, "its nonce is kept for its own origin"
        assert dpop.nonce(server.url) is None
    finally:
        other.close()


def test_refresh_sends_the_proof_only(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY)
    dpop.access_token = _login_requests(server, dpop)
    server.seen.clear()
    answer = requests.post(f"{server.url}/token", data={"grant_type": "refresh_token"},
                           auth=dpop.requests_auth(proof_only=True), timeout=5)
    assert answer.status_code == 200
    (seen,) = server.seen
    assert seen.authorization is None
    assert seen.claims is not None
    assert "ath" not in seen.claims


# --- httpx -----------------------------------------------------------------------------------


def test_httpx_sync_login_and_bound_call_with_nonce_retries(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY)
    with httpx.Client() as client:
        login = client.post(f"{server.url}/token", data={"grant_type": "password"},
                            auth=dpop.httpx_auth())
        assert login.status_code == 200, login.text
        assert len(server.seen) == 2
        dpop.access_token = login.json()["access_token"]
        server.nonce = "new-one"
        answer = client.get(f"{server.url}/orders?page=2", auth=dpop.httpx_auth())
    assert answer.status_code == 200, answer.text
    assert len(server.seen) == 4
    retried = server.seen[-1]
    assert retried.claims is not None
    assert retried.claims["nonce"] == "new-one"
    assert retried.claims["htu"] == f"{server.url}/orders"
    assert [r.status_code for r in answer.history] == [401], "the refusal, in the history"


def test_httpx_async_concurrent_calls_share_the_remembered_nonce(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY)

    async def main() -> list[int]:
        async with httpx.AsyncClient(auth=dpop.httpx_auth(proof_only=True)) as client:
            login = await client.post(f"{server.url}/token", json={"grant_type": "password"})
            assert login.status_code == 200
        dpop.access_token = login.json()["access_token"]
        async with httpx.AsyncClient(auth=dpop.httpx_auth()) as client:
            answers = await asyncio.gather(*(client.get(f"{server.url}/me") for _ in range(4)))
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [200] * 4
    assert len(server.seen) == 2 + 4, "one refusal at login, then the nonce was known"
    bodies = {s.body for s in server.seen[:2]}
    assert bodies == {b'{"grant_type":"password"}'}, "the JSON body was sent again"


def test_httpx_does_not_retry_a_streamed_upload(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY)

    def chunks() -> Iterator[bytes]:
        yield b"one "
        yield b"two"

    async def achunks() -> AsyncIterator[bytes]:
        yield b"one "
        yield b"two"

    with httpx.Client(auth=dpop.httpx_auth()) as client:
        answer = client.post(f"{server.url}/token", content=chunks(),
                             headers={"Content-Length": "7"})
    assert answer.status_code == 400, "a stream cannot be sent twice: the refusal is returned"

    async def main() -> int:
        async with httpx.AsyncClient(auth=dpop.httpx_auth()) as client:
            answer = await client.post(f"{server.url}/token", content=achunks(),
                                       headers={"Content-Length": "7"})
        return answer.status_code

    server.nonce = "another"
    assert asyncio.run(main()) == 400
    assert len(server.seen) == 2


# --- other HTTP libraries, and what the object shows ------------------------------------------


def test_proof_headers_for_any_http_library(server: DPoPServer) -> None:
    dpop = DPoPAuth(KEY)
    def send(method: str, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(url, data=b"grant_type=password", method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    url = f"{server.url}/token"
    status, headers, _ = send("POST", url, dpop.proof_headers("POST", url))
    assert status == 400
    dpop.remember_nonce(url, headers.get("DPoP-Nonce"))
    status, _, body = send("POST", url, dpop.proof_headers("POST", url))
    assert status == 200
    token = json.loads(body)["access_token"]
    resource = f"{server.url}/me"
    status, _, _ = send("GET", resource, dpop.proof_headers("GET", resource, access_token=token))
    assert status == 200
    assert server.seen[-1].authorization == f"DPoP {token}"


def test_repr_and_errors_never_show_the_token_or_the_key() -> None:
    dpop = DPoPAuth(KEY, "secret-token-value")
    assert "secret-token-value" not in repr(dpop)
    assert "<set>" in repr(dpop)
    assert KEY.thumbprint in repr(dpop)
    with pytest.raises(ValueError, match="token68") as caught:
        dpop.access_token = "bad token\r\nX-Injected: 1"
    assert "Injected" not in str(caught.value)
    assert dpop.access_token == "secret-token-value"
    with pytest.raises(TypeError):
        DPoPAuth("not a key")  # type: ignore[arg-type]


def test_invalid_nonces_are_ignored() -> None:
    dpop = DPoPAuth(KEY)
    for bad in ["", "has space", 'quote"', "back\\slash", "x" * 513, "é"]:
        dpop.remember_nonce("https://api.test", bad)
        assert dpop.nonce("https://api.test") is None, bad
    dpop.remember_nonce("HTTPS://API.test:443/a", "ok")
    assert dpop.nonce("https://api.test/b?c") == "ok", "one nonce per origin"
    assert dpop.nonce("https://api.test:8443/") is None


def test_optional_imports_name_the_missing_extra() -> None:
    got = run_without(
        ["httpx", "requests"],
        """
import jwt_middleware.client as client
from jwt_middleware import ConfigurationError

dpop = client.DPoPAuth(client.DPoPKey.generate())
refused = []
for make in (dpop.requests_auth, dpop.httpx_auth):
    try:
        make()
    except ConfigurationError as exc:
        refused.append([isinstance(exc, ImportError), exc.name, str(exc)])
headers = dpop.proof_headers("GET", "https://api.test/x")
report({"refused": refused, "headers": sorted(headers),
        "loaded": [m for m in ("requests", "httpx") if m in sys.modules]})
""",
    )
    assert got["refused"] == [
        [True, "requests",
         "DPoPAuth.requests_auth() needs requests: pip install 'jwt-middleware[requests]'"],
        [True, "httpx", "DPoPAuth.httpx_auth() needs httpx: pip install 'jwt-middleware[httpx]'"],
    ]
    assert got["headers"] == ["DPoP"]
    assert got["loaded"] == []


# --- round trip: the package's own DPoPVerifier behind a real server ---------------------------


def test_round_trip_with_the_dpop_verifier_requests_and_httpx() -> None:
    verifying = VerifierServer()
    try:
        dpop = DPoPAuth(DPoPKey.generate("EdDSA"))
        login = requests.post(f"{verifying.url}/token", data={"grant_type": "password"},
                              auth=dpop.requests_auth(), timeout=5)
        assert login.status_code == 200, login.text
        assert verifying.statuses == [400, 200], "the verifier asked for its nonce once"
        dpop.access_token = login.json()["access_token"]
        assert requests.get(f"{verifying.url}/me?x=1", auth=dpop.requests_auth(),
                            timeout=5).json() == {"jkt": dpop.key.thumbprint}
        with httpx.Client(auth=dpop.httpx_auth()) as client:
            assert client.get(f"{verifying.url}/me").status_code == 200

        async def call() -> list[int]:
            async with httpx.AsyncClient(auth=dpop.httpx_auth()) as client:
                answers = await asyncio.gather(*(client.get(f"{verifying.url}/me")
                                                 for _ in range(3)))
            return [a.status_code for a in answers]

        assert asyncio.run(call()) == [200] * 3
        assert verifying.statuses == [400, 200, 200, 200, 200, 200, 200]
        stolen = DPoPAuth(DPoPKey.generate(), dpop.access_token)  # the token without the key
        assert requests.get(f"{verifying.url}/me", auth=stolen.requests_auth(),
                            timeout=5).status_code == 401
    finally:
        verifying.close()
