"""The Flask extension: setup, deny by default, decorators, accessors, error answers."""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, Response, request
from flask.testing import FlaskClient
from flask.views import MethodView
from werkzeug.test import TestResponse

from jwt_middleware import Config, ConfigurationError, Key, KeySet, Principal, encode
from jwt_middleware.flask import (
    EXTENSION_KEY,
    JWT,
    PRINCIPAL_KEY,
    AuthEvent,
    claims_required,
    current_principal,
    get_jwt,
    get_principal,
    jwt_required,
    roles_accepted,
    roles_required,
    scopes_required,
)

SECRET = "s" * 32
HAS_ASGIREF = importlib.util.find_spec("asgiref") is not None
needs_asgiref = pytest.mark.skipif(not HAS_ASGIREF, reason="Flask async views need asgiref")


def make_token(key: Key, **claims: Any) -> str:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "alice", "iat": now, "exp": now + 300}
    base.update(claims)
    return encode(base, key)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def settings(secret: str = SECRET, **extra: Any) -> dict[str, Any]:
    return {"JWT_ALGORITHMS": "HS256", "JWT_SECRET": secret, **extra}


def create_app(jwt: JWT | None = None, **config: Any) -> Flask:
    """An app factory in the usual shape: one extension object, settings per app."""
    app = Flask(__name__)
    app.config.update(config or settings())
    (jwt or JWT()).init_app(app)

    @app.get("/plain")
    def plain() -> dict[str, Any]:
        principal = get_principal()
        return {"subject": principal.subject if principal else None}

    return app


@pytest.fixture
def key() -> Key:
    return Key.from_secret(SECRET, "HS256")


@pytest.fixture
def app() -> Flask:
    return create_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def assert_error(response: TestResponse, status: int, error: str) -> None:
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == error
    assert set(body) == {"error", "error_description"}
    assert response.headers["WWW-Authenticate"].startswith(
        f'Bearer realm="api", error="{error}", error_description='
    )
    assert response.mimetype == "application/json"


# --- setup --------------------------------------------------------------------------------


def test_init_app_with_a_factory_stores_state_per_app_not_on_the_extension() -> None:
    jwt = JWT()
    first, second = create_app(jwt), create_app(jwt)
    assert EXTENSION_KEY in first.extensions
    assert first.extensions[EXTENSION_KEY] is not second.extensions[EXTENSION_KEY]
    assert not hasattr(jwt, "app")


def test_two_apps_with_different_secrets_refuse_each_others_tokens() -> None:
    secret_a, secret_b = "a" * 32, "b" * 32
    jwt = JWT()
    app_a = create_app(jwt, **settings(secret_a))
    app_b = create_app(jwt, **settings(secret_b))
    token_a = make_token(Key.from_secret(secret_a, "HS256"))
    token_b = make_token(Key.from_secret(secret_b, "HS256"))
    assert app_a.test_client().get("/plain", headers=auth(token_a)).status_code == 200
    assert app_b.test_client().get("/plain", headers=auth(token_b)).status_code == 200
    assert_error(app_b.test_client().get("/plain", headers=auth(token_a)), 401, "invalid_token")
    assert_error(app_a.test_client().get("/plain", headers=auth(token_b)), 401, "invalid_token")


def test_config_argument_replaces_app_config(key: Key) -> None:
    app = Flask(__name__)
    app.config["JWT_SECRET_KEY"] = "flask-jwt-extended would read this; ignored with config="
    JWT(app, config=Config(keys=KeySet([key]), issuer="https://i.test"))

    @app.get("/x")
    def x() -> str:
        return current_principal.issuer or ""

    c = app.test_client()
    assert c.get("/x", headers=auth(make_token(key, iss="https://i.test"))).text == "https://i.test"
    other_issuer = make_token(key, iss="https://other")
    assert_error(c.get("/x", headers=auth(other_issuer)), 401, "invalid_token")


