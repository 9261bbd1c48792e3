"""The command line, in-process (``main([...])``) and as ``python -m jwt_middleware``."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import Config, Key, KeySet, Verifier, encode, generate_key
from jwt_middleware.cli import main
from jwt_middleware.testing import JWKSServer

SECRET = "s" * 40


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    status, out, _err = run(capsys, *argv, "--json")
    return status, json.loads(out)


def assert_one_line_error(err: str) -> None:
    assert err.startswith("jwt-middleware: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.fixture
def keydir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    status, _, _ = run(capsys, "keygen", "--kid", "k1", "--out", str(tmp_path / "keys"))
    assert status == 0
    return tmp_path / "keys"


@pytest.fixture
def es_token(keydir: Path, capsys: pytest.CaptureFixture[str]) -> str:
    status, out, _ = run(
        capsys,
        "issue", "--sub", "alice", "--role", "admin", "--scope", "read", "--scope", "write",
        "--key", str(keydir / "k1.private.jwk"), "--iss", "https://auth.test", "--aud", "api",
        "--claim", "tenant=acme", "--claim", "level=3",
    )  # fmt: skip
    assert status == 0
    return out.strip()


# --- keygen -------------------------------------------------------------------------


def test_keygen_prints_a_private_jwk(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "keygen", "--alg", "EdDSA", "--kid", "ed")
    assert status == 0
    key = Key.from_jwk(json.loads(out))
    assert key.can_sign
    assert key.kid == "ed"
    assert key.algorithm == "EdDSA"


def test_keygen_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, data = run_json(capsys, "keygen", "--alg", "HS256")
    assert status == 0
    assert data["alg"] == "HS256"
    assert "public_jwk" not in data
    assert Key.from_jwk(data["private_jwk"]).algorithm == "HS256"


def test_keygen_writes_files_with_private_modes(
    keydir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in keydir.iterdir()}
    assert modes == {
        "k1.private.jwk": 0o600,
        "k1.private.pem": 0o600,
        "k1.public.jwk": 0o644,
        "k1.public.pem": 0o644,
    }
    public = Key.from_jwk((keydir / "k1.public.jwk").read_text())
    assert not public.can_sign
    assert public.kid == "k1"
    private = Key.from_pem_file(keydir / "k1.private.pem", "ES256")
    assert private.public_jwk()["x"] == public.public_jwk()["x"]
    # never overwrites
    status, _, err = run(capsys, "keygen", "--kid", "k1", "--out", str(keydir))
    assert status == 2
    assert_one_line_error(err)
    assert "refusing to overwrite" in err


def test_keygen_refuses_a_kid_that_is_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "keygen", "--kid", "../x", "--out", str(tmp_path))
    assert status == 2
    assert_one_line_error(err)


# --- issue ----------------------------------------------------------------------------


def test_issue_with_a_jwk(es_token: str, keydir: Path) -> None:
    keys = KeySet([Key.from_jwk((keydir / "k1.public.jwk").read_text())])
    principal = Verifier(Config(keys=keys, issuer="https://auth.test", audience="api")).verify(
        es_token
    )
    assert principal.subject == "alice"
    assert principal.roles == {"admin"}
    assert principal.scopes == {"read", "write"}
    assert principal.claims["tenant"] == "acme"
    assert principal.claims["level"] == 3
    assert principal.header["kid"] == "k1"
    assert principal.header["typ"] == "at+jwt"
    exp = principal.expires_at
    assert exp is not None
    assert 890 < exp - time.time() <= 900


def test_issue_with_a_pem_names_the_key_by_thumbprint(
    keydir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, data = run_json(
        capsys, "issue", "--sub", "bob", "--key", str(keydir / "k1.private.pem"), "--ttl", "2h"
    )
    assert status == 0
    key = Key.from_pem_file(keydir / "k1.private.pem", "ES256")
    assert data["header"]["kid"] == key.thumbprint()
    assert data["claims"]["exp"] - data["claims"]["iat"] == 7200
    assert "aud" not in data["claims"]
    assert "iss" not in data["claims"]


def test_issue_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_ALGORITHMS", "HS256")
    monkeypatch.setenv("JWT_ISSUER", "https://env.test")
    monkeypatch.setenv("JWT_AUDIENCE", "svc")
    status, out, _ = run(capsys, "issue", "--sub", "carol")
    assert status == 0
    config = Config(keys=Key.from_secret(SECRET), issuer="https://env.test", audience="svc")
    assert Verifier(config).verify(out.strip()).subject == "carol"
    # and verify picks the same environment up
    status, out, _ = run(capsys, "verify", out.strip())
    assert status == 0
    assert out.startswith("valid")


def test_issue_without_a_key_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("JWT_"):
            monkeypatch.delenv(name)
    status, out, err = run(capsys, "issue", "--sub", "x")
    assert status == 2
    assert out == ""
    assert_one_line_error(err)
    assert "JWT_SECRET" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["issue", "--sub", "x", "--secret", SECRET, "--claim", "exp=1"],
        ["issue", "--sub", "x", "--secret", SECRET, "--claim", "novalue"],
        ["issue", "--sub", "x", "--secret", "short"],
        ["issue", "--sub", "x", "--secret", SECRET, "--ttl", "soon"],
        ["issue", "--sub", "x", "--key", "/nonexistent/key.pem"],
        ["issue", "--sub", "x", "--secret", SECRET, "--key", "k.pem"],
        ["issue", "--sub", "x", "--secret", SECRET, "--alg", "none"],
        ["issue"],
        ["no-such-command"],
    ],
)
def test_issue_bad_input(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert_one_line_error(err)


def test_issue_refuses_a_public_key(keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "issue", "--sub", "x", "--key", str(keydir / "k1.public.pem"))
    assert status == 2
    assert "cannot sign" in err


# --- inspect --------------------------------------------------------------------------


def test_inspect_warns_loudly(es_token: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "inspect", es_token)
    assert status == 0
    assert "NOT VERIFIED" in err
    assert '"sub": "alice"' in out
    assert '"kid": "k1"' in out
    assert "UTC" in out
    assert "(in 15 min)" in out


def test_inspect_json_and_stdin(
    es_token: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"Bearer {es_token}\n"))
    status, data = run_json(capsys, "inspect", "-")
    assert status == 0
    assert data["verified"] is False
    assert data["claims"]["sub"] == "alice"
    assert data["times"]["exp"]["value"] == data["claims"]["exp"]


def test_inspect_with_verification(
    es_token: str, keydir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = str(keydir / "k1.public.pem")
    status, out, err = run(
        capsys, "inspect", es_token, "--key", key, "--iss", "https://auth.test", "--aud", "api"
    )
    assert status == 0
    assert "NOT VERIFIED" not in err
    assert "Verified: yes" in out
    status, out, err = run(capsys, "inspect", es_token, "--key", key, "--aud", "other")
    assert status == 1
    assert "Verified: NO" in out
    assert "invalid_audience" in out


def test_relative_times_in_the_past(capsys: pytest.CaptureFixture[str]) -> None:
    now = int(time.time())
    tok = encode({"sub": "x", "iat": now - 3 * 3600, "exp": now - 2 * 3600}, generate_key())
    status, out, _ = run(capsys, "inspect", tok)
    assert status == 0
    assert "(3 h ago)" in out
    assert "(2 h ago)" in out


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln", "", "x" * 70000],
)
def test_inspect_garbage(capsys: pytest.CaptureFixture[str], token: str) -> None:
    status, out, err = run(capsys, "inspect", token)
    assert status == 2
    assert out == ""
    assert_one_line_error(err)


# --- verify ---------------------------------------------------------------------------


def test_verify_valid(es_token: str, keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "verify", es_token, "--key", str(keydir / "k1.public.pem"),
        "--iss", "https://auth.test", "--aud", "api",
    )  # fmt: skip
    assert status == 0
    assert out.startswith("valid\n")
    assert "subject  alice" in out
    assert "roles    admin" in out


def test_verify_invalid(es_token: str, keydir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "verify", es_token, "--key", str(keydir / "k1.public.pem"), "--aud", "api",
        "--iss", "https://evil.test",
    )  # fmt: skip
    assert status == 1
    assert out == "invalid: the token issuer is not accepted (invalid_issuer)\n"


def test_verify_with_a_jwks_file(
    es_token: str, keydir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = json.loads((keydir / "k1.public.jwk").read_text())
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [generate_key().public_jwk(), public]}))
    status, data = run_json(capsys, "verify", es_token, "--jwks", str(jwks), "--aud", "api")
    assert status == 0
    assert data["valid"] is True
    assert data["subject"] == "alice"
    assert data["roles"] == ["admin"]
    assert data["scopes"] == ["read", "write"]
    # another key set: the kid is unknown
    jwks.write_text(json.dumps({"keys": [generate_key().public_jwk()]}))
    status, data = run_json(capsys, "verify", es_token, "--jwks", str(jwks), "--aud", "api")
    assert status == 1
    assert data == {
        "valid": False,
        "reason": "unknown_key",
        "error": "the token was signed with an unknown key",
    }


def test_verify_with_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "issue", "--sub", "dan", "--secret", SECRET, "--ttl", "-60")
    assert status == 0
    tok = out.strip()
    status, out, _ = run(capsys, "verify", tok, "--secret", SECRET)
    assert status == 1
    assert "(expired)" in out
    status, out, _ = run(capsys, "verify", tok, "--secret", SECRET, "--leeway", "120")
    assert status == 0
    status, out, _ = run(capsys, "verify", tok, "--secret", "t" * 40)
    assert status == 1
    assert "(bad_signature)" in out


@pytest.mark.parametrize(
    "extra",
    [
        ["--key", "/nonexistent.pem"],
        ["--jwks", "/nonexistent.json"],
        ["--jwks", "ftp://example.com/jwks"],
        ["--secret", SECRET, "--key", "x.pem"],
        ["--secret", "too-short"],
        ["--secret", SECRET, "--alg", "RS256"],
    ],
)
def test_verify_bad_input(
    es_token: str, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    status, out, err = run(capsys, "verify", es_token, *extra)
    assert status == 2
    assert out == ""
    assert_one_line_error(err)


def test_verify_garbage_token(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "verify", "not-a-token", "--secret", SECRET)
    assert status == 2
    assert_one_line_error(err)
    assert "not a JWT" in err


def test_verify_a_jwks_file_that_is_not_json(
    es_token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "jwks.json"
    bad.write_text("<html>")
    status, _, err = run(capsys, "verify", es_token, "--jwks", str(bad))
    assert status == 2
    assert_one_line_error(err)


# --- key ring -------------------------------------------------------------------------


def test_jwks_rotate_export_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ring = str(tmp_path / "ring")
    status, out, _ = run(capsys, "jwks", "export", "--ring", ring)
    assert status == 2  # empty
    status, first = run_json(capsys, "jwks", "rotate", "--ring", ring)
    assert status == 0
    status, second = run_json(
        capsys, "jwks", "rotate", "--ring", ring, "--activate-after", "10m", "--alg", "EdDSA"
    )
    assert status == 0
    assert [k["state"] for k in second["keys"]] == ["pending", "signing"]
    status, out, _ = run(capsys, "jwks", "export", "--ring", ring)
    assert status == 0
    jwks = json.loads(out)
    assert [k["kid"] for k in jwks["keys"]] == [second["kid"], first["kid"]]
    assert all("d" not in k for k in jwks["keys"])
    status, listing = run_json(capsys, "jwks", "list", "--ring", ring)
    assert listing["keys"] == second["keys"]
    out_file = tmp_path / "public.json"
    status, _, _ = run(capsys, "jwks", "export", "--ring", ring, "--out", str(out_file))
    assert status == 0
    assert json.loads(out_file.read_text()) == jwks
    # tokens from the ring's signing key verify against the exported JWKS
    status, out, _ = run(capsys, "issue", "--sub", "eve", "--ring", ring)
    tok = out.strip()
    status, data = run_json(capsys, "inspect", tok)
    assert data["header"]["kid"] == first["kid"]
    status, out, _ = run(capsys, "verify", tok, "--jwks", str(out_file))
    assert status == 0


@pytest.fixture
def no_ttl_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("JWT_ACCESS_TTL", "JWT_REFRESH_TTL", "JWT_REFRESH_GRACE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def old_key_retires_after_switch(rotation: dict[str, Any]) -> float:
    [old] = [k for k in rotation["keys"] if k["retires_at"] is not None]
    return float(old["retires_at"] - rotation["activates_at"])


def test_jwks_rotate_retires_after_the_refresh_ttl_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_ttl_env: pytest.MonkeyPatch
) -> None:
    """Issue 8: the default used to be 1 day while refresh tokens live 14 days."""
    ring = str(tmp_path / "ring")
    assert run_json(capsys, "jwks", "rotate", "--ring", ring)[0] == 0
    status, rotation = run_json(capsys, "jwks", "rotate", "--ring", ring)
    assert status == 0
    assert rotation["retire_after"] == old_key_retires_after_switch(rotation) == 14 * 86400
    status, out, _ = run(capsys, "jwks", "list", "--ring", ring)
    assert "signing  retires" in out
    assert "(in 14 d)" in out
    # The same settings the app reads: JWT_REFRESH_TTL (and JWT_ACCESS_TTL).
    no_ttl_env.setenv("JWT_REFRESH_TTL", str(30 * 86400))
    status, rotation = run_json(capsys, "jwks", "rotate", "--ring", str(tmp_path / "r2"))
    status, rotation = run_json(capsys, "jwks", "rotate", "--ring", str(tmp_path / "r2"))
    assert old_key_retires_after_switch(rotation) == 30 * 86400
    no_ttl_env.setenv("JWT_REFRESH_TTL", "3600")
    status, rotation = run_json(
        capsys, "jwks", "rotate", "--ring", str(tmp_path / "r2"), "--retire-after", "1h"
    )
    assert status == 0
    assert rotation["retire_after"] == 3600


@pytest.mark.parametrize(
    ("env", "retire_after", "named"),
    [
        ({}, "1d", "1209600 s (the default refresh TTL)"),
        ({"JWT_REFRESH_TTL": "7200"}, "1h", "7200 s (JWT_REFRESH_TTL)"),
        ({"JWT_REFRESH_TTL": "600", "JWT_ACCESS_TTL": "900"}, "10m", "900 s (JWT_ACCESS_TTL)"),
    ],
)
def test_jwks_rotate_refuses_a_retire_after_below_the_longest_lifetime(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_ttl_env: pytest.MonkeyPatch,
    env: dict[str, str],
    retire_after: str,
    named: str,
) -> None:
    for name, value in env.items():
        no_ttl_env.setenv(name, value)
    ring = tmp_path / "ring"
    status, _, err = run(
        capsys, "jwks", "rotate", "--ring", str(ring), "--retire-after", retire_after
    )
    assert status == 2
    assert_one_line_error(err)
    assert "--retire-after" in err
    assert named in err
    assert "or more" in err
    assert not ring.exists()  # refused before anything was written


def test_jwks_rotate_bad_ttl_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_ttl_env: pytest.MonkeyPatch
) -> None:
    for value, message in (("soon", "not a number"), ("0", "JWT_REFRESH_TTL must be a positive")):
        no_ttl_env.setenv("JWT_REFRESH_TTL", value)
        status, _, err = run(capsys, "jwks", "rotate", "--ring", str(tmp_path / "ring"))
        assert status == 2
        assert_one_line_error(err)
        assert message in err


def test_jwks_bad_duration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(
        capsys, "jwks", "rotate", "--ring", str(tmp_path), "--retire-after", "forever"
    )
    assert status == 2
    assert_one_line_error(err)


# --- revoke / purge -------------------------------------------------------------------


def test_revoke_and_purge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    status, data = run_json(capsys, "revoke", "--jti", "t1", "--exp", "2000-01-01T00:00:00Z",
                            "--store", url)  # fmt: skip
    assert status == 0
    assert data["revoked"] == "token"
    assert data["until"] == 946684800.0
    status, data = run_json(capsys, "revoke", "--sub", "mallory", "--store", url)
    assert status == 0
    assert data["revoked"] == "subject"
    status, data = run_json(capsys, "purge", "--store", url)
    assert status == 0
    assert data == {"purged": 1}
    status, out, _ = run(capsys, "purge", "--store", url)
    assert out == "purged 0 expired records\n"

    from jwt_middleware.stores.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "tokens.db")
    now = time.time()
    assert store.is_revoked(None, "mallory", now - 10, None, now)
    store.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["revoke", "--jti", "x", "--store", "memory://"],
        ["revoke", "--jti", "x", "--sub", "y", "--store", "memory://"],
        ["revoke", "--jti", "x", "--exp", "tomorrow", "--store", "memory://"],
        ["revoke", "--sub", "x", "--store", "bogus://here"],
        ["revoke", "--sub", "x"],
        ["purge", "--store", "sqlite://relative.db"],
        ["purge", "--store", "sqlite:////nonexistent/dir/x.db"],
    ],
)
def test_store_bad_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.delenv("JWT_STORE_URL", raising=False)
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert_one_line_error(err)


# --- as a program ---------------------------------------------------------------------


def program(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    return subprocess.run(
        [sys.executable, "-m", "jwt_middleware", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_program_issue_and_verify_through_a_pipe() -> None:
    issued = program("issue", "--sub", "zoe", "--secret", SECRET, "--role", "ops")
    assert issued.returncode == 0, issued.stderr
    checked = program("verify", "-", "--secret", SECRET, "--json", stdin=issued.stdout)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["roles"] == ["ops"]
    wrong = program("verify", "-", "--secret", "w" * 40, stdin=issued.stdout)
    assert wrong.returncode == 1
    assert wrong.stdout == "invalid: the token signature is invalid (bad_signature)\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", "garbage"],
        ["verify", "a.b.c", "--key", "/missing.pem"],
        ["issue", "--sub", "x", "--key", "/missing.pem"],
        ["revoke", "--sub", "x", "--store", "redis://127.0.0.1:1/0"],
        ["verify", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln", "--jwks", "http://127.0.0.1:1/jwks.json"],
        ["--bogus"],
    ],
)
def test_program_errors_are_one_line(argv: list[str]) -> None:
    done = program(*argv)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("jwt-middleware: error: ")
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_program_version() -> None:
    done = program("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("jwt-middleware ")


# --- remote keys (with the plugin's jwks_server) ----------------------------------------


def test_verify_with_a_jwks_url(
    jwks_server: JWKSServer, capsys: pytest.CaptureFixture[str]
) -> None:
    token = jwks_server.make_token("frank")
    status, out, _ = run(
        capsys, "verify", token, "--jwks", jwks_server.jwks_uri,
        "--iss", jwks_server.issuer, "--aud", jwks_server.audience,
    )  # fmt: skip
    assert status == 0
    assert "subject  frank" in out
    other = JWKSServer()
    try:
        status, out, _ = run(
            capsys, "verify", other.make_token(), "--jwks", jwks_server.jwks_uri,
            "--aud", jwks_server.audience,
        )  # fmt: skip
    finally:
        other.close()
    assert status == 1
    assert "(unknown_key)" in out


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/jwks.json",  # plain http is only for this machine
        "http://127.0.0.1:1/jwks.json",  # nothing listens
    ],
)
def test_verify_with_a_bad_jwks_url(
    es_token: str, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    status, out, err = run(capsys, "verify", es_token, "--jwks", url)
    assert status == 2
    assert out == ""
    assert_one_line_error(err)


def test_verify_with_a_failing_jwks_server(
    jwks_server: JWKSServer, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks_server.status = 500
    status, _, err = run(capsys, "verify", jwks_server.make_token(), "--jwks", jwks_server.jwks_uri)
    assert status == 2
    assert_one_line_error(err)
    assert "HTTP status 500" in err
