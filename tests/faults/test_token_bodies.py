"""Bad request bodies on the token routes, one table for all three frameworks.

Every row is sent to ``POST /auth/login``, ``/auth/refresh`` and ``/auth/logout``
(or the routes it names) of a Flask, a Starlette and a FastAPI app built with the
package's own token routes, and must get the same status and RFC 6749 error code
everywhere: 413 for a body over the limit, 400 for a body that cannot be read or
is not one of the two accepted media types, never a 500. The last test sends the
worst rows over real sockets to the examples under gunicorn and uvicorn.

The WSGI and ASGI requests are built by hand so that a row can lie about its
``Content-Length``, arrive in chunks without one, or stop half way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette
from werkzeug.test import EnvironBuilder, run_wsgi_app

from examples._users import UserTable
from jwt_middleware import Config, Issuer, Key, KeySet, TokenService
from jwt_middleware.asgi import ASGIApp, JWTMiddleware
from jwt_middleware.fastapi import token_router
from jwt_middleware.flask import JWT, auth_blueprint
from jwt_middleware.starlette import auth_public_paths, token_mount
from tests.e2e.servers import Server, free_port, gunicorn_argv, run_server, uvicorn_argv

ISSUER = "https://issuer.test"
AUDIENCE = "api.test"
PASSWORD = "wonderland-42"
ALICE = {"username": "alice", "password": PASSWORD}
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
ROUTES = ("login", "refresh", "logout")
LIMIT = 16 * 1024
MIB = 1024 * 1024

Answer = tuple[int, dict[str, Any]]


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


ALICE_JSON = _json(ALICE)
ALICE_FORM = b"username=alice&password=wonderland-42"
ALICE_MULTIPART = b"".join(
    b'--x\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name, value)
    for name, value in ((b"username", b"alice"), (b"password", PASSWORD.encode()))
) + b"--x--\r\n"


@dataclass(frozen=True)
class Case:
    """One bad (or, for the controls, good) body and the answer every framework gives."""

    name: str
    body: bytes
    content_type: str | None = JSON
    status: int = 400
    error: str | None = "invalid_request"
    routes: tuple[str, ...] = ROUTES
    #: ``Content-Length`` to declare instead of the true length.
    declared: str | None = None
    #: Sent in 4 KiB pieces without ``Content-Length`` (chunked transfer coding).
    chunked: bool = False


OK: dict[str, Any] = {"status": 200, "error": None}
GRANT: dict[str, Any] = {"error": "unsupported_grant_type"}

CASES = [
    # Nesting: a RecursionError in the JSON decoder was a 500 before any token check.
    Case("nested_arrays_5000", b"[" * 5000),
    Case("nested_arrays_closed", b"[" * 3000 + b"]" * 3000),
    Case("nested_objects", b'{"a":' * 2000 + b"1" + b"}" * 2000),
    Case("nested_in_a_field", _json({**ALICE, "x": [[[[[[[[[[1]]]]]]]]]]})),
    # Size: 413 before reading, or as soon as the read passes the limit.
    Case("one_mib_body", _json({"username": "a" * MIB, "password": "x"}), status=413),
    Case("one_mib_chunked", b'{"username": "' + b"a" * MIB + b'"}', status=413, chunked=True),
    Case("one_mib_form", b"username=" + b"a" * MIB, FORM, status=413),
    Case("declared_over_limit", ALICE_JSON, declared=str(MIB), status=413),
    # Content-Length that does not match the body (a truncated body, a client gone).
    Case("declared_more_than_sent", ALICE_JSON, declared=str(len(ALICE_JSON) + 10)),
    Case("declared_less_than_sent", b'{"username": "alice"} trailing', declared="5"),
    Case("declared_malformed", ALICE_JSON, declared="12abc"),
    Case("declared_negative", ALICE_JSON, declared="-1"),
    # Bytes that are not UTF-8 text, or JSON that is not a plain object of strings.
    Case("invalid_utf8_json", b'{"username": "\xff\xfe", "password": "x"}'),
    Case("invalid_utf8_form", b"username=%ff%fe&password=x", FORM),
    Case("raw_invalid_utf8_form", b"username=\xff&password=x", FORM),
    Case("lone_surrogate", b'{"username": "alice", "password": "\\ud800"}'),
    Case("utf8_bom", b"\xef\xbb\xbf" + ALICE_JSON),
    Case("not_json", b"{not json"),
    Case("whitespace_only", b"   "),
    Case("json_array", b'["alice", "wonderland-42"]'),
    Case("json_number", b"42"),
    Case("json_string", b'"alice"'),
    Case("json_null", b"null"),
    Case("json_nan", b'{"username": "alice", "password": NaN}'),
    Case("duplicate_json_member", b'{"username": "bob", "username": "alice", "password": "x"}'),
    Case("duplicate_form_field", b"username=bob&username=alice&password=x", FORM),
    Case("json_charset_latin1", ALICE_JSON, "application/json; charset=iso-8859-1"),
    # Media types a cross-site page can send without a CORS preflight (login CSRF).
    Case("text_plain_json", ALICE_JSON, "text/plain"),
    Case("no_content_type", ALICE_JSON, None),
    Case("multipart", ALICE_MULTIPART, "multipart/form-data; boundary=x"),
    Case("json_suffix_type", ALICE_JSON, "application/vnd.api+json"),
    # grant_type: login takes "password", refresh takes "refresh_token".
    Case("login_client_credentials_json", _json({**ALICE, "grant_type": "client_credentials"}),
         **GRANT, routes=("login",)),
    Case("login_client_credentials_form", ALICE_FORM + b"&grant_type=client_credentials", FORM,
         **GRANT, routes=("login",)),
    Case("login_grant_not_a_string", _json({**ALICE, "grant_type": 1}),
         **GRANT, routes=("login",)),
    Case("refresh_password_grant", b"grant_type=password&refresh_token=x", FORM,
         **GRANT, routes=("refresh",)),
    # Controls: what must keep working.
    Case("login_json", ALICE_JSON, **OK, routes=("login",)),
    Case("login_form", ALICE_FORM, FORM, **OK, routes=("login",)),
    Case("login_password_grant", ALICE_FORM + b"&grant_type=password", FORM,
         **OK, routes=("login",)),
    Case("login_json_charset", ALICE_JSON, "Application/JSON; charset=UTF-8",
         **OK, routes=("login",)),
    Case("login_chunked", ALICE_JSON, **OK, routes=("login",), chunked=True),
    Case("login_empty", b"", None, routes=("login",)),
    Case("refresh_empty", b"", None, status=401, routes=("refresh",)),
    Case("logout_empty", b"", None, **OK, routes=("logout",)),
    Case("logout_empty_object", b"{}", **OK, routes=("logout",)),
]


# --- the three apps ------------------------------------------------------------------


def _config() -> Config:
    key = Key.from_secret(secrets.token_bytes(32), "HS256")
    return Config(keys=KeySet([key]), issuer=ISSUER, audience=AUDIENCE, store="memory://")


def _service() -> TokenService:
    return TokenService(Issuer(_config()), UserTable().check)


def flask_app() -> Flask:
    app = Flask(__name__)
    JWT(app, config=_config(), check_credentials=UserTable().check)
    app.register_blueprint(auth_blueprint())
    return app


def starlette_app() -> ASGIApp:
    service = _service()
    app = Starlette(routes=[token_mount(service)])
    config = service.issuer.config
    return JWTMiddleware(app, config=config, public_paths=auth_public_paths())


def fastapi_app() -> ASGIApp:
    service = _service()
    app = FastAPI()
    app.include_router(token_router(service))
    config = service.issuer.config
    return JWTMiddleware(app, config=config, public_paths=auth_public_paths())


def _decode(status: int, raw: bytes) -> Answer:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = {"unparsed": raw[:200].decode("latin-1")}
    return status, body if isinstance(body, dict) else {"unparsed": body}


def call_flask(app: Flask, path: str, case: Case) -> Answer:
    builder = EnvironBuilder(path=path, method="POST", data=case.body)
    environ = builder.get_environ()
    environ.pop("CONTENT_TYPE", None)
    if case.content_type is not None:
        environ["CONTENT_TYPE"] = case.content_type
    if case.declared is not None:
        environ["CONTENT_LENGTH"] = case.declared
    if case.chunked:
        del environ["CONTENT_LENGTH"]
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    app_iter, status, _ = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    return _decode(int(status.split()[0]), b"".join(app_iter))


async def _asgi(app: ASGIApp, path: str, case: Case, disconnect: bool = False) -> Answer:
    headers = [(b"host", b"testserver")]
    if case.content_type is not None:
        headers.append((b"content-type", case.content_type.encode("latin-1")))
    if case.chunked:
        headers.append((b"transfer-encoding", b"chunked"))
    else:
        declared = case.declared if case.declared is not None else str(len(case.body))
        headers.append((b"content-length", declared.encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": headers, "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    size = 4096 if case.chunked else max(len(case.body), 1)
    pieces = [case.body[i : i + size] for i in range(0, len(case.body), size)] or [b""]
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
        for i, piece in enumerate(pieces)
    ]
    if disconnect:
        messages = [{"type": "http.request", "body": case.body[:10], "more_body": True}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return _decode(start["status"], body)


def call_asgi(app: ASGIApp, path: str, case: Case) -> Answer:
    return asyncio.run(_asgi(app, path, case))


Caller = Callable[[str, Case], Answer]


def _callers() -> dict[str, Caller]:
    flask, starlette, fastapi = flask_app(), starlette_app(), fastapi_app()
    return {
        "flask": lambda path, case: call_flask(flask, path, case),
        "starlette": lambda path, case: call_asgi(starlette, path, case),
        "fastapi": lambda path, case: call_asgi(fastapi, path, case),
    }


@pytest.fixture(scope="module")
def callers() -> dict[str, Caller]:
    return _callers()


FRAMEWORKS = ("flask", "starlette", "fastapi")
ROWS = [(case, route) for case in CASES for route in case.routes]


def check_answer(answer: Answer, case: Case) -> None:
    status, body = answer
    assert status == case.status, body
    if case.error is not None:
        assert body.get("error") == case.error, body
        assert isinstance(body.get("error_description"), str)
    text = json.dumps(body)
    if case.status != 200:
        assert PASSWORD not in text
        assert "access_token" not in body


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    ("case", "route"), ROWS, ids=[f"{case.name}-{route}" for case, route in ROWS]
)
def test_token_route_body(
    callers: dict[str, Caller],
    framework: str,
    case: Case,
    route: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = callers[framework](f"/auth/{route}", case)
    check_answer(answer, case)
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize("framework", ["starlette", "fastapi"])
@pytest.mark.parametrize("route", ROUTES)
def test_client_disconnect_mid_body_is_400(framework: str, route: str) -> None:
    """The ASGI server reports ``http.disconnect`` before the body is complete."""
    app = starlette_app() if framework == "starlette" else fastapi_app()
    case = Case("disconnect", ALICE_JSON)
    status, body = asyncio.run(_asgi(app, f"/auth/{route}", case, disconnect=True))
    assert (status, body.get("error")) == (400, "invalid_request")


def test_the_limit_is_configurable() -> None:
    service = TokenService(_service().issuer, UserTable().check, max_body=64)
    app = JWTMiddleware(
        Starlette(routes=[token_mount(service)]),
        config=service.issuer.config,
        public_paths=auth_public_paths(),
    )
    big = Case("big", _json({**ALICE, "pad": "x" * 64}))
    assert asyncio.run(_asgi(app, "/auth/login", big))[0] == 413
    assert asyncio.run(_asgi(app, "/auth/login", Case("ok", ALICE_JSON)))[0] == 200
    assert service.max_body == 64
    with pytest.raises(ValueError, match="max_body"):
        TokenService(service.issuer, UserTable().check, max_body=0)


# --- over real sockets ---------------------------------------------------------------------


def _complete(answer: bytes) -> bool:
    head, found, payload = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return bool(found) and len(payload) >= int(value)
    return False


def raw_post(server: Server, path: str, head: dict[str, str], body: bytes) -> tuple[int, str]:
    """Send one request by hand; the answer's status and error code (10 s at most)."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        # Up to the end of the answer's body (a server may keep the connection to
        # drain what the client declared and never sent).
        while (chunk := sock.recv(65536)) and not _complete(answer := answer + chunk):
            pass
    status_line = answer.partition(b"\r\n")[0]
    payload = answer.partition(b"\r\n\r\n")[2]
    try:
        error = str(json.loads(payload).get("error"))
    except ValueError:
        error = repr(payload[:80])
    return int(status_line.split(b" ", 2)[1]), error


def chunked(body: bytes, size: int = 4096) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def check_server(server: Server) -> None:
    nested = b"[" * 5000
    refused = (400, "invalid_request")
    too_large = (413, "invalid_request")
    for route in ROUTES:
        path = f"/auth/{route}"
        length = {"Content-Type": JSON, "Content-Length": str(len(nested))}
        assert raw_post(server, path, length, nested) == refused, route
        stream = {"Content-Type": JSON, "Transfer-Encoding": "chunked"}
        assert raw_post(server, path, stream, chunked(nested)) == refused, route
        over = {"Content-Type": JSON, "Content-Length": str(MIB)}
        assert raw_post(server, path, over, b"[" * 1000) == too_large, route
        big = b"[" * (LIMIT * 2)
        assert raw_post(server, path, stream, chunked(big)) == too_large, route
        plain = {"Content-Type": "text/plain", "Content-Length": str(len(ALICE_JSON))}
        assert raw_post(server, path, plain, ALICE_JSON) == refused, route
    login = {"Content-Type": JSON, "Content-Length": str(len(ALICE_JSON))}
    assert raw_post(server, "/auth/login", login, ALICE_JSON) == (200, "None")


def _environment() -> dict[str, str]:
    return {
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET": secrets.token_urlsafe(48),
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_STORE_URL": "memory://",
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        gunicorn_argv("examples.flask_app:app", workers=1),
        [sys.executable, "-m", "examples.flask_app", "--port", "{port}"],
        uvicorn_argv("examples.starlette_app:app"),
        uvicorn_argv("examples.fastapi_app:app"),
    ],
    ids=["flask-gunicorn", "flask-werkzeug", "starlette-uvicorn", "fastapi-uvicorn"],
)
def test_nested_and_oversized_bodies_over_real_sockets(argv: list[str]) -> None:
    with run_server(argv, _environment(), port=free_port()) as server:
        check_server(server)
        log = server.log.read_text()
    assert "Traceback" not in log
    assert "RecursionError" not in log
