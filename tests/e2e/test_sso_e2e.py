"""``python -m examples.sso``: three services, one login, a rotation picked up without a restart."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.servers import ROOT


@pytest.mark.slow
def test_sso_example_runs_end_to_end() -> None:
    out = subprocess.run([sys.executable, "-m", "examples.sso"], cwd=ROOT, capture_output=True,
                         text=True, timeout=150, check=False)
    transcript = out.stdout
    assert out.returncode == 0, transcript + out.stderr
    for line in (
        "GET auth/.well-known/openid-configuration",
        "Cache-Control: public, max-age=300",
        "kids: ['sso-key-1']",
        "GET orders/whoami  (Bearer, kid sso-key-1)",
        "GET profile/whoami  (Bearer, kid sso-key-1)",
        '"signing_kid": "sso-key-2"',
        "kids: ['sso-key-2', 'sso-key-1']",
        "token signed with kid sso-key-2 (new key)",
        "GET orders/whoami  (Bearer, kid sso-key-2)",
        "GET profile/whoami  (Bearer, kid sso-key-2)",
        "all steps answered as expected.",
        "all services stopped",
    ):
        assert line in transcript, line
    assert transcript.count("-> 200") == 13
    assert transcript.count("-> 401") == 2
    assert transcript.count("-> 403") == 1
    # The published keys never show private members, and the transcript never a whole token.
    assert '"d":' not in transcript
    assert "eyJ" not in transcript.replace("eyJhbGciOiJF…", "")


@pytest.mark.slow
def test_sso_example_fails_loudly_when_a_step_is_wrong() -> None:
    """The exit status reflects the checks: a service that cannot start is an error."""
    code = (
        "import sys, examples.sso.__main__ as m, examples._http as h\n"
        "h.START_TIMEOUT = 20.0\n"
        "m.uvicorn = lambda app, port: [sys.executable, '-c', 'raise SystemExit(3)']\n"
        "m.main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode != 0
    assert "auth exited with 3" in out.stderr
