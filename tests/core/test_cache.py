"""The verified-token cache: hits, misses, what a hit re-checks, invalidation, bounds, threads.

Also the uncached verify's own shortcuts, each checked against what it replaces: the
parsed-header cache, the one-pass base64url decoder, the date window a hit compares
against, and the signature checks that call ``cryptography`` directly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import math
import os
import random
import signal
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from jwt.algorithms import get_default_algorithms

import jwt_middleware._core.verify as verify_module
from jwt_middleware import (
    ALGORITHMS,
    Config,
    ConfigurationError,
    ExpiredTokenError,
    ImmatureTokenError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidSignatureError,
    Key,
    KeyRing,
    KeySet,
    MalformedTokenError,
    MultiIssuerVerifier,
    Principal,
    RevokedTokenError,
    TokenError,
    TokenTooOldError,
    TrustedIssuer,
    UnknownKeyError,
    Verifier,
    generate_key,
)
from jwt_middleware._core.cache import (
    BYTES_PER_ENTRY,
    DEFAULT_CACHE_SIZE,
    HeaderCache,
    TokenCache,
    entry_cost,
)
from jwt_middleware._core.jws import b64url_decode as strict_decode
from jwt_middleware._core.jws import json_object
from jwt_middleware._core.settings import settings_from_mapping
from jwt_middleware.jwks import JWKSClient
from jwt_middleware.stores.memory import MemoryStore

from ..jwks.server import JWKSServer
from .helpers import HOUR, NOW, b64url, claims_with, make_token, sign_segments


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Counting:
    """A revocation check that counts its calls and refuses the token ids in ``revoked``."""

    def __init__(self) -> None:
        self.calls = 0
        self.revoked: set[str] = set()
        self._lock = threading.Lock()

    def check(self, principal: Principal) -> None:
        with self._lock:
            self.calls += 1
        if principal.token_id in self.revoked:
            raise RevokedTokenError()

    async def acheck(self, principal: Principal) -> None:
        self.check(principal)


@pytest.fixture
def key() -> Key:
    return Key.from_secret(bytes(range(100, 132)), "HS256", kid="hs-1")


def build(
    key: Key | KeySet | Any, clock: Callable[[], float] = lambda: NOW, **settings: Any
) -> Verifier:
    revocation = settings.pop("revocation_check", None)
    cache = settings.pop("cache", None)
    return Verifier(Config(keys=key, clock=clock, **settings), revocation=revocation, cache=cache)


def tokens(key: Key, count: int, **changes: Any) -> list[str]:
    return [make_token(key, claims_with(jti=f"t-{i}", **changes)) for i in range(count)]


def forbid_work(monkeypatch: pytest.MonkeyPatch, key: Key) -> None:
    def parsed(*args: Any) -> Any:
        raise AssertionError("a cached token was parsed or checked again")

    monkeypatch.setattr(verify_module, "b64url_decode", parsed)
    monkeypatch.setattr(verify_module, "json_object", parsed)
    monkeypatch.setattr(verify_module, "split", parsed)
    monkeypatch.setattr(key, "_check", parsed)


# --- hit and miss ----------------------------------------------------------------------


def test_a_hit_is_the_same_principal_without_parsing_or_signature(
    key: Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = build(key)
    token = make_token(key, claims_with())
    first = verifier.verify(token)
    assert len(verifier.cache or ()) == 1
    forbid_work(monkeypatch, key)
    assert verifier.verify(token) is first
    assert verifier.verify(token.encode()) is first  # the same token as bytes
    assert asyncio.run(verifier.averify(token)) is first
    assert verifier.cached(token) is first
    assert first.subject == "alice"
    with pytest.raises(AttributeError):
        first.kind = "refresh"


def test_a_miss_verifies_in_full_and_only_successes_enter(key: Key) -> None:
    verifier = build(key, audience="api")
    good = make_token(key, claims_with(aud="api"))
    assert verifier.cached(good) is None
    bad = [
        make_token(key, claims_with(aud="other")),  # wrong audience
        make_token(key, claims_with(aud="api", exp=NOW - 1)),  # expired
        good[:-2] + ("AA" if not good.endswith("AA") else "BA"),  # bad signature
        make_token(Key.from_secret(bytes(32), "HS256", kid="hs-1"), claims_with(aud="api")),
        "not a token",
    ]
    for token in bad:
        with pytest.raises(TokenError):
            verifier.verify(token)
        with pytest.raises(TokenError):
            verifier.verify(token)  # twice: a failure is never remembered
    assert len(verifier.cache or ()) == 0
    assert verifier.verify(good) is verifier.verify(good)
    assert len(verifier.cache or ()) == 1


def test_a_cached_signature_under_other_segments_is_no_hit(
    key: Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry is found by its signature's digest but answers only for the exact signing
    input it was verified with; a token borrowing the signature is verified in full."""
    verifier = build(key)
    token = make_token(key, claims_with(sub="alice"))
    principal = verifier.verify(token)
    head, _, signature = token.split(".")
    forged = f"{head}.{b64url(json.dumps(claims_with(sub='admin')).encode())}.{signature}"
    for attempt in (forged, forged.encode(), "x" + token, token + "x"):
        with pytest.raises(TokenError):
            verifier.verify(attempt)
        with pytest.raises(TokenError):
            asyncio.run(verifier.averify(attempt))
        assert verifier.cached(attempt) is None
    forbid_work(monkeypatch, key)
    assert verifier.verify(token) is principal  # the entry is still there, untouched


