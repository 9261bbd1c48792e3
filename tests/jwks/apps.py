"""Apps protected by a JWKS client, served by real servers in this process.

* :func:`wsgi_app` / :func:`serve_wsgi`: a Flask app behind the WSGI middleware,
  under Werkzeug's WSGI server with a fixed pool of worker threads (like
  ``gunicorn --threads N``: when every worker hangs, nothing answers, public
  routes included);
* :func:`asgi_app` / :func:`serve_asgi`: a plain ASGI app behind the ASGI
  middleware, under uvicorn in a thread.

Both have ``/public`` (no token needed) and ``/me`` (the token's subject).
The listening socket is bound before the server starts, so requests can be
sent at once: they wait in the backlog until the server serves them.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from jwt_middleware import Config, KeyResolver

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def wsgi_app(keys: KeyResolver) -> WSGIApplication:
    from flask import Flask, request

    from jwt_middleware.wsgi import PRINCIPAL_KEY, JWTMiddleware

    app = Flask("jwks-faults")

    @app.get("/public")
    def public() -> str:
        return "public"

    @app.get("/me")
    def me() -> str:
        return str(request.environ[PRINCIPAL_KEY].subject)

    app.wsgi_app = JWTMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, config=Config(keys=keys), public_paths=["/public"]
    )
    return app


def asgi_app(keys: KeyResolver) -> Any:
    from jwt_middleware.asgi import PRINCIPAL_KEY, JWTMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        principal = scope.get(PRINCIPAL_KEY)
        body = b"public" if principal is None else str(principal.subject).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return JWTMiddleware(app, config=Config(keys=keys), public_paths=["/public"])


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _PooledServer(BaseWSGIServer):
    """Werkzeug's WSGI server with ``workers`` threads (not a thread per request)."""

    def __init__(self, app: WSGIApplication, workers: int) -> None:
        super().__init__("127.0.0.1", 0, app, handler=_QuietHandler)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="wsgi-worker")

    def process_request(self, request: Any, client_address: Any) -> None:
        self.pool.submit(self._work, request, client_address)

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


@contextmanager
def serve_wsgi(app: WSGIApplication, *, workers: int = 4) -> Iterator[str]:
    """The base URL of ``app`` served with ``workers`` worker threads."""
    server = _PooledServer(app, workers)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        server.pool.shutdown(wait=False, cancel_futures=True)
        thread.join(timeout=5)


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """The base URL of ``app`` under uvicorn, in a thread with its own event loop."""
    import uvicorn

    sock = socket.create_server(("127.0.0.1", 0), backlog=128)
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
