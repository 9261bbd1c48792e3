"""The JWKS client over real HTTP (sync path): cache, refetch, cooldown, stale-if-error, bounds."""

from __future__ import annotations

import threading

import pytest

from jwt_middleware import (
    Config,
    ConfigurationError,
    KeyResolver,
    ServiceUnavailableError,
    UnknownKeyError,
    Verifier,
)
from jwt_middleware.jwks import JWKSClient, KeyNotYetAvailableError, KeySourceUnavailableError

from .conftest import FakeClock, Keys, make_client, token, token_without_kid
from .server import JWKSServer


def test_is_a_key_resolver_and_verifies_through_config(
    server: JWKSServer, clock: FakeClock, keys: Keys
) -> None:
    client = make_client(server, clock)
    assert isinstance(client, KeyResolver)
    verifier = Verifier(Config(keys=client, issuer="https://issuer.test"))
    principal = verifier.verify(token(keys.es1, iss="https://issuer.test"))
    assert principal.subject == "alice"
    verifier.verify(token(keys.es1, iss="https://issuer.test"))
    assert client.fetch_count == 1 == server.count()
    client.close()  # drops pooled connections; the cached keys stay
    verifier.verify(token(keys.es1, iss="https://issuer.test"))
    assert client.fetch_count == 1
    with pytest.raises(ConfigurationError, match="remote key source"):
        _ = Config(keys=client).key_set


def test_rotation_is_picked_up_on_the_first_token_with_the_new_kid(
    server: JWKSServer, clock: FakeClock, keys: Keys
) -> None:
    client = make_client(server, clock)
    verifier = Verifier(Config(keys=client))
    verifier.verify(token(keys.es1))
    server.publish([keys.es1, keys.es2])  # the issuer rotates, right after our fetch
    assert verifier.verify(token(keys.es2)).subject == "alice"
    assert client.fetch_count == 2 == server.count()
    server.publish([keys.es2])  # the old key is retired; the cache still has it until expiry
    verifier.verify(token(keys.es1))
    assert client.fetch_count == 2


def test_a_flood_of_unknown_kids_costs_one_fetch_per_cooldown(
    server: JWKSServer, clock: FakeClock, keys: Keys
) -> None:
    server.cache_control = "max-age=86400"
    client = make_client(server, clock, cooldown=30)
    client.resolve("es-1")
    counts = []
    for window in range(4):  # 4 cooldown windows, 250 random kids spread over each
        for i in range(250):
            if i == 0:  # the window's refetch, made for this kid, proves it unknown
                with pytest.raises(UnknownKeyError):
                    client.resolve(f"random-{window}-{i}")
            else:  # no refetch allowed yet: maybe a key published since, so 503
                with pytest.raises(KeyNotYetAvailableError) as info:
                    client.resolve(f"random-{window}-{i}")
                assert 1 <= info.value.retry_after <= 30
            if i % 50 == 49:
                clock.advance(5.9)  # 5 steps of 5.9 s = 29.5 s: still inside the window
        counts.append(client.fetch_count)
        clock.advance(30 - 5 * 5.9)  # the window ends exactly 30 s after its refetch
    # initial fetch + exactly one refetch per cooldown window
    assert counts == [2, 3, 4, 5]
    assert server.count() == 5
    assert client.resolve("es-1") is not None  # the good key never stopped working


def test_unknown_kid_then_rotation_within_cooldown_is_503_until_the_window_ends(
    server: JWKSServer, clock: FakeClock, keys: Keys
) -> None:
    client = make_client(server, clock, cooldown=30)
    client.resolve("es-1")
    with pytest.raises(UnknownKeyError):
        client.resolve("es-2")  # refetch: not there yet
    server.publish([keys.es1, keys.es2])
    clock.advance(29)
    with pytest.raises(KeyNotYetAvailableError) as info:
        client.resolve("es-2")  # still in the cooldown: 503, never 401
    assert info.value.status == 503
    assert info.value.retry_after == 1
    assert ("retry-after", "1") in info.value.headers()
    clock.advance(1)
    assert client.resolve("es-2").kid == "es-2"
    assert client.fetch_count == 3