def test_refresh_tokens_and_odd_inputs_are_never_cached(key: Key) -> None:
    verifier = build(key)
    refresh = make_token(key, claims_with(), {"typ": "refresh+jwt"})
    assert verifier.verify(refresh, kind="refresh") is not verifier.verify(refresh, kind="refresh")
    assert len(verifier.cache or ()) == 0
    for odd in (None, 42, "\ud800" * 10, "x" * 10_000, bytearray(b"a.b.c")):
        with pytest.raises(TokenError):
            verifier.verify(odd)  # type: ignore[arg-type]
        assert verifier.cached(odd) is None  # type: ignore[arg-type]
    assert len(verifier.cache or ()) == 0


def test_cache_size_zero_turns_it_off_and_the_setting_reads_it(key: Key) -> None:
    off = build(key, cache_size=0)
    assert off.cache is None
    token = make_token(key, claims_with())
    assert off.verify(token) is not off.verify(token)
    assert off.cached(token) is None
    assert build(key).cache is not None
    assert build(key).cache.max_entries == DEFAULT_CACHE_SIZE  # type: ignore[union-attr]
    assert Config(keys=key).cache_size == DEFAULT_CACHE_SIZE == 10_000
    small = build(key, cache_size=5).cache
    assert small is not None
    assert small.max_entries == 5
    assert small.max_bytes == 5 * BYTES_PER_ENTRY
    env = {"JWT_SECRET": "s" * 32, "JWT_ALGORITHMS": "HS256"}
    assert settings_from_mapping({**env, "JWT_CACHE_SIZE": "0"})["cache_size"] == 0
    assert settings_from_mapping({**env, "JWT_CACHE_SIZE": "500"})["cache_size"] == 500
    with pytest.raises(ConfigurationError, match=r"JWT_CACHE_SIZE .*0 to turn the cache off"):
        settings_from_mapping({**env, "JWT_CACHE_SIZE": "off"})
    with pytest.raises(ConfigurationError, match="JWT_CACHE_SIZE must be a whole number"):
        settings_from_mapping({**env, "JWT_CACHE_SIZE": "-1"})
    for bad in (-1, True, 1.5, 10**7):
        with pytest.raises(ConfigurationError, match="cache_size"):
            Config(keys=key, cache_size=bad)  # type: ignore[arg-type]


# --- what a hit re-checks ----------------------------------------------------------------


def test_expiry_on_a_hit_with_the_leeway(key: Key) -> None:
    clock = Clock()
    verifier = build(key, clock, leeway=30)
    token = make_token(key, claims_with(exp=NOW + 100))
    first = verifier.verify(token)
    clock.now = NOW + 129.5  # exp + leeway not yet reached
    assert verifier.verify(token) is first
    clock.now = NOW + 130  # exp <= now - leeway: expired, on the hit as in full
    with pytest.raises(ExpiredTokenError):
        verifier.verify(token)
    assert len(verifier.cache or ()) == 0  # the entry died with the token
    with pytest.raises(ExpiredTokenError):
        verifier.verify(token)


