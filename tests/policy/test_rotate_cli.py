"""``jwt-middleware jwks rotate --if-due``: for cron, exit 0 whether or not it rotated;
the period from ``--period`` or ``JWT_KEY_ROTATION_PERIOD``, the other ``JWT_KEY_*``
settings as defaults, the policy's clashes refused; several hosts' crons, one rotation.

A ring is made due by writing its key at a time in the past (the ring's clock), so the
command runs on the real clock and nothing waits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jwt_middleware import KeyRing
from tests.cli.test_cli import run, run_json

DAY = 86400
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_jwt_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("JWT_"):
            monkeypatch.delenv(name)


def ring_written(directory: Path, days_ago: float) -> KeyRing:
    """A ring whose one key was made (and signs since) ``days_ago`` days ago."""
    ring = KeyRing.load(directory, clock=lambda: time.time() - days_ago * DAY)
    ring.rotate()
    return ring


def kids(directory: Path) -> list[str]:
    return [k.kid for k in KeyRing.load(directory).entries(use="sig")]


def test_not_due_exits_0_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ring = tmp_path / "ring"
    ring_written(ring, days_ago=10)
    before = kids(ring)
    status, out, err = run(capsys, "jwks", "rotate", "--ring", str(ring), "--if-due",
                           "--period", "30d")  # fmt: skip
    assert (status, err) == (0, "")
    assert out.startswith("not due: the next rotation is due ")
    assert "(in 20 d)" in out.splitlines()[0]  # 30 d - 1 h after the key began, 10 d ago
    status, data = run_json(capsys, "jwks", "rotate", "--ring", str(ring), "--if-due",
                            "--period", "30d")  # fmt: skip
    assert status == 0
    assert data["rotated"] is False
    assert 19 * DAY < data["due_at"] - time.time() < 20 * DAY
    assert kids(ring) == before


def test_due_rotates_once_and_then_is_not_due(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ring = tmp_path / "ring"
    ring_written(ring, days_ago=40)
    status, data = run_json(capsys, "jwks", "rotate", "--ring", str(ring), "--if-due",
                            "--period", "30d")  # fmt: skip
    assert status == 0
    assert data["rotated"] is True
    assert data["kid"] in kids(ring)
    assert len(kids(ring)) == 2
    assert data["activates_at"] - time.time() == pytest.approx(3600, abs=60)
    status, again = run_json(capsys, "jwks", "rotate", "--ring", str(ring), "--if-due",
                             "--period", "30d")  # fmt: skip
    assert status == 0
    assert again["rotated"] is False
    assert len(kids(ring)) == 2


def test_an_empty_ring_is_due(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, data = run_json(capsys, "jwks", "rotate", "--ring", str(tmp_path / "ring"),
                            "--if-due", "--period", "90d")  # fmt: skip
    assert status == 0
    assert data["rotated"] is True
    assert data["activates_at"] <= time.time()  # the first key signs at once


def test_the_settings_give_the_period_and_the_schedule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = tmp_path / "ring"
    ring_written(ring, days_ago=40)
    monkeypatch.setenv("JWT_KEY_ROTATION_PERIOD", str(60 * DAY))
    status, data = run_json(capsys, "jwks", "rotate", "--ring", str(ring), "--if-due")
    assert status == 0
    assert data["rotated"] is False
    monkeypatch.setenv("JWT_KEY_ROTATION_PERIOD", str(30 * DAY))
    monkeypatch.setenv("JWT_KEY_ACTIVATE_AFTER", "600")
    monkeypatch.setenv("JWT_KEY_RETIRE_AFTER", str(20 * DAY))
    status, data = run_json(capsys, "jwks", "rotate", "--ring", str(ring), "--if-due")
    assert status == 0
    assert data["rotated"] is True
    assert data["activates_at"] - time.time() == pytest.approx(600, abs=60)
    assert data["retire_after"] == 20 * DAY
    [old] = [k for k in data["keys"] if k["kid"] != data["kid"]]
    assert old["retires_at"] == data["activates_at"] + 20 * DAY
    # --activate-after on the command line wins over the setting.
    status, data = run_json(capsys, "jwks", "rotate", "--ring", str(ring), "--activate-after",
                            "2h")  # fmt: skip
    assert data["activates_at"] - time.time() == pytest.approx(7200, abs=60)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        pytest.param(["--if-due"], {}, "--if-due needs a rotation period: give --period (e.g. "
                     "90d) or set JWT_KEY_ROTATION_PERIOD", id="no-period"),
        pytest.param(["--period", "30d"], {}, "--period applies only with --if-due",
                     id="period-without-if-due"),
        pytest.param(["--if-due", "--period", "30m"], {},
                     "the rotation period, 1800 s (--period or JWT_KEY_ROTATION_PERIOD), must be "
                     "longer than 3600 s", id="period-within-activation"),
        pytest.param([], {"JWT_KEY_RETIRE_AFTER": str(DAY)},
                     "JWT_KEY_RETIRE_AFTER 86400 s is shorter than the longest token lifetime, "
                     "1209600 s (the default refresh TTL)", id="retire-before-the-refresh-ttl"),
        pytest.param([], {"JWT_SESSION_MAX_AGE": str(DAY), "JWT_SESSION_IDLE_TIMEOUT":
                          str(2 * DAY)},
                     "the token policy contradicts itself: JWT_SESSION_IDLE_TIMEOUT=172800 (2 d) "
                     "is longer than JWT_SESSION_MAX_AGE=86400 (1 d)", id="policy-clash"),
        pytest.param(["--if-due"], {"JWT_KEY_ROTATION_PERIOD": "monthly"},
                     "JWT_KEY_ROTATION_PERIOD has a value of the wrong form", id="bad-setting"),
    ],
)
def test_contradictions_are_refused_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    argv: list[str], env: dict[str, str], message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status, out, err = run(capsys, "jwks", "rotate", "--ring", str(tmp_path / "ring"), *argv)
    assert status == 2
    assert out == ""
    assert err.startswith(f"jwt-middleware: error: {message}")
    assert err.count("\n") == 1
    assert not (tmp_path / "ring").exists() or kids(tmp_path / "ring") == []


def test_a_policy_maximum_lengthens_the_retirement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refresh tokens may live up to JWT_MAX_REFRESH_TTL: the old key stays that long."""
    ring = tmp_path / "ring"
    ring_written(ring, days_ago=1)
    monkeypatch.setenv("JWT_MAX_REFRESH_TTL", str(30 * DAY))
    status, data = run_json(capsys, "jwks", "rotate", "--ring", str(ring))
    assert status == 0
    assert data["retire_after"] == 30 * DAY


def test_crons_on_several_hosts_rotate_once(tmp_path: Path) -> None:
    """Four ``--if-due`` commands at once on a due ring (separate processes, as cron on
    four hosts sharing the directory): one rotates, three report not due."""
    ring = tmp_path / "ring"
    ring_written(ring, days_ago=40)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    command = [sys.executable, "-m", "jwt_middleware", "jwks", "rotate", "--ring", str(ring),
               "--if-due", "--period", "30d", "--json"]  # fmt: skip
    crons = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(4)]  # fmt: skip
    answers = []
    for cron in crons:
        out, err = cron.communicate(timeout=120)
        assert cron.returncode == 0, err
        answers.append(json.loads(out))
    assert sorted(a["rotated"] for a in answers) == [False, False, False, True]
    assert len(kids(ring)) == 2