def test_unknown_jwt_key_is_rejected_at_init_app_with_a_clear_message() -> None:
    app = Flask(__name__)
    app.config.update(settings(JWT_SECRET_KEY="from flask-jwt-extended"))
    with pytest.raises(ConfigurationError) as info:
        JWT(app)
    message = str(info.value)
    assert "JWT_SECRET_KEY" in message
    assert "prefix=" in message
    assert message.startswith("unknown setting JWT_SECRET_KEY: did you mean JWT_SECRET? ")
    assert EXTENSION_KEY not in app.extensions


def test_another_prefix_leaves_other_jwt_keys_alone(key: Key) -> None:
    app = Flask(__name__)
    app.config.update(JWT_SECRET_KEY="someone else's", JWTM_ALGORITHMS="HS256", JWTM_SECRET=SECRET)
    JWT(app, prefix="JWTM_")

    @app.get("/x")
    def x() -> str:
        return current_principal.subject or ""

    assert app.test_client().get("/x", headers=auth(make_token(key))).text == "alice"


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (settings(JWT_MODE="sometimes"), "JWT_MODE must be 'required' or 'optional'"),
        (settings(JWT_LEEWAY="soon"), "JWT_LEEWAY has a value of the wrong form"),
        (settings(JWT_PUBLIC_PATHS=["health"]), "public paths start with '/'"),
        (settings(JWT_PUBLIC_PATHS=42), "JWT_PUBLIC_PATHS must be a list"),
        (settings(secret="short"), "secret"),
        ({"JWT_ALGORITHMS": "HS256"}, "no key configured: set JWT_SECRET"),
    ],
)
def test_bad_settings_fail_at_init_app(config: dict[str, Any], match: str) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(ConfigurationError, match=match):
        JWT(app)


def test_init_app_twice_on_one_app_is_an_error(app: Flask) -> None:
    with pytest.raises(ConfigurationError, match="already set up"):
        JWT(app)


def test_settings_from_app_config_mode_and_public_paths(key: Key) -> None:
    app = create_app(**settings(JWT_MODE="optional", JWT_PUBLIC_PATHS="/health, /static/*"))

    @app.get("/health")
    def health() -> str:
        return "ok"

    c = app.test_client()
    assert c.get("/plain").get_json() == {"subject": None}
    assert c.get("/plain", headers=auth(make_token(key))).get_json() == {"subject": "alice"}
    assert_error(c.get("/plain", headers=auth("bad")), 401, "invalid_token")
    assert c.get("/health", headers=auth("bad")).status_code == 200


# --- deny by default ----------------------------------------------------------------------


def test_an_undecorated_route_is_protected(client: FlaskClient, key: Key) -> None:
    assert_error(client.get("/plain"), 401, "invalid_request")
    assert_error(client.get("/plain", headers=auth("x.y.z")), 401, "invalid_token")
    ok = client.get("/plain", headers=auth(make_token(key)))
    assert ok.get_json() == {"subject": "alice"}


def test_public_paths_and_methods(key: Key) -> None:
    app = create_app(**settings(JWT_PUBLIC_PATHS=["/files/*"], JWT_PUBLIC_METHODS=["HEAD"]))

    @app.get("/files/<path:name>")
    def files(name: str) -> str:
        return name

    c = app.test_client()
    assert c.get("/files/app.css").text == "app.css"
    assert c.head("/plain").status_code == 200
    assert c.get("/plain").status_code == 401


def test_unknown_routes_are_left_to_flask(client: FlaskClient) -> None:
    assert client.get("/no-such-route").status_code == 404
    assert client.post("/plain").status_code == 405


