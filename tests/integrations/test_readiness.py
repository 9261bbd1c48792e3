"""The readiness route in each framework: public, and the same answer everywhere.

``readiness_blueprint`` (Flask), ``readiness_routes`` (Starlette) and
``readiness_router`` (FastAPI) all serve ``GET /health/ready`` from one core
:class:`~jwt_middleware.Readiness`: 200 ``{"status": "ready", "checks": {"store":
..., "keys": ...}}`` or 503 ``"unavailable"`` with ``Retry-After``, always
``Cache-Control: no-store``, and never a token, a key or an exception's text.

The stores and key sources here are in-process (the memory store, key sets,
small custom backends that fail on purpose); ``tests/faults/test_readiness.py``
runs the same apps against a real redis-server and a real JWKS server.
"""

# No `from __future__ import annotations`: FastAPI resolves the endpoint annotations,
# and `auth` in fastapi_app() is a local.

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from jwt_middleware import (
    READINESS_PATH,
    Config,
    ConfigurationError,
    Key,
    KeySet,
    MultiIssuerVerifier,
    Principal,
    Readiness,
    TrustedIssuer,
    Verifier,
    encode,
    generate_key,
)
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import JWTBearer, readiness_router
from jwt_middleware.flask import JWT, current_principal, readiness_blueprint
from jwt_middleware.starlette import get_principal, jwt_required, readiness_routes
from jwt_middleware.stores import StoreError
from jwt_middleware.stores.memory import MemoryStore

FRAMEWORKS = ("flask", "starlette", "fastapi")
SECRET_TEXT = "hunter2-do-not-leak"
READY = {"status": "ready", "checks": {"store": "ok", "keys": "ok"}}


# --- the apps: a protected /me and the readiness route, as a user would write them ------


def flask_app(config: Config, source: Any = None) -> Flask:
    """``JWT(app)`` protects every route; the readiness blueprint marks its view public."""
    app = Flask("readiness")
    JWT(app, config=config)
    app.register_blueprint(readiness_blueprint(source))

    @app.get("/me")
    def me() -> dict[str, Any]:
        return {"sub": current_principal.subject}

    return app


def starlette_app(config: Config, source: Any = None) -> Starlette:
    @jwt_required()
    async def me(request: Request) -> JSONResponse:
        principal = get_principal(request)
        return JSONResponse({"sub": principal.subject if principal else None})

    return Starlette(
        routes=[*readiness_routes(config if source is None else source), Route("/me", me)],
        middleware=[Middleware(JWTMiddleware, config=config, public_paths=[READINESS_PATH])],
    )


def fastapi_app(config: Config, source: Any = None) -> FastAPI:
    auth = JWTBearer(config=config)
    app = FastAPI()
    app.add_middleware(JWTMiddleware, config=config, public_paths=[READINESS_PATH])
    app.include_router(readiness_router(auth if source is None else source))

    @app.get("/me")
    async def me(principal: Annotated[Principal, Depends(auth)]) -> dict[str, Any]:
        return {"sub": principal.subject}

    return app


BUILDERS: dict[str, Callable[..., Any]] = {
    "flask": flask_app,
    "starlette": starlette_app,
    "fastapi": fastapi_app,
}


class Answer:
    def __init__(self, status: int, headers: dict[str, str], text: str, body: Any) -> None:
        self.status = status
        self.headers = headers
        self.text = text
        self.body = body


Get = Callable[..., Answer]


@contextmanager
def in_process(framework: str, config: Config, source: Any = None) -> Iterator[Get]:
    """A ``get(path, headers=None, method="GET")`` against the app, in this process."""
    app = BUILDERS[framework](config, source)
    if framework == "flask":
        client = app.test_client()

        def flask_get(path: str, headers: Any = None, method: str = "GET") -> Answer:
            answer = client.open(path, method=method, headers=headers or {})
            lowered = {k.lower(): v for k, v in answer.headers.items()}
            text = answer.get_data(as_text=True)
            return Answer(answer.status_code, lowered, text, answer.get_json(silent=True))

        yield flask_get
        return
    with TestClient(app, raise_server_exceptions=False) as test_client:

        def asgi_get(path: str, headers: Any = None, method: str = "GET") -> Answer:
            answer = test_client.request(method, path, headers=headers or {})
            lowered = {k.lower(): v for k, v in answer.headers.items()}
            body = answer.json() if answer.content else None
            return Answer(answer.status_code, lowered, answer.text, body)

        yield asgi_get


