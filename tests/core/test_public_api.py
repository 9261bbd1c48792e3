"""The public surface: one sorted ``__all__``, and a core free of frameworks."""

from __future__ import annotations

import subprocess
import sys

import jwt_middleware


def test_all_is_sorted_and_complete() -> None:
    assert jwt_middleware.__all__ == sorted(jwt_middleware.__all__)
    for name in jwt_middleware.__all__:
        assert hasattr(jwt_middleware, name), name


def test_importing_the_core_loads_no_framework() -> None:
    code = (
        "import sys, jwt_middleware\n"
        "bad = [m for m in ('flask', 'werkzeug', 'starlette', 'fastapi', 'redis', 'requests',"
        " 'httpx') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
