"""Flask: ``on_error`` (the ASGI middleware's hook, for Flask), the user loader with
``current_user``, and the claims hook at login."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask, Request, Response, g, jsonify
from flask.testing import FlaskClient

from jwt_middleware import (
    AuthError,
    ConfigurationError,
    Identity,
    Key,
    Principal,
    ServiceUnavailableError,
    encode,
)
from jwt_middleware.flask import (
    JWT,
    auth_blueprint,
    current_principal,
    current_user,
    get_current_user,
    get_jwt,
    jwt_required,
    roles_required,
)

SECRET = "s" * 32
ISSUER = "https://issuer.test"
PASSWORD = "right-password"


def settings(**extra: Any) -> dict[str, Any]:
    return {
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET": SECRET,
        "JWT_ISSUER": ISSUER,
        "JWT_STORE_URL": "memory://",
        "JWT_PUBLIC_PATHS": ["/public"],
        **extra,
    }


def make_token(**claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "alice", "iss": ISSUER, "iat": now, "exp": now + 300, **claims}
    return encode(body, Key.from_secret(SECRET, "HS256"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def check(username: str, password: str) -> Identity | None:
    if password != PASSWORD:
        return None
    return Identity(username, roles=("user",), claims={"plan": "from-identity"})


class Users:
    """A user table that counts its look-ups."""

    def __init__(self) -> None:
        self.rows = {"alice": {"name": "Alice"}, "bob": {"name": "Bob"}}
        self.calls = 0

    def load(self, principal: Principal) -> dict[str, str] | None:
        self.calls += 1
        return self.rows.get(principal.subject or "")


def make_app(jwt: JWT, **init: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(settings())
    jwt.init_app(app, **init)
    if jwt.check_credentials is not None:
        app.register_blueprint(auth_blueprint())

    @app.before_request
    def remember() -> None:  # the app's own hook runs after the authentication hook
        g.user_in_hook = get_current_user()

    @app.get("/profile")
    def profile() -> dict[str, Any]:
        return {"name": current_user["name"], "same": get_current_user() is g.user_in_hook}

    @app.get("/public")
    def public() -> dict[str, Any]:
        return {"user": get_current_user()}

    @app.get("/maybe")
    @jwt_required(optional=True)
    def maybe() -> dict[str, Any]:
        return {"user": get_current_user()}

    @app.get("/admin")
    @roles_required("admin")
    def admin() -> dict[str, bool]:
        return {"admin": True}

    @app.get("/claims")
    def claims() -> dict[str, Any]:
        return dict(get_jwt())

    return app


# --- on_error -------------------------------------------------------------------------------


def test_on_error_shapes_every_refusal() -> None:
    seen: list[tuple[str, str]] = []

    def shape(request: Request, error: AuthError) -> Any:
        seen.append((request.path, error.reason))
        if error.status == 403:
            return {"msg": error.description}  # a bare body keeps the refusal's status
        if error.reason == "unknown_user":
            return jsonify(msg="who are you?"), 410
        return None  # the default RFC 6750 answer

    users = Users()
    client = make_app(JWT(check_credentials=check, on_error=shape, user_loader=users.load))
    client_ = client.test_client()
    denied = client_.get("/admin", headers=bearer(make_token()))
    assert (denied.status_code, denied.get_json()) == (403, {"msg": "a required role is missing"})
    missing = client_.get("/profile")
    assert missing.status_code == 401
    assert missing.get_json() == {
        "error": "invalid_request",
        "error_description": "a bearer token is required",
    }
    assert 'error="invalid_request"' in missing.headers["WWW-Authenticate"]
    gone = client_.get("/profile", headers=bearer(make_token(sub="mallory")))
    assert (gone.status_code, gone.get_json()) == (410, {"msg": "who are you?"})
    assert seen == [
        ("/admin", "insufficient_role"),
        ("/profile", "missing_token"),
        ("/profile", "unknown_user"),
    ]


def test_on_error_may_return_a_response() -> None:
    def shape(request: Request, error: AuthError) -> Response:
        return Response("no", status=error.status, mimetype="text/plain")

    client = make_app(JWT(on_error=shape)).test_client()
    response = client.get("/profile")
    assert (response.status_code, response.get_data(as_text=True)) == (401, "no")


def test_init_app_takes_the_hooks_for_one_app() -> None:
    jwt = JWT(on_error=lambda request, error: {"app": "default"})
    first = make_app(jwt).test_client()
    second = make_app(jwt, on_error=lambda request, error: {"app": "second"}).test_client()
    assert first.get("/profile").get_json() == {"app": "default"}
    assert second.get("/profile").get_json() == {"app": "second"}


def test_app_error_handlers_do_not_see_refusals() -> None:
    """Answered, not raised: a catch-all handler cannot turn a 401 into its 500 page."""
    app = make_app(JWT())
    called: list[object] = []

    @app.errorhandler(Exception)
    def everything(exc: Exception) -> tuple[dict[str, str], int]:
        called.append(exc)
        return {"error": "internal"}, 500

    @app.errorhandler(AuthError)
    def ours(exc: AuthError) -> tuple[dict[str, str], int]:  # pragma: no cover - not called
        called.append(exc)
        return {"error": "never"}, 418

    client = app.test_client()
    assert client.get("/profile").status_code == 401
    assert client.get("/admin", headers=bearer(make_token())).status_code == 403
    assert called == []


def test_hooks_are_checked_at_set_up() -> None:
    async def async_loader(principal: Principal) -> None:
        return None

    with pytest.raises(ConfigurationError, match="sync"):
        JWT(user_loader=async_loader)
    with pytest.raises(ConfigurationError, match="sync"):
        JWT().user_loader(async_loader)
    with pytest.raises(ConfigurationError, match="2 positional arguments"):
        JWT(on_error=lambda error: None)  # type: ignore[arg-type, misc]
    with pytest.raises(ConfigurationError, match="one positional argument"):
        JWT().claims_loader(lambda: {})  # type: ignore[type-var]
    with pytest.raises(ConfigurationError, match="callable"):
        JWT(on_error="shape")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="check_credentials"):
        make_app(JWT(claims_loader=lambda subject: {}))


# --- the user loader ----------------------------------------------------------------------------


@pytest.fixture
def users() -> Users:
    return Users()


@pytest.fixture
def client(users: Users) -> FlaskClient:
    jwt = JWT(check_credentials=check)
    app = make_app(jwt)
    jwt.user_loader(users.load)  # after init_app: still this app's loader
    return app.test_client(use_cookies=False)


def test_current_user_is_loaded_once_before_the_view(client: FlaskClient, users: Users) -> None:
    response = client.get("/profile", headers=bearer(make_token()))
    assert response.get_json() == {"name": "Alice", "same": True}
    assert users.calls == 1
    client.get("/profile", headers=bearer(make_token(sub="bob")))
    assert users.calls == 2


def test_a_gone_user_is_401(client: FlaskClient) -> None:
    response = client.get("/profile", headers=bearer(make_token(sub="mallory")))
    assert response.status_code == 401
    assert response.get_json() == {
        "error": "invalid_token",
        "error_description": "the token's user is unknown",
    }
    optional = client.get("/maybe", headers=bearer(make_token(sub="mallory")))
    assert optional.status_code == 401  # a decorated view: as a bad token there


def test_public_paths_and_anonymous_requests_have_no_user(
    client: FlaskClient, users: Users
) -> None:
    assert client.get("/public", headers=bearer(make_token(sub="mallory"))).get_json() == {
        "user": None
    }
    assert client.get("/maybe").get_json() == {"user": None}
    assert users.calls == 1  # no token, no look-up


def test_the_auth_routes_never_load_the_user(client: FlaskClient, users: Users) -> None:
    login = client.post("/auth/login", json={"username": "mallory", "password": PASSWORD})
    token = login.get_json()["access_token"]
    logout = client.post("/auth/logout", headers=bearer(token))
    assert logout.status_code == 200  # a gone user can still log out
    assert users.calls == 0


def test_a_loader_may_refuse_with_an_auth_error() -> None:
    def down(principal: Principal) -> None:
        raise ServiceUnavailableError("the user database is unavailable", retry_after=9)

    response = make_app(JWT(user_loader=down)).test_client().get(
        "/profile", headers=bearer(make_token())
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "9"


def test_current_user_explains_what_is_missing() -> None:
    app = make_app(JWT())
    with app.test_request_context("/profile"), pytest.raises(RuntimeError, match="user_loader"):
        current_user["name"]
    with pytest.raises(RuntimeError, match="no request"):
        get_current_user()
    jwt = JWT(user_loader=Users().load)
    app = make_app(jwt)
    with app.test_request_context("/maybe"):
        app.preprocess_request()
        assert get_current_user() is None
        with pytest.raises(RuntimeError, match="no user"):
            current_user["name"]


# --- the claims hook at login ---------------------------------------------------------------------


def test_claims_loader_adds_claims_at_login_only() -> None:
    asked: list[str] = []
    jwt = JWT(check_credentials=check)

    @jwt.claims_loader
    def claims(subject: str) -> dict[str, Any]:
        asked.append(subject)
        return {"tenant": "acme", "plan": "from-loader"}

    client = make_app(jwt).test_client(use_cookies=False)
    login = client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert login.status_code == 200, login.get_data(as_text=True)
    seen = client.get("/claims", headers=bearer(login.get_json()["access_token"])).get_json()
    assert (seen["tenant"], seen["plan"], seen["fresh"]) == ("acme", "from-identity", True)
    refreshed = client.post(
        "/auth/refresh", json={"refresh_token": login.get_json()["refresh_token"]}
    )
    assert refreshed.status_code == 200
    again = client.get("/claims", headers=bearer(refreshed.get_json()["access_token"]))
    assert again.get_json()["tenant"] == "acme"
    assert asked == ["alice"]  # the refresh carried the login's claims
    assert claims("bob") == {"tenant": "acme", "plan": "from-loader"}  # returned unchanged


def test_init_app_claims_loader_and_a_refusing_one() -> None:
    def refuse(subject: str) -> dict[str, Any]:
        raise ServiceUnavailableError("the directory is unavailable")

    jwt = JWT(check_credentials=check)
    client = make_app(jwt, claims_loader=refuse).test_client()
    login = client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert login.status_code == 503


def test_current_principal_still_works_with_a_user(client: FlaskClient) -> None:
    app = client.application

    @app.get("/both")
    def both() -> dict[str, Any]:
        return {"subject": current_principal.subject, "name": current_user["name"]}

    assert client.get("/both", headers=bearer(make_token())).get_json() == {
        "subject": "alice",
        "name": "Alice",
    }
