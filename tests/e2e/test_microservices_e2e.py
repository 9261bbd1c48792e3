"""``python -m examples.microservices``: a user's token forwarded, then a service token."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.servers import ROOT


@pytest.mark.slow
def test_microservices_example_runs_end_to_end() -> None:
    out = subprocess.run([sys.executable, "-m", "examples.microservices"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    transcript = out.stdout
    assert out.returncode == 0, transcript + out.stderr
    for line in (
        "POST gateway/auth/login",
        "GET gateway/my-orders  (Bearer, kid gateway-1)",
        "the orders service saw the user: alice",
        "the orders service saw the service: gateway",
        'scope="orders:internal"',
        "all steps answered as expected.",
        "all services stopped",
    ):
        assert line in transcript, line
    assert transcript.count("-> 401") == 2
    assert transcript.count("-> 403") == 1
