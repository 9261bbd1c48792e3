"""Session-scoped keys for the core tests: generated once, shared by every module."""

from __future__ import annotations

import pytest

from jwt_middleware import ALGORITHMS, Key, generate_key

from .helpers import KeyRing


@pytest.fixture(scope="session")
def keys() -> KeyRing:
    """Our keys and an attacker's, one of each kind the tests need."""
    return KeyRing()


@pytest.fixture(scope="session")
def algorithm_keys() -> dict[str, Key]:
    """One freshly generated private key (or secret) per supported algorithm."""
    return {alg: generate_key(alg) for alg in ALGORITHMS}
