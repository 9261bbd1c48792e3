"""Flask's app.config settings: the closest name for a typo, key paths from the app's folder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask

from jwt_middleware import ConfigurationError, encode, generate_key
from jwt_middleware.flask import JWT, current_principal

SECRET = "s" * 32
ADVICE = (
    " (jwt_middleware reads every JWT_* key in app.config; if another extension, "
    "Flask-JWT-Extended for one, owns JWT_* keys, give jwt_middleware its own prefix: "
    "JWT(app, prefix='JWTM_'))"
)


@pytest.mark.parametrize(
    ("key", "start"),
    [
        ("JWT_ISSUR", "unknown setting JWT_ISSUR: did you mean JWT_ISSUER?"),
        ("JWT_PUBLIC_PATH", "unknown setting JWT_PUBLIC_PATH: did you mean JWT_PUBLIC_PATHS?"),
        ("JWT_COOKIE_SECURITY", "unknown setting JWT_COOKIE_SECURITY: did you mean "
         "JWT_COOKIE_SECURE?"),
    ],
)
def test_an_unknown_key_names_the_closest_setting(key: str, start: str) -> None:
    app = Flask(__name__)
    app.config.update(JWT_ALGORITHMS="HS256", JWT_SECRET=SECRET, **{key: "x"})
    with pytest.raises(ConfigurationError) as info:
        JWT(app)
    assert str(info.value) == start + ADVICE
    assert "known settings are" not in str(info.value)  # no longer the list of every name


def test_an_unknown_key_with_no_close_name_lists_the_settings() -> None:
    app = Flask(__name__)
    app.config.update(JWT_ALGORITHMS="HS256", JWT_SECRET=SECRET, JWT_ZZZZ="x")
    with pytest.raises(ConfigurationError) as info:
        JWT(app)
    assert str(info.value).startswith("unknown setting JWT_ZZZZ: known settings are JWT_ACCESS_TTL")


def test_relative_key_files_are_read_from_the_app_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = generate_key("ES256", kid="k")
    (tmp_path / "app" / "keys").mkdir(parents=True)
    (tmp_path / "app" / "keys" / "public.pem").write_bytes(key.public_pem())
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # as `flask --app /path/app.py run` from elsewhere
    app = Flask(__name__, root_path=str(tmp_path / "app"))
    app.config.update(JWT_ALGORITHMS="ES256", JWT_PUBLIC_KEY_FILE="keys/public.pem")
    JWT(app)

    @app.get("/me")
    def me() -> str:
        return current_principal.subject or ""

    now = int(time.time())
    token = encode({"sub": "alice", "iat": now, "exp": now + 60}, key)
    answer = app.test_client().get("/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.text == "alice"


def test_a_missing_relative_key_file_says_where_it_was_looked_for(tmp_path: Path) -> None:
    app = Flask(__name__, root_path=str(tmp_path))
    app.config.update(JWT_ALGORITHMS="ES256", JWT_PUBLIC_KEY_FILE="public.pem")
    with pytest.raises(ConfigurationError) as info:
        JWT(app)
    assert str(info.value) == (
        f"JWT_PUBLIC_KEY_FILE: cannot read key file 'public.pem' (relative to {str(tmp_path)!r}): "
        "No such file or directory"
    )
