"""Publishing keys: the core publisher and the Flask, Starlette and FastAPI routes."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import Config, ConfigurationError, Key, KeyRing, KeySet, generate_key
from jwt_middleware._keysources.publish import (
    DEFAULT_MAX_AGE,
    DISCOVERY_PATHS,
    JWKS_PATH,
    PRIVATE_MEMBERS,
    WELL_KNOWN_PATHS,
    JWKSPublisher,
    public_only,
)

ISSUER = "https://auth.example.com"
T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def rsa_key() -> Key:
    return generate_key("RS256", kid="rs-1")


@pytest.fixture
def keys(rsa_key: Key) -> KeySet:
    """A signing set with a private EC key, a private RSA key and an HMAC secret."""
    secret = Key.from_secret(b"s" * 32, "HS256", kid="hs-1")
    return KeySet([generate_key("ES256", kid="es-1"), rsa_key, secret])


def _assert_public(doc: Mapping[str, Any]) -> None:
    assert doc["keys"], "no key published"
    for jwk in doc["keys"]:
        assert not PRIVATE_MEMBERS & jwk.keys(), jwk
        assert jwk["kty"] != "oct"


# --- the core -------------------------------------------------------------------------------


def test_paths_constant() -> None:
    assert WELL_KNOWN_PATHS == (
        "/.well-known/jwks.json",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    )
    assert (JWKS_PATH, *DISCOVERY_PATHS) == WELL_KNOWN_PATHS


def test_jwks_document_of_a_key_set(keys: KeySet) -> None:
    document = JWKSPublisher(keys).jwks()
    assert document.status == 200
    headers = dict(document.headers)
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == f"public, max-age={DEFAULT_MAX_AGE}"
    body = document.json()
    _assert_public(body)
    assert [k["kid"] for k in body["keys"]] == ["es-1", "rs-1"]
    # What is published verifies what the set signs.
    assert KeySet.from_jwks(body).resolve("es-1").algorithm == "ES256"


def test_max_age_is_configurable(keys: KeySet) -> None:
    headers = dict(JWKSPublisher(keys, max_age=60).jwks().headers)
    assert headers["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize("bad", [-1, 1.5, True, "300", 10**9])
def test_bad_max_age_is_refused(keys: KeySet, bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_age"):
        JWKSPublisher(keys, max_age=bad)


def test_private_members_never_leave_even_from_a_careless_source() -> None:
    private = generate_key("ES256", kid="es-9").private_jwk()
    secret = {"kty": "oct", "k": "c2VjcmV0", "kid": "hs"}

    class Careless:
        def public_jwks(self) -> dict[str, Any]:
            return {"keys": [private, secret, "junk", {"no": "kty"}]}

    body = JWKSPublisher(Careless()).jwks().json()
    assert [k["kid"] for k in body["keys"]] == ["es-9"]
    _assert_public(body)
    assert body["keys"][0]["x"] == private["x"]


def test_public_only_needs_a_keys_list() -> None:
    with pytest.raises(ConfigurationError, match="keys"):
        public_only({"nope": []})


def test_a_source_without_public_jwks_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="public_jwks"):
        JWKSPublisher(object())  # type: ignore[arg-type]


def test_discovery_document(keys: KeySet) -> None:
    publisher = JWKSPublisher(keys, issuer=ISSUER, metadata={"token_endpoint": ISSUER + "/login"})
    document = publisher.discovery()
    assert document.json() == {
        "issuer": ISSUER,
        "jwks_uri": ISSUER + "/.well-known/jwks.json",
        "token_endpoint": ISSUER + "/login",
    }
    assert dict(document.headers)["Content-Type"] == "application/json"


def test_discovery_with_explicit_jwks_uri(keys: KeySet) -> None:
    publisher = JWKSPublisher(keys, issuer=ISSUER + "/", jwks_uri="https://keys.example.com/k")
    assert publisher.discovery_document()["jwks_uri"] == "https://keys.example.com/k"
    assert publisher.discovery_document()["issuer"] == ISSUER + "/"


def test_discovery_needs_an_issuer(keys: KeySet) -> None:
    with pytest.raises(ConfigurationError, match="issuer"):
        JWKSPublisher(keys).discovery()


@pytest.mark.parametrize("bad", ["", "auth.example.com", "https://a.example?x=1", "ftp://a"])
def test_bad_issuer_is_refused(keys: KeySet, bad: str) -> None:
    with pytest.raises(ConfigurationError, match="issuer"):
        JWKSPublisher(keys, issuer=bad)


def test_metadata_cannot_override_issuer(keys: KeySet) -> None:
    with pytest.raises(ConfigurationError, match="metadata"):
        JWKSPublisher(keys, issuer=ISSUER, metadata={"issuer": "https://evil.example"})


def test_a_ring_is_published_live(tmp_path: Path) -> None:
    now = [T0]
    ring = KeyRing(tmp_path / "ring", clock=lambda: now[0], max_token_lifetime=600)
    first = ring.rotate(kid="k1")
    publisher = JWKSPublisher(ring)
    assert [k["kid"] for k in publisher.jwks().json()["keys"]] == [first.kid]
    ring.rotate(activate_after=0, retire_after=600, kid="k2")
    body = publisher.jwks().json()
    assert [k["kid"] for k in body["keys"]] == ["k2", "k1"]
    _assert_public(body)
    now[0] += 601  # k1 retired: no longer published
    assert [k["kid"] for k in publisher.jwks().json()["keys"]] == ["k2"]


def test_reload_every_picks_up_another_process_rotation(tmp_path: Path) -> None:
    ticks = [0.0]
    KeyRing.load(tmp_path).rotate(kid="k1")
    served = KeyRing.load(tmp_path)
    publisher = JWKSPublisher(served, reload_every=10, clock=lambda: ticks[0])
    KeyRing.load(tmp_path).rotate(activate_after=0, kid="k2")  # "another process"
    assert [k["kid"] for k in publisher.public_jwks()["keys"]] == ["k1"]
    ticks[0] = 10
    assert [k["kid"] for k in publisher.public_jwks()["keys"]] == ["k2", "k1"]


def test_reload_every_needs_a_refreshable_source(keys: KeySet) -> None:
    with pytest.raises(ConfigurationError, match="refresh"):
        JWKSPublisher(keys, reload_every=5)


def test_publishing_is_core_only() -> None:
    import jwt_middleware._keysources.publish as module

    source = Path(module.__file__).read_text()
    for framework in ("flask", "werkzeug", "starlette", "fastapi", "requests", "httpx"):
        assert f"import {framework}" not in source
        assert f"from {framework}" not in source
    assert "jwt_middleware._keysources.publish" in sys.modules


# --- the framework routes -------------------------------------------------------------------


def _check_jwks_answer(status: int, headers: Mapping[str, str], body: bytes) -> None:
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert headers["cache-control"] == "public, max-age=120"
    doc = json.loads(body)
    _assert_public(doc)
    assert {k["kid"] for k in doc["keys"]} == {"es-1", "rs-1"}


def _check_discovery(status: int, body: bytes) -> None:
    assert status == 200
    assert json.loads(body) == {"issuer": ISSUER, "jwks_uri": ISSUER + "/.well-known/jwks.json"}


def test_flask_blueprint_is_public_behind_deny_by_default(keys: KeySet) -> None:
    from flask import Flask

    from jwt_middleware.flask import JWT, jwks_blueprint

    app = Flask(__name__)
    JWT(app, config=Config(keys=keys, issuer=ISSUER))  # mode "required", no public paths
    app.register_blueprint(jwks_blueprint(keys, issuer=ISSUER, max_age=120))

    @app.get("/private")
    def private() -> str:
        return "secret"

    client = app.test_client()
    assert client.get("/private").status_code == 401
    answer = client.get("/.well-known/jwks.json")
    lowered = {k.lower(): v for k, v in answer.headers.items()}
    _check_jwks_answer(answer.status_code, lowered, answer.data)
    # A bad token on a public path is ignored, not refused.
    answer = client.get("/.well-known/jwks.json", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 200
    for path in DISCOVERY_PATHS:
        answer = client.get(path)
        _check_discovery(answer.status_code, answer.data)


def test_flask_blueprint_without_issuer_has_no_discovery(keys: KeySet) -> None:
    from flask import Flask

    from jwt_middleware.flask import jwks_blueprint

    app = Flask(__name__)
    app.register_blueprint(jwks_blueprint(keys))
    client = app.test_client()
    assert client.get("/.well-known/jwks.json").status_code == 200
    assert client.get("/.well-known/openid-configuration").status_code == 404


def test_starlette_routes_behind_the_middleware(keys: KeySet) -> None:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from jwt_middleware.starlette import WELL_KNOWN_PATHS as PATHS
    from jwt_middleware.starlette import JWTMiddleware, jwks_routes

    app = Starlette(routes=jwks_routes(keys, issuer=ISSUER, max_age=120))
    app.add_middleware(JWTMiddleware, config=Config(keys=keys), public_paths=PATHS)
    with TestClient(app) as client:
        answer = client.get("/.well-known/jwks.json")
        _check_jwks_answer(answer.status_code, answer.headers, answer.content)
        for path in DISCOVERY_PATHS:
            answer = client.get(path)
            _check_discovery(answer.status_code, answer.content)
        assert client.post("/.well-known/jwks.json").status_code == 405


def test_fastapi_router_behind_the_middleware(keys: KeySet) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from jwt_middleware.asgi import JWTMiddleware
    from jwt_middleware.fastapi import WELL_KNOWN_PATHS as PATHS
    from jwt_middleware.fastapi import jwks_router

    app = FastAPI()
    app.include_router(jwks_router(keys, issuer=ISSUER, max_age=120))
    app.add_middleware(JWTMiddleware, config=Config(keys=keys), public_paths=PATHS)
    with TestClient(app) as client:
        answer = client.get("/.well-known/jwks.json")
        _check_jwks_answer(answer.status_code, answer.headers, answer.content)
        for path in DISCOVERY_PATHS:
            answer = client.get(path)
            _check_discovery(answer.status_code, answer.content)
        assert "/.well-known/jwks.json" not in app.openapi().get("paths", {})


def test_fastapi_router_takes_a_ready_publisher(tmp_path: Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from jwt_middleware.fastapi import jwks_router

    ring = KeyRing.load(tmp_path)
    ring.rotate(kid="k1")
    app = FastAPI()
    app.include_router(jwks_router(JWKSPublisher(ring, max_age=0)))
    with TestClient(app) as client:
        answer = client.get("/.well-known/jwks.json")
        assert answer.headers["cache-control"] == "public, max-age=0"
        assert [k["kid"] for k in answer.json()["keys"]] == ["k1"]
        ring.rotate(activate_after=0, kid="k2")
        assert [k["kid"] for k in client.get(JWKS_PATH).json()["keys"]] == ["k2", "k1"]
        assert client.get("/.well-known/openid-configuration").status_code == 404


def test_a_jwks_client_verifies_with_what_is_published(keys: KeySet) -> None:
    """Round trip: the JWKS the routes publish is what a JWKSClient parses."""
    from jwt_middleware.jwks import _parse_keys

    body = JWKSPublisher(keys).jwks().body
    parsed = _parse_keys(body, frozenset({"ES256", "RS256"}))
    assert parsed.resolve("es-1").algorithm == "ES256"
    assert parsed.resolve("rs-1").algorithm == "RS256"
