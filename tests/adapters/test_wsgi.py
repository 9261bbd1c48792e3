"""The pure WSGI middleware, driven by Werkzeug's test client around a plain WSGI app."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.test import Client, TestResponse
from werkzeug.wrappers import Response

from jwt_middleware import (
    AuthError,
    Config,
    CookiePolicy,
    Key,
    KeySet,
    Principal,
    encode,
    generate_key,
)
from jwt_middleware._sansio.authenticator import AuthEvent
from jwt_middleware.wsgi import PRINCIPAL_KEY, JWTMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ISSUER = "https://issuer.test"
AUDIENCE = "api"


def plain_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Answers 200 with the subject of the principal the middleware attached."""
    principal = environ.get(PRINCIPAL_KEY, "unset")
    if isinstance(principal, Principal):
        body: dict[str, Any] = {"subject": principal.subject, "roles": sorted(principal.roles)}
    else:
        body = {"subject": None, "attached": principal != "unset"}
    data = json.dumps(body).encode()
    start_response("200 OK", [("content-type", "application/json")])
    return [data]


@pytest.fixture
def key() -> Key:
    return generate_key("HS256")


@pytest.fixture
def config(key: Key) -> Config:
    return Config(keys=KeySet([key]), issuer=ISSUER, audience=AUDIENCE)


def token(key: Key, **claims: Any) -> str:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
    }
    base.update(claims)
    return encode({k: v for k, v in base.items() if v is not None}, key)


def client(config: Config, **options: Any) -> Client:
    return Client(JWTMiddleware(plain_app, config=config, **options))


def json_of(response: TestResponse) -> Any:
    body = response.get_json()
    assert body is not None, response.get_data(as_text=True)
    return body


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def assert_rfc6750(response: TestResponse, status: int, error: str) -> None:
    assert response.status_code == status
    body = json_of(response)
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert response.headers["content-type"] == "application/json"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="api", error="{error}", error_description="')
    assert response.headers["cache-control"] == "no-store"


# --- modes and public paths -------------------------------------------------------------


def test_required_mode_accepts_a_valid_token(config: Config, key: Key) -> None:
    response = client(config).get("/anything", headers=bearer(token(key, roles=["x"])))
    assert response.status_code == 200
    assert json_of(response) == {"subject": "alice", "roles": ["x"]}


def test_missing_token_is_401_invalid_request(config: Config) -> None:
    response = client(config).get("/anything")
    assert_rfc6750(response, 401, "invalid_request")
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_request", '
        'error_description="a bearer token is required"'
    )


def test_bad_signature_is_401_invalid_token(config: Config) -> None:
    other = generate_key("HS256", kid=next(iter(config.key_set)).kid)
    response = client(config).get("/x", headers=bearer(token(other)))
    assert_rfc6750(response, 401, "invalid_token")


def test_garbage_token_is_401_invalid_token(config: Config) -> None:
    response = client(config).get("/x", headers=bearer("not.a.jwt"))
    assert_rfc6750(response, 401, "invalid_token")


def test_expired_token_is_refused(config: Config, key: Key) -> None:
    expired = token(key, iat=int(time.time()) - 600, exp=int(time.time()) - 60)
    response = client(config).get("/x", headers=bearer(expired))
    assert_rfc6750(response, 401, "invalid_token")
    assert json_of(response)["error_description"] == "the token has expired"


def test_wrong_issuer_is_refused(config: Config, key: Key) -> None:
    response = client(config).get("/x", headers=bearer(token(key, iss="https://evil.test")))
    assert_rfc6750(response, 401, "invalid_token")
    assert "issuer" in json_of(response)["error_description"]


@pytest.mark.parametrize(
    "header",
    ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer a.b.c a.b.c", "Bearer a.b.c, Bearer d.e.f"],
)
def test_malformed_authorization_header_is_invalid_request(config: Config, header: str) -> None:
    response = client(config).get("/x", headers={"Authorization": header})
    assert_rfc6750(response, 401, "invalid_request")


def test_optional_mode_lets_anonymous_through_but_refuses_bad_tokens(
    config: Config, key: Key
) -> None:
    c = client(config, mode="optional")
    anonymous = c.get("/x")
    assert anonymous.status_code == 200
    assert json_of(anonymous) == {"subject": None, "attached": True}
    assert json_of(c.get("/x", headers=bearer(token(key))))["subject"] == "alice"
    assert_rfc6750(c.get("/x", headers=bearer("bad")), 401, "invalid_token")


def test_public_exact_and_prefix_paths(config: Config) -> None:
    c = client(config, public_paths=["/health", "/static/*"])
    assert c.get("/health").status_code == 200
    assert c.get("/static/app.css").status_code == 200
    assert c.get("/static/").status_code == 200
    assert c.get("/health/more").status_code == 401
    assert c.get("/healthz").status_code == 401
    assert c.get("/statics").status_code == 401


def test_public_path_attaches_a_valid_token_and_ignores_a_bad_one(config: Config, key: Key) -> None:
    c = client(config, public_paths=["/health"])
    assert json_of(c.get("/health", headers=bearer(token(key))))["subject"] == "alice"
    ignored = c.get("/health", headers=bearer("bad"))
    assert ignored.status_code == 200
    assert json_of(ignored)["subject"] is None


def test_public_methods(config: Config) -> None:
    c = client(config, public_methods=["get"])
    assert c.get("/x").status_code == 200
    assert c.post("/x").status_code == 401


