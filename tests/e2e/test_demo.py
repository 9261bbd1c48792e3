"""``make demo`` runs the walkthrough: every step must answer as the transcript says."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.servers import ROOT


@pytest.mark.slow
def test_demo_walkthrough_runs_end_to_end() -> None:
    out = subprocess.run([sys.executable, "-m", "examples.demo"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    transcript = out.stdout
    for line in ("POST /auth/login", "GET /admin", "POST /auth/refresh", "POST /auth/logout"):
        assert line in transcript
    assert transcript.count("-> 401") >= 6
    assert "-> 403" in transcript
    assert "server stopped" in transcript
