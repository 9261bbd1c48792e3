"""Starlette token lifecycle: login, refresh, logout, fresh tokens, password change,
cookie mode with CSRF, and concurrent refreshes, through the ASGI app.

The ``check_*`` scenarios take an app builder; the FastAPI tests run them too.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from examples._asgi_auth import Lifecycle, change_password
from examples._users import UserTable
from jwt_middleware import (
    Config,
    ConfigurationError,
    CookiePolicy,
    Issuer,
    Key,
    KeySet,
    TokenService,
)
from jwt_middleware.asgi import ASGIApp, JWTMiddleware
from jwt_middleware.starlette import (
    auth_public_paths,
    fresh_required,
    get_principal,
    jwt_required,
    read_fields,
    reply_response,
    token_mount,
    token_routes,
)

ISSUER = "https://issuer.test"
AUDIENCE = "api.test"
ALICE = {"username": "alice", "password": "wonderland-42"}
BOB = {"username": "bob", "password": "builder-2026"}
PAIR_KEYS = {"access_token", "token_type", "expires_in", "refresh_token"}
BASE_URL = "https://testserver"  # https: the client's jar sends Secure cookies


class Clock:
    """A controllable clock: real time plus an offset."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


#: Builds the app under test from the lifecycle parts.
Builder = Callable[[Lifecycle], ASGIApp]


def make_lifecycle(
    *,
    cookies: CookiePolicy | None = None,
    clock: Callable[[], float] | None = None,
    store: str = "memory://",
) -> Lifecycle:
    key = Key.from_secret(secrets.token_bytes(32), "HS256")
    options: dict[str, Any] = {"clock": clock} if clock is not None else {}
    config = Config(
        keys=KeySet([key]), issuer=ISSUER, audience=AUDIENCE, realm="shop", store=store, **options
    )
    issuer = Issuer(config)
    users = UserTable()
    service = TokenService(issuer, users.check, cookies=cookies)
    return Lifecycle(config, cookies, issuer, service, users)


def build_starlette(auth: Lifecycle) -> ASGIApp:
    @jwt_required()
    async def me(request: Request) -> JSONResponse:
        principal = get_principal(request)
        assert principal is not None
        return JSONResponse(principal.to_dict())

    @fresh_required()
    async def fresh(request: Request) -> JSONResponse:
        return JSONResponse({"fresh": True})

    @jwt_required()
    async def echo(request: Request) -> JSONResponse:
        principal = get_principal(request)
        assert principal is not None
        return JSONResponse({"subject": principal.subject, "echo": await read_fields(request)})

    @fresh_required()
    async def password(request: Request) -> Response:
        principal = get_principal(request)
        assert principal is not None
        fields = await read_fields(request)
        return reply_response(
            await change_password(auth, principal.subject, fields.get("new_password"))
        )

    app = Starlette(
        routes=[
            Route("/me", me),
            Route("/fresh", fresh),
            Route("/api/echo", echo, methods=["POST"]),
            token_mount(auth.service, routes=[Route("/password", password, methods=["POST"])]),
        ]
    )
    app.add_middleware(
        JWTMiddleware, config=auth.config, cookies=auth.cookies, public_paths=auth_public_paths()
    )
    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, who: dict[str, str] = ALICE) -> dict[str, Any]:
    response = client.post("/auth/login", json=who)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- scenarios -------------------------------------------------------------------


def check_login(build: Builder) -> None:
    with TestClient(build(make_lifecycle()), base_url=BASE_URL) as client:
        response = client.post("/auth/login", json=ALICE)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == PAIR_KEYS
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        assert response.headers["cache-control"] == "no-store"
        assert "set-cookie" not in response.headers
        me = client.get("/me", headers=bearer(body["access_token"]))
        assert me.status_code == 200
        assert me.json()["subject"] == "alice"
        assert me.json()["roles"] == ["admin", "user"]

        form = client.post("/auth/login", data={**BOB, "grant_type": "password"})
        assert form.status_code == 200, "the OAuth 2 password form works too"
        assert set(form.json()) == PAIR_KEYS


