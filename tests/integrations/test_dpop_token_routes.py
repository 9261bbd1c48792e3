"""DPoP at the token routes (RFC 9449 §5), the same table in Flask, Starlette and FastAPI.

Every app is built from one settings mapping (``JWT_DPOP``, ``JWT_DPOP_NONCE``, ...): Flask
reads it from ``app.config``, the ASGI apps through ``Config.from_env`` and
``dpop_policy_from_mapping``. Proofs are signed by real keys (``DPoPKey``) for the URL the
client calls (``https://api.test/auth/...``); nothing is faked.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.testclient import TestClient

from jwt_middleware import (
    Config,
    ConfigurationError,
    CookiePolicy,
    DPoPKey,
    DPoPPolicy,
    Identity,
    Issuer,
    TokenService,
    dpop_policy_from_mapping,
)
from jwt_middleware._lifecycle.binding import TRUSTED_PROXIES_KEY
from jwt_middleware._sansio.transport import TrustedProxies
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import token_router
from jwt_middleware.flask import JWT, auth_blueprint
from jwt_middleware.starlette import auth_public_paths, token_mount

BASE = "https://api.test"
LOGIN, REFRESH, LOGOUT = (f"{BASE}/auth/{name}" for name in ("login", "refresh", "logout"))
PASSWORD = "wonderland-42"
ALICE = {"username": "alice", "password": PASSWORD}
FRAMEWORKS = ("flask", "starlette", "fastapi")
NONCE_SECRET = "n" * 40


def check_credentials(username: str, password: str) -> Identity | None:
    if (username, password) != ("alice", PASSWORD):
        return None
    return Identity(username, roles=("user",))


def settings(mode: str, **extra: str) -> dict[str, str]:
    return {
        "JWT_SECRET": "s" * 48,
        "JWT_ALGORITHMS": "HS256",
        "JWT_ISSUER": "https://issuer.test",
        "JWT_AUDIENCE": "api.test",
        "JWT_STORE_URL": "memory://",
        "JWT_DPOP": mode,
        **extra,
    }


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers.items() if k.lower() == name.lower()]
        return found[0] if found else None


Headers = list[tuple[str, str]]
Post = Callable[[str, dict[str, Any], Headers], Answer]


def _flask(env: Mapping[str, str], proxies: TrustedProxies | None = None) -> Post:
    app = Flask(__name__)
    app.config.update(env)
    JWT(app, check_credentials=check_credentials)
    app.register_blueprint(auth_blueprint())
    if proxies is not None:  # as an adapter that knows the app's trusted proxies does
        inner = app.wsgi_app

        def recording(environ: dict[str, Any], start_response: Any) -> Any:
            environ[TRUSTED_PROXIES_KEY] = proxies
            return inner(environ, start_response)

        app.wsgi_app = recording  # type: ignore[method-assign]
    client = app.test_client()

    def post(path: str, body: dict[str, Any], headers: Headers) -> Answer:
        response = client.post(path, json=body, headers=headers, base_url=BASE)
        return Answer(response.status_code, response.get_json() or {}, dict(response.headers))

    return post


def asgi_service(env: Mapping[str, str]) -> TokenService:
    config = Config.from_env(environ=dict(env))
    policy = dpop_policy_from_mapping(env, store=config.store)
    return TokenService(Issuer(config), check_credentials, dpop=policy)


def _asgi(env: Mapping[str, str], fastapi: bool, proxies: TrustedProxies | None = None) -> Post:
    service = asgi_service(env)
    if fastapi:
        app: Any = FastAPI()
        app.include_router(token_router(service))
    else:
        app = Starlette(routes=[token_mount(service)])
    wrapped = JWTMiddleware(app, config=service.issuer.config, public_paths=auth_public_paths())

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if proxies is not None:  # as an adapter that knows the app's trusted proxies does
            scope = {**scope, TRUSTED_PROXIES_KEY: proxies, "client": ("127.0.0.1", 50000)}
        await wrapped(scope, receive, send)

    client = TestClient(recording, base_url=BASE)

    def post(path: str, body: dict[str, Any], headers: Headers) -> Answer:
        raw = [(name, value.encode("latin-1")) for name, value in headers]  # bytes as sent
        response = client.post(path, json=body, headers=raw)
        return Answer(response.status_code, response.json(), response.headers)

    return post


def make(
    framework: str, mode: str = "allowed", proxies: TrustedProxies | None = None, **extra: str
) -> Post:
    env = settings(mode, **extra)
    if framework == "flask":
        return _flask(env, proxies)
    return _asgi(env, framework == "fastapi", proxies)


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey.generate()


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


def dpop(proof: str) -> Headers:
    return [("DPoP", proof)]


def login(post: Post, key: DPoPKey | None = None, **proof: Any) -> Answer:
    headers = dpop(key.proof("POST", LOGIN, **proof)) if key is not None else []
    return post("/auth/login", ALICE, headers)


def refresh(post: Post, token: str, key: DPoPKey | None = None) -> Answer:
    headers = dpop(key.proof("POST", REFRESH)) if key is not None else []
    return post("/auth/refresh", {"refresh_token": token}, headers)


def assert_dpop_refusal(answer: Answer, status: int = 401) -> None:
    assert answer.status == status, answer.body
    assert answer.body["error"] == "invalid_dpop_proof"
    assert "access_token" not in answer.body
    challenge = answer.header("WWW-Authenticate") or ""
    assert challenge.startswith("DPoP ")
    assert 'algs="ES256' in challenge


# --- login -----------------------------------------------


def test_login_with_a_proof_binds_access_and_refresh_token(framework: str, key: DPoPKey) -> None:
    answer = login(make(framework), key)
    assert answer.status == 200, answer.body
    assert answer.body["token_type"] == "DPoP"
    assert claims(answer.body["access_token"])["cnf"] == {"jkt": key.thumbprint}
    assert claims(answer.body["refresh_token"])["cnf"] == {"jkt": key.thumbprint}
    assert answer.header("Cache-Control") == "no-store"


def test_login_without_a_proof_gets_bearer_tokens(framework: str) -> None:
    answer = login(make(framework))
    assert answer.status == 200, answer.body
    assert answer.body["token_type"] == "Bearer"
    assert "cnf" not in claims(answer.body["access_token"])
    assert "cnf" not in claims(answer.body["refresh_token"])


def test_off_ignores_the_header_even_garbage(framework: str, key: DPoPKey) -> None:
    post = make(framework, "off")
    two = [("DPoP", "a"), ("DPoP", "b")]
    for headers in (dpop(key.proof("POST", LOGIN)), dpop("garbage"), two):
        answer = post("/auth/login", ALICE, headers)
        assert answer.status == 200, answer.body
        assert answer.body["token_type"] == "Bearer"
        assert "cnf" not in claims(answer.body["access_token"])


def test_required_refuses_a_login_without_a_proof(framework: str, key: DPoPKey) -> None:
    post = make(framework, "required")
    assert_dpop_refusal(login(post))
    assert login(post, key).body["token_type"] == "DPoP"


def test_required_refuses_before_the_password_is_checked(framework: str) -> None:
    """Wrong credentials and no proof: the proof refusal answers (no password hash spent)."""
    answer = make(framework, "required")("/auth/login", {**ALICE, "password": "x"}, [])
    assert_dpop_refusal(answer)


def test_wrong_password_with_a_valid_proof_is_invalid_grant(framework: str, key: DPoPKey) -> None:
    headers = dpop(key.proof("POST", LOGIN))
    answer = make(framework)("/auth/login", {**ALICE, "password": "x"}, headers)
    assert (answer.status, answer.body["error"]) == (401, "invalid_grant")


def test_replayed_login_proof_is_refused(framework: str, key: DPoPKey) -> None:
    post = make(framework)
    proof = key.proof("POST", LOGIN)
    assert post("/auth/login", ALICE, dpop(proof)).status == 200
    again = post("/auth/login", ALICE, dpop(proof))
    assert_dpop_refusal(again)
    assert "already used" in again.body["error_description"]


def test_proof_for_another_url_or_method_is_refused(framework: str, key: DPoPKey) -> None:
    post = make(framework)
    assert_dpop_refusal(post("/auth/login", ALICE, dpop(key.proof("POST", REFRESH))))
    assert_dpop_refusal(post("/auth/login", ALICE, dpop(key.proof("GET", LOGIN))))
    elsewhere = key.proof("POST", "https://evil.test/auth/login")
    assert_dpop_refusal(post("/auth/login", ALICE, dpop(elsewhere)))


PUBLIC_LOGIN = "https://public.example/auth/login"
FORWARDED = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "public.example")]


def test_forwarding_headers_from_an_untrusted_peer_do_not_change_htu(
    framework: str, key: DPoPKey
) -> None:
    """Security: a client cannot make the server believe it is another URL, so a proof
    made for another server (or another host of this one) is not taken here."""
    headers = [*FORWARDED, *dpop(key.proof("POST", PUBLIC_LOGIN))]
    answer = make(framework)("/auth/login", ALICE, headers)
    assert_dpop_refusal(answer)
    assert "another URL" in answer.body["error_description"]


def test_behind_a_trusted_proxy_htu_is_the_public_url(framework: str, key: DPoPKey) -> None:
    post = make(framework, proxies=TrustedProxies("127.0.0.1"))
    answer = post("/auth/login", ALICE, [*FORWARDED, *dpop(key.proof("POST", PUBLIC_LOGIN))])
    assert answer.status == 200, answer.body
    assert answer.body["token_type"] == "DPoP"
    # The URL the proxy received the request on is not this request's URL any more.
    assert_dpop_refusal(post("/auth/login", ALICE, [*FORWARDED, *dpop(key.proof("POST", LOGIN))]))


def test_a_host_header_no_url_can_be_made_of_is_400(framework: str, key: DPoPKey) -> None:
    post = make(framework)
    bad = [("Host", "bad host"), *dpop(key.proof("POST", LOGIN))]
    answer = post("/auth/login", ALICE, bad)
    assert (answer.status, answer.body["error"]) == (400, "invalid_request")
    assert "access_token" not in answer.body
    # Without a proof the URL is never needed.
    assert post("/auth/login", ALICE, [("Host", "bad host")]).status == 200


def test_two_dpop_headers_are_refused(framework: str, key: DPoPKey) -> None:
    headers = [("DPoP", key.proof("POST", LOGIN)), ("DPoP", key.proof("POST", LOGIN))]
    assert_dpop_refusal(make(framework)("/auth/login", ALICE, headers))


def _b64(value: object) -> str:
    raw = json.dumps(value).encode() if not isinstance(value, bytes) else value
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _garbage() -> list[tuple[str, str]]:
    key = DPoPKey.generate()
    good = key.proof("POST", LOGIN)
    head, payload, signature = good.split(".")
    private = {**key.public_jwk, "d": _b64(b"x" * 32)}

    def header(**fields: Any) -> str:
        return _b64({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk, **fields})

    return [
        ("empty", ""),
        ("spaces", "   "),
        ("word", "garbage"),
        ("dots", ".."),
        ("three_parts_not_base64", "a.b.c"),
        ("json_header_not_object", f"{_b64([1])}.{payload}.{signature}"),
        ("alg_none", f"{header(alg='none')}.{payload}."),
        ("alg_hs256", f"{header(alg='HS256')}.{payload}.{signature}"),
        ("private_jwk", f"{header(jwk=private)}.{payload}.{signature}"),
        ("wrong_typ", f"{header(typ='JWT')}.{payload}.{signature}"),
        ("no_jwk", f"{header(jwk=None)}.{payload}.{signature}"),
        ("bad_signature", f"{head}.{payload}.{_b64(b'0' * 64)}"),
        ("nested_json", f"{_b64(b'[' * 3000)}.{payload}.{signature}"),
        ("huge", "a" * 100_000),
        ("comma_joined", f"{good},{good}"),
        ("latin1", "caf\u00e9.b.c"),
    ]


GARBAGE = _garbage()


@pytest.mark.parametrize(("name", "value"), GARBAGE, ids=[name for name, _ in GARBAGE])
def test_garbage_in_the_dpop_header_is_a_4xx(framework: str, name: str, value: str) -> None:
    post = make(framework)
    for path, body in (("/auth/login", ALICE), ("/auth/refresh", {"refresh_token": "x.y.z"})):
        answer = post(path, body, [("DPoP", value)])
        assert 400 <= answer.status < 500, (name, path, answer.status, answer.body)
        assert "access_token" not in answer.body


# --- refresh -----------------------------------------------


def test_refresh_with_the_same_key_gives_a_new_bound_pair(framework: str, key: DPoPKey) -> None:
    post = make(framework)
    first = login(post, key).body
    answer = refresh(post, first["refresh_token"], key)
    assert answer.status == 200, answer.body
    assert answer.body["token_type"] == "DPoP"
    for token in (answer.body["access_token"], answer.body["refresh_token"]):
        assert claims(token)["cnf"] == {"jkt": key.thumbprint}
    assert claims(answer.body["refresh_token"])["jti"] != claims(first["refresh_token"])["jti"]


def test_stolen_refresh_token_is_useless_without_the_key_and_cannot_end_the_family(
    framework: str, key: DPoPKey
) -> None:
    """A thief holding the bound refresh token: another key, or no proof, is refused, and
    neither counts as reuse: the real client's next refresh with that same token works."""
    post = make(framework)
    stolen = login(post, key).body["refresh_token"]
    thief = DPoPKey.generate()
    wrong_key = refresh(post, stolen, thief)
    assert_dpop_refusal(wrong_key)
    assert "another key" in wrong_key.body["error_description"]
    assert_dpop_refusal(refresh(post, stolen))
    bearer_retry = post("/auth/refresh", {"refresh_token": stolen}, [("Authorization", "Bearer x")])
    assert_dpop_refusal(bearer_retry)
    real = refresh(post, stolen, key)
    assert real.status == 200, real.body
    assert real.body["token_type"] == "DPoP"
    # ... and the rotated token is the family's current one: it keeps working.
    assert refresh(post, real.body["refresh_token"], key).status == 200