@pytest.fixture(scope="module")
def key() -> Key:
    return generate_key("ES256", kid="ready-1")


def token(key: Key, **claims: Any) -> str:
    now = int(time.time())
    return encode({"sub": "alice", "iat": now, "exp": now + 300, **claims}, key)


# --- custom parts that fail on purpose --------------------------------------------------


class DownStore(MemoryStore):
    """A backend that cannot be reached; its error text holds a URL with a password."""

    def __init__(self, retry_after: int | None = None) -> None:
        super().__init__()
        self.retry_after = retry_after
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1
        raise StoreError(
            f"cannot reach redis://:{SECRET_TEXT}@10.0.0.9:6379/0", retry_after=self.retry_after
        )

    async def aping(self) -> None:
        self.ping()


class BrokenStore(MemoryStore):
    """A backend whose ping has a bug: not a StoreError."""

    def ping(self) -> None:
        raise RuntimeError(SECRET_TEXT)

    async def aping(self) -> None:
        self.ping()


class Resolver:
    """A remote key source; ``ready`` is what its readiness says (``None``: it has none)."""

    def __init__(self, inner: KeySet, ready: bool | None = None, fail: bool = False) -> None:
        self.inner = inner
        self.algorithms = inner.algorithms
        self.state = ready
        self.fail = fail
        self.calls = 0

    def resolve(self, kid: str | None) -> Key:
        return self.inner.resolve(kid)

    async def aresolve(self, kid: str | None) -> Key:
        return self.inner.resolve(kid)


class ReadyResolver(Resolver):
    """With ``ready()`` only: the async path runs it in a thread."""

    def ready(self) -> bool:
        self.calls += 1
        if self.fail:
            raise RuntimeError(SECRET_TEXT)
        return bool(self.state)


class AsyncReadyResolver(ReadyResolver):
    async def aready(self) -> bool:
        return self.ready()


def _config(key: Key, **overrides: Any) -> Config:
    return Config(**{"keys": KeySet([key]), "store": "memory://", **overrides})


def _no_secret(answer: Answer) -> None:
    text = answer.text + repr(answer.headers)
    assert SECRET_TEXT not in text
    assert "redis://" not in text
    assert "Traceback" not in text


# --- public, in every framework ---------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_route_is_public_and_the_rest_stays_protected(framework: str, key: Key) -> None:
    with in_process(framework, _config(key)) as get:
        ready = get(READINESS_PATH)
        assert ready.status == 200
        assert ready.body == READY
        assert ready.headers["content-type"].startswith("application/json")
        assert ready.headers["cache-control"] == "no-store"
        assert "retry-after" not in ready.headers
        assert get("/me").status == 401  # deny by default still holds elsewhere
        assert get("/me", {"Authorization": f"Bearer {token(key)}"}).status == 200


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_token_good_or_bad_changes_nothing(framework: str, key: Key) -> None:
    other = generate_key("ES256", kid="stranger")
    with in_process(framework, _config(key)) as get:
        for value in (f"Bearer {token(key)}", f"Bearer {token(other)}", "Bearer x.y.z", "Basic a"):
            answer = get(READINESS_PATH, {"Authorization": value})
            assert (answer.status, answer.body) == (200, READY), value


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_head_is_answered_without_a_body(framework: str, key: Key) -> None:
    with in_process(framework, _config(key, store=DownStore())) as get:
        answer = get(READINESS_PATH, method="HEAD")
        assert answer.status == 503
        assert answer.text == ""
        assert answer.headers["cache-control"] == "no-store"