def check_login_refusals(build: Builder) -> None:
    with TestClient(build(make_lifecycle()), base_url=BASE_URL) as client:
        for wrong in ({**ALICE, "password": "guess"}, {"username": "mallory", "password": "x"}):
            response = client.post("/auth/login", json=wrong)
            assert response.status_code == 401
            assert response.json()["error"] == "invalid_grant"
            assert response.headers["www-authenticate"].startswith('Bearer realm="shop"')
            assert response.headers["cache-control"] == "no-store"
        for missing in ({}, {"username": "alice"}, {"username": "alice", "password": 42}):
            response = client.post("/auth/login", json=missing)
            assert response.status_code == 400, missing
            assert response.json()["error"] == "invalid_request"
        for raw in (b"not json", b"[1, 2]", b"", b"[" * 5000):
            response = client.post(
                "/auth/login", content=raw, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400
        # A cross-site page can post these without a CORS preflight: refused (login CSRF).
        body = json.dumps(ALICE).encode()
        for headers in ({"content-type": "text/plain"}, {}):
            response = client.post("/auth/login", content=body, headers=headers)
            assert response.status_code == 400, headers
            assert response.json()["error"] == "invalid_request"
        other = client.post("/auth/login", data={**BOB, "grant_type": "client_credentials"})
        assert other.status_code == 400
        assert other.json()["error"] == "unsupported_grant_type"
        big = client.post("/auth/login", json={**ALICE, "pad": "x" * 20_000})
        assert big.status_code == 413
        assert big.json()["error"] == "invalid_request"


def check_refresh_and_replay(build: Builder) -> None:
    with TestClient(build(make_lifecycle()), base_url=BASE_URL) as client:
        pair = login(client)
        renewed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert renewed.status_code == 200
        new = renewed.json()
        assert set(new) == PAIR_KEYS
        assert renewed.headers["cache-control"] == "no-store"
        assert new["refresh_token"] != pair["refresh_token"]
        assert client.get("/me", headers=bearer(new["access_token"])).status_code == 200

        replay = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert replay.status_code == 401
        assert replay.json()["error"] == "invalid_token"
        # The whole family is revoked: the new refresh token and its access token too.
        again = client.post("/auth/refresh", json={"refresh_token": new["refresh_token"]})
        assert again.status_code == 401
        assert client.get("/me", headers=bearer(new["access_token"])).status_code == 401

        nothing = client.post("/auth/refresh", json={})
        assert nothing.status_code == 401
        access_as_refresh = client.post(
            "/auth/refresh", json={"refresh_token": login(client)["access_token"]}
        )
        assert access_as_refresh.status_code == 401


def check_logout(build: Builder) -> None:
    with TestClient(build(make_lifecycle()), base_url=BASE_URL) as client:
        pair = login(client)
        out = client.post(
            "/auth/logout",
            json={"refresh_token": pair["refresh_token"]},
            headers=bearer(pair["access_token"]),
        )
        assert out.status_code == 200
        assert out.json() == {"status": "logged out"}
        assert client.get("/me", headers=bearer(pair["access_token"])).status_code == 401
        refresh = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refresh.status_code == 401
        # Twice is fine, with the now revoked access token (the route is public).
        twice = client.post("/auth/logout", headers=bearer(pair["access_token"]))
        assert twice.status_code == 200

        # No (or a bad) access token: the refresh token alone ends the session.
        other = login(client)
        out = client.post(
            "/auth/logout",
            json={"refresh_token": other["refresh_token"]},
            headers=bearer("not-a-token"),
        )
        assert out.status_code == 200
        assert client.get("/me", headers=bearer(other["access_token"])).status_code == 401, (
            "the access token belongs to the revoked family"
        )

        # The access token alone: it and its family are revoked.
        third = login(client)
        assert client.post("/auth/logout", headers=bearer(third["access_token"])).status_code == 200
        refresh = client.post("/auth/refresh", json={"refresh_token": third["refresh_token"]})
        assert refresh.status_code == 401


def check_fresh_required(build: Builder) -> None:
    with TestClient(build(make_lifecycle()), base_url=BASE_URL) as client:
        pair = login(client)
        assert client.get("/fresh", headers=bearer(pair["access_token"])).status_code == 200
        renewed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        stale = client.get("/fresh", headers=bearer(renewed.json()["access_token"]))
        assert stale.status_code == 401
        assert 'error="insufficient_user_authentication"' in stale.headers["www-authenticate"]
        assert client.get("/fresh").status_code == 401


def check_password_change(build: Builder) -> None:
    clock = Clock()
    with TestClient(build(make_lifecycle(clock=clock)), base_url=BASE_URL) as client:
        pair = login(client)
        other = login(client)  # another session of the same user
        renewed = client.post(
            "/auth/refresh", json={"refresh_token": other["refresh_token"]}
        ).json()
        stale = client.post(
            "/auth/password",
            json={"new_password": "through-the-looking-glass"},
            headers=bearer(renewed["access_token"]),
        )
        assert stale.status_code == 401, "a refreshed token cannot change the password"
        assert 'error="insufficient_user_authentication"' in stale.headers["www-authenticate"]
        short = client.post(
            "/auth/password", json={"new_password": "short"}, headers=bearer(pair["access_token"])
        )
        assert short.status_code == 400

        # The watermark revokes what was issued *before* the change's second.
        clock.offset += 1.0
        changed = client.post(
            "/auth/password",
            json={"new_password": "through-the-looking-glass"},
            headers=bearer(pair["access_token"]),
        )
        assert changed.status_code == 200
        assert changed.json() == {"status": "password changed"}
        for token in (pair["access_token"], renewed["access_token"]):
            assert client.get("/me", headers=bearer(token)).status_code == 401
        for token in (pair["refresh_token"], renewed["refresh_token"]):
            assert client.post("/auth/refresh", json={"refresh_token": token}).status_code == 401
        assert client.post("/auth/login", json=ALICE).status_code == 401, "the old password"

        clock.offset += 1.0  # watermarks have 1-second granularity: a later login
        new = login(client, {"username": "alice", "password": "through-the-looking-glass"})
        assert client.get("/me", headers=bearer(new["access_token"])).status_code == 200
        assert client.get("/me", headers=bearer(login(client, BOB)["access_token"])).status_code \
            == 200, "other users are untouched"


def _cookies(response: httpx.Response) -> dict[str, str]:
    """name -> the whole Set-Cookie value."""
    return {value.split("=", 1)[0]: value for value in response.headers.get_list("set-cookie")}


def _attributes(value: str) -> set[str]:
    return {part.strip() for part in value.split(";")[1:]}


def check_cookie_mode(build: Builder) -> None:
    policy = CookiePolicy()
    with TestClient(build(make_lifecycle(cookies=policy)), base_url=BASE_URL) as client:
        response = client.post("/auth/login", json=ALICE)
        assert response.status_code == 200
        body = response.json()
        assert "access_token" not in body
        assert "refresh_token" not in body
        assert set(body) == {"token_type", "expires_in", "csrf_token"}
        assert response.headers["cache-control"] == "no-store"
        cookies = _cookies(response)
        assert set(cookies) == {"access_token", "refresh_token", "csrf_token"}
        assert _attributes(cookies["access_token"]) == {
            "Path=/", "Max-Age=900", "SameSite=Lax", "HttpOnly", "Secure"
        }
        assert _attributes(cookies["refresh_token"]) == {
            "Path=/auth", f"Max-Age={14 * 24 * 3600}", "SameSite=Lax", "HttpOnly", "Secure"
        }
        assert _attributes(cookies["csrf_token"]) == {
            "Path=/", f"Max-Age={14 * 24 * 3600}", "SameSite=Lax", "Secure"
        }, "the CSRF cookie is readable by the page's script"
        csrf = body["csrf_token"]
        assert cookies["csrf_token"].startswith(f"csrf_token={csrf};")
        first_access = client.cookies["access_token"]

        me = client.get("/me")
        assert me.status_code == 200, "a cookie alone is enough for a safe method"
        assert me.json()["subject"] == "alice"

        refused = client.post("/api/echo", json={"a": "b"})
        assert refused.status_code == 403
        assert refused.json()["error_description"] == "missing CSRF header X-CSRF-Token"
        wrong = client.post("/api/echo", json={"a": "b"}, headers={"X-CSRF-Token": "forged"})
        assert wrong.status_code == 403
        echoed = client.post("/api/echo", json={"a": "b"}, headers={"X-CSRF-Token": csrf})
        assert echoed.status_code == 200
        assert echoed.json() == {"subject": "alice", "echo": {"a": "b"}}

        no_csrf = client.post("/auth/refresh")
        assert no_csrf.status_code == 403, "refreshing from the cookie needs the CSRF header"
        assert no_csrf.json()["error_description"] == "missing CSRF header X-CSRF-Token"
        renewed = client.post("/auth/refresh", headers={"X-CSRF-Token": csrf})
        assert renewed.status_code == 200, renewed.text
        assert "refresh_token" not in renewed.json()
        assert set(_cookies(renewed)) == {"access_token", "refresh_token", "csrf_token"}
        new_csrf = renewed.json()["csrf_token"]
        assert client.cookies["access_token"] != first_access
        assert client.get("/me").status_code == 200

        out = client.post("/auth/logout", headers={"X-CSRF-Token": new_csrf})
        assert out.status_code == 200
        assert out.json() == {"status": "logged out"}
        cleared = _cookies(out)
        assert set(cleared) == {"access_token", "refresh_token", "csrf_token"}
        assert all("Max-Age=0" in value for value in cleared.values())
        assert client.get("/me").status_code == 401
        stolen = client.get("/me", headers=bearer(first_access))
        assert stolen.status_code == 401


def check_cookie_logout_needs_csrf(build: Builder) -> None:
    with TestClient(build(make_lifecycle(cookies=CookiePolicy())), base_url=BASE_URL) as client:
        login(client)
        forged = client.post("/auth/logout")  # a cross-site form post, say
        assert forged.status_code == 403
        assert client.get("/me").status_code == 200, "the session survives"


async def _concurrent_refreshes(app: ASGIApp, count: int) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        response = await client.post("/auth/login", json=ALICE)
        token = response.json()["refresh_token"]
        responses = await asyncio.gather(
            *(client.post("/auth/refresh", json={"refresh_token": token}) for _ in range(count))
        )
    return sorted(r.status_code for r in responses)


def check_concurrent_refresh(build: Builder, store: str) -> None:
    app = build(make_lifecycle(store=store))
    assert asyncio.run(_concurrent_refreshes(app, 2)) == [200, 401]
    assert asyncio.run(_concurrent_refreshes(app, 8)) == [200] + [401] * 7


# --- Starlette ----------------------------------------------------------------------


def test_login() -> None:
    check_login(build_starlette)


def test_login_refusals() -> None:
    check_login_refusals(build_starlette)


def test_refresh_and_replay() -> None:
    check_refresh_and_replay(build_starlette)


def test_logout() -> None:
    check_logout(build_starlette)


def test_fresh_required() -> None:
    check_fresh_required(build_starlette)


def test_password_change_revokes_old_tokens() -> None:
    check_password_change(build_starlette)


def test_cookie_mode() -> None:
    check_cookie_mode(build_starlette)


def test_cookie_logout_needs_csrf() -> None:
    check_cookie_logout_needs_csrf(build_starlette)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_concurrent_refreshes_one_wins(kind: str, tmp_path: Path) -> None:
    store = "memory://" if kind == "memory" else f"sqlite:///{tmp_path}/tokens.db"
    check_concurrent_refresh(build_starlette, store)


def test_token_routes_and_public_paths() -> None:
    auth = make_lifecycle()
    assert [r.path for r in token_routes(auth.service)] == ["/login", "/refresh", "/logout"]
    assert auth_public_paths() == ("/auth/login", "/auth/refresh", "/auth/logout")
    assert auth_public_paths("/api/auth/") == (
        "/api/auth/login", "/api/auth/refresh", "/api/auth/logout"
    )
    with pytest.raises(ConfigurationError):
        token_routes(object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        token_mount(auth.service, "/")


def test_cookie_mode_mount_must_be_under_the_refresh_path() -> None:
    auth = make_lifecycle(cookies=CookiePolicy())
    token_mount(auth.service, "/auth")
    with pytest.raises(ConfigurationError, match="refresh cookie"):
        token_mount(auth.service, "/api/auth")
    moved = make_lifecycle(cookies=CookiePolicy(refresh_path="/api/auth"))
    token_mount(moved.service, "/api/auth")


def test_the_credential_check_runs_off_the_event_loop() -> None:
    """The (slow, sync) password check runs in a worker thread, never on the loop."""
    auth = make_lifecycle()
    threads: list[int] = []

    def check(username: str, password: str) -> Any:
        threads.append(threading.get_ident())
        return auth.users.check(username, password)

    service = TokenService(auth.issuer, check)
    app = build_starlette(Lifecycle(auth.config, None, auth.issuer, service, auth.users))

    async def run() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await client.post("/auth/login", json=ALICE)
            assert response.status_code == 200
        return threading.get_ident()

    loop_thread = asyncio.run(run())
    assert threads
    assert loop_thread not in threads
