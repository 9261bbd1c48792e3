"""``python -m examples.dpop`` runs to the end (each step checks its own answer) and its
transcript shows every step of the walkthrough with the status it promises."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.servers import ROOT

pytestmark = pytest.mark.slow

#: (step title, status, what the answer must show) in order.
STEPS = [
    ("the device logs in with a DPoP proof", 200, '"token_type": "DPoP"'),
    ("a bound call: the token and a fresh proof", 200, '"subject": "alice"'),
    ("the same proof replayed", 401, '"error": "invalid_dpop_proof"'),
    ("the access token stolen, sent as a bearer token", 401, '"error": "invalid_token"'),
    ("the stolen token with the thief's own key", 401, '"error": "invalid_dpop_proof"'),
    ("the stolen refresh token, refreshed with the thief's key", 401,
     '"error": "invalid_dpop_proof"'),
    ("the device refreshes with its own key", 200, '"token_type": "DPoP"'),
    ("the new access token, with a fresh proof", 200, '"subject": "alice"'),
]


@pytest.mark.parametrize("app", ["starlette", "flask"])
def test_the_dpop_walkthrough_prints_each_step(app: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "examples.dpop", "--app", app], cwd=ROOT, capture_output=True,
        text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    blocks = re.split(r"\n\s*\d+\. ", out)[1:]
    assert len(blocks) == len(STEPS), out
    for block, (title, status, shown) in zip(blocks, STEPS, strict=True):
        assert block.startswith(title), block
        assert f"-> {status}  " in block, block
        assert shown in block, block
        if status == 401:
            assert "WWW-Authenticate: " in block, block
    device = re.search(r"device key: ES256, thumbprint (\S+)", out)
    assert device is not None, out
    bound = re.findall(r"token_type: DPoP, cnf\.jkt: (\S+)", out)
    assert bound == [device.group(1)] * 2, out  # the login's and the refresh's tokens
    assert 'WWW-Authenticate: DPoP error="invalid_dpop_proof"' in out
    assert "already used" in out
    assert out.rstrip().endswith("server stopped, temporary files removed.")
