"""DPoP around the proof: configuration refused at start-up, the downgrade rule, the
errors' rendering, ``Principal.jkt``, and a replay cache that cannot be reached (503)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from jwt_middleware import (
    ConfigurationError,
    DPoPBindingError,
    DPoPVerifier,
    InvalidDPoPProofError,
    Principal,
    ServiceUnavailableError,
    TokenError,
    UseDPoPNonceError,
)
from jwt_middleware._core.dpop import DEFAULT_DPOP_ALGORITHMS, require_binding
from jwt_middleware.stores import Store, StoreError
from jwt_middleware.stores.memory import MemoryStore
from tests.redis_server import RedisServer

from .dpop_support import TOKEN, URL, dpop_key, proof

# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize("algorithms", [["none"], ["ES256", "None"], "none"])
def test_alg_none_is_refused_at_configuration(algorithms: Any) -> None:
    with pytest.raises(ConfigurationError, match="'none' is never allowed"):
        DPoPVerifier(algorithms=algorithms)


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_hmac_algorithms_are_refused_at_configuration(algorithm: str) -> None:
    with pytest.raises(ConfigurationError, match="asymmetric"):
        DPoPVerifier(algorithms=["ES256", algorithm])


@pytest.mark.parametrize("algorithms", [[], ["ES257"], [256]])
def test_unknown_or_no_algorithms_are_refused(algorithms: Any) -> None:
    with pytest.raises(ConfigurationError):
        DPoPVerifier(algorithms=algorithms)


def test_the_defaults() -> None:
    verifier = DPoPVerifier()
    assert verifier.algorithms == DEFAULT_DPOP_ALGORITHMS == ("ES256", "EdDSA", "PS256", "RS256")
    assert (verifier.iat_window, verifier.max_proof_bytes, verifier.nonces) == (300.0, 8192, None)
    assert isinstance(verifier.store, MemoryStore)
    assert DPoPVerifier(algorithms="ES256").algorithms == ("ES256",)
    assert DPoPVerifier(algorithms=["ES256", "ES256"]).algorithms == ("ES256",)


@pytest.mark.parametrize("window", [0, -1, 3601, float("inf"), float("nan"), "300", True])
def test_an_iat_window_out_of_bounds_is_refused(window: Any) -> None:
    with pytest.raises(ConfigurationError, match="iat_window"):
        DPoPVerifier(iat_window=window)


@pytest.mark.parametrize("size", [0, 100, 100_000, 8192.5, True])
def test_a_proof_size_out_of_bounds_is_refused(size: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_proof_bytes"):
        DPoPVerifier(max_proof_bytes=size)


def test_a_store_without_a_replay_cache_is_refused() -> None:
    class OldStore(MemoryStore):
        claim_once = Store.claim_once  # a custom store written before claim_once

    with pytest.raises(ConfigurationError, match="claim_once"):
        DPoPVerifier(store=OldStore())
    with pytest.raises(ConfigurationError, match="claim_once"):
        DPoPVerifier(store="redis://localhost")  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError):
        OldStore().claim_once("k", 1.0)


def test_nonces_must_be_dpop_nonces() -> None:
    with pytest.raises(ConfigurationError, match="DPoPNonces"):
        DPoPVerifier(nonces=b"x" * 32)  # type: ignore[arg-type]


# --- the downgrade rule --------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", ""])
def test_a_bound_token_presented_as_bearer_is_refused(scheme: str) -> None:
    with pytest.raises(DPoPBindingError) as info:
        require_binding("some-thumbprint", scheme)
    error = info.value
    assert isinstance(error, TokenError)
    assert (error.status, error.error) == (401, "invalid_token")
    assert error.description == "this token is bound to a key: present it with DPoP"


def test_an_unbound_token_presented_with_dpop_is_refused() -> None:
    with pytest.raises(DPoPBindingError, match="not bound to a key"):
        require_binding(None, "DPoP")


@pytest.mark.parametrize(("jkt", "scheme"), [("t", "DPoP"), ("t", "dpop"), (None, "Bearer")])
def test_a_consistent_scheme_passes(jkt: str | None, scheme: str) -> None:
    require_binding(jkt, scheme)  # raises nothing


@pytest.mark.parametrize(
    ("claims", "jkt"),
    [({"cnf": {"jkt": "abc"}}, "abc"), ({}, None), ({"cnf": None}, None),
     ({"cnf": {"jkt": 5}}, None), ({"cnf": "abc"}, None), ({"cnf": {"x5t#S256": "a"}}, None)],
)
def test_principal_jkt(claims: dict[str, Any], jkt: str | None) -> None:
    assert Principal({"sub": "alice", **claims}).jkt == jkt


# --- errors ---------------------------------------------------------------------------------


def test_the_dpop_challenge() -> None:
    error = InvalidDPoPProofError("the DPoP proof is too old", algs=("ES256", "EdDSA"))
    assert error.www_authenticate("orders") == (
        'DPoP error="invalid_dpop_proof", error_description="the DPoP proof is too old", '
        'algs="ES256 EdDSA", realm="orders"'
    )
    assert InvalidDPoPProofError().www_authenticate().endswith(
        'algs="ES256 EdDSA PS256 RS256", realm="api"')
    assert json.loads(error.json_body()) == {
        "error": "invalid_dpop_proof", "error_description": "the DPoP proof is too old"}
    headers = dict(error.headers())
    assert headers["cache-control"] == "no-store"
    assert "dpop-nonce" not in headers


def test_the_nonce_error_carries_the_nonce() -> None:
    error = UseDPoPNonceError(nonce="abc", algs=("ES256",))
    assert ("dpop-nonce", "abc") in error.headers()
    assert error.www_authenticate() == (
        'DPoP error="use_dpop_nonce", error_description="the resource server requires a fresh '
        'DPoP nonce in the proof", algs="ES256", realm="api"'
    )


def test_refusals_name_the_configured_algorithms() -> None:
    verifier = DPoPVerifier(algorithms=["EdDSA"])
    with pytest.raises(InvalidDPoPProofError) as info:
        verifier.check("x.y.z", method="GET", url=URL)
    assert 'algs="EdDSA"' in info.value.www_authenticate()


# --- a replay cache that cannot be reached ------------------------------------------------


class DownStore(MemoryStore):
    def claim_once(self, key: str, expires_at: float) -> bool:
        raise StoreError("the store failed: ConnectionError", retry_after=2)


def test_a_store_failure_is_503_never_an_accepted_proof() -> None:
    verifier = DPoPVerifier(store=DownStore())
    for run in (verifier.check, lambda *a, **k: asyncio.run(verifier.acheck(*a, **k))):
        with pytest.raises(ServiceUnavailableError) as info:
            run(proof(dpop_key()), method="GET", url=URL, access_token=TOKEN)
        assert info.value.status == 503
        assert ("retry-after", "2") in info.value.headers()
        assert "replay" in info.value.description


def test_a_stopped_redis_is_503() -> None:
    from jwt_middleware.stores.redis import RedisStore

    server = RedisServer()
    try:
        store = RedisStore(server.url, timeout=0.5, near_cache=False)
        verifier = DPoPVerifier(store=store)
        assert verifier.check(proof(dpop_key()), method="GET", url=URL, access_token=TOKEN)
        server.stop()
        with pytest.raises(ServiceUnavailableError):
            verifier.check(proof(dpop_key()), method="GET", url=URL, access_token=TOKEN)
        with pytest.raises(ServiceUnavailableError):
            asyncio.run(verifier.acheck(proof(dpop_key()), method="GET", url=URL,
                                        access_token=TOKEN))
        store.close()
    finally:
        server.close()
