"""The bounded sync download: no helper thread outlives its use, and none pile up."""

from __future__ import annotations

import json
import threading

import pytest

from jwt_middleware.jwks import JWKSClient, KeySourceUnavailableError

from .conftest import FakeClock, Keys
from .drip import DripServer

HELPER = "jwt-middleware-jwks"


def _helpers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == HELPER]


def _body(keys: Keys) -> bytes:
    return json.dumps({"keys": [keys.es1.public_jwk()]}).encode()


def test_an_abandoned_body_download_stops_at_once(keys: Keys, clock: FakeClock) -> None:
    drip = DripServer(_body(keys), pause=0.5, lifetime=60).start()
    try:
        client = JWKSClient(
            drip.url, algorithms=["ES256"], allow_http=True, timeout=0.5, clock=clock
        )
        with pytest.raises(KeySourceUnavailableError):
            client.resolve("es-1")
        assert client.last_error == "timed out after 0.5 s"
        for helper in _helpers():  # its socket was shut down: it ends without the drip's help
            helper.join(timeout=5)
            assert not helper.is_alive()
        assert drip.connections == 1
    finally:
        drip.stop()


def test_abandoned_downloads_do_not_pile_up(keys: Keys, clock: FakeClock) -> None:
    # Headers dripped faster than the read timeout: the helper cannot be reached before
    # they end (~100 bytes, ~10 s), so it lingers after its caller gave up.
    drip = DripServer(_body(keys), pause=0.1, lifetime=60, slow_headers=True).start()
    try:
        client = JWKSClient(
            drip.url, algorithms=["ES256"], allow_http=True, timeout=0.5, clock=clock, cooldown=0
        )
        for _ in range(4):
            with pytest.raises(KeySourceUnavailableError):
                client.resolve("es-1")
            assert client.last_error == "timed out after 0.5 s"
        with pytest.raises(KeySourceUnavailableError):  # refused at once, no fifth thread
            client.resolve("es-1")
        assert client.last_error == "earlier downloads from the server are still hanging"
        assert drip.connections == 4
    finally:
        drip.stop()  # cuts every answer short: the lingering helpers end
    for helper in _helpers():
        helper.join(timeout=5)
        assert not helper.is_alive()
