"""The README's three quickstarts run as written: no token 401, wrong role 403, admin 200."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import Key, encode, generate_key

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(title: str) -> str:
    text = README.read_text()
    section = text.split(f"### {title}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, title
    return match.group(1)


def _tokens(key: Key) -> dict[str, str]:
    now = int(time.time())
    base = {"iss": "https://auth.example", "aud": "orders-api", "iat": now, "exp": now + 60}
    return {
        "user": encode({**base, "sub": "bob", "roles": ["user"]}, key),
        "admin": encode({**base, "sub": "alice", "roles": ["admin"]}, key),
    }


def _check(client: Any, tokens: dict[str, str]) -> None:
    assert client.get("/admin").status_code == 401
    user = client.get("/admin", headers={"Authorization": f"Bearer {tokens['user']}"})
    assert user.status_code == 403
    admin = client.get("/admin", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert admin.status_code == 200
    assert "alice" in admin.text


@pytest.fixture
def rs256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Key:
    key = generate_key("RS256")
    (tmp_path / "public.pem").write_bytes(key.public_pem())
    monkeypatch.chdir(tmp_path)
    return key


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Key:
    secret = "readme-quickstart-secret-0123456789abcdef"
    for name, value in {"JWT_ALGORITHMS": "HS256", "JWT_SECRET": secret,
                        "JWT_ISSUER": "https://auth.example",
                        "JWT_AUDIENCE": "orders-api"}.items():
        monkeypatch.setenv(name, value)
    return Key.from_secret(secret)


def test_flask_quickstart(rs256: Key) -> None:
    scope: dict[str, Any] = {"__name__": "quickstart"}
    code = _block("Flask").replace(
        'JWT_PUBLIC_KEY_FILE="public.pem")',
        'JWT_PUBLIC_KEY_FILE="public.pem", JWT_ISSUER="https://auth.example", '
        'JWT_AUDIENCE="orders-api")',
    )
    exec(compile(code, "README-flask", "exec"), scope)
    _check(scope["app"].test_client(), _tokens(rs256))


def test_starlette_quickstart(env: Key) -> None:
    from starlette.testclient import TestClient

    scope: dict[str, Any] = {"__name__": "quickstart"}
    exec(compile(_block("Starlette"), "README-starlette", "exec"), scope)
    _check(TestClient(scope["app"]), _tokens(env))


def test_fastapi_quickstart(env: Key) -> None:
    from fastapi.testclient import TestClient

    scope: dict[str, Any] = {"__name__": "quickstart"}
    exec(compile(_block("FastAPI"), "README-fastapi", "exec"), scope)
    _check(TestClient(scope["app"]), _tokens(env))