def test_nbf_and_max_age_on_a_hit(key: Key) -> None:
    clock = Clock()
    verifier = build(key, clock, max_age=600)
    token = make_token(key, claims_with(iat=NOW - 60, nbf=NOW - 10))
    first = verifier.verify(token)
    clock.now = NOW - 11  # the clock was set back: not yet valid
    with pytest.raises(ImmatureTokenError):
        verifier.verify(token)
    clock.now = NOW
    assert verifier.verify(token) is not first  # verified in full again, then cached again
    second = verifier.verify(token)
    clock.now = NOW + 540  # iat + max_age reached, not passed
    assert verifier.verify(token) is second
    clock.now = NOW + 541
    with pytest.raises(TokenTooOldError):
        verifier.verify(token)


def test_the_hit_window_is_exactly_the_date_checks() -> None:
    """For random dates, leeways and max ages, ``since <= now < until`` holds exactly when
    the full checks pass, at the window's edges and a few units in the last place around."""
    rng = random.Random(9)
    key = Key.from_secret(bytes(32), "HS256")
    for _ in range(300):
        leeway = rng.choice([0.0, 0.1, 1.0, 30.0, 300.0, rng.uniform(0, 300)])
        max_age = rng.choice([None, 60.0, rng.uniform(60, 1e6)])
        base = rng.choice([1.7e9, rng.uniform(0, 1e14)])
        exp = rng.choice([base + rng.uniform(1, 1e5), math.floor(base) + 1000])
        iat = base - rng.uniform(0, 100)
        nbf = rng.choice([None, iat + rng.uniform(0, 50)])
        claims: dict[str, Any] = {"sub": "a", "exp": exp, "iat": iat}
        if nbf is not None:
            claims["nbf"] = nbf
        clock = Clock(max(iat, nbf or iat) + 0.5)  # a time at which the token holds
        verifier = build(key, clock, leeway=leeway, max_age=max_age)
        floor, not_before, first_iat, _, _ = verifier._check_times(claims, b"")
        window = verifier._window(floor, not_before, first_iat)
        assert window is not None
        since, until = window
        for edge in (since, until):
            probe = edge
            for _ in range(4):
                probe = math.nextafter(probe, -math.inf)
            for _ in range(9):
                clock.now = probe
                try:
                    verifier._check_times(claims, b"")
                    passes = True
                except TokenError:
                    passes = False
                assert passes == (since <= probe < until), (claims, leeway, max_age, probe)
                probe = math.nextafter(probe, math.inf)


def test_revocation_is_asked_on_every_hit(key: Key) -> None:
    check = Counting()
    verifier = build(key, revocation_check=check)
    token = make_token(key, claims_with(jti="j-1"))
    first = verifier.verify(token)
    assert verifier.verify(token) is first
    assert asyncio.run(verifier.averify(token)) is first
    assert check.calls == 3
    check.revoked.add("j-1")
    with pytest.raises(RevokedTokenError):
        verifier.verify(token)
    with pytest.raises(RevokedTokenError):
        asyncio.run(verifier.averify(token))
    assert check.calls == 5
    assert verifier.revocation is check
    assert verifier.cached(token) is first  # cached() leaves revocation to its caller


def test_revocation_in_a_store_on_a_hit(key: Key) -> None:
    store = MemoryStore()
    verifier = build(key, store=store)
    token = make_token(key, claims_with(jti="j-2", sub="bob"))
    verifier.verify(token)
    verifier.verify(token)
    store.revoke_token("j-2", NOW + HOUR)
    with pytest.raises(RevokedTokenError):
        verifier.verify(token)
    other = make_token(key, claims_with(jti="j-3", sub="bob", iat=NOW - 60))
    verifier.verify(other)
    store.revoke_subject("bob", NOW, NOW + HOUR)
    with pytest.raises(RevokedTokenError):
        asyncio.run(verifier.averify(other))


def test_claim_checks_run_again_on_a_hit(key: Key) -> None:
    allowed = {"acme"}
    verifier = build(key, claim_checks={"tenant": lambda t: t in allowed})
    token = make_token(key, claims_with(tenant="acme"))
    first = verifier.verify(token)
    assert verifier.verify(token) is first
    allowed.clear()  # the tenant is switched off while its tokens are cached
    with pytest.raises(InvalidClaimError):
        verifier.verify(token)


# --- what invalidates ------------------------------------------------------------------------


