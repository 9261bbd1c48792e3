"""``make demo`` runs the walkthrough: every step must answer as the transcript says, and
with ``JWT_AUDIT_URL`` set, the server's audit trail holds one expected event per step
that makes one (and ids, never a token)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware.audit import audit_log_from_url
from tests.e2e.servers import ROOT

#: (kind, outcome, subject, reason) for the whole demo run, in order: the demo's steps
#: that make an event (the numbers are the transcript's).
EXPECTED_AUDIT = [
    ("refused", "refused", None, "missing_token"),       # 2. /me without a token
    ("refused", "refused", None, "invalid_credentials"), # 3. a wrong password
    ("issued", "ok", "alice", None),                     # 4. alice logs in
    ("issued", "ok", "bob", None),                       # 7. bob logs in
    ("refused", "refused", "bob", "insufficient_role"),  # 8. bob calls /admin
    ("refreshed", "ok", "alice", None),                  # 9. alice refreshes
    ("reuse_detected", "refused", "alice", "revoked"),   # 11. the old refresh token again,
    ("refused", "refused", None, "revoked"),             #     and its refresh refused
    ("refused", "refused", None, "revoked"),             # 12. the family's refresh token
    ("refused", "refused", None, "revoked"),             # 13. the family's access token
    ("logout", "ok", "bob", None),                       # 14. bob logs out
    ("refused", "refused", None, "revoked"),             # 15. bob's access token
    ("refused", "refused", None, "revoked"),             # 16. bob's refresh token
    ("issued", "ok", "alice", None),                     # 17. the laptop
    ("issued", "ok", "alice", None),                     # 18. the phone
    ("revoked_session", "ok", "alice", None),            # 20. the laptop revokes the phone
    ("refused", "refused", None, "revoked"),             # 21. the phone's access token
    ("refused", "refused", None, "revoked"),             # 22. its refresh token
]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The demo's transcript, and the SQLite audit log its server wrote."""
    audit_db = tmp_path_factory.mktemp("demo-audit") / "audit.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    env["JWT_AUDIT_URL"] = f"sqlite:///{audit_db}"  # passes through to the server
    out = subprocess.run([sys.executable, "-m", "examples.demo"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=False, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout, audit_db


@pytest.fixture(scope="module")
def transcript(demo_run: tuple[str, Path]) -> str:
    return demo_run[0]


@pytest.fixture(scope="module")
def audit_records(demo_run: tuple[str, Path]) -> list[dict[str, Any]]:
    log = audit_log_from_url(f"sqlite:///{demo_run[1]}")
    try:
        return [dict(record) for record in log.query(limit=1000)]
    finally:
        log.close()


@pytest.mark.slow
def test_demo_walkthrough_runs_end_to_end(transcript: str) -> None:
    for line in ("POST /auth/login", "GET /admin", "POST /auth/refresh", "POST /auth/logout"):
        assert line in transcript
    assert transcript.count("-> 401") >= 8
    assert "-> 403" in transcript
    assert "server stopped" in transcript


@pytest.mark.slow
def test_demo_shows_the_phone_revoked_from_the_laptop(transcript: str) -> None:
    """The sessions section: two logins, the list (current one marked), the phone revoked,
    its access and refresh tokens refused, one session left."""
    section = transcript.split("--- sessions and devices ---", 1)[1].split("--- GET /metrics", 1)[0]
    steps = [block.strip().splitlines() for block in section.split("\n\n") if block.strip()]
    wanted = [
        ("alice logs in on her laptop", "POST /auth/login", "-> 200"),
        ("and on her phone", "POST /auth/login", "-> 200"),
        ("the laptop lists alice's sessions", "GET /auth/sessions", "-> 200"),
        ("the laptop revokes the phone", "DELETE /auth/sessions/", "-> 200"),
        ("the phone's access token is refused", "GET /me", "-> 401"),
        ("and so is its refresh token", "POST /auth/refresh", "-> 401"),
        ("the laptop still works: one session left", "GET /auth/sessions", "-> 200"),
    ]
    assert len(steps) == len(wanted), steps
    for lines, (label, request, status) in zip(steps, wanted, strict=False):
        assert lines[0].endswith(label), lines
        assert lines[1].strip().startswith(request), lines
        assert lines[2].strip().startswith(status), lines
    listing, after = steps[2], steps[6]
    assert '{"sessions": "2 session(s)"}' in listing[2]
    assert sorted(line.split()[1] for line in listing[3:]) == ["laptop", "phone"]
    (current,) = [line for line in listing[3:] if "(current)" in line]
    assert current.split()[1] == "laptop"
    assert [line.split()[1] for line in after[3:]] == ["laptop"]
    for refused in (steps[4], steps[5]):
        assert "the token has been revoked" in refused[2]


@pytest.mark.slow
def test_demo_ends_with_a_metrics_excerpt(transcript: str) -> None:
    """``GET /metrics`` without a token: the verification counters of the run, labelled
    from fixed sets only (8 tokens accepted, 1 missing, 3 revoked at the API)."""
    section = transcript.split("--- GET /metrics (no token; an excerpt) ---", 1)[1]
    lines = [line.strip() for line in section.split("\n\n", 1)[0].splitlines() if line.strip()]
    series = {}
    for line in lines:
        found = re.fullmatch(
            r'jwt_middleware_verifications_total\{outcome="(\w+)",reason="(\w+)"\} (\d+)\.0', line
        )
        assert found, line
        series[found[1], found[2]] = int(found[3])
    assert series == {("ok", "none"): 8, ("refused", "missing_token"): 1,
                      ("refused", "revoked"): 3}


@pytest.mark.slow
def test_demo_audit_trail_is_the_expected_list(
    audit_records: list[dict[str, Any]], demo_run: tuple[str, Path]
) -> None:
    """One event per step that makes one, in order, with its ids; never a token."""
    got = [(r["kind"], r["outcome"], r.get("subject"), r.get("reason")) for r in audit_records]
    assert got == EXPECTED_AUDIT
    for record in audit_records:
        kind = record["kind"]
        with_session = kind in ("issued", "refreshed", "reuse_detected", "logout",
                                "revoked_session")
        assert bool(record.get("session")) == with_session, record
        assert bool(record.get("token_id")) == (with_session and kind != "revoked_session"), record
        assert bool(record.get("key_id")) == (kind in ("issued", "refreshed")), record
        if record.get("key_id"):
            assert record["key_id"] == "demo-2026-11"
        for value in record.values():
            assert "eyJ" not in str(value), record  # no JWS or JWE, nor a part of one
    sessions = {r["session"] for r in audit_records if r["kind"] == "issued"}
    assert len(sessions) == 4  # four logins, four sessions
    logged = b"".join(path.read_bytes() for path in demo_run[1].parent.iterdir())
    assert b"eyJ" not in logged  # the SQLite file and its WAL hold no token either
