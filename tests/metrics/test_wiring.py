"""The parts that take ``metrics=``: the adapters and integrations (verifications), the
JWKS client (downloads), the issuer (token events), against real servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from jwt_middleware import Config, Key, encode
from jwt_middleware._core.metrics import Metrics
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.jwks import JWKSClient, KeySourceUnavailableError
from jwt_middleware.testing import JWKSServer

KEY = Key.from_secret("w" * 32, "HS256", kid="k1")


class Recorder(Metrics):
    def __init__(self) -> None:
        self.verifications: list[tuple[str, str | None]] = []
        self.fetches: list[str] = []

    def verification(self, outcome: str, reason: str | None, seconds: float | None) -> None:
        self.verifications.append((outcome, reason))

    def jwks_fetch(self, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        self.fetches.append(outcome)


async def _app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_asgi_middleware_counts_each_checked_request() -> None:
    recorder = Recorder()
    app = JWTMiddleware(_app, config=Config(keys=KEY), public_paths=["/health"],
                        metrics=recorder)  # fmt: skip
    token = encode({"sub": "alice", "exp": time.time() + 60}, KEY)

    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers = [
                await client.get("/api", headers={"Authorization": f"Bearer {token}"}),
                await client.get("/api", headers={"Authorization": f"Bearer {token}x"}),
                await client.get("/api"),
                await client.get("/health"),
            ]
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [200, 401, 401, 200]
    assert recorder.verifications == [("ok", None), ("refused", "bad_signature"),
                                      ("refused", "missing_token")]  # fmt: skip


def test_the_jwks_client_counts_its_downloads() -> None:
    recorder = Recorder()
    with JWKSServer() as server:
        client = JWKSClient(server.jwks_uri, algorithms=["ES256"], allow_http=True,
                            cooldown=0, metrics=recorder)  # fmt: skip
        client.refresh()
        server.status = 500
        with pytest.raises(KeySourceUnavailableError):
            client.refresh()
        client.close()
    assert recorder.fetches == ["ok", "error"]


@pytest.mark.parametrize("body", [b"not json", b'{"keys": []}'])
def test_an_unusable_document_is_invalid(body: bytes) -> None:
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder = Recorder()
    try:
        port = server.server_address[1]
        client = JWKSClient(f"http://127.0.0.1:{port}/jwks", algorithms=["ES256"],
                            allow_http=True, metrics=recorder)  # fmt: skip

        async def main() -> None:
            with pytest.raises(KeySourceUnavailableError):
                await client.arefresh()

        asyncio.run(main())
        client.close()
    finally:
        server.shutdown()
        server.server_close()
    assert recorder.fetches == ["invalid"]


def test_flask_reports_verifications_and_its_issuer_to_the_audit() -> None:
    from flask import Flask

    from jwt_middleware import Identity
    from jwt_middleware.audit import Audit
    from jwt_middleware.flask import JWT, auth_blueprint, current_principal
    from tests.audit.support import Collect

    recorder, sink = Recorder(), Collect()
    audit = Audit([sink])
    app = Flask(__name__)
    app.config.update(JWT_ALGORITHMS="HS256", JWT_SECRET="f" * 32, JWT_ISSUER="https://i.test",
                      JWT_STORE_URL="memory://")  # fmt: skip
    JWT(app, check_credentials=lambda u, p: Identity(u) if p == "pw" else None,
        metrics=recorder, audit=audit)  # fmt: skip
    app.register_blueprint(auth_blueprint())

    @app.get("/me")
    def me() -> dict[str, Any]:
        return {"sub": current_principal.subject}

    client = app.test_client()
    pair = client.post("/auth/login", json={"username": "alice", "password": "pw"}).get_json()
    good = client.get("/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    bad = client.get("/me", headers={"Authorization": f"Bearer {pair['access_token']}x"})
    assert (good.status_code, bad.status_code) == (200, 401)
    assert ("ok", None) in recorder.verifications
    assert ("refused", "bad_signature") in recorder.verifications
    kinds = [(e.kind.value, e.subject, e.reason) for e in sink.events]
    assert kinds == [("issued", "alice", None), ("refused", None, "bad_signature")]


def test_fastapi_bearer_reports_verifications() -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from jwt_middleware import Principal
    from jwt_middleware.fastapi import JWTBearer

    recorder = Recorder()
    bearer = JWTBearer(config=Config(keys=KEY), metrics=recorder)
    app = FastAPI()

    @app.get("/me")
    def me(principal: Principal = Depends(bearer)) -> dict[str, str | None]:  # noqa: B008
        return {"sub": principal.subject}

    token = encode({"sub": "alice", "exp": time.time() + 60}, KEY)
    with TestClient(app) as client:
        assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert client.get("/me", headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    assert recorder.verifications == [("ok", None), ("refused", "malformed")]