@pytest.mark.parametrize(("elapsed", "left"), [(0, 30), (0.2, 30), (12.5, 18), (29.9, 1)])
def test_retry_after_is_the_cooldown_left_rounded_up(
    server: JWKSServer, clock: FakeClock, elapsed: float, left: int
) -> None:
    client = make_client(server, clock, cooldown=30)
    client.resolve("es-1")
    with pytest.raises(UnknownKeyError):
        client.resolve("forged-1")
    clock.advance(elapsed)
    with pytest.raises(KeyNotYetAvailableError) as info:
        client.resolve("forged-2")
    assert info.value.retry_after == left
    assert info.value.reason == "key_refetch_cooldown"
    assert "forged" not in info.value.description  # the kid is not echoed


def test_cooldown_zero_refetches_for_every_unknown_kid(
    server: JWKSServer, clock: FakeClock
) -> None:
    client = make_client(server, clock, cooldown=0)
    client.resolve("es-1")
    for i in range(3):
        with pytest.raises(UnknownKeyError):
            client.resolve(f"forged-{i}")
    assert client.fetch_count == 4 == server.count()


@pytest.mark.parametrize("outage", ["error", "drop"])
def test_stale_if_error_keeps_the_last_good_set_for_a_bounded_time(
    server: JWKSServer, clock: FakeClock, keys: Keys, outage: str
) -> None:
    server.cache_control = "max-age=300"
    client = make_client(server, clock, stale_for=3600, cooldown=30)
    client.resolve("es-1")
    server.mode = outage
    clock.advance(300)  # expired: a refresh is due, and fails
    assert client.resolve("es-1").kid == "es-1"
    assert client.fetch_count == 2
    assert client.last_error is not None
    clock.advance(10)  # failed 10 s ago: no new attempt inside the cooldown
    assert client.resolve("es-1").kid == "es-1"
    assert client.fetch_count == 2
    with pytest.raises(KeySourceUnavailableError):
        client.resolve("es-9")  # not in the stale set: maybe new, cannot tell: 503
    clock.advance(3600 - 10 - 1)  # one second before the stale bound (expiry + 3600)
    assert client.resolve("es-1").kid == "es-1"
    attempts = client.fetch_count
    clock.advance(1)
    with pytest.raises(KeySourceUnavailableError) as info:
        client.resolve("es-1")
    assert client.fetch_count == attempts  # it last tried 1 s ago: cooldown, then gave up
    assert info.value.status == 503
    assert isinstance(info.value, ServiceUnavailableError)
    assert info.value.reason == "key_source_unavailable"
    server.mode = "ok"  # back up: the next attempt after the cooldown recovers
    clock.advance(30)
    assert client.resolve("es-1").kid == "es-1"
    assert client.last_error is None


def test_never_fetched_and_down_is_503_and_retries_only_after_cooldown(clock: FakeClock) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = JWKSClient(
        f"http://127.0.0.1:{port}/jwks", algorithms=["ES256"], allow_http=True, clock=clock
    )
    for _ in range(5):
        with pytest.raises(KeySourceUnavailableError):
            client.resolve("es-1")
    assert client.fetch_count == 1
    assert "ConnectionError" in (client.last_error or "")
    clock.advance(30)
    with pytest.raises(KeySourceUnavailableError):
        client.resolve("es-1")
    assert client.fetch_count == 2
    with pytest.raises(KeySourceUnavailableError):
        client.refresh()


def test_a_slow_server_times_out_and_nothing_hangs(server: JWKSServer, clock: FakeClock) -> None:
    server.hold = True  # the handler waits (up to 10 s) for an Event the test never sets
    client = make_client(server, clock, timeout=0.3)
    with pytest.raises(KeySourceUnavailableError):  # a hang would hit pytest-timeout
        client.resolve("es-1")
    assert client.last_error == "timed out after 0.3 s"
    assert server.arrived.is_set()


