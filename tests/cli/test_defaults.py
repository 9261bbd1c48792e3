"""Issue 12: every default of the command line comes from the settings the app reads.

The app here is a :class:`Verifier` built with ``Config.from_env()`` from the same
environment the command ran in.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import Config, Verifier
from jwt_middleware.cli import main

SECRET = "s" * 40


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def issued(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    status, out, err = run(capsys, "issue", *argv, "--json")
    assert status == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def app_accepts(token: str) -> str | None:
    """What the app (``Config.from_env()`` of this environment) makes of ``token``."""
    return Verifier(Config.from_env()).verify(token).subject


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(capsys, "keygen", "--kid", "k1", "--out", str(tmp_path / "keys"))[0] == 0
    return tmp_path / "keys"


def key_source(kind: str, keys: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The app's key settings, and the matching ``issue`` option."""
    if kind == "secret":
        monkeypatch.setenv("JWT_SECRET", SECRET)
        monkeypatch.setenv("JWT_ALGORITHMS", "HS256")
        return ["--secret", SECRET]
    if kind == "ring":
        ring = str(keys.parent / "ring")
        assert main(["jwks", "rotate", "--ring", ring]) == 0
        assert main(["jwks", "export", "--ring", ring, "--out", str(keys / "jwks.json")]) == 0
        monkeypatch.setenv("JWT_JWKS_FILE", str(keys / "jwks.json"))
        monkeypatch.setenv("JWT_ALGORITHMS", "ES256")
        return ["--ring", ring]
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", str(keys / "k1.public.pem"))
    monkeypatch.setenv("JWT_ALGORITHMS", "ES256")
    return ["--key", str(keys / kind)]