def test_reuse_by_the_key_holder_still_revokes_the_family(framework: str, key: DPoPKey) -> None:
    post = make(framework)
    first = login(post, key).body["refresh_token"]
    second = refresh(post, first, key).body["refresh_token"]
    reused = refresh(post, first, key)
    assert (reused.status, reused.body["error"]) == (401, "invalid_token")
    assert refresh(post, second, key).status == 401  # the family is gone


def test_replayed_refresh_proof_is_refused(framework: str, key: DPoPKey) -> None:
    post = make(framework)
    token = login(post, key).body["refresh_token"]
    proof = key.proof("POST", REFRESH)
    answer = post("/auth/refresh", {"refresh_token": token}, dpop(proof))
    assert answer.status == 200, answer.body
    again = post("/auth/refresh", {"refresh_token": answer.body["refresh_token"]}, dpop(proof))
    assert_dpop_refusal(again)
    # Refused before the store: the rotated token is still the current one.
    assert refresh(post, answer.body["refresh_token"], key).status == 200


def test_bearer_family_refreshed_with_a_proof_becomes_bound(framework: str, key: DPoPKey) -> None:
    post = make(framework)
    token = login(post).body["refresh_token"]
    answer = refresh(post, token, key)
    assert answer.status == 200, answer.body
    assert answer.body["token_type"] == "DPoP"
    assert claims(answer.body["refresh_token"])["cnf"] == {"jkt": key.thumbprint}
    assert_dpop_refusal(refresh(post, answer.body["refresh_token"]))


