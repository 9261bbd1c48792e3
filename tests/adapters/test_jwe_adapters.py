"""Encrypted tokens through real adapters, in process: the inner claims reach the app.

The ASGI middleware under a Starlette app (driven by Starlette's TestClient), the WSGI
middleware (driven by a plain WSGI call) and a Flask app configured by its settings
alone: an encrypted token's claims arrive, a plain one is refused with the RFC 6750
answer, a tampered one too, and the events say why without holding anything of the
token.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from examples._users import UserTable
from jwt_middleware import Config, DecryptionKey, EncryptionKey, Issuer, Principal, encode
from jwt_middleware.asgi import PRINCIPAL_KEY
from jwt_middleware.asgi import JWTMiddleware as ASGIMiddleware
from jwt_middleware.flask import JWT, auth_blueprint, current_principal
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.wsgi import PRINCIPAL_KEY as WSGI_PRINCIPAL_KEY
from jwt_middleware.wsgi import JWTMiddleware as WSGIMiddleware
from tests.core.jwe_helpers import AUDIENCE, ISSUER, decryption_key, flip, signing_key


def _issuer(to: EncryptionKey) -> Issuer:
    config = Config(keys=signing_key(), issuer=ISSUER, audience=AUDIENCE, store=MemoryStore())
    return Issuer(config, encrypt_to=to)


def _resource(key: DecryptionKey) -> Config:
    # The real clock: the issuer above mints with it.
    return Config(keys=signing_key(), issuer=ISSUER, audience=AUDIENCE, decryption_keys=key)


async def me(request: Request) -> JSONResponse:
    principal: Principal = request.scope[PRINCIPAL_KEY]
    return JSONResponse(
        {"sub": principal.subject, "salary": principal.claims["salary"],
         "roles": sorted(principal.roles), "user": request.user.display_name}
    )


def test_asgi_app_sees_the_inner_claims() -> None:
    key = decryption_key("ECDH-ES")
    events: list[Any] = []
    app = ASGIMiddleware(
        Starlette(routes=[Route("/me", me)]), config=_resource(key), on_event=events.append
    )
    pair = _issuer(key.encryption_key()).issue("alice", roles=["hr"], claims={"salary": 9000})
    with TestClient(app) as client:
        ok = client.get("/me", headers={"Authorization": f"Bearer {pair.access_token}"})
        assert ok.status_code == 200
        assert ok.json() == {"sub": "alice", "salary": 9000, "roles": ["hr"], "user": "alice"}
        again = client.get("/me", headers={"Authorization": f"Bearer {pair.access_token}"})
        assert again.json() == ok.json()  # the cache hit answers the same

        plain = _plain_token()
        refused = client.get("/me", headers={"Authorization": f"Bearer {plain}"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == (
            'Bearer realm="api", error="invalid_token", '
            'error_description="an encrypted token is required"'
        )
        tampered = client.get(
            "/me", headers={"Authorization": f"Bearer {flip(pair.access_token, 3)}"}
        )
        assert tampered.status_code == 401
        assert tampered.json()["error_description"] == "the token could not be decrypted"
    reasons = [e.reason for e in events]
    assert reasons == ["encryption_required", "decryption_failed"]
    assert not any("9000" in repr(e) or pair.access_token[:40] in repr(e) for e in events)


def _plain_token() -> str:
    now = int(time.time())
    return encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "iat": now, "exp": now + 60},
        signing_key(),
    )


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    principal: Principal = environ[WSGI_PRINCIPAL_KEY]
    start_response("200 OK", [("content-type", "text/plain")])
    return [f"{principal.subject}:{principal.claims['salary']}".encode()]


def _call(app: Any, token: str) -> tuple[str, dict[str, str], bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        answer.update(status=status, headers=dict(headers))

    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/me", "SERVER_NAME": "test", "SERVER_PORT": "80",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "HTTP_AUTHORIZATION":
        f"Bearer {token}",
    }
    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


def test_wsgi_app_sees_the_inner_claims() -> None:
    key = decryption_key("RSA-OAEP-256")
    app = WSGIMiddleware(_wsgi_app, config=_resource(key))
    token = _issuer(key.encryption_key("A128CBC-HS256")).access_token("bob", claims={"salary": 7})
    assert _call(app, token) == ("200 OK", {"content-type": "text/plain"}, b"bob:7")
    status, headers, _ = _call(app, _plain_token())
    assert status.startswith("401")
    assert 'error_description="an encrypted token is required"' in headers["www-authenticate"]


def test_flask_settings_alone_give_encrypted_tokens(tmp_path: Path) -> None:
    """JWT_DECRYPTION_KEY_FILE and JWT_ENCRYPTION_KEY_FILE, relative to the app's root
    path: the token routes mint encrypted pairs, and the app reads their claims."""
    key = decryption_key("ECDH-ES+A256KW")
    (tmp_path / "resource.private.jwk").write_text(json.dumps(key.private_jwk()))
    (tmp_path / "resource.public.jwk").write_text(json.dumps(key.public_jwk()))
    app = Flask(__name__, root_path=str(tmp_path))
    app.config.update(
        JWT_ALGORITHMS="HS256", JWT_SECRET="s" * 32, JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE,
        JWT_STORE_URL="memory://", JWT_DECRYPTION_KEY_FILE="resource.private.jwk",
        JWT_ENCRYPTION_KEY_FILE="resource.public.jwk",
    )
    JWT(app, check_credentials=UserTable().check)
    app.register_blueprint(auth_blueprint())

    @app.get("/me")
    def who() -> dict[str, Any]:
        return {"sub": current_principal.subject}

    client = app.test_client()
    pair = client.post("/auth/login", json={"username": "alice", "password": "wonderland-42"})
    assert pair.status_code == 200, pair.get_data(as_text=True)
    tokens = pair.get_json()
    assert tokens["access_token"].count(".") == 4
    assert tokens["refresh_token"].count(".") == 4
    me_answer = client.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me_answer.get_json() == {"sub": "alice"}
    renewed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200
    plain = client.get("/me", headers={"Authorization": f"Bearer {_plain_token()}"})
    assert plain.status_code == 401