@pytest.mark.parametrize("kind", ["k1.private.pem", "k1.private.jwk", "secret", "ring"])
def test_a_token_from_an_explicit_key_names_the_issuer_and_audience_the_app_checks(
    kind: str, keys: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Starlette quickstart with JWT_ISSUER exported: the token had no iss, the app said 401."""
    option = key_source(kind, keys, monkeypatch)
    monkeypatch.setenv("JWT_ISSUER", "https://auth.test")
    monkeypatch.setenv("JWT_AUDIENCE", "orders-api")
    capsys.readouterr()
    data = issued(capsys, "--sub", "alice", *option)
    assert data["claims"]["iss"] == "https://auth.test"
    assert data["claims"]["aud"] == "orders-api"
    assert app_accepts(data["token"]) == "alice"
    # the command line still wins
    data = issued(capsys, "--sub", "alice", *option, "--iss", "https://other.test")
    assert data["claims"]["iss"] == "https://other.test"


def test_several_audiences_and_issuers(
    keys: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    option = key_source("k1.private.pem", keys, monkeypatch)
    monkeypatch.setenv("JWT_ISSUER", "https://a.test, https://b.test")
    monkeypatch.setenv("JWT_AUDIENCE", "api,admin")
    data = issued(capsys, "--sub", "bob", *option)
    assert data["claims"]["iss"] == "https://a.test"
    assert data["claims"]["aud"] == ["api", "admin"]
    assert app_accepts(data["token"]) == "bob"


def test_verify_with_an_explicit_key_checks_what_the_app_checks(
    keys: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = str(keys / "k1.private.pem")
    token = issued(capsys, "--sub", "carol", "--key", key, "--iss", "https://evil.test")["token"]
    public = str(keys / "k1.public.pem")
    assert run(capsys, "verify", token, "--key", public)[0] == 0
    monkeypatch.setenv("JWT_ISSUER", "https://auth.test")
    status, out, _ = run(capsys, "verify", token, "--key", public)
    assert status == 1
    assert "(invalid_issuer)" in out
    assert run(capsys, "verify", token, "--key", public, "--iss", "https://evil.test")[0] == 0
    monkeypatch.setenv("JWT_REQUIRED_CLAIMS", "tenant")
    status, out, _ = run(capsys, "verify", token, "--key", public, "--iss", "https://evil.test")
    assert status == 1
    assert "(missing_claim)" in out


def test_ttl_comes_from_jwt_access_ttl(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = issued(capsys, "--sub", "d", "--secret", SECRET)["claims"]
    assert claims["exp"] - claims["iat"] == 900
    monkeypatch.setenv("JWT_ACCESS_TTL", "120")
    claims = issued(capsys, "--sub", "d", "--secret", SECRET)["claims"]
    assert claims["exp"] - claims["iat"] == 120
    claims = issued(capsys, "--sub", "d", "--secret", SECRET, "--ttl", "1h")["claims"]
    assert claims["exp"] - claims["iat"] == 3600
    for value, named in (("soon", "JWT_*_TTL"), ("0", "JWT_ACCESS_TTL")):
        monkeypatch.setenv("JWT_ACCESS_TTL", value)
        status, out, err = run(capsys, "issue", "--sub", "d", "--secret", SECRET)
        assert (status, out) == (2, "")
        assert named in err


def test_algorithm_and_kid_come_from_the_key_settings(
    keys: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_SECRET", SECRET * 2)
    monkeypatch.setenv("JWT_ALGORITHMS", "HS512")
    monkeypatch.setenv("JWT_KID", "app-1")
    data = issued(capsys, "--sub", "erin", "--secret", SECRET * 2)
    assert data["header"] == {"alg": "HS512", "kid": "app-1", "typ": "at+jwt"}
    assert app_accepts(data["token"]) == "erin"
    # a PEM key is named JWT_KID too, not by its thumbprint: the app's key has that kid
    monkeypatch.delenv("JWT_SECRET")
    monkeypatch.setenv("JWT_ALGORITHMS", "ES256")
    monkeypatch.setenv("JWT_PUBLIC_KEY_FILE", str(keys / "k1.public.pem"))
    data = issued(capsys, "--sub", "erin", "--key", str(keys / "k1.private.pem"))
    assert data["header"]["kid"] == "app-1"
    assert app_accepts(data["token"]) == "erin"
    # a secret cannot make a token an ES256 app accepts
    status, _, err = run(capsys, "issue", "--sub", "erin", "--secret", SECRET)
    assert status == 2
    assert "JWT_ALGORITHMS is ES256" in err
    # nor an RSA key
    monkeypatch.setenv("JWT_ALGORITHMS", "ES256,EdDSA")
    rsa = keys.parent / "rsa"
    assert run(capsys, "keygen", "--alg", "RS256", "--kid", "r", "--out", str(rsa))[0] == 0
    status, _, err = run(capsys, "issue", "--sub", "erin", "--key", str(rsa / "r.private.jwk"))
    assert status == 2
    assert "JWT_ALGORITHMS allows ES256, EdDSA" in err


def test_keygen_and_the_first_ring_key_use_the_apps_algorithm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert json.loads(run(capsys, "keygen", "--json")[1])["alg"] == "ES256"
    monkeypatch.setenv("JWT_ALGORITHMS", "EdDSA")
    assert json.loads(run(capsys, "keygen", "--json")[1])["alg"] == "EdDSA"
    assert json.loads(run(capsys, "keygen", "--alg", "ES384", "--json")[1])["alg"] == "ES384"
    ring = str(tmp_path / "ring")
    status, out, _ = run(capsys, "jwks", "rotate", "--ring", ring, "--json")
    assert status == 0
    assert json.loads(out)["alg"] == "EdDSA"


def test_revoke_a_subject_for_the_refresh_ttl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--max-lifetime`` was hard-coded to 14 d whatever JWT_REFRESH_TTL said."""
    monkeypatch.setenv("JWT_STORE_URL", f"sqlite:///{tmp_path / 'tokens.db'}")

    def kept() -> float:
        status, out, err = run(capsys, "revoke", "--sub", "frank", "--json")
        assert status == 0, err
        data = json.loads(out)
        return float(data["until"] - data["before"])

    assert kept() == 14 * 86400
    monkeypatch.setenv("JWT_REFRESH_TTL", "3600")
    assert kept() == 3600
    status, out, _ = run(capsys, "revoke", "--sub", "frank", "--max-lifetime", "2h", "--json")
    data = json.loads(out)
    assert data["until"] - data["before"] == 7200
    monkeypatch.setenv("JWT_REFRESH_TTL", "later")
    status, _, err = run(capsys, "revoke", "--sub", "frank")
    assert status == 2
    assert "JWT_*_TTL" in err
    # a token id is kept until its exp: the TTL settings do not matter
    exp = str(time.time() + 60)
    assert run(capsys, "revoke", "--jti", "t1", "--exp", exp)[0] == 0


@pytest.mark.parametrize("sub", ["", "   "])
def test_issue_refuses_an_empty_subject(sub: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "issue", "--sub", sub, "--secret", SECRET)
    assert (status, out) == (2, "")
    assert "--sub" in err
    assert "empty sub" in err


def test_malformed_settings_are_errors_that_name_them(
    keys: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_ISSUER", "")
    status, _, err = run(capsys, "issue", "--sub", "g", "--key", str(keys / "k1.private.pem"))
    assert status == 2
    assert "JWT_ISSUER" in err
    assert err.count("\n") == 1
    monkeypatch.delenv("JWT_ISSUER")
    token = issued(capsys, "--sub", "g", "--key", str(keys / "k1.private.pem"))["token"]
    monkeypatch.setenv("JWT_LEEWAY", "abc")
    status, _, err = run(capsys, "verify", token, "--key", str(keys / "k1.public.pem"))
    assert status == 2
    assert "JWT_LEEWAY" in err
    assert err.count("\n") == 1


def test_issue_opens_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's JWT_STORE_URL is for verify's revocation check; issuing needs no store."""
    monkeypatch.setenv("JWT_STORE_URL", f"sqlite:///{tmp_path / 'missing' / 'tokens.db'}")
    token = issued(capsys, "--sub", "i", "--secret", SECRET)["token"]
    status, _, err = run(capsys, "verify", token, "--secret", SECRET)
    assert status == 2
    assert "folder" in err


@pytest.mark.parametrize("with_key", [True, False])
def test_a_misspelt_setting_is_warned_about_once(
    with_key: bool, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`JWT_ISSUR=...` would leave the token without the iss the app checks."""
    monkeypatch.setenv("JWT_ISSUR", "https://auth.test")
    if with_key:
        option = ["--secret", SECRET]
    else:  # the app's key: Config.from_env() warns as well, and is not repeated
        option = []
        monkeypatch.setenv("JWT_SECRET", SECRET)
        monkeypatch.setenv("JWT_ALGORITHMS", "HS256")
    status, out, err = run(capsys, "issue", "--sub", "h", *option, "--json")
    assert status == 0
    assert "iss" not in json.loads(out)["claims"]
    assert err.startswith("jwt-middleware: warning: unknown setting JWT_ISSUR")
    assert "JWT_ISSUER?" in err  # did you mean
    assert err.count("\n") == 1