def test_bearer_family_without_a_proof_stays_bearer(framework: str) -> None:
    post = make(framework)
    answer = refresh(post, login(post).body["refresh_token"])
    assert (answer.status, answer.body["token_type"]) == (200, "Bearer")


def test_required_refuses_a_refresh_without_a_proof(framework: str, key: DPoPKey) -> None:
    post = make(framework, "required")
    token = login(post, key).body["refresh_token"]
    assert_dpop_refusal(refresh(post, token))
    assert refresh(post, token, key).status == 200


# --- server nonces -----------------------------------------------


def test_nonce_first_400_use_dpop_nonce_then_the_retry_succeeds(
    framework: str, key: DPoPKey
) -> None:
    post = make(framework, JWT_DPOP_NONCE="on", JWT_DPOP_NONCE_SECRET=NONCE_SECRET)
    first = login(post, key)
    assert first.status == 400, first.body
    assert first.body["error"] == "use_dpop_nonce"
    assert "access_token" not in first.body
    nonce = first.header("DPoP-Nonce")
    assert nonce
    answer = login(post, key, nonce=nonce)
    assert answer.status == 200, answer.body
    assert answer.body["token_type"] == "DPoP"
    fresh = answer.header("DPoP-Nonce")  # the next proof's nonce, no round trip needed
    assert fresh
    body = {"refresh_token": answer.body["refresh_token"]}
    renewed = post("/auth/refresh", body, dpop(key.proof("POST", REFRESH, nonce=fresh)))
    assert renewed.status == 200, renewed.body
    stale = dpop(key.proof("POST", REFRESH, nonce="A" * 22))
    refused = post("/auth/refresh", {"refresh_token": renewed.body["refresh_token"]}, stale)
    assert (refused.status, refused.body["error"]) == (400, "use_dpop_nonce")