@pytest.mark.parametrize(
    ("header", "ttl"),
    [
        ("max-age=120", 120),
        ("public, max-age=7200", 7200),
        ("max-age=5", 60),  # below min_ttl
        ("max-age=999999", 86400),  # above max_ttl
        ("no-store", 60),
        (None, 300),  # no header: default_ttl
        ("max-age=abc", 300),  # unreadable: default_ttl
    ],
)
def test_cache_control_is_honoured_within_bounds(
    server: JWKSServer, clock: FakeClock, header: str | None, ttl: float
) -> None:
    server.cache_control = header
    client = make_client(server, clock)
    client.resolve("es-1")
    clock.advance(ttl - 0.5)
    client.resolve("es-1")
    assert client.fetch_count == 1
    clock.advance(0.5)
    client.resolve("es-1")
    assert client.fetch_count == 2


def test_custom_cache_bounds(server: JWKSServer, clock: FakeClock) -> None:
    server.cache_control = "max-age=1"
    client = make_client(server, clock, min_ttl=10, max_ttl=20, default_ttl=15)
    client.resolve("es-1")
    clock.advance(9.9)
    client.resolve("es-1")
    assert client.fetch_count == 1
    clock.advance(0.1)
    client.resolve("es-1")
    assert client.fetch_count == 2


def test_size_limit_by_content_length(server: JWKSServer, clock: FakeClock) -> None:
    server.raw_body = b'{"keys": [], "pad": "' + b"x" * 4096 + b'"}'
    client = make_client(server, clock, max_bytes=2048)
    with pytest.raises(KeySourceUnavailableError):
        client.resolve("es-1")
    assert client.last_error == "the document is larger than 2048 bytes"


def test_size_limit_stops_reading_an_endless_body(server: JWKSServer, clock: FakeClock) -> None:
    server.mode = "endless"  # no Content-Length, 640 MB on offer
    client = make_client(server, clock)
    with pytest.raises(KeySourceUnavailableError):
        client.resolve("es-1")
    assert client.last_error == f"the document is larger than {256 * 1024} bytes"


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"keys": "no"}', b'{"keys": []}', b'{"keys": [{"kty": "EC"}]}']
)
def test_a_bad_document_is_a_failed_fetch(
    server: JWKSServer, clock: FakeClock, body: bytes
) -> None:
    client = make_client(server, clock)
    client.resolve("es-1")
    server.raw_body = body
    clock.advance(300)
    assert client.resolve("es-1").kid == "es-1"  # stale-if-error covers a broken document too
    assert client.last_error is not None


def test_single_flight_many_threads_one_fetch(server: JWKSServer, clock: FakeClock) -> None:
    server.hold = True
    server.hold_for = 0.3  # the first request is answered after 0.3 s; the rest pile up
    client = make_client(server, clock)
    barrier = threading.Barrier(16)
    results: list[str | None] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(client.resolve("es-1").kid)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert results == ["es-1"] * 16
    assert client.fetch_count == 1 == server.count()


def test_callers_with_a_known_kid_do_not_wait_for_a_refresh(
    server: JWKSServer, clock: FakeClock
) -> None:
    client = make_client(server, clock)
    client.resolve("es-1")
    clock.advance(300)  # due for refresh
    server.hold = True  # the refresh will hang until released
    refresher = threading.Thread(target=client.resolve, args=("es-1",))
    refresher.start()
    assert server.arrived.wait(5)
    assert client.resolve("es-1").kid == "es-1"  # served from the current set at once:
    assert refresher.is_alive(), "the refresh is still hanging, so the look-up did not wait"
    server.release.set()
    refresher.join(timeout=5)
    assert client.fetch_count == 2


def test_keys_without_kid_use_or_alg(server: JWKSServer, clock: FakeClock, keys: Keys) -> None:
    jwk = keys.rsa.public_jwk()
    for name in ("kid", "use", "alg"):
        del jwk[name]
    server.jwks = {"keys": [jwk]}  # RFC 7517: all three are optional
    client = make_client(server, clock, algorithms=["RS256"])
    verifier = Verifier(Config(keys=client))
    assert client.resolve(None).algorithm == "RS256"  # inferred from kty within the allowed
    assert verifier.verify(token_without_kid(keys.rsa)).subject == "alice"
    assert verifier.verify(token(keys.rsa)).subject == "alice"  # a kid is only a hint here
    assert client.fetch_count == 1


