"""FastAPI token lifecycle: the Starlette scenarios through ``token_router`` and
``auth.fresh_required()``, plus the OpenAPI side.

No ``from __future__ import annotations``: FastAPI reads the local ``Annotated``
aliases of the app builder at runtime."""


from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.testclient import TestClient

from examples._asgi_auth import Lifecycle, change_password
from jwt_middleware import ConfigurationError, CookiePolicy, Principal
from jwt_middleware.asgi import ASGIApp, JWTMiddleware
from jwt_middleware.fastapi import JWTBearer, token_router
from jwt_middleware.starlette import auth_public_paths, read_fields, reply_response
from tests.integrations.test_starlette_lifecycle import (
    ALICE,
    BASE_URL,
    bearer,
    check_concurrent_refresh,
    check_cookie_logout_needs_csrf,
    check_cookie_mode,
    check_fresh_required,
    check_login,
    check_login_refusals,
    check_logout,
    check_password_change,
    check_refresh_and_replay,
    make_lifecycle,
)


def build_fastapi(auth: Lifecycle, *, middleware: bool = True, **bearer_options: Any) -> FastAPI:
    jwt = JWTBearer(config=auth.config, **bearer_options)
    Current = Annotated[Principal, Depends(jwt)]
    Fresh = Annotated[Principal, Depends(jwt.fresh_required())]

    app = FastAPI()
    app.include_router(token_router(auth.service))

    @app.get("/me")
    async def me(principal: Current) -> dict[str, Any]:
        return principal.to_dict()

    @app.get("/fresh", dependencies=[Depends(jwt.fresh_required())])
    async def fresh() -> dict[str, bool]:
        return {"fresh": True}

    @app.post("/api/echo")
    async def echo(request: Request, principal: Current) -> dict[str, Any]:
        return {"subject": principal.subject, "echo": await read_fields(request)}

    @app.post("/auth/password")
    async def password(request: Request, principal: Fresh) -> Response:
        fields = await read_fields(request)
        reply = await change_password(auth, principal.subject, fields.get("new_password"))
        return reply_response(reply)

    if middleware:
        app.add_middleware(
            JWTMiddleware,
            config=auth.config,
            cookies=auth.cookies,
            public_paths=auth_public_paths(),
        )
    return app


def build(auth: Lifecycle) -> ASGIApp:
    return build_fastapi(auth)


def test_login() -> None:
    check_login(build)


def test_login_refusals() -> None:
    check_login_refusals(build)


def test_refresh_and_replay() -> None:
    check_refresh_and_replay(build)


def test_logout() -> None:
    check_logout(build)


def test_fresh_required() -> None:
    check_fresh_required(build)


def test_password_change_revokes_old_tokens() -> None:
    check_password_change(build)


def test_cookie_mode() -> None:
    check_cookie_mode(build)


def test_cookie_logout_needs_csrf() -> None:
    check_cookie_logout_needs_csrf(build)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_concurrent_refreshes_one_wins(kind: str, tmp_path: Path) -> None:
    store = "memory://" if kind == "memory" else f"sqlite:///{tmp_path}/tokens.db"
    check_concurrent_refresh(build, store)


def test_without_the_middleware_the_bearer_does_the_work() -> None:
    """Bearer mode with no ASGI middleware: the dependency verifies, logout still
    finds the access token to revoke."""
    check_login(lambda auth: build_fastapi(auth, middleware=False))
    check_fresh_required(lambda auth: build_fastapi(auth, middleware=False))
    with TestClient(build_fastapi(make_lifecycle(), middleware=False), base_url=BASE_URL) as c:
        pair = c.post("/auth/login", json=ALICE).json()
        assert c.post("/auth/logout", headers=bearer(pair["access_token"])).status_code == 200
        assert c.get("/me", headers=bearer(pair["access_token"])).status_code == 401


def test_fresh_required_refusal_body_and_header() -> None:
    with TestClient(build(make_lifecycle()), base_url=BASE_URL) as client:
        pair = client.post("/auth/login", json=ALICE).json()
        renewed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        stale = client.get("/fresh", headers=bearer(renewed.json()["access_token"]))
        assert stale.status_code == 401
        assert stale.json() == {"detail": "a fresh login is required for this action"}
        assert stale.headers["www-authenticate"].startswith(
            'Bearer realm="shop", error="insufficient_user_authentication"'
        )


def test_openapi_documents_the_token_routes() -> None:
    schema = build_fastapi(make_lifecycle()).openapi()
    login = schema["paths"]["/auth/login"]["post"]
    content = login["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
    assert content["application/json"]["schema"]["required"] == ["username", "password"]
    assert login["tags"] == ["auth"]
    assert "security" not in login, "no padlock on the login route"
    assert set(schema["paths"]) >= {"/auth/refresh", "/auth/logout"}
    assert schema["paths"]["/auth/password"]["post"]["security"] == [{"JWTBearer": []}]


def test_token_url_makes_an_oauth2_password_scheme() -> None:
    """``/docs``' Authorize dialog posts the OAuth 2 form to the login route."""
    auth = make_lifecycle()
    app = build_fastapi(auth, token_url="/auth/login")
    scheme = app.openapi()["components"]["securitySchemes"]["JWTBearer"]
    assert scheme.pop("description").startswith("Log in with a username and password")
    assert scheme == {"type": "oauth2", "flows": {"password": {"scopes": {}, "tokenUrl":
                                                               "/auth/login"}}}
    with TestClient(app, base_url=BASE_URL) as client:
        form = {"grant_type": "password", "username": "alice", "password": "wonderland-42",
                "scope": "", "client_id": ""}
        token = client.post("/auth/login", data=form).json()["access_token"]
        assert client.get("/me", headers=bearer(token)).status_code == 200


def test_router_checks() -> None:
    auth = make_lifecycle(cookies=CookiePolicy())
    with pytest.raises(ConfigurationError, match="refresh cookie"):
        token_router(auth.service, prefix="/api/auth")
    with pytest.raises(ConfigurationError):
        token_router(auth.service, prefix="/")
    with pytest.raises(ConfigurationError):
        token_router(object())  # type: ignore[arg-type]
    hidden = FastAPI()
    hidden.include_router(token_router(auth.service, include_in_schema=False))
    assert "/auth/login" not in hidden.openapi()["paths"]