def test_every_framework_gives_the_same_answer(key: Key) -> None:
    cases = {
        "ready": _config(key),
        "store down": _config(key, store=DownStore()),
        "no store": _config(key, store=None),
        "keys down": _config(key, keys=AsyncReadyResolver(KeySet([key]), ready=False)),
    }
    for case, config in cases.items():
        seen = {}
        for framework in FRAMEWORKS:
            with in_process(framework, config) as get:
                answer = get(READINESS_PATH)
            headers = {
                k: v for k, v in answer.headers.items() if k in ("cache-control", "retry-after")
            }
            seen[framework] = (answer.status, answer.body, headers)
        assert seen["flask"] == seen["starlette"] == seen["fastapi"], (case, seen)


# --- what each check says ---------------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("retry_after", [None, 7])
def test_a_store_that_cannot_be_reached_is_named_and_its_error_text_is_not(
    framework: str, key: Key, retry_after: int | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), in_process(
        framework, _config(key, store=DownStore(retry_after))
    ) as get:
        answer = get(READINESS_PATH)
    assert answer.status == 503
    checks = {"store": "unreachable", "keys": "ok"}
    assert answer.body == {"status": "unavailable", "checks": checks}
    assert answer.headers["retry-after"] == str(retry_after or 5)  # the store's, else the default
    assert answer.headers["cache-control"] == "no-store"
    _no_secret(answer)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_store_whose_ping_raises_anything_is_a_503_not_a_500(framework: str, key: Key) -> None:
    with in_process(framework, _config(key, store=BrokenStore())) as get:
        answer = get(READINESS_PATH)
    assert answer.status == 503
    assert answer.body["checks"] == {"store": "error", "keys": "ok"}
    _no_secret(answer)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_no_store_is_not_a_failure(framework: str, key: Key) -> None:
    with in_process(framework, _config(key, store=None)) as get:
        answer = get(READINESS_PATH)
    assert answer.status == 200
    assert answer.body["checks"] == {"store": "not_configured", "keys": "ok"}


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("kind", [ReadyResolver, AsyncReadyResolver])
@pytest.mark.parametrize("ready", [True, False])
def test_a_key_source_with_ready_is_asked(
    framework: str, key: Key, kind: type[ReadyResolver], ready: bool
) -> None:
    resolver = kind(KeySet([key]), ready=ready)
    with in_process(framework, _config(key, keys=resolver)) as get:
        answer = get(READINESS_PATH)
    assert resolver.calls == 1
    if ready:
        assert (answer.status, answer.body) == (200, READY)
    else:
        assert answer.status == 503
        assert answer.body["checks"] == {"store": "ok", "keys": "unavailable"}
        assert answer.headers["retry-after"] == "5"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_key_source_whose_ready_raises_is_a_503(framework: str, key: Key) -> None:
    resolver = AsyncReadyResolver(KeySet([key]), fail=True)
    with in_process(framework, _config(key, keys=resolver)) as get:
        answer = get(READINESS_PATH)
    assert answer.status == 503
    assert answer.body["checks"] == {"store": "ok", "keys": "error"}
    _no_secret(answer)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_key_source_that_cannot_be_asked_is_unknown_and_ready(framework: str, key: Key) -> None:
    with in_process(framework, _config(key, keys=Resolver(KeySet([key])))) as get:
        answer = get(READINESS_PATH)
    assert (answer.status, answer.body["checks"]) == (200, {"store": "ok", "keys": "unknown"})


# --- several issuers, several sources ---------------------------------------------------


@pytest.mark.parametrize("framework", ["starlette", "fastapi", "flask"])
def test_a_multi_issuer_verifier_checks_every_issuers_keys(framework: str, key: Key) -> None:
    down = AsyncReadyResolver(KeySet([generate_key("ES256", kid="b-1")]), ready=False)
    multi = MultiIssuerVerifier(
        [
            TrustedIssuer("https://a.example", KeySet([key])),
            TrustedIssuer("https://b.example", down, algorithms=("ES256",)),  # wrapped: narrowed
        ],
        store=MemoryStore(),
    )
    with in_process(framework, _config(key), multi) as get:
        answer = get(READINESS_PATH)
        assert answer.status == 503
        assert answer.body["checks"] == {"store": "ok", "keys": "unavailable"}
        down.state = True
        assert (get(READINESS_PATH).status, get(READINESS_PATH).body) == (200, READY)