def test_cors_preflight_passes_but_a_plain_options_does_not(config: Config) -> None:
    c = client(config)
    preflight = c.options("/x", headers={"Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert c.options("/x").status_code == 401


def test_principal_is_in_the_environ(config: Config, key: Key) -> None:
    seen: list[object] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        seen.append(environ[PRINCIPAL_KEY])
        start_response("204 No Content", [])
        return []

    Client(JWTMiddleware(app, config=config)).get("/", headers=bearer(token(key, sub="bob")))
    assert len(seen) == 1
    assert isinstance(seen[0], Principal)
    assert seen[0].subject == "bob"


def test_constructor_rejects_bad_settings(config: Config) -> None:
    from jwt_middleware import ConfigurationError

    with pytest.raises(ConfigurationError, match="mode"):
        JWTMiddleware(plain_app, config=config, mode="sometimes")
    with pytest.raises(ConfigurationError, match="start with '/'"):
        JWTMiddleware(plain_app, config=config, public_paths=["health"])
    with pytest.raises(ConfigurationError, match="config="):
        JWTMiddleware(plain_app)


# --- hooks ------------------------------------------------------------------------------


def test_on_error_can_answer_with_a_werkzeug_response(config: Config) -> None:
    errors: list[AuthError] = []

    def on_error(environ: WSGIEnvironment, error: AuthError) -> WSGIApplication | None:
        errors.append(error)
        if environ["PATH_INFO"] == "/default":
            return None
        return Response(f"custom {error.reason}", status=error.status, mimetype="text/plain")

    c = client(config, on_error=on_error)
    custom = c.get("/x")
    assert custom.status_code == 401
    assert custom.get_data(as_text=True) == "custom missing_token"
    default = c.get("/default")
    assert_rfc6750(default, 401, "invalid_request")
    assert [e.reason for e in errors] == ["missing_token", "missing_token"]


def test_on_event_gets_reason_codes_and_no_token_is_logged(
    config: Config, key: Key, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[AuthEvent] = []
    c = client(config, on_event=events.append)
    other = generate_key("HS256", kid=next(iter(config.key_set)).kid)
    expired = token(key, iat=int(time.time()) - 600, exp=int(time.time()) - 60)
    forged = token(other)
    caplog.set_level(logging.DEBUG, logger="jwt_middleware")

    assert c.get("/a", headers=bearer(expired)).status_code == 401
    assert c.get("/b", headers=bearer(forged)).status_code == 401
    assert c.get("/c").status_code == 401
    assert c.get("/d", headers={"Authorization": "Bearer a.b.c d.e.f"}).status_code == 401
    assert c.get("/f", headers={"Authorization": "Basic abc"}).status_code == 401
    assert c.get("/e", headers=bearer(token(key))).status_code == 200

    assert [(e.reason, e.status, e.method, e.path) for e in events] == [
        ("expired", 401, "GET", "/a"),
        ("bad_signature", 401, "GET", "/b"),
        ("missing_token", 401, "GET", "/c"),
        ("malformed_header", 401, "GET", "/d"),
        ("missing_token", 401, "GET", "/f"),  # another scheme carries no bearer token
    ]
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("jwt_middleware")]
    assert len(logged) == 5
    assert any("expired" in message for message in logged)
    for secret in (expired, forged, expired.split(".")[2], forged.split(".")[2]):
        assert all(secret not in message for message in logged)
        assert all(secret not in repr(event) for event in events)


def test_a_failing_on_event_hook_does_not_change_the_answer(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: AuthEvent) -> None:
        raise ValueError("boom")

    response = client(config, on_event=broken).get("/x")
    assert_rfc6750(response, 401, "invalid_request")
    assert any("on_event" in r.getMessage() for r in caplog.records)


# --- concurrency ------------------------------------------------------------------------


def test_concurrent_requests_each_get_their_own_principal(config: Config, key: Key) -> None:
    middleware = JWTMiddleware(plain_app, config=config)
    subjects = [f"user-{i}" for i in range(200)]
    tokens = {s: token(key, sub=s, roles=[s]) for s in subjects}

    def call(subject: str) -> tuple[str, Any]:
        # A fresh client per call: the middleware instance is shared, as in a threaded server.
        response = Client(middleware).get("/me", headers=bearer(tokens[subject]))
        return subject, json_of(response)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(call, subjects))
    assert len(results) == len(subjects)
    for subject, body in results:
        assert body == {"subject": subject, "roles": [subject]}


# --- cookie mode -----------------------------------------------------------------------------


def test_cookie_mode_takes_the_cookie_and_checks_csrf_on_unsafe_methods(
    config: Config, key: Key
) -> None:
    c = client(config, cookies=CookiePolicy())
    c.set_cookie("access_token", token(key, csrf="csrf-value-1"))
    assert json_of(c.get("/"))["subject"] == "alice", "GET: the cookie alone is enough"
    refused = c.post("/")
    assert refused.status_code == 403
    assert json_of(refused)["error_description"] == "missing CSRF header X-CSRF-Token"
    wrong = c.post("/", headers={"X-CSRF-Token": "csrf-value-2"})
    assert wrong.status_code == 403
    ok = c.post("/", headers={"X-CSRF-Token": "csrf-value-1"})
    assert json_of(ok)["subject"] == "alice"
    header_wins = c.post("/", headers=bearer(token(key, sub="bob")))
    assert json_of(header_wins)["subject"] == "bob", "a bearer header needs no CSRF header"


def test_without_cookie_mode_a_cookie_is_not_a_credential(config: Config, key: Key) -> None:
    c = client(config)
    c.set_cookie("access_token", token(key))
    assert c.get("/").status_code == 401
