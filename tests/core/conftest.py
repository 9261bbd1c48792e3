"""Session-scoped keys for the core tests: generated once, shared by every module."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

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


@pytest.fixture(scope="session")
def other_algorithm_keys(keys: KeyRing, algorithm_keys: dict[str, Key]) -> dict[str, Key]:
    """A second, different key per algorithm, with the same kid as the first."""
    others: dict[str, Key] = {}
    for alg, key in algorithm_keys.items():
        if alg.startswith(("RS", "PS")):
            others[alg] = Key(alg, keys.rsa_private, kid=key.kid)  # no second RSA generation
        else:
            others[alg] = generate_key(alg, kid=key.kid)
    return others


@pytest.fixture(scope="session")
def rsa_1024() -> rsa.RSAPrivateKey:
    """A weak RSA key, made with cryptography directly (the library refuses to)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)