def test_a_token_without_kid_needs_a_single_key(
    server: JWKSServer, clock: FakeClock, keys: Keys
) -> None:
    server.publish([keys.es1, keys.es2])
    client = make_client(server, clock, cooldown=30)
    with pytest.raises(UnknownKeyError):
        Verifier(Config(keys=client)).verify(token_without_kid(keys.es1))


def test_unusable_keys_are_skipped(server: JWKSServer, clock: FakeClock, keys: Keys) -> None:
    rsa_no_alg = {k: v for k, v in keys.rsa.public_jwk().items() if k != "alg"}
    server.jwks = {
        "keys": [
            {**keys.es2.public_jwk(), "use": "enc"},  # encryption key
            {**keys.es3.public_jwk(), "key_ops": ["encrypt"]},  # not for verifying
            {"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "kid": "hs"},
            {**rsa_no_alg},  # RSA fits both allowed RS256 and PS256: ambiguous, skipped
            {**keys.other.public_jwk(), "kid": "bad", "x": "AAAA"},  # unreadable
            {"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"},  # no allowed alg
            "not an object",
            keys.es1.public_jwk(),
            {**keys.other.public_jwk(), "kid": "es-1"},  # duplicate kid: the first one wins
        ]
    }
    # cooldown=0: each unknown kid refetches, so each is proven unknown (401), not "not yet" (503)
    client = make_client(server, clock, algorithms=["ES256", "RS256", "PS256"], cooldown=0)
    assert client.resolve("es-1").kid == "es-1"
    assert client.resolve("es-1").public_jwk()["x"] == keys.es1.public_jwk()["x"]
    for kid in ("es-2", "es-3", "hs", "rs-1", "bad", "p384"):
        with pytest.raises(UnknownKeyError):
            client.resolve(kid)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algorithms": []}, "algorithms is empty"),
        ({"algorithms": ["HS256"]}, "shared secret"),
        ({"algorithms": ["none"]}, "unsupported algorithm"),
        ({"algorithms": ["ES256"], "timeout": 0}, "timeout"),
        ({"algorithms": ["ES256"], "max_bytes": 10}, "max_bytes"),
        ({"algorithms": ["ES256"], "min_ttl": 100, "max_ttl": 50}, "max_ttl"),
        ({"algorithms": ["ES256"], "default_ttl": 10}, "default_ttl"),
        ({"algorithms": ["ES256"], "cooldown": -1}, "cooldown"),
        ({"algorithms": ["ES256"], "cooldown": 86401}, "cooldown"),
        ({"algorithms": ["ES256"], "cooldown": "30"}, "cooldown"),
        ({"algorithms": ["ES256"], "cooldown": True}, "cooldown"),
        ({"algorithms": ["ES256"], "cooldown": float("nan")}, "cooldown"),
    ],
)
def test_bad_settings_fail_at_start_up(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        JWKSClient("https://issuer.test/jwks", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "http://issuer.test/jwks",
        "ftp://issuer.test/jwks",
        "https:///jwks",
        "https://user:pw@issuer.test/jwks",
        "https://issuer.test/jwks#frag",
    ],
)
def test_only_https_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        JWKSClient(url, algorithms=["ES256"])


def test_redirects_are_not_followed(server: JWKSServer, clock: FakeClock) -> None:
    server.redirects["/moved"] = server.jwks_uri
    client = JWKSClient(server.url + "/moved", algorithms=["ES256"], allow_http=True, clock=clock)
    with pytest.raises(KeySourceUnavailableError):
        client.resolve("es-1")
    assert client.last_error == "HTTP status 302"
    assert server.count() == 0


def test_inference_does_not_depend_on_earlier_calls(keys: Keys) -> None:
    # Regression: inferring within {"RS256"} once narrowed a shared table, so a later
    # key set allowing only PS256 found no algorithm for the same RSA key.
    from jwt_middleware import KeySet

    jwk = {k: v for k, v in keys.rsa.public_jwk().items() if k != "alg"}
    assert next(iter(KeySet.from_jwks({"keys": [jwk]}, ["RS256"]))).algorithm == "RS256"
    assert next(iter(KeySet.from_jwks({"keys": [jwk]}, ["PS256"]))).algorithm == "PS256"
