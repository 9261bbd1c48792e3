"""Issue 12: every error names its cause in one line, and with ``--json`` is a JSON object.

Missing optional libraries are simulated in a fresh interpreter whose ``sys.meta_path``
refuses them (the blocker of ``tests/client/isolated.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware.cli import main
from jwt_middleware.cli._output import missing_library
from tests.client.isolated import BLOCKER

SECRET = "s" * 40
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLW5vdC1yZWFsbHk"
NOBODY = "127.0.0.1:1"  # nothing listens there


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str) -> str:
    assert err.startswith("jwt-middleware: error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.removeprefix("jwt-middleware: error: ").strip()


def json_error(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """The error of ``argv --json``: one JSON object on stdout, nothing on stderr, status 2."""
    status, out, err = run(capsys, *argv, "--json")
    assert status == 2
    assert err == ""
    assert out.count("\n") == 1
    data: dict[str, Any] = json.loads(out)
    assert data["status"] == 2
    assert isinstance(data["error"], str)
    assert "\n" not in data["error"]
    return data


def without(blocked: list[str], *argv: str) -> subprocess.CompletedProcess[str]:
    """``jwt-middleware argv`` in a fresh interpreter where ``blocked`` cannot be imported."""
    script = BLOCKER.format(blocked=sorted(blocked)) + (
        f"from jwt_middleware.cli import main\nraise SystemExit(main({list(argv)!r}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


# --- a store ------------------------------------------------------------------------


def test_a_sqlite_file_in_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said `the SQLite store failed: OperationalError`."""
    url = f"sqlite:///{tmp_path / 'missing' / 'tokens.db'}"
    status, out, err = run(capsys, "purge", "--store", url)
    assert (status, out) == (2, "")
    message = one_line(err)
    assert f"folder {str(tmp_path / 'missing')!r} does not exist" in message
    assert json_error(capsys, "revoke", "--sub", "x", "--store", url)["reason"] == "store"
    # the app's store, for verify
    monkeypatch.setenv("JWT_STORE_URL", url)
    status, _, err = run(capsys, "verify", TOKEN, "--secret", SECRET)
    assert status == 2
    assert "does not exist" in one_line(err)


def test_the_drivers_own_message_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The folder exists, but the "file" is a directory: the driver says why it failed.
    status, _, err = run(capsys, "purge", "--store", f"sqlite:///{tmp_path}")
    assert status == 2
    assert one_line(err) == (
        "store: the SQLite store failed: OperationalError (unable to open database file)"
    )


def test_an_unreachable_redis_says_why() -> None:
    done = without([], "revoke", "--sub", "x", "--store", f"redis://:hunter2@{NOBODY}/0")
    assert done.returncode == 2
    message = one_line(done.stderr)
    assert message.startswith("store: the Redis store failed: ConnectionError (")
    assert NOBODY in message
    assert "hunter2" not in message


# --- missing optional libraries -----------------------------------------------------


def test_no_redis_names_the_extra() -> None:
    """It said `unexpected ModuleNotFoundError: No module named 'redis'`."""
    done = without(["redis"], "purge", "--store", f"redis://{NOBODY}/0")
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        "a redis:// store needs the redis library, which is not installed: "
        "pip install 'jwt-middleware[redis]'"
    )
    done = without(["redis"], "purge", "--store", f"redis://{NOBODY}/0", "--json")
    assert done.returncode == 2
    assert done.stderr == ""
    data = json.loads(done.stdout)
    assert data["reason"] == "missing_library"
    assert data["extra"] == "jwt-middleware[redis]"