def test_cors_preflight_passes(client: FlaskClient) -> None:
    preflight = client.options("/plain", headers={"Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    assert_error(client.options("/plain"), 401, "invalid_request")


def test_the_principal_is_in_the_environ_and_visible_to_the_apps_hooks(key: Key) -> None:
    app = Flask(__name__)
    app.config.update(settings())
    seen: list[str | None] = []

    @app.before_request  # registered before the extension: authentication still runs first
    def remember() -> None:
        seen.append(current_principal.subject)

    JWT(app)

    @app.get("/environ")
    def environ() -> str:
        principal = request.environ[PRINCIPAL_KEY]
        assert isinstance(principal, Principal)
        return principal.subject or ""

    c = app.test_client()
    assert c.get("/environ", headers=auth(make_token(key, sub="bo"))).text == "bo"
    assert seen == ["bo"]
    assert_error(c.get("/environ"), 401, "invalid_request")
    assert seen == ["bo"]


# --- decorators on sync views -------------------------------------------------------------


def guarded_app() -> Flask:
    app = create_app()

    @app.get("/optional")
    @jwt_required(optional=True)
    def optional() -> dict[str, Any]:
        principal = get_principal()
        return {"subject": principal.subject if principal else None}

    @app.get("/required")
    @jwt_required()
    def required() -> str:
        return current_principal.subject or ""

    @app.get("/all-roles")
    @roles_required("admin", "ops")
    def all_roles() -> str:
        return "all"

    @app.get("/any-role")
    @roles_accepted("admin", "ops")
    def any_role() -> str:
        return "any"

    @app.get("/scopes")
    @scopes_required("read", "write")
    def scopes() -> str:
        return "scopes"

    @app.get("/claims")
    @claims_required(lambda claims: claims.get("tenant") == "acme", description="tenant is acme")
    def claims() -> str:
        return "claims"

    @app.get("/stacked")
    @jwt_required(optional=True)
    @roles_required("admin")
    def stacked() -> str:
        return "stacked"

    return app


@pytest.mark.parametrize(
    ("path", "claims", "status"),
    [
        ("/required", {}, 200),
        ("/all-roles", {"roles": ["admin", "ops"]}, 200),
        ("/all-roles", {"roles": ["admin"]}, 403),
        ("/any-role", {"roles": ["ops"]}, 200),
        ("/any-role", {"roles": ["user"]}, 403),
        ("/scopes", {"scope": "read write extra"}, 200),
        ("/scopes", {"scope": "read"}, 403),
        ("/claims", {"tenant": "acme"}, 200),
        ("/claims", {"tenant": "other"}, 403),
        ("/claims", {}, 403),
        ("/stacked", {"roles": ["admin"]}, 200),
        ("/stacked", {"roles": []}, 403),
    ],
)
def test_decorators_on_sync_views(key: Key, path: str, claims: dict[str, Any], status: int) -> None:
    response = guarded_app().test_client().get(path, headers=auth(make_token(key, **claims)))
    assert response.status_code == status
    if status == 403:
        assert_error(response, 403, "insufficient_scope")


@pytest.mark.parametrize(
    "path", ["/required", "/all-roles", "/any-role", "/scopes", "/claims", "/stacked"]
)
def test_guarded_views_need_a_token(path: str) -> None:
    assert_error(guarded_app().test_client().get(path), 401, "invalid_request")


def test_optional_view_in_a_required_app(key: Key) -> None:
    c = guarded_app().test_client()
    assert c.get("/optional").get_json() == {"subject": None}
    assert c.get("/optional", headers=auth(make_token(key))).get_json() == {"subject": "alice"}
    assert_error(c.get("/optional", headers=auth("bad")), 401, "invalid_token")


def test_a_decorator_overrides_app_wide_public_paths_and_optional_mode() -> None:
    app = create_app(**settings(JWT_MODE="optional", JWT_PUBLIC_PATHS=["/admin"]))

    @app.get("/admin")
    @roles_required("admin")
    def admin() -> str:
        return "admin"

    @app.get("/me")
    @jwt_required()
    def me() -> str:
        return "me"

    c = app.test_client()
    assert c.get("/plain").status_code == 200
    assert_error(c.get("/admin"), 401, "invalid_request")
    assert_error(c.get("/me"), 401, "invalid_request")


def test_403_names_the_missing_scopes_and_is_reported(key: Key) -> None:
    events: list[AuthEvent] = []
    app = Flask(__name__)
    app.config.update(settings())
    JWT(app, on_event=events.append)

    @app.get("/scopes")
    @scopes_required("write", "read")
    def scopes() -> str:
        return "scopes"

    @app.get("/admin")
    @roles_required("admin")
    def admin() -> str:
        return "admin"

    c = app.test_client()
    response = c.get("/scopes", headers=auth(make_token(key, sub="eve", scope="read")))
    assert_error(response, 403, "insufficient_scope")
    assert response.get_json() == {
        "error": "insufficient_scope",
        "error_description": "a required scope is missing",
    }
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="a required scope is missing", scope="read write"'
    )
    eve = make_token(key, sub="eve")
    assert_error(c.get("/admin", headers=auth(eve)), 403, "insufficient_scope")
    assert_error(c.get("/admin"), 401, "invalid_request")
    assert [(e.reason, e.status, e.path, e.subject) for e in events] == [
        ("insufficient_scope", 403, "/scopes", "eve"),
        ("insufficient_role", 403, "/admin", "eve"),
        ("missing_token", 401, "/admin", None),
    ]


def test_errors_never_contain_the_token(key: Key, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="jwt_middleware")
    app = guarded_app()
    c = app.test_client()
    user = make_token(key, roles=["user"])
    expired = make_token(key, iat=int(time.time()) - 600, exp=int(time.time()) - 60)
    answers = [c.get("/all-roles", headers=auth(user)), c.get("/plain", headers=auth(expired))]
    assert [a.status_code for a in answers] == [403, 401]
    assert caplog.records
    for token in (user, expired):
        signature = token.rsplit(".", 1)[1]
        for answer in answers:
            assert signature not in answer.get_data(as_text=True)
            assert signature not in str(answer.headers)
        assert all(signature not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: roles_required(), "roles_required needs at least one name"),
        (lambda: roles_accepted(""), "non-empty strings"),
        (lambda: scopes_required(), "scopes_required needs at least one name"),
        (lambda: claims_required("tenant"), "callable"),  # type: ignore[arg-type]
        (lambda: jwt_required(optional="yes"), "parentheses"),  # type: ignore[arg-type]
        (lambda: roles_required(lambda: "x"), "with arguments"),  # type: ignore[arg-type]
    ],
)
def test_decorator_arguments_are_checked_at_decoration_time(
    make: Callable[[], object], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        make()


def test_a_decorated_view_on_an_app_without_the_extension_fails_closed() -> None:
    app = Flask(__name__)

    @app.get("/x")
    @jwt_required()
    def x() -> str:
        return "should not be served"

    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(RuntimeError, match=r"JWT\(app\)"):
        app.test_client().get("/x")


# --- async views --------------------------------------------------------------------------


@needs_asgiref
def test_decorators_on_async_views(key: Key) -> None:
    app = create_app()

    @app.get("/async-admin")
    @roles_required("admin")
    async def async_admin() -> dict[str, Any]:
        return {"subject": current_principal.subject, "claims": dict(get_jwt())["sub"]}

    @app.get("/async-optional")
    @jwt_required(optional=True)
    async def async_optional() -> dict[str, Any]:
        principal = get_principal()
        return {"subject": principal.subject if principal else None}

    c = app.test_client()
    ok = c.get("/async-admin", headers=auth(make_token(key, roles=["admin"])))
    assert ok.get_json() == {"subject": "alice", "claims": "alice"}
    assert_error(c.get("/async-admin", headers=auth(make_token(key))), 403, "insufficient_scope")
    assert_error(c.get("/async-admin"), 401, "invalid_request")
    assert c.get("/async-optional").get_json() == {"subject": None}
    assert_error(c.get("/async-optional", headers=auth("bad")), 401, "invalid_token")


# --- MethodView ---------------------------------------------------------------------------


def test_decorators_on_method_view_methods(key: Key) -> None:
    app = create_app()

    class Items(MethodView):
        @jwt_required(optional=True)
        def get(self) -> dict[str, Any]:
            principal = get_principal()
            return {"subject": principal.subject if principal else None}

        @roles_required("writer")
        def post(self) -> tuple[str, int]:
            return "created", 201

        def delete(self) -> str:
            return "deleted"

    app.add_url_rule("/items", view_func=Items.as_view("items"))
    c = app.test_client()
    assert c.get("/items").get_json() == {"subject": None}
    assert c.head("/items").status_code == 200
    assert_error(c.get("/items", headers=auth("bad")), 401, "invalid_token")
    assert_error(c.post("/items"), 401, "invalid_request")
    assert_error(c.post("/items", headers=auth(make_token(key))), 403, "insufficient_scope")
    created = c.post("/items", headers=auth(make_token(key, roles=["writer"])))
    assert (created.status_code, created.text) == (201, "created")
    assert_error(c.delete("/items"), 401, "invalid_request")  # undecorated: deny by default
    assert c.delete("/items", headers=auth(make_token(key))).text == "deleted"


@needs_asgiref
def test_async_method_view_method(key: Key) -> None:
    app = create_app()

    class Report(MethodView):
        @scopes_required("reports")
        async def get(self) -> str:
            return current_principal.subject or ""

    app.add_url_rule("/report", view_func=Report.as_view("report"))
    c = app.test_client()
    assert c.get("/report", headers=auth(make_token(key, scope="reports"))).text == "alice"
    assert_error(c.get("/report", headers=auth(make_token(key))), 403, "insufficient_scope")


# --- accessors ----------------------------------------------------------------------------


def test_accessors_outside_a_request_raise_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="no request is being handled"):
        _ = current_principal.subject
    with pytest.raises(RuntimeError, match="no request is being handled"):
        get_jwt()
    with pytest.raises(RuntimeError, match="no request is being handled"):
        get_principal()