class Swappable:
    """A key source whose key set the test replaces (and which says so)."""

    def __init__(self, keys: KeySet) -> None:
        self.keys = keys
        self.key_version = 0
        self.algorithms = frozenset({"HS256"})

    def swap(self, keys: KeySet) -> None:
        self.keys = keys
        self.key_version += 1

    def resolve(self, kid: str | None) -> Key:
        return self.keys.resolve(kid)

    async def aresolve(self, kid: str | None) -> Key:
        return self.resolve(kid)


def test_a_key_set_change_drops_the_tokens_of_the_key_that_left(key: Key) -> None:
    other = Key.from_secret(bytes(range(1, 33)), "HS256", kid="hs-2")
    source = Swappable(KeySet([key, other]))
    verifier = build(source)
    token = make_token(key, claims_with())
    first = verifier.verify(token)
    assert verifier.verify(token) is first
    source.swap(KeySet([key, other]))  # a new version, the key still there: verified again
    second = verifier.verify(token)
    assert second is not first
    assert verifier.verify(token) is second
    source.swap(KeySet([other]))  # the key left
    with pytest.raises(UnknownKeyError):
        verifier.verify(token)
    assert verifier.cached(token) is None


def test_a_key_source_that_cannot_say_gets_no_cache(key: Key) -> None:
    class Silent:
        algorithms = frozenset({"HS256"})

        def resolve(self, kid: str | None) -> Key:
            return key

        async def aresolve(self, kid: str | None) -> Key:
            return key

    verifier = build(Silent())
    assert verifier.cache is None
    token = make_token(key, claims_with())
    assert verifier.verify(token) is not verifier.verify(token)


def test_a_new_configuration_has_a_cache_of_its_own(key: Key) -> None:
    config = Config(keys=key, clock=lambda: NOW, audience="api")
    token = make_token(key, claims_with(aud="api"))
    first = Verifier(config)
    principal = first.verify(token)
    changed = Verifier(dataclasses.replace(config, audience="billing"))
    assert changed.cache is not first.cache
    with pytest.raises(InvalidAudienceError):
        changed.verify(token)
    assert first.verify(token) is principal


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    srv = JWKSServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def test_a_jwks_refetch_without_the_kid_drops_its_tokens(jwks_server: JWKSServer) -> None:
    es1, es2 = generate_key("ES256", kid="es-1"), generate_key("ES256", kid="es-2")
    jwks_server.publish([es1, es2])
    jwks_clock = Clock(1000.0)
    client = JWKSClient(
        jwks_server.jwks_uri, algorithms=["ES256"], allow_http=True, clock=jwks_clock
    )
    verifier = Verifier(Config(keys=client))
    now = int(time.time())
    one = jwt_token(es1, now)
    two = jwt_token(es2, now)
    verifier.verify(one)  # the first fetch: not cached (the version was read before it)
    assert client.key_version is not None
    p1, p2 = verifier.verify(one), verifier.verify(two)
    version = client.key_version
    assert version is not None
    assert verifier.verify(one) is p1
    assert verifier.verify(two) is p2
    jwks_clock.now += 301  # the set is due for a refresh: a hit takes the full path
    assert client.key_version is None
    assert verifier.verify(one) is not p1  # refetched, the same keys: the version stays
    assert client.fetch_count == 2
    assert client.key_version == version
    assert verifier.verify(two) is p2  # still cached: nothing left the set
    jwks_server.publish([es1])  # es-2 retired at the issuer
    jwks_clock.now += 301
    p1 = verifier.verify(one)
    assert client.fetch_count == 3
    assert client.key_version == version + 1
    with pytest.raises(UnknownKeyError):
        verifier.verify(two)  # its entry is stale, and the refetched set lacks its key
    assert verifier.verify(one) is not p1  # stale too (one version for all), then again cached
    assert asyncio.run(verifier.averify(one)) is verifier.verify(one)
    client.close()


def jwt_token(key: Key, now: int) -> str:
    return make_token(key, {"sub": "alice", "iat": now, "exp": now + 600})


def test_key_ring_retirement_drops_its_tokens(tmp_path: Path) -> None:
    clock = Clock(1_700_000_000.0)
    ring = KeyRing.load(tmp_path / "ring", clock=clock, max_token_lifetime=3600)
    old = ring.rotate(activate_after=0, retire_after=3600)
    verifier = Verifier(Config(keys=ring, clock=clock))
    token = make_token(
        old.key, {"sub": "alice", "iat": int(clock.now), "exp": int(clock.now) + 7200}
    )
    first = verifier.verify(token)
    assert verifier.verify(token) is first
    ring.rotate(activate_after=0, retire_after=3600)  # old retires in an hour
    assert verifier.verify(token) is first  # a key was added, none left
    clock.now += 3599
    assert verifier.verify(token) is first
    clock.now += 1  # the old key retires now
    with pytest.raises(UnknownKeyError):
        verifier.verify(token)
    assert verifier.cached(token) is None


