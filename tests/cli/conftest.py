"""The command line reads ``JWT_*`` settings: each test starts from an environment without them."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_jwt_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("JWT_"):
            monkeypatch.delenv(name)
