"""One in-process request to a raw ASGI or WSGI app, for the tests' target builders.

Each answers ``(status, headers, body)`` with the header names as the app sent them;
the builders turn that into their own ``Answer``.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable, Mapping
from typing import Any

Raw = tuple[int, list[tuple[str, str]], bytes]


def asgi_call(
    app: Any,
    method: str,
    path: str,
    headers: Iterable[tuple[str, str]],
    *,
    scheme: str = "http",
    host: str | None = "test",
    client: tuple[str, int] | None = ("127.0.0.1", 1),
    server: tuple[str, int] = ("test", 80),
    body: bytes = b"",
    extra: Mapping[str, Any] | None = None,
) -> Raw:
    """Call ``app`` with an HTTP scope (``host``: a ``Host`` header first, unless ``None``)."""
    listed = [(b"host", host.encode())] if host is not None else []
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method, "scheme": scheme, "path": path, "raw_path": path.encode(),
        "root_path": "", "query_string": b"", "client": client, "server": server,
        "headers": listed
        + [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        **(extra or {}),
    }
    sent: list[Mapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Mapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    found = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", ())]
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], found, answer


def wsgi_call(
    app: Any,
    method: str,
    path: str,
    headers: Iterable[tuple[str, str]],
    *,
    scheme: str = "http",
    host: str = "test",
    server: tuple[str, str] = ("test", "80"),
    peer: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Raw:
    """Call ``app`` with a WSGI environ; repeated headers are joined with ``", "`` as a
    WSGI server joins them."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "",
        "QUERY_STRING": "", "SERVER_NAME": server[0], "SERVER_PORT": server[1],
        "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": host,
        "wsgi.version": (1, 0), "wsgi.url_scheme": scheme, "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(), "wsgi.multithread": False,
        "wsgi.multiprocess": False, "wsgi.run_once": False,
        **(extra or {}),
    }
    if peer is not None:
        environ["REMOTE_ADDR"] = peer
    for name, value in headers:
        key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = f"{environ[key]}, {value}" if key in environ else value
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, hdrs: list[tuple[str, str]], exc: Any = None) -> Any:
        started.append((status, hdrs))

    chunks = app(environ, start_response)
    try:
        answer = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    status, hdrs = started[-1]
    return int(status.split()[0]), list(hdrs), answer


def challenge(headers: list[tuple[str, str]]) -> str | None:
    """The first ``WWW-Authenticate`` value, or ``None``."""
    return next((v for k, v in headers if k.lower() == "www-authenticate"), None)