def test_nonces_are_shared_by_processes_with_the_same_secret(key: DPoPKey) -> None:
    """Two apps (two processes behind one balancer) with one secret: a nonce handed out
    by one is taken by the other."""
    one = make("starlette", JWT_DPOP_NONCE="1", JWT_DPOP_NONCE_SECRET=NONCE_SECRET)
    two = make("flask", JWT_DPOP_NONCE="1", JWT_DPOP_NONCE_SECRET=NONCE_SECRET)
    nonce = login(one, key).header("DPoP-Nonce")
    assert nonce
    assert login(two, key, nonce=nonce).status == 200


# --- logout -----------------------------------------------


def test_logout_of_a_bound_refresh_token_needs_its_key(framework: str, key: DPoPKey) -> None:
    post = make(framework)
    token = login(post, key).body["refresh_token"]
    thief = DPoPKey.generate()
    for headers in ([], dpop(thief.proof("POST", LOGOUT))):
        assert_dpop_refusal(post("/auth/logout", {"refresh_token": token}, headers))
    assert refresh(post, token, key).status == 200  # the victim's family is untouched


def test_logout_with_the_key_revokes_the_family(framework: str, key: DPoPKey) -> None:
    post = make(framework)
    token = login(post, key).body["refresh_token"]
    answer = post("/auth/logout", {"refresh_token": token}, dpop(key.proof("POST", LOGOUT)))
    assert answer.status == 200, answer.body
    gone = refresh(post, token, key)
    assert (gone.status, gone.body["error"]) == (401, "invalid_token")