def test_shared_parts_are_checked_once(key: Key) -> None:
    store = DownStore()
    resolver = ReadyResolver(KeySet([key]), ready=True)
    first = Config(keys=resolver, store=store)
    second = Config(keys=resolver, store=store, audience="other")
    readiness = Readiness([first, Verifier(second)])
    assert readiness.stores == (store,)
    assert readiness.key_sources == (resolver,)
    document = readiness.check()
    assert (store.pings, resolver.calls) == (1, 1)
    assert document.status == 503
    assert document.json()["checks"] == {"store": "unreachable", "keys": "ok"}


def test_a_verifier_with_its_own_key_source_is_asked_about_that_one(key: Key) -> None:
    resolver = ReadyResolver(KeySet([key]), ready=False)
    readiness = Readiness(Verifier(_config(key), keys=resolver))
    assert readiness.key_sources == (resolver,)
    assert readiness.check().json()["checks"]["keys"] == "unavailable"


# --- set-up errors, and the log -----------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda c: Readiness(c, retry_after=0),
        lambda c: Readiness(c, retry_after=True),
        lambda c: Readiness("redis://localhost"),  # type: ignore[arg-type]
        lambda c: Readiness([]),
        lambda c: readiness_blueprint(c, path="health"),
        lambda c: readiness_routes(c, path="health"),
        lambda c: readiness_router(c, path="health"),
    ],
)
def test_mistakes_are_refused_at_setup(key: Key, make: Callable[[Config], Any]) -> None:
    with pytest.raises(ConfigurationError):
        make(_config(key))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_ready_readiness_and_another_path_are_accepted(framework: str, key: Key) -> None:
    readiness = Readiness(_config(key, store=DownStore(retry_after=2)), retry_after=9)
    if framework == "flask":
        flask = Flask("other-path")
        JWT(flask, config=_config(key))
        flask.register_blueprint(readiness_blueprint(readiness, path="/ready", name="probe"))
        answer = flask.test_client().get("/ready")
        assert (answer.status_code, answer.headers["Retry-After"]) == (503, "2")
        return
    asgi: Any = Starlette(routes=readiness_routes(readiness, path="/ready"))
    if framework == "fastapi":
        asgi = FastAPI()
        asgi.include_router(readiness_router(readiness, path="/ready"))
    with TestClient(asgi) as client:
        answer = client.get("/ready")
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "2")


def test_the_log_says_what_failed_once_and_when_it_recovers(
    key: Key, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = ReadyResolver(KeySet([key]), ready=False)
    readiness = Readiness(_config(key, keys=resolver))
    with caplog.at_level(logging.INFO, logger="jwt_middleware.health"):
        for _ in range(3):
            assert readiness.check().status == 503
        resolver.state = True
        for _ in range(3):
            assert readiness.check().status == 200
    messages = [r.getMessage() for r in caplog.records if r.name == "jwt_middleware.health"]
    assert messages == [
        "readiness: the keys check is failing (unavailable): no usable key",
        "readiness: the keys check recovered (ok)",
    ]


def test_the_flask_blueprint_finds_each_apps_own_configuration(key: Key) -> None:
    blueprint = readiness_blueprint()
    up, down = Flask("up"), Flask("down")
    JWT(up, config=_config(key))
    JWT(down, config=_config(key, store=DownStore()))
    for app in (up, down):
        app.register_blueprint(blueprint)
    assert up.test_client().get(READINESS_PATH).status_code == 200
    assert down.test_client().get(READINESS_PATH).status_code == 503
    assert up.test_client().get(READINESS_PATH).status_code == 200
