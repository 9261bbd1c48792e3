"""A refresh that brings the same document keeps the parsed key set; any change is parsed.

The JWKS client re-downloads its document every max-age. Most refreshes bring the
same bytes, and parsing a large set (1,000 keys: tens of milliseconds, on the event
loop for ``aresolve``) is then skipped (``benchmarks/README.md``, "Scaling"). These
tests count the parses and check that nothing else changed: the version that the
token cache reads, the answers, and that a changed document is always read afresh.
"""

from __future__ import annotations

import asyncio

import pytest

from jwt_middleware import (
    Config,
    InvalidSignatureError,
    Key,
    Principal,
    UnknownKeyError,
    Verifier,
    generate_key,
)
from jwt_middleware._keysources import fetch, keycache
from jwt_middleware.jwks import JWKSClient

from .conftest import FakeClock, Keys, make_client, token
from .server import JWKSServer


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The documents the client parsed, in order."""
    seen: list[bytes] = []
    real = fetch.parse_keys

    def counting(body: bytes, algorithms: frozenset[str]) -> object:
        seen.append(body)
        return real(body, algorithms)

    monkeypatch.setattr(keycache, "parse_keys", counting)
    return seen


def _due(client: JWKSClient, clock: FakeClock) -> None:
    clock.advance(301)  # past the default max-age: the next resolve refreshes
    assert client.key_version is None


def _cached(
    server: JWKSServer, clock: FakeClock, published: list[Key], signer: Key
) -> tuple[JWKSClient, Verifier, str, Principal]:
    """A client of ``published`` keys and a verifier whose cache holds a token of ``signer``."""
    server.publish(published)
    client = make_client(server, clock)
    verifier = Verifier(Config(keys=client))
    one = token(signer)
    verifier.verify(one)  # the first fetch: not cached (the version was read before it)
    principal = verifier.verify(one)
    assert verifier.verify(one) is principal
    return client, verifier, one, principal


def test_an_unchanged_document_is_not_parsed_again(
    server: JWKSServer, clock: FakeClock, keys: Keys, parses: list[bytes]
) -> None:
    client, verifier, one, principal = _cached(server, clock, [keys.es1, keys.es2], keys.es1)
    version = client.key_version
    assert len(parses) == 1
    for fetches in (2, 3):
        _due(client, clock)
        assert verifier.verify(token(keys.es2)).subject == "alice"
        assert client.fetch_count == fetches == server.count()
        assert len(parses) == 1  # downloaded again, the same bytes: not parsed again
        assert client.key_version == version  # nothing left: cached tokens stay
        assert verifier.verify(one) is principal


def test_a_reordered_document_is_parsed_and_keeps_the_version(
    server: JWKSServer, clock: FakeClock, keys: Keys, parses: list[bytes]
) -> None:
    client, verifier, one, principal = _cached(server, clock, [keys.es1, keys.es2], keys.es1)
    version = client.key_version
    server.publish([keys.es2, keys.es1])  # other bytes, the same keys
    _due(client, clock)
    verifier.verify(token(keys.es2))
    assert len(parses) == 2
    assert client.key_version == version
    assert verifier.verify(one) is principal


def test_a_retired_key_after_unchanged_refreshes_still_drops_its_tokens(
    server: JWKSServer, clock: FakeClock, keys: Keys, parses: list[bytes]
) -> None:
    client, verifier, one, _ = _cached(server, clock, [keys.es1, keys.es2], keys.es1)
    two = token(keys.es2)
    verifier.verify(two)
    version = client.key_version
    assert version is not None
    _due(client, clock)
    verifier.verify(two)  # an unchanged refresh: the fingerprints were never needed yet
    server.publish([keys.es2])  # es-1 retired at the issuer
    _due(client, clock)
    verifier.verify(two)
    assert len(parses) == 2
    assert client.key_version == version + 1
    with pytest.raises(UnknownKeyError):
        verifier.verify(one)
    _due(client, clock)  # the same (smaller) document again: kept, no new version
    verifier.verify(two)
    assert len(parses) == 2
    assert client.key_version == version + 1
    with pytest.raises(UnknownKeyError):
        verifier.verify(one)


def test_a_key_replaced_under_the_same_kid_is_never_taken_from_the_old_parse(
    server: JWKSServer, clock: FakeClock, keys: Keys, parses: list[bytes]
) -> None:
    client, verifier, old, _ = _cached(server, clock, [keys.es1], keys.es1)
    version = client.key_version
    assert version is not None
    impostor = generate_key("ES256", kid=keys.es1.kid)
    server.publish([impostor])
    _due(client, clock)
    assert verifier.verify(token(impostor)).subject == "alice"
    assert len(parses) == 2
    assert client.key_version == version + 1
    with pytest.raises(InvalidSignatureError):
        verifier.verify(old)  # the cached entry died with the old key, and the new one refuses it


def test_the_async_refresh_skips_an_unchanged_document_too(
    server: JWKSServer, clock: FakeClock, keys: Keys, parses: list[bytes]
) -> None:
    server.publish([keys.es1])
    client = make_client(server, clock)
    verifier = Verifier(Config(keys=client))

    async def scenario() -> None:
        await verifier.averify(token(keys.es1))
        version = client.key_version
        _due(client, clock)
        await verifier.averify(token(keys.es1))
        assert client.key_version == version
        server.publish([keys.es1, keys.es2])
        _due(client, clock)
        assert (await verifier.averify(token(keys.es2))).subject == "alice"

    asyncio.run(scenario())
    assert client.fetch_count == 3 == server.count()
    assert len(parses) == 2