def test_logout_of_a_bearer_family_needs_no_proof(framework: str) -> None:
    post = make(framework)
    token = login(post).body["refresh_token"]
    assert post("/auth/logout", {"refresh_token": token}, []).status == 200
    assert refresh(post, token).status == 401


def test_a_bound_access_token_sent_as_bearer_revokes_nothing_at_logout(key: DPoPKey) -> None:
    """Without a middleware, the Starlette logout reads a bearer token itself; a bound one
    presented that way proves no key (RFC 9449 §7.1, no downgrade), so it is ignored."""
    service = asgi_service(settings("allowed"))
    client = TestClient(Starlette(routes=[token_mount(service)]), base_url=BASE)
    pair = client.post("/auth/login", json=ALICE, headers=dpop(key.proof("POST", LOGIN))).json()
    access = pair["access_token"]
    answer = client.post("/auth/logout", json={}, headers={"Authorization": f"Bearer {access}"})
    assert answer.status_code == 200
    assert service.issuer.verifier.verify(access).claims["cnf"] == {"jkt": key.thumbprint}


# --- start-up -----------------------------------------------


def test_cookie_mode_and_dpop_are_refused_at_start_up() -> None:
    env = settings("allowed", JWT_COOKIES="1")
    app = Flask(__name__)
    app.config.update(env)
    with pytest.raises(ConfigurationError, match="DPoP and cookie mode do not combine"):
        JWT(app, check_credentials=check_credentials)
    issuer = Issuer(Config.from_env(environ=env))
    with pytest.raises(ConfigurationError, match="cookie mode"):
        TokenService(issuer, check_credentials, cookies=CookiePolicy(), dpop=DPoPPolicy("allowed"))
    # Off: cookie mode as before.
    off = TokenService(issuer, check_credentials, cookies=CookiePolicy(), dpop=DPoPPolicy())
    assert off.dpop is None


