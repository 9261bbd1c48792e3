"""``jwt-middleware audit`` against a real SQLite file and a real redis-server."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware.audit import AuditEvent, AuditKind, audit_log_from_url
from jwt_middleware.cli import main
from tests.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _fill(url: str, **options: Any) -> float:
    """Six events: alice logs in, refreshes, logs out; bob logs in; two refusals. Returns
    the time of the first (the events are an hour apart, the last one a minute ago)."""
    now = time.time()
    start = now - 5 * 3600 - 60
    rows = [
        ("alice", AuditKind.ISSUED, None), ("alice", AuditKind.REFRESHED, None),
        ("bob", AuditKind.ISSUED, None), (None, AuditKind.REFUSED, "bad_signature"),
        ("alice", AuditKind.LOGOUT, None), (None, AuditKind.REFUSED, "revoked"),
    ]
    log = audit_log_from_url(url, **options)
    log.append([
        AuditEvent(start + n * 3600, kind, subject=sub, session="fam-1" if sub else None,
                   token_id=f"jti-{n}", reason=reason).to_record()
        for n, (sub, kind, reason) in enumerate(rows)
    ])  # fmt: skip
    log.close()
    return start


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[str], float]:
    """The ``--store`` arguments (Redis: a prefix of its own via a fresh server key)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit.db'}"
        return ["--store", url], _fill(url)
    server: RedisServer = request.getfixturevalue("redis_server")
    # The command reads the default key, jwtmw:audit: a fresh database number keeps tests apart.
    url = f"redis://127.0.0.1:{server.port}/{secrets.randbelow(15) + 1}"
    import redis

    redis.Redis.from_url(url).delete("jwtmw:audit")
    return ["--store", url], _fill(url)


def test_text_lists_the_records_oldest_first(
    capsys: pytest.CaptureFixture[str], store: tuple[list[str], float]
) -> None:
    status, out, err = run(capsys, "audit", *store[0])
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 6
    assert lines[0].endswith("issued  ok  sub=alice  session=fam-1  jti=jti-0")
    assert lines[3].endswith("refused  refused  jti=jti-3  reason=bad_signature")
    assert " UTC  " in lines[0]


def test_json_filters_by_subject_kind_and_time(
    capsys: pytest.CaptureFixture[str], store: tuple[list[str], float]
) -> None:
    args, start = store
    status, out, _ = run(capsys, "audit", *args, "--sub", "alice", "--json")
    assert status == 0
    events = json.loads(out)["events"]
    assert [e["token_id"] for e in events] == ["jti-0", "jti-1", "jti-4"]
    assert set(events[0]) == {"time", "kind", "outcome", "subject", "session", "token_id",
                              "key_id", "reason", "request_id", "count"}  # fmt: skip

    status, out, _ = run(capsys, "--json", "audit", *args, "--kind", "issued", "--kind",
                         "logout")  # fmt: skip
    assert [e["token_id"] for e in json.loads(out)["events"]] == ["jti-0", "jti-2", "jti-4"]

    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 3600))
    status, out, _ = run(capsys, "audit", *args, "--since", iso, "--until", "2h", "--json")
    assert [e["token_id"] for e in json.loads(out)["events"]] == ["jti-1", "jti-2", "jti-3"]

    status, out, _ = run(capsys, "audit", *args, "--since", "150m", "--limit", "2", "--json")
    assert [e["token_id"] for e in json.loads(out)["events"]] == ["jti-4", "jti-5"]

    status, out, _ = run(capsys, "audit", *args, "--sub", "carol")
    assert (status, out) == (0, "no audit records match\n")


def test_the_url_comes_from_jwt_audit_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    _fill(url)
    monkeypatch.setenv("JWT_AUDIT_URL", url)
    status, out, _ = run(capsys, "audit", "--kind", "refused", "--json")
    assert status == 0
    assert [e["reason"] for e in json.loads(out)["events"]] == ["bad_signature", "revoked"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["audit"], "give --store URL (or set JWT_AUDIT_URL)"),
        (["audit", "--store", "sqlite:///{tmp}/nothing.db"], "no such SQLite file"),
        (["audit", "--store", "memory://"], "unknown audit log URL scheme 'memory'"),
        (["audit", "--store", "sqlite:///{tmp}/a.db", "--kind", "exported"], "invalid choice"),
        (["audit", "--store", "sqlite:///{tmp}/a.db", "--since", "yesterday"], "not a time"),
        (["audit", "--store", "sqlite:///{tmp}/a.db", "--limit", "0"], "--limit must be"),
        (["audit", "--store", "sqlite:///{tmp}/a.db", "--since", "1h", "--until", "2h"],
         "--until must be later than --since"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    _fill(f"sqlite:///{tmp_path / 'a.db'}")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.startswith("jwt-middleware: error: ")
    assert err.count("\n") == 1
    assert message in err
    status, out, _ = run(capsys, *argv, "--json")
    assert status == 2
    assert json.loads(out)["status"] == 2


def test_a_redis_password_in_the_url_is_never_printed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.redis_server import free_port

    url = f"redis://:hunter2-password@127.0.0.1:{free_port()}/0"
    status, _, err = run(capsys, "audit", "--store", url)
    assert status == 2
    assert "Redis audit log failed" in err
    assert "hunter2" not in err


def test_revoke_is_recorded_in_the_audit_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit_url = f"sqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv("JWT_AUDIT_URL", audit_url)
    store = f"sqlite:///{tmp_path / 'tokens.db'}"
    assert run(capsys, "revoke", "--jti", "jti-9", "--exp", "2100000000", "--store", store)[0] == 0
    assert run(capsys, "revoke", "--sub", "alice", "--store", store)[0] == 0
    status, out, _ = run(capsys, "audit", "--json")
    assert status == 0
    got = [(e["kind"], e["subject"], e["token_id"]) for e in json.loads(out)["events"]]
    assert got == [("revoked_token", None, "jti-9"), ("revoked_subject", "alice", None)]


def test_revoke_stands_when_the_audit_log_fails(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_AUDIT_URL", f"sqlite:///{tmp_path / 'missing' / 'audit.db'}")
    store = f"sqlite:///{tmp_path / 'tokens.db'}"
    status, out, err = run(capsys, "revoke", "--sub", "alice", "--store", store)
    assert status == 0
    assert out.startswith("revoked every token of alice")
    assert "warning: the revocation is done but not in the audit log" in err