def test_key_ring_retirement_seen_first_by_a_reread(tmp_path: Path) -> None:
    """A retirement that passes unobserved, then a plain re-read: still a new version."""
    clock = Clock(1_700_000_000.0)
    ring = KeyRing.load(tmp_path / "ring", clock=clock, max_token_lifetime=3600)
    old = ring.rotate(activate_after=0, retire_after=3600)
    verifier = Verifier(Config(keys=ring, clock=clock))
    now = int(clock.now)
    token = make_token(old.key, {"sub": "alice", "iat": now, "exp": now + 7200})
    first = verifier.verify(token)
    ring.rotate(activate_after=0, retire_after=3600)
    assert verifier.verify(token) is first
    clock.now += 3600  # the old key retires, and nobody asks the version before...
    ring.refresh()  # ...a re-read (its file is still there: nothing prunes it)
    with pytest.raises(UnknownKeyError):
        verifier.verify(token)


def test_key_ring_reread_without_a_key_drops_its_tokens(tmp_path: Path) -> None:
    clock = Clock(1_700_000_000.0)
    directory = tmp_path / "ring"
    ring = KeyRing.load(directory, clock=clock, max_token_lifetime=3600)
    first_key = ring.rotate(activate_after=0)
    ring.rotate(activate_after=0)
    verifier = Verifier(Config(keys=ring, clock=clock))
    token = make_token(
        first_key.key, {"sub": "a", "iat": int(clock.now), "exp": int(clock.now) + 60}
    )
    principal = verifier.verify(token)
    version = ring.key_version
    ring.refresh()  # nothing changed on disk
    assert ring.key_version == version
    assert verifier.verify(token) is principal
    (directory / f"{first_key.kid}.json").unlink()  # another process pruned it
    ring.refresh()
    assert ring.key_version == version + 1
    with pytest.raises(UnknownKeyError):
        verifier.verify(token)


# --- bounds --------------------------------------------------------------------------------


def test_a_flood_of_distinct_tokens_stays_within_both_bounds(key: Key) -> None:
    cache = TokenCache(max_entries=50, max_bytes=50 * 4096)
    verifier = build(key, cache=cache)
    for token in tokens(key, 400):
        verifier.verify(token)
        assert len(cache) <= 50
        assert cache.nbytes <= cache.max_bytes
    assert len(cache) == 50
    roomy = TokenCache(max_entries=10_000, max_bytes=40_000)  # now the bytes bind
    verifier = build(key, cache=roomy)
    for token in tokens(key, 100, groups=[f"group-{i}" for i in range(30)]):
        verifier.verify(token)
        assert roomy.nbytes <= 40_000
    assert 0 < len(roomy) < 100
    huge = TokenCache(max_entries=10, max_bytes=1000)  # no entry fits: none is kept
    build(key, cache=huge).verify(make_token(key, claims_with()))
    assert len(huge) == 0
    assert huge.nbytes == 0


def test_a_flood_of_invalid_tokens_evicts_nothing(key: Key) -> None:
    cache = TokenCache(max_entries=20)
    verifier = build(key, cache=cache)
    valid = tokens(key, 20)
    kept = [verifier.verify(t) for t in valid]
    attacker = Key.from_secret(bytes(range(50, 82)), "HS256", kid="hs-1")
    floods = [
        tokens(attacker, 200),  # well-formed, our kid, a wrong signature
        [t.replace(".", ".x", 1) for t in tokens(key, 200)],  # malformed
        tokens(key, 200, exp=NOW - 5),  # validly signed but expired
    ]
    for flood in floods:
        for token in flood:
            with pytest.raises(TokenError):
                verifier.verify(token)
    assert len(cache) == 20
    assert all(verifier.verify(t) is p for t, p in zip(valid, kept, strict=True))
    for token in tokens(key, 20, sub="other"):  # the same number of valid ones evicts all
        verifier.verify(token)
    assert all(verifier.cached(t) is None for t in valid)


