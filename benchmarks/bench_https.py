"""What the HTTPS check costs per request: the same app without a transport policy, and
with ``require_https`` + HSTS over HTTPS, directly and behind a trusted proxy.

Run: ``python -m benchmarks.bench_https`` (project root, in its venv).

In-process, no network, as in ``bench_frameworks``: the raw ASGI middleware around an
app that answers 200, a Starlette app behind it, the raw WSGI middleware and a Flask app.
Every request carries the same HS256 token, so the verifier answers from its warm cache
(the fast path): the check's cost is measured against the cheapest request there is. Rows:

* ``no policy``: ``transport=None`` (Flask: no ``JWT_REQUIRE_HTTPS``), the baseline;
* ``https, hsts``: ``scheme`` https, ``require_https`` and ``hsts_max_age`` on (one pass
  over the headers, and the ``send`` / ``start_response`` wrapper adding the header);
* ``proxied https, hsts``: plain HTTP from a trusted proxy with ``X-Forwarded-Proto:
  https`` and ``X-Forwarded-For`` (the forwarding headers are parsed too).
"""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import Callable
from typing import Any

from benchmarks import _harness, bench_frameworks
from benchmarks.bench_frameworks import AUD, ISS, SECRET, config, make_token
from jwt_middleware import TransportPolicy

INNER = 50
ROWS = ("no policy", "https, hsts", "proxied https, hsts")
PROXY = "10.0.0.1"
#: (scheme, peer, extra headers) of each row's request.
REQUESTS: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "no policy": ("https", "203.0.113.9", []),
    "https, hsts": ("https", "203.0.113.9", []),
    "proxied https, hsts": (
        "http",
        PROXY,
        [("x-forwarded-proto", "https"), ("x-forwarded-for", "203.0.113.9")],
    ),
}


def policy(row: str) -> TransportPolicy | None:
    if row == "no policy":
        return None
    return TransportPolicy(require_https=True, trusted_proxies=PROXY, hsts_max_age=31536000)


def asgi_runner(
    app: Any, row: str, token: str, loop: asyncio.AbstractEventLoop
) -> Callable[[], None]:
    scheme, peer, extra = REQUESTS[row]
    headers = [(k.encode(), v.encode()) for k, v in extra]
    return bench_frameworks.asgi_runner(
        app, token, loop, scheme=scheme, client=peer, extra=headers
    )


def wsgi_runner(app: Any, row: str, token: str) -> Callable[[], None]:
    scheme, peer, extra = REQUESTS[row]
    template = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/me", "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "10.1.1.1", "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "api.example", "HTTP_AUTHORIZATION": f"Bearer {token}",
        "REMOTE_ADDR": peer, "wsgi.url_scheme": scheme, "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in extra},
    }  # fmt: skip
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)

    def run() -> None:
        for _ in range(INNER):
            environ = dict(template)
            environ["wsgi.input"] = io.BytesIO()
            for _chunk in app(environ, start_response):
                pass
        if not statuses[-1].startswith("200"):
            raise RuntimeError(f"{row}: status {statuses[-1]}")
        statuses.clear()

    return run


def variants(loop: asyncio.AbstractEventLoop) -> dict[str, dict[str, Callable[[], None]]]:
    from flask import Flask
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from jwt_middleware.asgi import JWTMiddleware as ASGIMiddleware
    from jwt_middleware.flask import JWT
    from jwt_middleware.wsgi import JWTMiddleware as WSGIMiddleware

    token = make_token()

    async def bare_asgi(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def bare_wsgi(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("content-type", "application/json")])
        return [b"{}"]

    async def me(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True})

    def flask_app(row: str) -> Any:
        app = Flask(__name__)
        app.config.update({"JWT_ALGORITHMS": "HS256", "JWT_SECRET": SECRET,
                           "JWT_ISSUER": ISS, "JWT_AUDIENCE": AUD})  # fmt: skip
        if row != "no policy":
            app.config.update({"JWT_REQUIRE_HTTPS": True, "JWT_TRUSTED_PROXIES": PROXY,
                               "JWT_HSTS_MAX_AGE": 31536000})  # fmt: skip
        JWT(app)
        app.add_url_rule("/me", "me", lambda: {"ok": True})
        return app.wsgi_app

    out: dict[str, dict[str, Callable[[], None]]] = {}
    for row in ROWS:
        asgi = ASGIMiddleware(bare_asgi, config=config(), transport=policy(row))
        starlette = Starlette(routes=[Route("/me", me)])
        starlette.add_middleware(ASGIMiddleware, config=config(), transport=policy(row))
        wsgi = WSGIMiddleware(bare_wsgi, config=config(), transport=policy(row))
        out.setdefault("pure ASGI middleware", {})[row] = asgi_runner(asgi, row, token, loop)
        out.setdefault("Starlette", {})[row] = asgi_runner(starlette, row, token, loop)
        out.setdefault("pure WSGI middleware", {})[row] = wsgi_runner(wsgi, row, token)
        out.setdefault("Flask", {})[row] = wsgi_runner(flask_app(row), row, token)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args(argv)
    loop = asyncio.new_event_loop()
    try:
        for name, rows in variants(loop).items():
            samples = _harness.run(rows, rounds=args.rounds, batch=args.batch, inner=INNER)
            print(_harness.table(f"{name}, warm cache", samples, "no policy", list(ROWS)))
            print()
    finally:
        loop.close()


if __name__ == "__main__":
    main()