def test_flask_refuses_a_misspelt_dpop_setting() -> None:
    app = Flask(__name__)
    app.config.update(settings("allowed", JWT_DPOP_NONCES="on"))
    with pytest.raises(ConfigurationError, match="did you mean JWT_DPOP_NONCE"):
        JWT(app, check_credentials=check_credentials)


def test_flask_reads_a_relative_nonce_secret_file_from_the_app_folder(tmp_path: Any) -> None:
    (tmp_path / "nonce.key").write_text(secrets.token_urlsafe(40) + "\n")
    app = Flask(__name__, root_path=str(tmp_path))
    nonces = {"JWT_DPOP_NONCE": "on", "JWT_DPOP_NONCE_SECRET_FILE": "nonce.key"}
    app.config.update(settings("allowed", **nonces))
    JWT(app, check_credentials=check_credentials)
    service = JWT.token_service(app)
    assert service.dpop is not None
    assert service.dpop.fresh_nonce()


# --- OpenAPI -----------------------------------------------


def _login_operation(mode: str) -> dict[str, Any]:
    app = FastAPI()
    app.include_router(token_router(asgi_service(settings(mode))))
    operation: dict[str, Any] = app.openapi()["paths"]["/auth/login"]["post"]
    return operation


@pytest.mark.parametrize("mode", ["allowed", "required"])
def test_openapi_documents_the_dpop_header(mode: str) -> None:
    operation = _login_operation(mode)
    (header,) = [p for p in operation["parameters"] if p["name"] == "DPoP"]
    assert header["in"] == "header"
    assert header["required"] is (mode == "required")
    assert "use_dpop_nonce" in operation["responses"]["400"]["description"]
    assert "DPoP-Nonce" in operation["responses"]["400"]["headers"]
    assert "invalid_dpop_proof" in operation["responses"]["401"]["description"]


def test_openapi_without_dpop_has_no_dpop_header() -> None:
    operation = _login_operation("off")
    assert all(p["name"] != "DPoP" for p in operation.get("parameters", []))


@pytest.fixture(autouse=True)
def _no_secret_in_answers(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    assert PASSWORD not in caplog.text
    assert NONCE_SECRET not in caplog.text
