"""The command line is a package split by subject; its entry points still work."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import jwt_middleware.cli

PACKAGE = Path(jwt_middleware.cli.__file__).parent


def test_each_module_is_about_one_thing_and_short() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert modules == [
        "__init__.py",
        "_audit.py",
        "_defaults.py",
        "_keys.py",
        "_output.py",
        "_store.py",
        "_tokens.py",
    ]
    for name in modules:
        lines = (PACKAGE / name).read_text().count("\n")
        assert lines <= 400, f"{name} has {lines} lines"


def test_the_console_script_target_and_python_m() -> None:
    # pyproject.toml: jwt-middleware = "jwt_middleware.cli:main"
    assert callable(importlib.import_module("jwt_middleware.cli").main)
    done = subprocess.run(
        [sys.executable, "-m", "jwt_middleware", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for command in ("keygen", "issue", "inspect", "verify", "jwks", "revoke", "purge", "audit"):
        assert command in done.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["keygen"],
        ["issue"],
        ["inspect"],
        ["verify"],
        ["jwks"],
        ["jwks", "rotate"],
        ["revoke"],
        ["purge"],
        ["audit"],
    ],
)
def test_every_help_names_its_defaults(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        jwt_middleware.cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: jwt-middleware")
    if argv[0] in ("issue", "verify", "inspect"):
        assert "JWT_ISSUER" in out
        assert "JWT_AUDIENCE" in out
    if argv[0] == "revoke":
        assert "JWT_REFRESH_TTL" in out
    if argv[0] == "audit":
        assert "JWT_AUDIT_URL" in out
