"""The three examples under real servers with metrics, the audit trail and encrypted
tokens switched on from the environment (``EXAMPLE_METRICS=prometheus``,
``JWT_AUDIT_URL``, ``JWT_DECRYPTION_KEY_FILE``, ``JWT_ENCRYPTION_KEY_FILE``).

Each example runs one scenario (``python -m examples.flask_app``, uvicorn for Starlette
and FastAPI): a token signed with the example's key and encrypted to its public key
reaches ``/me`` with its claims; a plain signed token is refused; a login answers an
encrypted access token that ``/me`` takes; ``GET /metrics`` without a token answers
Prometheus text; then the server stops (a normal exit, which writes the audit trail) and
its SQLite audit log is read back.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import jwt_middleware
from jwt_middleware import AuthError, DecryptionKey, EncryptionKey, Key, encode
from jwt_middleware.audit import audit_log_from_url
from tests.e2e.servers import free_port, run_server, uvicorn_argv

pytestmark = pytest.mark.slow

ISSUER = "https://issuer.observe.test"
AUDIENCE = "observe-api"
TIMEOUT = 10
ARGV = {
    "flask": [sys.executable, "-m", "examples.flask_app", "--port", "{port}"],
    "starlette": uvicorn_argv("examples.starlette_app:app"),
    "fastapi": uvicorn_argv("examples.fastapi_app:app"),
}
#: The reason codes of the public exception tree: the only ``reason`` label values.
REASONS = {"none", "other"} | {
    obj.reason for name in jwt_middleware.__all__
    if isinstance(obj := getattr(jwt_middleware, name), type) and issubclass(obj, AuthError)
}
#: Every other label's fixed values (docs/metrics.md).
FIXED = {
    "outcome": {"ok", "refused", "unavailable", "timeout", "invalid", "error"},
    "store": {"memory", "sqlite", "redis", "other"},
    "event": {"issued", "refreshed", "reuse_detected", "logout", "revoked"},
}
SERIES = re.compile(r"^(jwt_middleware_\w+)\{(.*)\} \S+$")
LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Run:
    external: requests.Response  # /me with a token encrypted outside the example
    inner: dict[str, Any]  # that token's claims
    plain: requests.Response  # /me with a signed, unencrypted token
    login: dict[str, Any]
    me: requests.Response  # /me with the login's access token
    metrics: requests.Response  # GET /metrics, no token
    audit: list[dict[str, Any]]  # the server's audit log, read after it stopped
    tokens: tuple[str, ...]  # every token sent or received


@pytest.fixture(scope="module", params=sorted(ARGV))
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp(request.param)
    secret = secrets.token_urlsafe(48)
    key = DecryptionKey.generate("ECDH-ES", kid="enc-1")
    private, public = tmp / "resource.private.jwk", tmp / "resource.public.jwk"
    private.write_text(json.dumps(key.private_jwk()))
    private.chmod(0o600)
    public.write_text(json.dumps(key.public_jwk()))
    env = {
        "JWT_ALGORITHMS": "HS256",
        "JWT_SECRET": secret,
        "JWT_KID": "hs-1",
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "JWT_STORE_URL": f"sqlite:///{tmp}/tokens.db",
        "JWT_AUDIT_URL": f"sqlite:///{tmp}/audit.db",
        "JWT_DECRYPTION_KEY_FILE": str(private),
        "JWT_ENCRYPTION_KEY_FILE": str(public),
        "EXAMPLE_METRICS": "prometheus",
    }
    now = int(time.time())
    inner = {"sub": "carol", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300,
             "jti": "carol-1", "roles": ["user"]}
    signed = encode(inner, Key.from_secret(secret, "HS256", kid="hs-1"))
    encrypted = EncryptionKey.from_file(public).encrypt(signed)
    with run_server(ARGV[request.param], env, port=free_port()) as server:
        url = server.url

        def me(token: str) -> requests.Response:
            return requests.get(f"{url}/me", headers={"Authorization": f"Bearer {token}"},
                                timeout=TIMEOUT)

        external, plain = me(encrypted), me(signed)
        login = requests.post(f"{url}/auth/login", timeout=TIMEOUT,
                              json={"username": "alice", "password": "wonderland-42"})
        assert login.status_code == 200, login.text
        pair = login.json()
        mine = me(pair["access_token"])
        metrics = requests.get(f"{url}/metrics", timeout=TIMEOUT)
    log = audit_log_from_url(env["JWT_AUDIT_URL"])
    try:
        audit = [dict(record) for record in log.query(limit=100)]
    finally:
        log.close()
    tokens = (signed, encrypted, pair["access_token"], pair["refresh_token"])
    return Run(external, inner, plain, pair, mine, metrics, audit, tokens)


def test_encrypted_token_reaches_me_with_its_claims(run: Run) -> None:
    assert run.external.status_code == 200, run.external.text
    body = run.external.json()
    inner = run.inner
    assert body["subject"] == inner["sub"]
    assert body["roles"] == inner["roles"]
    assert body["token_id"] == inner["jti"]
    assert body["issuer"] == ISSUER
    assert body["audience"] == [AUDIENCE]
    assert body["expires_at"] == inner["exp"]


def test_plain_token_refused_where_encryption_is_configured(run: Run) -> None:
    assert run.plain.status_code == 401
    assert "an encrypted token is required" in run.plain.headers["WWW-Authenticate"]


def test_login_answers_an_encrypted_access_token_that_me_takes(run: Run) -> None:
    """``JWT_ENCRYPTION_KEY_FILE``: the example's issuer encrypts to the resource's key."""
    assert run.login["access_token"].count(".") == 4  # five segments: a JWE
    assert not run.login["access_token"].startswith("eyJhbGciOiJIUzI1NiI")  # not the JWS
    assert run.me.status_code == 200, run.me.text
    assert run.me.json()["subject"] == "alice"


def test_metrics_is_public_prometheus_text_with_fixed_labels(run: Run) -> None:
    response = run.metrics
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")  # not OpenMetrics
    text = response.text
    assert 'jwt_middleware_verifications_total{outcome="ok",reason="none"} 2.0' in text
    assert ('jwt_middleware_verifications_total{outcome="refused",'
            'reason="encryption_required"} 1.0') in text
    assert 'jwt_middleware_tokens_total{event="issued"} 1.0' in text
    assert 'operation="start_session",store="sqlite"' in text  # the store is measured
    labels: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        found = SERIES.match(line)
        assert found, line  # every series is the package's
        for name, value in LABEL.findall(found[2]):
            labels.setdefault(name, set()).add(value)
    assert set(labels) <= {"outcome", "reason", "store", "operation", "event", "le"}
    assert labels["reason"] <= REASONS
    for name, allowed in FIXED.items():
        assert labels.get(name, set()) <= allowed, (name, labels.get(name))
    assert all(re.fullmatch(r"[a-z_]+", op) for op in labels["operation"])
    for secret in (*run.tokens, "alice", "carol"):
        assert secret not in text


def test_audit_trail_of_the_run(run: Run) -> None:
    """``JWT_AUDIT_URL``: the plain token's refusal, then alice's login, with ids only."""
    got = [(r["kind"], r.get("subject"), r.get("reason")) for r in run.audit]
    assert got == [("refused", None, "encryption_required"), ("issued", "alice", None)]
    issued = run.audit[1]
    assert issued["session"]
    assert issued["token_id"]
    assert issued["key_id"] == "hs-1"
    for record in run.audit:
        for value in record.values():
            assert not any(token in str(value) for token in run.tokens)
            assert "eyJ" not in str(value)


@pytest.mark.parametrize("app", sorted(ARGV))
def test_metrics_route_absent_when_metrics_are_off(app: str, tmp_path: Path) -> None:
    env = {"JWT_ALGORITHMS": "HS256", "JWT_SECRET": secrets.token_urlsafe(48),
           "JWT_ISSUER": ISSUER, "JWT_AUDIENCE": AUDIENCE,
           "JWT_STORE_URL": f"sqlite:///{tmp_path}/tokens.db", "EXAMPLE_METRICS": "off"}
    with run_server(ARGV[app], env, port=free_port()) as server:
        assert requests.get(f"{server.url}/metrics", timeout=TIMEOUT).status_code == 404