def test_expired_entries_leave_as_new_ones_come(key: Key) -> None:
    clock = Clock()
    cache = TokenCache(max_entries=100)
    verifier = build(key, clock, cache=cache)
    short = tokens(key, 10, exp=NOW + 10)
    for token in short:
        verifier.verify(token)
    clock.now = NOW + 20
    for token in tokens(key, 10, sub="later", exp=NOW + 3600):
        verifier.verify(token)
    assert len(cache) == 10  # each insert took one expired entry from the front


SHAPES: dict[str, dict[str, Any]] = {
    "typical": {"roles": ["admin", "user"], "scope": "orders:read orders:write"},
    "wide": {"groups": [f"group-{i}" for i in range(60)]},
    "dense lists": {"x": [[] for _ in range(800)]},
    "dense objects": {"x": [{} for _ in range(800)]},
    "numbers": {"x": [i + 0.5 for i in range(700)]},
    "many scopes": {"scope": " ".join(f"s{i}" for i in range(300))},
    "non-ascii": {"x": ["\U0001f600"] * 300, "y": "é" * 500},
    "escaped": {"x": "\\u0100" * 300},
    "long text": {"x": "lorem ipsum " * 300},
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_an_entry_is_charged_at_least_the_memory_it_holds(key: Key, shape: str) -> None:
    extra = SHAPES[shape]
    if shape == "escaped":  # JSON escapes in the token itself, not in the Python value
        extra = {}
    batch = [
        make_token(key, claims_with(jti=f"m-{i}", **extra))
        if shape != "escaped"
        else sign_segments(
            key,
            b64url(json.dumps({"alg": "HS256", "kid": "hs-1"}).encode()),
            b64url(
                json.dumps(claims_with(jti=f"m-{i}"))[:-1].encode()
                + b', "x": "'
                + b"\\u0100" * 300
                + b'"}'
            ),
        )
        for i in range(150)
    ]
    cache = TokenCache(max_entries=1000, max_bytes=1 << 40)
    verifier = build(key, cache=cache, max_token_bytes=65536)
    verifier.verify(batch[0])
    cache.clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for token in batch:
            verifier.verify(token)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) == len(batch)
    assert cache.nbytes >= held, f"{shape}: charged {cache.nbytes}, holds {held}"
    if shape == "typical":  # and not wildly more, for the tokens most apps see
        assert cache.nbytes <= 2 * held


def test_the_byte_bound_bounds_real_memory(key: Key) -> None:
    """A flood of large valid tokens into a 2 MB cache: memory stays under the bound."""
    cache = TokenCache(max_entries=100_000, max_bytes=2_000_000)
    verifier = build(key, cache=cache, max_token_bytes=65536)
    flood = tokens(key, 600, x=[[] for _ in range(300)])
    verifier.verify(flood[0])
    cache.clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for token in flood:
            verifier.verify(token)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.nbytes <= 2_000_000
    assert 0 < len(cache) < 600
    assert held <= 2_000_000


def test_entry_cost_counts_what_parsing_makes() -> None:
    plain = entry_cost(b'{"sub":"a"}', 0, 100)
    assert entry_cost(b'{"sub":"a","x":[1,2,3]}', 0, 100) > plain
    assert entry_cost('{"sub":"é"}'.encode(), 0, 100) > entry_cost(b'{"sub":"e"}', 0, 100)
    assert entry_cost(b'{"sub":"\\u00e9"}', 0, 100) > entry_cost(b'{"sub":"eeeeee"}', 0, 100)
    assert entry_cost(b'{"sub":"a"}', 10, 100) > plain
    assert entry_cost(b'{"sub":"a"}', 0, 500) == plain + 400


# --- what the cache holds --------------------------------------------------------------------


def test_the_cache_never_holds_the_token(key: Key) -> None:
    verifier = build(key)
    token = make_token(key, claims_with())
    signature = token.rsplit(".", 1)[1]
    verifier.verify(token)
    cache = verifier.cache
    assert cache is not None
    seen: list[Any] = []
    stack: list[Any] = [cache._entries]
    visited: set[int] = set()
    while stack:  # everything the cache's entries reach, short of the verifier itself
        obj = stack.pop()
        if id(obj) in visited or obj is verifier or isinstance(obj, type):
            continue
        visited.add(id(obj))
        seen.append(obj)
        stack.extend(gc.get_referents(obj))
    texts = [o for o in seen if isinstance(o, (str, bytes))]
    assert texts, "nothing reached"
    for text in texts:
        raw = text.encode() if isinstance(text, str) else text
        assert token.encode() not in raw
        assert signature.encode() not in raw
    (digest,) = cache._entries
    slot = cache.slot(token, 8192)
    assert slot is not None
    assert digest == slot[0]
    assert slot[1] == token.rsplit(".", 1)[0].encode()  # what an entry compares, exactly
    assert len(digest) == 32
    assert TokenCache().slot(token, 8192) != slot  # a secret of its own per cache


