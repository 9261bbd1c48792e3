"""The Flask token lifecycle: login, refresh rotation and reuse, logout, fresh tokens,
password change, cookie mode with CSRF, and configuration errors."""

from __future__ import annotations

import importlib
import json
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from examples._users import UserTable
from jwt_middleware import Config, ConfigurationError, Identity, Key, generate_key
from jwt_middleware.flask import (
    JWT,
    CookiePolicy,
    auth_blueprint,
    current_principal,
    fresh_required,
    get_jwt,
    jwt_required,
    revoke_subject,
)

SECRET = "s" * 32
ISSUER = "https://issuer.test"
AUDIENCE = "flask-api"
ALICE = {"username": "alice", "password": "wonderland-42"}
BOB = {"username": "bob", "password": "builder-2026"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def settings(**extra: Any) -> dict[str, Any]:
    return {
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET": SECRET,
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_STORE_URL": "memory://",
        "JWT_PUBLIC_PATHS": ["/public"],
        **extra,
    }


def add_routes(app: Flask, users: UserTable) -> None:
    """The routes the tests call, as an app using the lifecycle would have them."""
    app.register_blueprint(auth_blueprint())

    @app.get("/public")
    def public() -> dict[str, Any]:
        return {"public": True}

    @app.get("/me")
    def me() -> dict[str, Any]:
        return {**current_principal.to_dict(), "fresh": get_jwt().get("fresh")}

    @app.post("/orders")
    @jwt_required()
    def orders() -> dict[str, Any]:
        return {"created_by": current_principal.subject}

    @app.post("/auth/password")
    @fresh_required()
    def change_password() -> dict[str, Any]:
        subject = current_principal.subject or ""
        users.set_password(subject, request.get_json()["new_password"])
        revoke_subject(subject)
        return {"status": "password changed"}


def make_app(*, clock: Clock | None = None, **extra: Any) -> Flask:
    """A fresh app per test. With ``clock``, settings come from a Config using it."""
    app = Flask(__name__)
    users = UserTable()
    if clock is None:
        app.config.update(settings(**extra))
        JWT(app, check_credentials=users.check)
    else:
        app.config.update(extra)
        config = Config(
            keys=Key.from_secret(SECRET, "HS256"),
            issuer=ISSUER,
            audience=AUDIENCE,
            store="memory://",
            clock=clock,
        )
        JWT(app, config=config, public_paths=["/public"], check_credentials=users.check)
    add_routes(app, users)
    return app


@pytest.fixture
def app() -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client(use_cookies=False)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: FlaskClient, who: dict[str, str] = ALICE) -> dict[str, Any]:
    response = client.post("/auth/login", json=who)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def refresh(client: FlaskClient, token: str) -> TestResponse:
    return client.post("/auth/refresh", json={"refresh_token": token})


# --- login ------------------------------------------------------------------------------------


def test_login_returns_an_oauth_token_response(client: FlaskClient) -> None:
    response = client.post("/auth/login", json=ALICE)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert "Set-Cookie" not in response.headers