def test_no_requests_names_the_extra() -> None:
    """It said `cannot fetch the JWKS from ...: None`."""
    url = f"http://{NOBODY}/jwks.json"
    done = without(["requests"], "verify", TOKEN, "--jwks", url)
    assert done.returncode == 2
    assert one_line(done.stderr) == (
        f"fetching the JWKS from {url} needs the requests library, which is not installed: "
        "pip install 'jwt-middleware[requests]' (or jwt-middleware[client] for requests and httpx)"
    )
    done = without(["requests"], "verify", TOKEN, "--jwks", url, "--json")
    assert json.loads(done.stdout)["extra"] == "jwt-middleware[requests]"


def test_every_optional_library_has_its_extra() -> None:
    for module, extra in (("redis", "redis"), ("requests", "requests"), ("httpx", "httpx")):
        error = missing_library(ModuleNotFoundError(f"No module named {module!r}", name=module))
        assert error is not None
        assert error.extra == f"jwt-middleware[{extra}]"
        assert f"pip install 'jwt-middleware[{extra}]'" in str(error)
    httpx = missing_library(ModuleNotFoundError(name="httpx.something"))
    assert httpx is not None
    assert "jwt-middleware[client]" in str(httpx)
    other = missing_library(ModuleNotFoundError("No module named 'cryptography'", name="x"))
    assert other is not None
    assert "reinstall jwt-middleware" in str(other)
    assert missing_library(ValueError("no import here")) is None


# --- --json -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "reason", "says"),
    [
        (["issue"], "usage", "the following arguments are required: --sub"),
        (["issue", "--sub", "x", "--secret", "short"], "configuration", "HS256 secret is 5"),
        (["issue", "--sub", "x", "--key", "/nonexistent.pem"], "os", "No such file"),
        (["inspect", "garbage"], "usage", "not a JWT"),
        (["verify", TOKEN, "--jwks", f"http://{NOBODY}/jwks"], "jwks", "cannot fetch the JWKS"),
        (["revoke", "--sub", "x", "--store", "bogus://"], "store", "unknown store URL scheme"),
        (["jwks", "list", "--ring", "/dev/null"], "configuration", "is not a directory"),
        ([], "usage", "give a COMMAND"),
    ],
)
def test_json_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], reason: str, says: str
) -> None:
    """With --json, errors were plain text on stderr."""
    data = json_error(capsys, *argv)
    assert data["reason"] == reason
    assert says in data["error"]
    # the same message, as text, without --json
    status, out, err = run(capsys, *argv) if argv else (2, "", "")
    if argv:
        assert (status, out) == (2, "")
        assert one_line(err) == data["error"]


def test_json_before_the_command_too(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "--json", "issue", "--sub", "x", "--secret", "short")
    assert (status, err) == (2, "")
    assert json.loads(out)["reason"] == "configuration"


# --- never a token, key or secret ---------------------------------------------------


def test_errors_never_repeat_a_token_or_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "verify", TOKEN, TOKEN)
    assert status == 2
    assert "unrecognized arguments: <token>" in one_line(err)
    assert TOKEN not in err
    secret = "correct-horse-battery-staple"
    status, _, err = run(capsys, "verify", TOKEN, "--secret", secret, f"x{secret}y")
    assert status == 2
    assert secret not in err
    assert "x<secret>y" in err
    data = json_error(capsys, "verify", TOKEN, f"--secret={secret}", secret)
    assert secret not in data["error"]


def test_store_url_passwords_are_never_repeated() -> None:
    from jwt_middleware.cli import _secrets
    from jwt_middleware.cli._output import redact

    url = "redis://:p%40ss-word@cache.internal:6379/0"
    secrets = _secrets(["revoke", "--sub", "x", "--store", url])
    assert redact(f"cannot reach {url} (p@ss-word)", secrets) == (
        "cannot reach redis://:<secret>@cache.internal:6379/0 (<secret>)"
    )


def test_a_bad_store_setting_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_STORE_URL", "bogus://here")
    data = json_error(capsys, "verify", TOKEN, "--secret", SECRET)
    assert data["reason"] == "store"
    assert data["error"].startswith("JWT_STORE_URL: unknown store URL scheme 'bogus'")