# --- threads and tasks -------------------------------------------------------------------------


def test_threads_hit_and_insert_at_once(key: Key) -> None:
    cache = TokenCache(max_entries=40)
    verifier = build(key, cache=cache)
    batch = tokens(key, 60)
    bad = [t[:-3] + "AAA" for t in batch[:10]]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    seen: list[dict[str, Principal]] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine: dict[str, Principal] = {}
        try:
            barrier.wait(timeout=10)
            for _ in range(1500):
                if rng.random() < 0.1:
                    with pytest.raises(TokenError):
                        verifier.verify(rng.choice(bad))
                    continue
                token = rng.choice(batch)
                principal = verifier.verify(token)
                assert (
                    principal.token_id
                    == json.loads(strict_decode(token.split(".")[1].encode()))["jti"]
                )
                mine[token] = principal
                assert len(cache) <= 40
        except BaseException as exc:
            errors.append(exc)
        seen.append(mine)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[0]
    assert len(cache) <= 40
    assert cache.nbytes == sum(e[5] for e in cache._entries.values())
    hot = batch[0]
    assert verifier.verify(hot) is verifier.verify(hot)


def test_tasks_and_threads_with_event_loops(key: Key) -> None:
    check = Counting()
    verifier = build(key, revocation_check=check)
    batch = tokens(key, 30)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    async def many() -> None:
        for _ in range(20):
            found = await asyncio.gather(*(verifier.averify(t) for t in batch))
            assert [p.token_id for p in found] == [f"t-{i}" for i in range(30)]

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            asyncio.run(many())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors[0]
    assert check.calls == 4 * 20 * 30  # revocation on every request, hit or miss
    assert len(verifier.cache or ()) == 30
    principals = {t: verifier.verify(t) for t in batch}
    assert all(asyncio.run(verifier.averify(t)) is p for t, p in principals.items())


# --- several issuers -----------------------------------------------------------------------------


