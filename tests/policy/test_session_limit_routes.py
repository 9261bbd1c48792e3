"""The session limits at the token routes: the same table in Flask, Starlette and FastAPI,
for the memory, SQLite and a real Redis store, with an injected clock.

Every app is built from one settings mapping: Flask reads the policy from ``app.config``,
the ASGI apps through ``issuer_options_from_mapping``; the clock is the Config's. A
session past a limit answers the refresh with 401 ``invalid_token`` (RFC 6750 body and
``WWW-Authenticate``), and its access tokens stop verifying.
"""

from __future__ import annotations

import contextlib
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
    Identity,
    Issuer,
    RevokedTokenError,
    TokenService,
    Verifier,
    issuer_options_from_mapping,
)
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import token_router
from jwt_middleware.flask import JWT, auth_blueprint
from jwt_middleware.starlette import auth_public_paths, token_mount
from jwt_middleware.stores import Store
from tests.policy.conftest import Clock

DAY = 86400
BASE = "https://api.test"
PASSWORD = "wonderland-42"
ALICE = {"username": "alice", "password": PASSWORD}


def check_credentials(username: str, password: str) -> Identity | None:
    return Identity("alice") if (username, password) == ("alice", PASSWORD) else None


def settings(store_url: str) -> dict[str, Any]:
    return {
        "JWT_SECRET": "s" * 48,
        "JWT_ALGORITHMS": "HS256",
        "JWT_ISSUER": "https://issuer.test",
        "JWT_AUDIENCE": "api.test",
        "JWT_STORE_URL": store_url,
        "JWT_ACCESS_TTL": "900",
        "JWT_REFRESH_TTL": str(4 * DAY),
        "JWT_SESSION_MAX_AGE": str(7 * DAY),
        "JWT_SESSION_IDLE_TIMEOUT": str(3 * DAY),
    }


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]


Post = Callable[[str, dict[str, Any]], Answer]


@contextlib.contextmanager
def _flask(env: dict[str, Any], config: Config) -> Iterator[Post]:
    app = Flask(__name__)
    app.config.update(env)
    JWT(app, config=config, check_credentials=check_credentials)  # the policy: app.config
    app.register_blueprint(auth_blueprint())
    client = app.test_client()

    def post(path: str, body: dict[str, Any]) -> Answer:
        response = client.post(path, json=body, base_url=BASE)
        return Answer(response.status_code, response.get_json() or {}, dict(response.headers))

    yield post


@contextlib.contextmanager
def _asgi(env: dict[str, Any], config: Config, fastapi: bool) -> Iterator[Post]:
    issuer = Issuer(config, **issuer_options_from_mapping(env))
    service = TokenService(issuer, check_credentials)
    if fastapi:
        app: Any = FastAPI()
        app.include_router(token_router(service))
    else:
        app = Starlette(routes=[token_mount(service)])
    wrapped = JWTMiddleware(app, config=config, public_paths=auth_public_paths())
    with TestClient(wrapped, base_url=BASE) as client:  # one event loop for the store

        def post(path: str, body: dict[str, Any]) -> Answer:
            response = client.post(path, json=body)
            return Answer(response.status_code, response.json(), response.headers)

        yield post


@pytest.fixture(params=("flask", "starlette", "fastapi"))
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(framework: str, store_url: str, clock: Clock) -> Iterator[tuple[Post, Config]]:
    env = settings(store_url)
    config = Config.from_env(environ=env, clock=clock)
    maker = _flask(env, config) if framework == "flask" else _asgi(
        env, config, framework == "fastapi")  # fmt: skip
    with maker as post:
        yield post, config
    assert isinstance(config.store, Store)
    config.store.close()


def refresh(post: Post, token: str) -> Answer:
    return post("/auth/refresh", {"refresh_token": token})


def assert_session_ended(answer: Answer, description: str) -> None:
    assert answer.status == 401, answer.body
    assert answer.body == {"error": "invalid_token", "error_description": description}
    challenge = next((v for k, v in answer.headers.items() if k.lower() == "www-authenticate"),
                     "")  # fmt: skip
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert "access_token" not in answer.body


def test_routes_end_a_session_at_its_absolute_lifetime(
    app: tuple[Post, Config], clock: Clock
) -> None:
    post, config = app
    login = clock.now
    answer = post("/auth/login", ALICE)
    assert answer.status == 200, answer.body
    for at in (2 * DAY, 4 * DAY, 6 * DAY, 7 * DAY - 600):
        clock.now = login + at
        answer = refresh(post, answer.body["refresh_token"])
        assert answer.status == 200, answer.body
    last = answer.body
    clock.now = login + 7 * DAY
    assert_session_ended(
        refresh(post, last["refresh_token"]),
        "the session has reached its maximum lifetime: log in again",
    )
    with pytest.raises(RevokedTokenError):  # 5 minutes left on it, but its session is over
        Verifier(config).verify(last["access_token"])
    again = post("/auth/login", ALICE)
    assert again.status == 200
    assert refresh(post, again.body["refresh_token"]).status == 200


def test_routes_end_a_session_left_idle(app: tuple[Post, Config], clock: Clock) -> None:
    post, _ = app
    answer = post("/auth/login", ALICE)
    clock.advance(3 * DAY - 1)
    answer = refresh(post, answer.body["refresh_token"])
    assert answer.status == 200, answer.body
    clock.advance(3 * DAY)
    assert_session_ended(
        refresh(post, answer.body["refresh_token"]), "the session was idle too long: log in again"
    )
    revoked = refresh(post, answer.body["refresh_token"])  # the family is revoked now
    assert revoked.status == 401
    assert revoked.body["error_description"] == "the token has been revoked"