def test_accessors_in_a_request_without_a_token_raise(app: Flask) -> None:
    with app.test_request_context("/plain"):
        assert get_principal() is None
        with pytest.raises(RuntimeError, match=r"@jwt_required\(\)"):
            _ = current_principal.subject
        with pytest.raises(RuntimeError, match="get_principal"):
            get_jwt()


def test_get_jwt_returns_the_read_only_claims(app: Flask, key: Key) -> None:
    @app.get("/claims")
    def claims() -> dict[str, Any]:
        claims = get_jwt()
        with pytest.raises(TypeError):
            claims["sub"] = "mallory"  # type: ignore[index]
        return dict(claims)

    body = app.test_client().get("/claims", headers=auth(make_token(key, tenant="t1"))).get_json()
    assert (body["sub"], body["tenant"]) == ("alice", "t1")


# --- the app's own error handling ---------------------------------------------------------


def test_the_apps_own_404_and_500_handlers_keep_working(key: Key) -> None:
    app = create_app()

    @app.errorhandler(404)
    def not_found(error: Exception) -> tuple[dict[str, str], int]:
        return {"custom": "not found"}, 404

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[dict[str, str], int]:
        return {"custom": "server error"}, 500

    @app.get("/boom")
    def boom() -> str:
        raise KeyError("boom")

    @app.get("/admin")
    @roles_required("admin")
    def admin() -> str:
        return "admin"

    c = app.test_client()
    assert c.get("/missing").get_json() == {"custom": "not found"}
    crashed = c.get("/boom", headers=auth(make_token(key)))
    assert (crashed.status_code, crashed.get_json()) == (500, {"custom": "server error"})
    assert_error(c.get("/boom"), 401, "invalid_request")
    assert_error(c.get("/admin", headers=auth(make_token(key))), 403, "insufficient_scope")


def test_a_catch_all_error_handler_does_not_swallow_401_and_403(key: Key) -> None:
    app = create_app()

    @app.errorhandler(Exception)
    def anything(error: Exception) -> Response:
        return Response("caught", status=599)

    @app.get("/admin")
    @roles_required("admin")
    def admin() -> str:
        raise KeyError("boom")

    c = app.test_client()
    assert_error(c.get("/admin"), 401, "invalid_request")
    assert_error(c.get("/admin", headers=auth(make_token(key))), 403, "insufficient_scope")
    assert c.get("/admin", headers=auth(make_token(key, roles=["admin"]))).status_code == 599


def test_the_flask_integration_imports_no_other_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, jwt_middleware.flask\n"
        "print(','.join(m for m in ('starlette', 'fastapi', 'asgiref', 'redis', 'httpx')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