def test_several_issuers_share_one_cache_and_read_the_payload_once(
    key: Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = Key.from_secret(bytes(range(1, 33)), "HS256", kid="b-1")
    multi = MultiIssuerVerifier(
        [TrustedIssuer("https://a", key), TrustedIssuer("https://b", other)],
        clock=lambda: NOW,
    )
    shared = multi.cache
    assert shared is not None
    assert all(multi.verifier_for(i).cache is shared for i in multi.issuers)
    a = make_token(key, claims_with(iss="https://a"))
    b = make_token(other, claims_with(iss="https://b"))
    decoded: list[bytes] = []
    real = json_object

    def counting(data: bytes) -> Any:
        decoded.append(data)
        return real(data)

    monkeypatch.setattr(verify_module, "json_object", counting)
    import jwt_middleware._keysources.registry as registry_module

    monkeypatch.setattr(registry_module, "json_object", counting)
    pa = multi.verify(a)
    assert len(decoded) == 2  # the header once (then cached) and the payload once
    pb = asyncio.run(multi.averify(b))
    assert len(decoded) == 4
    assert len(shared) == 2
    assert multi.verify(a) is pa
    assert asyncio.run(multi.averify(b)) is pb
    assert multi.verifier_for("https://a").verify(a) is pa
    with pytest.raises(UnknownKeyError):
        multi.verifier_for("https://b").verify(a)  # another issuer's entry is not its own
    assert len(decoded) == 5  # issuer b's verifier read the header, and knew no such key
    forged = make_token(other, claims_with(iss="https://a"), {"kid": "hs-1"})  # b's key, a's name
    with pytest.raises(InvalidSignatureError):
        multi.verify(forged)
    off = MultiIssuerVerifier([TrustedIssuer("https://a", key)], clock=lambda: NOW, cache_size=0)
    assert off.cache is None
    assert off.verify(a) is not off.verify(a)


# --- the uncached verify's shortcuts ------------------------------------------------------------


def test_the_header_cache_holds_only_headers_that_verified(key: Key) -> None:
    verifier = build(key)
    attacker = Key.from_secret(bytes(range(50, 82)), "HS256", kid="hs-1")
    for i in range(50):
        with pytest.raises(TokenError):
            verifier.verify(make_token(attacker, claims_with(), {"kid": "hs-1", "n": i}))
    assert len(verifier._headers) == 0
    token = make_token(key, claims_with())
    verifier.verify(token)
    assert len(verifier._headers) == 1
    principal = verifier.verify(make_token(key, claims_with(jti="other")))
    assert len(verifier._headers) == 1
    assert principal.header["kid"] == "hs-1"
    header, _ = verifier.verify_signature(token)
    header["alg"] = "none"  # a copy: the cached header is not changed
    assert verifier.verify(make_token(key, claims_with(jti="third"))).header["alg"] == "HS256"
    small = HeaderCache(size=2, longest=64)
    for n in range(5):
        small.put(b"h%d" % n, n)
        assert len(small) <= 2
    small.put(b"x" * 65, 0)
    assert small.get(b"x" * 65) is None


def test_the_one_pass_decoder_answers_as_the_strict_one() -> None:
    rng = random.Random(7)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    odd = b"+/=!. \n\t\x00\xff*"
    samples = [b"", b"A", b"AA", b"AB", b"AAA", b"AAB", b"AAAA", b"-_-_", b"+/+/", b"AA=="]
    for _ in range(5000):
        size = rng.randrange(0, 12)
        sample = bytes(rng.choice(alphabet) for _ in range(size))
        if sample and rng.random() < 0.3:
            at = rng.randrange(len(sample))
            sample = sample[:at] + bytes([rng.choice(odd)]) + sample[at + 1 :]
        samples.append(sample)
    for sample in samples:
        try:
            expected: bytes | type[Exception] = strict_decode(sample)
        except MalformedTokenError:
            expected = MalformedTokenError
        try:
            got: bytes | type[Exception] = verify_module.b64url_decode(sample)
        except MalformedTokenError:
            got = MalformedTokenError
        assert got == expected, sample


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_signature_checks_answer_as_pyjwt(algorithm: str) -> None:
    key = generate_key(algorithm)
    pyjwt = get_default_algorithms()[algorithm]
    rng = random.Random(algorithm)
    message = b"eyJhbGciOiJ4In0.eyJzdWIiOiJhIn0"
    good = key.sign(message)
    cases = [(message, good), (message + b"x", good), (message, b""), (message, good[:-1])]
    cases += [(message, bytes(len(good))), (message, good + b"\x00")]
    for _ in range(20):
        flipped = bytearray(good)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        cases.append((message, bytes(flipped)))
    for msg, sig in cases:
        assert key._check(msg, sig) is pyjwt.verify(msg, key._verify_key, sig), (msg, sig)
    assert key._check(message, good) is True
    assert key.verify(message, good) is True
    assert jwt.decode(
        jwt.encode({"sub": "a"}, key._sign_key, algorithm=algorithm),
        key._verify_key,
        algorithms=[algorithm],
    ) == {"sub": "a"}


def test_hmac_with_a_secret_longer_than_a_block() -> None:
    import hmac

    for algorithm, name in (("HS256", "sha256"), ("HS384", "sha384"), ("HS512", "sha512")):
        for size in (64, 100, 128, 129, 300):
            secret = bytes((i * 7) % 256 for i in range(size))
            key = Key.from_secret(secret, algorithm)
            tag = hmac.digest(secret, b"message", name)
            assert key._check(b"message", tag)
            assert not key._check(b"messagf", tag)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_fresh_locks(key: Key) -> None:
    """A fork taken while another thread holds the cache's lock must not leave the child's
    inserts waiting for ever."""
    verifier = build(key)
    cache = verifier.cache
    assert cache is not None
    verifier.verify(make_token(key, claims_with(jti="before")))
    with cache._lock, verifier._headers._lock:  # as if a thread were inserting
        pid = os.fork()
        if pid == 0:  # the child: verify (insert) must not block; exit 0 on success
            code = 1
            try:
                signal.alarm(5)
                principal = verifier.verify(make_token(key, claims_with(jti="after")))
                code = (
                    0
                    if verifier.verify(make_token(key, claims_with(jti="after"))) is (principal)
                    else 2
                )
            finally:
                os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