def test_login_tokens_work_on_a_protected_route(client: FlaskClient) -> None:
    pair = login(client)
    me = client.get("/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    body = me.get_json()
    assert body["subject"] == "alice"
    assert set(body["roles"]) == {"admin", "user"}
    assert body["issuer"] == ISSUER
    assert me.get_json()["fresh"] is True


def test_wrong_password_is_invalid_grant(client: FlaskClient) -> None:
    for who in ({"username": "alice", "password": "guess"}, {"username": "eve", "password": "x"}):
        response = client.post("/auth/login", json=who)
        assert response.status_code == 401
        assert response.get_json()["error"] == "invalid_grant"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "body", [{}, {"username": "alice"}, {"password": "x"}, {"username": 1, "password": 2}]
)
def test_login_with_missing_fields_is_400(client: FlaskClient, body: dict[str, Any]) -> None:
    response = client.post("/auth/login", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_login_with_a_body_that_is_not_an_object_is_400(client: FlaskClient) -> None:
    for data in ("[1, 2]", "{not json"):
        response = client.post("/auth/login", data=data, content_type="application/json")
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_request"


def test_login_reads_only_json_and_form_bodies(client: FlaskClient) -> None:
    """What a cross-site page can post without a CORS preflight is refused (login CSRF)."""
    body = json.dumps(ALICE)
    for content_type in ("text/plain", None):
        response = client.post("/auth/login", data=body, content_type=content_type)
        assert response.status_code == 400, content_type
        assert response.get_json()["error"] == "invalid_request"
    multipart = client.post("/auth/login", data=ALICE, content_type="multipart/form-data")
    assert multipart.status_code == 400
    nested = client.post("/auth/login", data="[" * 5000, content_type="application/json")
    assert nested.status_code == 400
    big = client.post("/auth/login", json={**ALICE, "pad": "x" * 20_000})
    assert big.status_code == 413
    assert big.get_json()["error"] == "invalid_request"


def test_login_form_encoded_oauth2_password_grant(client: FlaskClient) -> None:
    response = client.post("/auth/login", data={"grant_type": "password", **BOB})
    assert response.status_code == 200
    assert client.get("/me", headers=bearer(response.get_json()["access_token"])).status_code == 200
    other = client.post("/auth/login", data={"grant_type": "client_credentials", **BOB})
    assert other.status_code == 400
    assert other.get_json()["error"] == "unsupported_grant_type"


def test_auth_routes_ignore_a_bad_authorization_header(client: FlaskClient) -> None:
    response = client.post("/auth/login", json=ALICE, headers=bearer("garbage"))
    assert response.status_code == 200


def test_lifecycle_settings_from_app_config() -> None:
    app = make_app(JWT_ACCESS_TTL=60, JWT_REFRESH_TTL=3600, JWT_REFRESH_GRACE=0)
    pair = login(app.test_client())
    assert pair["expires_in"] == 60


# --- refresh --------------------------------------------------------------------------------


def test_refresh_returns_a_new_pair(client: FlaskClient) -> None:
    pair = login(client)
    response = refresh(client, pair["refresh_token"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    renewed = response.get_json()
    assert set(renewed) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert renewed["access_token"] != pair["access_token"]
    assert renewed["refresh_token"] != pair["refresh_token"]
    me = client.get("/me", headers=bearer(renewed["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["fresh"] is False
    assert set(me.get_json()["roles"]) == {"admin", "user"}


def test_refresh_form_encoded(client: FlaskClient) -> None:
    pair = login(client)
    form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    response = client.post("/auth/refresh", data=form)
    assert response.status_code == 200


def test_replayed_refresh_token_revokes_the_family(client: FlaskClient) -> None:
    pair = login(client)
    renewed = refresh(client, pair["refresh_token"]).get_json()
    replay = refresh(client, pair["refresh_token"])
    assert replay.status_code == 401
    assert replay.get_json()["error"] == "invalid_token"
    # The whole family is gone: the new refresh token and its access token are refused.
    assert refresh(client, renewed["refresh_token"]).status_code == 401
    assert client.get("/me", headers=bearer(renewed["access_token"])).status_code == 401
    assert client.get("/me", headers=bearer(pair["access_token"])).status_code == 401
    # Another login of the same user is another family and is not affected.
    other = login(client)
    assert client.get("/me", headers=bearer(other["access_token"])).status_code == 200


def test_refresh_without_a_token_is_refused(client: FlaskClient) -> None:
    response = client.post("/auth/refresh", json={})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_request"


def test_access_and_refresh_tokens_are_not_interchangeable(client: FlaskClient) -> None:
    pair = login(client)
    assert client.get("/me", headers=bearer(pair["refresh_token"])).status_code == 401
    assert refresh(client, pair["access_token"]).status_code == 401


def test_two_concurrent_refreshes_exactly_one_wins(tmp_path: Path) -> None:
    app = make_app(JWT_STORE_URL=f"sqlite:///{tmp_path}/tokens.db")
    pair = login(app.test_client())
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def worker() -> None:
        client = app.test_client(use_cookies=False)
        barrier.wait()
        statuses.append(refresh(client, pair["refresh_token"]).status_code)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 401]


# --- logout ---------------------------------------------------------------------------------


def test_logout_revokes_the_access_token_and_the_family(client: FlaskClient) -> None:
    pair = login(client)
    response = client.post(
        "/auth/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )
    assert response.status_code == 200
    assert response.get_json() == {"status": "logged out"}
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/me", headers=bearer(pair["access_token"])).status_code == 401
    assert refresh(client, pair["refresh_token"]).status_code == 401


def test_logout_with_the_access_token_alone_ends_the_family(client: FlaskClient) -> None:
    pair = login(client)
    response = client.post("/auth/logout", headers=bearer(pair["access_token"]))
    assert response.status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 401


def test_logout_works_with_an_expired_access_token() -> None:
    clock = Clock()
    client = make_app(clock=clock).test_client(use_cookies=False)
    pair = login(client)
    clock.advance(16 * 60)
    assert client.get("/me", headers=bearer(pair["access_token"])).status_code == 401
    response = client.post(
        "/auth/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )
    assert response.status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 401


def test_logout_twice_and_without_anything_is_fine(client: FlaskClient) -> None:
    pair = login(client)
    headers = bearer(pair["access_token"])
    assert client.post("/auth/logout", headers=headers).status_code == 200
    assert client.post("/auth/logout", headers=headers).status_code == 200
    assert client.post("/auth/logout").status_code == 200


# --- fresh tokens and password change -------------------------------------------------------


def test_fresh_required_takes_a_login_token_not_a_refreshed_one(client: FlaskClient) -> None:
    pair = login(client)
    renewed = refresh(client, pair["refresh_token"]).get_json()
    stale = client.post(
        "/auth/password", json={"new_password": "another-one-1"},
        headers=bearer(renewed["access_token"]),
    )
    assert stale.status_code == 401
    assert stale.get_json()["error"] == "insufficient_user_authentication"
    assert 'error="insufficient_user_authentication"' in stale.headers["WWW-Authenticate"]
    assert client.post("/auth/password", json={"new_password": "x"}).status_code == 401
    fresh = login(client)
    ok = client.post(
        "/auth/password", json={"new_password": "another-one-1"},
        headers=bearer(fresh["access_token"]),
    )
    assert ok.status_code == 200


def test_password_change_revokes_every_older_token() -> None:
    clock = Clock()
    client = make_app(clock=clock).test_client(use_cookies=False)
    first = login(client)
    second = login(client)
    clock.advance(1)
    response = client.post(
        "/auth/password", json={"new_password": "new-secret-77"},
        headers=bearer(first["access_token"]),
    )
    assert response.status_code == 200
    for pair in (first, second):
        assert client.get("/me", headers=bearer(pair["access_token"])).status_code == 401
        assert refresh(client, pair["refresh_token"]).status_code == 401
    # Watermarks have a one-second granularity: log in again in a later second.
    clock.advance(1)
    old = client.post("/auth/login", json=ALICE)
    assert old.status_code == 401
    new = login(client, {"username": "alice", "password": "new-secret-77"})
    assert client.get("/me", headers=bearer(new["access_token"])).status_code == 200
    assert refresh(client, new["refresh_token"]).status_code == 200


# --- cookie mode ----------------------------------------------------------------------------


def cookies_of(response: TestResponse) -> dict[str, str]:
    """``Set-Cookie`` headers by cookie name (the whole header value)."""
    return {v.split("=", 1)[0]: v for v in response.headers.getlist("Set-Cookie")}


def value(set_cookie: str) -> str:
    jar: SimpleCookie = SimpleCookie()
    jar.load(set_cookie)
    (morsel,) = jar.values()
    return morsel.value


def attributes(set_cookie: str) -> set[str]:
    return {part.strip() for part in set_cookie.split(";")[1:]}


@pytest.fixture
def cookie_app() -> Flask:
    return make_app(JWT_COOKIES=True)


def cookie_login(client: FlaskClient) -> tuple[dict[str, str], str]:
    response = client.post("/auth/login", json=ALICE)
    assert response.status_code == 200
    jar = {name: value(header) for name, header in cookies_of(response).items()}
    return jar, response.get_json()["csrf_token"]


def cookie_header(jar: dict[str, str], *names: str) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{n}={jar[n]}" for n in names)}


def test_cookie_login_sets_three_cookies_and_no_tokens_in_the_body(cookie_app: Flask) -> None:
    response = cookie_app.test_client().post("/auth/login", json=ALICE)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert "access_token" not in body
    assert "refresh_token" not in body
    assert set(body) == {"token_type", "expires_in", "csrf_token"}
    cookies = cookies_of(response)
    assert set(cookies) == {"access_token", "refresh_token", "csrf_token"}
    assert len(response.headers.getlist("Set-Cookie")) == 3
    access = attributes(cookies["access_token"])
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=900"} <= access
    assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/auth"} <= attributes(
        cookies["refresh_token"]
    )
    csrf = attributes(cookies["csrf_token"])
    assert {"Secure", "SameSite=Lax", "Path=/"} <= csrf
    assert "HttpOnly" not in csrf
    assert value(cookies["csrf_token"]) == body["csrf_token"]


def test_cookie_attributes_follow_the_settings() -> None:
    app = make_app(JWT_COOKIES="1", JWT_COOKIE_SECURE=False, JWT_COOKIE_SAMESITE="Strict")
    response = app.test_client().post("/auth/login", json=ALICE)
    for header in response.headers.getlist("Set-Cookie"):
        assert "Secure" not in attributes(header)
        assert "SameSite=Strict" in attributes(header)


def test_cookie_alone_authenticates_safe_requests(cookie_app: Flask) -> None:
    client = cookie_app.test_client(use_cookies=False)
    jar, _ = cookie_login(client)
    me = client.get("/me", headers=cookie_header(jar, "access_token"))
    assert me.status_code == 200
    assert me.get_json()["subject"] == "alice"
    assert client.get("/me").status_code == 401


def test_unsafe_cookie_request_needs_the_csrf_header(cookie_app: Flask) -> None:
    client = cookie_app.test_client(use_cookies=False)
    jar, csrf = cookie_login(client)
    headers = cookie_header(jar, "access_token", "csrf_token")
    missing = client.post("/orders", headers=headers)
    assert missing.status_code == 403
    assert "missing CSRF header X-CSRF-Token" in missing.get_json()["error_description"]
    wrong = client.post("/orders", headers={**headers, "X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    ok = client.post("/orders", headers={**headers, "X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert ok.get_json() == {"created_by": "alice"}


def test_the_authorization_header_wins_over_the_cookie(cookie_app: Flask) -> None:
    client = cookie_app.test_client(use_cookies=False)
    jar, _ = cookie_login(client)
    bob = client.post("/auth/login", json=BOB)
    bob_token = value(cookies_of(bob)["access_token"])
    # A bearer token needs no CSRF header, even with cookies alongside.
    headers = {**cookie_header(jar, "access_token"), **bearer(bob_token)}
    response = client.post("/orders", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"created_by": "bob"}


def test_cookie_refresh_needs_the_csrf_header(cookie_app: Flask) -> None:
    client = cookie_app.test_client(use_cookies=False)
    jar, csrf = cookie_login(client)
    headers = cookie_header(jar, "refresh_token", "csrf_token")
    refused = client.post("/auth/refresh", headers=headers)
    assert refused.status_code == 403
    assert "missing CSRF header X-CSRF-Token" in refused.get_json()["error_description"]
    response = client.post("/auth/refresh", headers={**headers, "X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert "refresh_token" not in response.get_json()
    renewed = {name: value(header) for name, header in cookies_of(response).items()}
    assert set(renewed) == {"access_token", "refresh_token", "csrf_token"}
    assert renewed["refresh_token"] != jar["refresh_token"]
    assert renewed["csrf_token"] == csrf
    me = client.get("/me", headers=cookie_header(renewed, "access_token"))
    assert me.status_code == 200
    assert me.get_json()["fresh"] is False


def test_cookie_logout_clears_the_cookies_and_revokes(cookie_app: Flask) -> None:
    client = cookie_app.test_client(use_cookies=False)
    jar, csrf = cookie_login(client)
    headers = {
        **cookie_header(jar, "access_token", "refresh_token", "csrf_token"),
        "X-CSRF-Token": csrf,
    }
    response = client.post("/auth/logout", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "logged out"}
    cleared = cookies_of(response)
    assert set(cleared) == {"access_token", "refresh_token", "csrf_token"}
    for header in cleared.values():
        assert value(header) == ""
        assert "Max-Age=0" in attributes(header)
    assert "Path=/auth" in attributes(cleared["refresh_token"])
    assert client.get("/me", headers=cookie_header(jar, "access_token")).status_code == 401
    again = client.post("/auth/refresh", headers=headers)
    assert again.status_code == 401


def test_cookie_mode_from_a_policy_object() -> None:
    app = Flask(__name__)
    app.config.update(settings())
    users = UserTable()
    policy = CookiePolicy(access_name="at", refresh_name="rt", csrf_name="ct", secure=False)
    JWT(app, cookies=policy, check_credentials=users.check)
    add_routes(app, users)
    response = app.test_client().post("/auth/login", json=ALICE)
    assert set(cookies_of(response)) == {"at", "rt", "ct"}


# --- the example app ------------------------------------------------------------------------


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``examples.flask_app``, importable (it builds its ``app`` from the environment)."""
    env = {"JWT_ALGORITHMS": "HS256", "JWT_SECRET": SECRET, "JWT_STORE_URL": "memory://"}
    for name, setting in env.items():
        monkeypatch.setenv(name, setting)
    return importlib.import_module("examples.flask_app")


def test_the_example_app_password_route(example: ModuleType) -> None:
    app = example.create_app(
        {"JWT_ALGORITHMS": "HS256", "JWT_SECRET": SECRET, "JWT_ISSUER": ISSUER,
         "JWT_STORE_URL": "memory://"}
    )
    client = app.test_client(use_cookies=False)
    assert client.get("/public").status_code == 200
    pair = login(client, BOB)
    headers = bearer(pair["access_token"])
    assert client.get("/me", headers=headers).get_json()["subject"] == "bob"
    assert client.get("/admin", headers=headers).status_code == 403
    short = client.post("/auth/password", json={"new_password": "short"}, headers=headers)
    assert short.status_code == 400
    changed = client.post("/auth/password", json={"new_password": "new-pass-99"}, headers=headers)
    assert changed.status_code == 200
    assert changed.get_json() == {"status": "password changed"}


def test_the_example_app_verifies_only_without_a_signing_key(example: ModuleType) -> None:
    key = generate_key("ES256")
    app = example.create_app(
        {"JWT_ALGORITHMS": "ES256", "JWT_PUBLIC_KEY": key.public_pem().decode(),
         "JWT_STORE_URL": "memory://"}
    )
    client = app.test_client()
    assert client.get("/public").status_code == 200
    assert client.post("/auth/login", json=ALICE).status_code == 404


# --- configuration --------------------------------------------------------------------------


def check(username: str, password: str) -> Identity | None:
    return Identity(username) if password == "ok" else None


@pytest.mark.parametrize(
    ("missing", "message"),
    [("JWT_STORE_URL", "JWT_STORE_URL"), ("JWT_ISSUER", "JWT_ISSUER")],
)
def test_the_lifecycle_needs_a_store_and_an_issuer(missing: str, message: str) -> None:
    app = Flask(__name__)
    app.config.update({k: v for k, v in settings().items() if k != missing})
    with pytest.raises(ConfigurationError, match=message):
        JWT(app, check_credentials=check)


def test_the_lifecycle_needs_a_signing_key() -> None:
    app = Flask(__name__)
    config = {k: v for k, v in settings().items() if k not in ("JWT_SECRET", "JWT_ALGORITHMS")}
    key = generate_key("ES256")
    app.config.update(config, JWT_ALGORITHMS="ES256", JWT_PUBLIC_KEY=key.public_pem().decode())
    with pytest.raises(ConfigurationError, match="signing key"):
        JWT(app, check_credentials=check)


def test_the_lifecycle_needs_the_revocation_check() -> None:
    app = Flask(__name__)
    app.config.update(settings(JWT_REVOCATION=False))
    with pytest.raises(ConfigurationError, match="REVOCATION"):
        JWT(app, check_credentials=check)


def test_an_async_credential_check_is_refused() -> None:
    async def acheck(username: str, password: str) -> Identity | None:
        return None

    with pytest.raises(ConfigurationError, match="sync"):
        JWT(check_credentials=acheck)


def test_a_bad_lifecycle_setting_is_an_error_at_init() -> None:
    for bad in ({"JWT_ACCESS_TTL": "soon"}, {"JWT_COOKIE_SAMESITE": "Sometimes", "JWT_COOKIES": 1}):
        app = Flask(__name__)
        app.config.update(settings(**bad))
        with pytest.raises(ConfigurationError):
            JWT(app, check_credentials=check)


def test_unknown_keys_are_still_refused() -> None:
    app = Flask(__name__)
    app.config.update(settings(JWT_COOKIE="1"))
    with pytest.raises(ConfigurationError, match="JWT_COOKIE"):
        JWT(app, check_credentials=check)


def test_auth_routes_without_the_lifecycle() -> None:
    app = Flask(__name__)
    app.config.update(settings())
    JWT(app)
    with pytest.raises(ConfigurationError, match="check_credentials"):
        app.register_blueprint(auth_blueprint())
    with app.app_context(), pytest.raises(RuntimeError, match="check_credentials"):
        revoke_subject("alice")
    with pytest.raises(RuntimeError, match="check_credentials"):
        JWT.token_service(app)


def test_refresh_cookie_path_must_cover_the_auth_routes() -> None:
    app = Flask(__name__)
    app.config.update(settings(JWT_COOKIES=True))
    JWT(app, check_credentials=check)
    with pytest.raises(ConfigurationError, match="refresh cookie"):
        app.register_blueprint(auth_blueprint(url_prefix="/api/auth"))
    app.register_blueprint(auth_blueprint(name="other", url_prefix="/auth/v2"))


def test_two_apps_keep_their_own_lifecycle() -> None:
    first, second = make_app(), make_app(JWT_ISSUER="https://other.test")
    pair = login(first.test_client())
    assert JWT.token_issuer(first).issuer == ISSUER
    assert JWT.token_issuer(second).issuer == "https://other.test"
    assert JWT.token_service(first) is not JWT.token_service(second)
    client = second.test_client()
    assert client.get("/me", headers=bearer(pair["access_token"])).status_code == 401
    assert refresh(client, pair["refresh_token"]).status_code == 401


def test_the_example_app_in_cookie_mode(example: ModuleType) -> None:
    app = example.create_app(
        {"JWT_ALGORITHMS": "HS256", "JWT_SECRET": SECRET, "JWT_ISSUER": ISSUER,
         "JWT_STORE_URL": "memory://", "JWT_COOKIES": "1", "JWT_COOKIE_SECURE": "0",
         "JWT_ACCESS_TTL": "120"}
    )
    client = app.test_client(use_cookies=False)
    response = client.post("/auth/login", json=ALICE)
    assert response.get_json()["expires_in"] == 120
    cookies = cookies_of(response)
    assert "Secure" not in attributes(cookies["access_token"])
    jar = {name: value(header) for name, header in cookies.items()}
    assert client.get("/me", headers=cookie_header(jar, "access_token")).status_code == 200


def test_cookie_mode_routes_must_be_under_the_refresh_path() -> None:
    """The same start-up rule as Starlette's token_mount: the refresh cookie must reach
    the refresh and logout routes, or every browser refresh fails silently."""
    app = Flask(__name__)
    app.config.update(settings(JWT_COOKIES=True))
    JWT(app, check_credentials=UserTable().check)
    with pytest.raises(ConfigurationError, match="JWT_REFRESH_PATH"):
        app.register_blueprint(auth_blueprint(url_prefix="/api/auth"))
    moved = Flask(__name__)
    moved.config.update(settings(JWT_COOKIES=True, JWT_REFRESH_PATH="/api/auth"))
    JWT(moved, check_credentials=UserTable().check)
    moved.register_blueprint(auth_blueprint(url_prefix="/api/auth"))
    assert "jwt_auth" in moved.blueprints
