"""The pytest fixtures of :mod:`jwt_middleware.testing` (this module needs pytest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .._core.config import Config
from .._core.keys import generate_key
from .._core.keyset import KeySet
from .support import TEST_AUDIENCE, TEST_ISSUER, JWKSServer, TokenFactory, _factory

__all__ = ["jwks_server", "jwt_config", "jwt_keys", "make_token"]


@pytest.fixture(scope="session")
def jwt_keys() -> KeySet:
    """One ES256 signing key (kid ``test-key``), generated once per test session."""
    return KeySet([generate_key("ES256", kid="test-key")])


@pytest.fixture
def jwt_config(jwt_keys: KeySet) -> Config:
    """A :class:`Config` accepting ``make_token``'s tokens. Override it to change settings."""
    return Config(keys=jwt_keys, issuer=TEST_ISSUER, audience=TEST_AUDIENCE)


@pytest.fixture
def make_token(jwt_keys: KeySet, jwt_config: Config) -> TokenFactory:
    """A factory of signed tokens that ``jwt_config`` accepts."""
    return _factory(jwt_keys.signing_key(), jwt_config)


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    """A running :class:`JWKSServer` with one ES256 key; stopped after the test."""
    server = JWKSServer()
    try:
        yield server
    finally:
        server.close()
