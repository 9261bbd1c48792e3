"""DPoP in the token lifecycle without a framework: the Issuer's binding, the
TokenService's modes, the settings reader, and the replay cache shared by processes.

The framework routes run the same scenarios in ``test_dpop_token_routes.py``; here are
the pieces each of them relies on, sync and async.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import (
    Config,
    ConfigurationError,
    DPoPKey,
    DPoPNonces,
    DPoPPolicy,
    DPoPVerifier,
    Identity,
    InvalidDPoPProofError,
    Issuer,
    Key,
    KeySet,
    TokenService,
    dpop_policy_from_mapping,
    encode,
)
from jwt_middleware._core.claims import REFRESH_TYP
from jwt_middleware._core.settings import warn_unknown_settings
from jwt_middleware.stores import Store, store_from_url
from jwt_middleware.stores.memory import MemoryStore
from tests.integrations.test_dpop_token_routes import claims
from tests.redis_server import RedisServer

ISSUER = "https://issuer.test"
REFRESH = "https://api.test/auth/refresh"
LOGIN = "https://api.test/auth/login"


def make_issuer(store: Store | str = "memory://", **options: Any) -> Issuer:
    key = Key.from_secret(secrets.token_bytes(32), "HS256")
    return Issuer(Config(keys=KeySet([key]), issuer=ISSUER, audience="api", store=store), **options)


def check(username: str, password: str) -> Identity | None:
    return Identity(username) if password == "pw" else None


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey.generate()


# --- the Issuer -----------------------------------------------


def test_issue_with_jkt_binds_both_tokens(key: DPoPKey) -> None:
    pair = make_issuer().issue("alice", jkt=key.thumbprint)
    assert pair.token_type == "DPoP"
    assert pair.to_dict()["token_type"] == "DPoP"
    assert claims(pair.access_token)["cnf"] == claims(pair.refresh_token)["cnf"] == {
        "jkt": key.thumbprint
    }
    assert make_issuer().issue("alice").token_type == "Bearer"


def test_refresh_of_a_bound_token_needs_the_same_jkt_and_is_not_reuse(key: DPoPKey) -> None:
    issuer = make_issuer()
    pair = issuer.issue("alice", jkt=key.thumbprint)
    with pytest.raises(InvalidDPoPProofError, match="bound to a key"):
        issuer.refresh(pair.refresh_token)
    with pytest.raises(InvalidDPoPProofError, match="another key"):
        issuer.refresh(pair.refresh_token, jkt=DPoPKey.generate().thumbprint)
    renewed = issuer.refresh(pair.refresh_token, jkt=key.thumbprint)  # still current
    assert renewed.token_type == "DPoP"
    assert claims(renewed.refresh_token)["cnf"] == {"jkt": key.thumbprint}
    assert claims(renewed.access_token)["fam"] == claims(pair.access_token)["fam"]


def test_async_issue_and_refresh_bind_too(key: DPoPKey) -> None:
    issuer = make_issuer()

    async def scenario() -> None:
        pair = await issuer.aissue("alice", jkt=key.thumbprint)
        with pytest.raises(InvalidDPoPProofError):
            await issuer.arefresh(pair.refresh_token)
        renewed = await issuer.arefresh(pair.refresh_token, jkt=key.thumbprint)
        assert claims(renewed.access_token)["cnf"] == {"jkt": key.thumbprint}

    asyncio.run(scenario())


def test_a_bearer_family_refreshed_with_jkt_becomes_bound(key: DPoPKey) -> None:
    issuer = make_issuer()
    renewed = issuer.refresh(issuer.issue("alice").refresh_token, jkt=key.thumbprint)
    assert renewed.token_type == "DPoP"
    with pytest.raises(InvalidDPoPProofError):
        issuer.refresh(renewed.refresh_token)


def test_claims_and_the_claims_loader_cannot_set_cnf(key: DPoPKey) -> None:
    """Security: the binding comes from a checked proof only, never from app data."""
    with pytest.raises(ConfigurationError, match="cannot set cnf"):
        make_issuer().issue("alice", claims={"cnf": {"jkt": key.thumbprint}})
    loader = make_issuer(claims_loader=lambda subject: {"cnf": {"jkt": "x"}})
    with pytest.raises(ConfigurationError, match="cannot set cnf"):
        loader.issue("alice")


@pytest.mark.parametrize("cnf", [{"x5t#S256": "abc"}, {"jkt": 5}, {"jkt": ""}, "jkt", [1]])
def test_a_refresh_token_bound_in_an_unknown_way_is_refused(cnf: object) -> None:
    """Fail closed: a ``cnf`` this server cannot check is never taken as no binding."""
    issuer = make_issuer()
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "alice", "aud": ISSUER, "iat": now, "nbf": now,
            "exp": now + 600, "jti": "r1", "fam": "f1", "cnf": cnf}
    issuer.store.start_family("f1", "r1", now + 600)
    token = encode(body, issuer.key, headers={"typ": REFRESH_TYP})
    with pytest.raises(InvalidDPoPProofError, match="cannot check"):
        issuer.refresh(token, jkt="whatever")


# --- the TokenService -----------------------------------------------


def test_a_bound_family_cannot_be_refreshed_with_dpop_off(key: DPoPKey) -> None:
    """Turning DPoP off does not turn bound refresh tokens into bearer ones; logout still
    revokes them (with DPoP off the server checks no proofs)."""
    issuer = make_issuer()
    on = TokenService(issuer, check, dpop=DPoPPolicy("allowed"))
    off = TokenService(issuer, check, dpop=DPoPPolicy("off"))
    assert off.dpop is None
    token = on.login("alice", "pw", proofs=[key.proof("POST", LOGIN)], url=LOGIN).body
    proof = [key.proof("POST", REFRESH)]
    refused = off.refresh(token["refresh_token"], proofs=proof, url=REFRESH)
    assert (refused.status, refused.body["error"]) == (401, "invalid_dpop_proof")
    assert off.logout(None, token["refresh_token"]).status == 200
    assert on.refresh(token["refresh_token"], proofs=proof, url=REFRESH).status == 401


def test_a_proof_without_the_url_is_a_programming_error(key: DPoPKey) -> None:
    service = TokenService(make_issuer(), check, dpop=DPoPPolicy("allowed"))
    with pytest.raises(TypeError, match="URL"):
        service.login("alice", "pw", proofs=[key.proof("POST", LOGIN)])


def test_the_challenge_names_the_configured_algorithms(key: DPoPKey) -> None:
    policy = DPoPPolicy("required", DPoPVerifier(algorithms=["ES256"]))
    service = TokenService(make_issuer(), check, dpop=policy)
    pair = service.login("alice", "pw", proofs=[key.proof("POST", LOGIN)], url=LOGIN).body
    answer = service.refresh(pair["refresh_token"], url=REFRESH)
    assert dict(answer.headers)["www-authenticate"].count('algs="ES256"') == 1


def test_the_service_rejects_what_is_not_a_policy() -> None:
    with pytest.raises(ConfigurationError, match="DPoPPolicy"):
        TokenService(make_issuer(), check, dpop="allowed")  # type: ignore[arg-type]


# --- the policy and its settings -----------------------------------------------


def test_policy_modes() -> None:
    assert DPoPPolicy().verifier is None
    assert not DPoPPolicy().enabled
    allowed = DPoPPolicy("allowed")
    assert allowed.enabled
    assert not allowed.required
    assert isinstance(allowed.verifier, DPoPVerifier)
    assert DPoPPolicy("required").required
    assert DPoPPolicy("off", DPoPVerifier()).verifier is None
    assert repr(allowed) == "DPoPPolicy(mode='allowed')"
    with pytest.raises(ConfigurationError, match="'off', 'allowed' or 'required'"):
        DPoPPolicy("on")
    with pytest.raises(ConfigurationError, match="DPoPVerifier"):
        DPoPPolicy("allowed", object())  # type: ignore[arg-type]


SECRET = "k" * 40


def test_settings_default_off_and_modes() -> None:
    assert dpop_policy_from_mapping({}).mode == "off"
    assert dpop_policy_from_mapping({"JWT_DPOP": " Allowed "}).mode == "allowed"
    mapping = {"APP_DPOP": "required", "APP_DPOP_ALGORITHMS": "ES256, EdDSA",
               "APP_DPOP_IAT_WINDOW": "60", "APP_DPOP_NONCE": "on", "APP_DPOP_NONCE_SECRET": SECRET}
    policy = dpop_policy_from_mapping(mapping, "APP_")
    assert policy.required
    assert policy.verifier is not None
    assert policy.verifier.algorithms == ("ES256", "EdDSA")
    assert policy.verifier.iat_window == 60
    assert isinstance(policy.verifier.nonces, DPoPNonces)
    assert policy.fresh_nonce() == DPoPNonces(SECRET.encode()).current()


def test_settings_keep_the_replay_cache_in_the_given_store(tmp_path: Path) -> None:
    store = MemoryStore()
    given = dpop_policy_from_mapping({"JWT_DPOP": "allowed"}, store=store).verifier
    assert given is not None
    assert given.store is store
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    from_url = dpop_policy_from_mapping({"JWT_DPOP": "allowed"}, store=url).verifier
    assert from_url is not None
    assert type(from_url.store).__name__ == "SQLiteStore"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("JWT_DPOP", "on", "JWT_DPOP must be 'off', 'allowed' or 'required'"),
        ("JWT_DPOP", True, "JWT_DPOP must be"),
        ("JWT_DPOP_ALGORITHMS", "HS256", "JWT_DPOP_ALGORITHMS: DPoP proofs need an asymmetric"),
        ("JWT_DPOP_ALGORITHMS", "none", "JWT_DPOP_ALGORITHMS: algorithm 'none'"),
        ("JWT_DPOP_ALGORITHMS", " , ", "JWT_DPOP_ALGORITHMS has a value of the wrong form"),
        ("JWT_DPOP_IAT_WINDOW", "soon", "JWT_DPOP_IAT_WINDOW has a value of the wrong form"),
        ("JWT_DPOP_IAT_WINDOW", "0", "JWT_DPOP_IAT_WINDOW: iat_window must be between"),
        ("JWT_DPOP_IAT_WINDOW", "86400", "JWT_DPOP_IAT_WINDOW: iat_window must be between"),
        ("JWT_DPOP_NONCE", "maybe", "JWT_DPOP_NONCE has a value of the wrong form"),
        ("JWT_DPOP_NONCE", "on", "JWT_DPOP_NONCE needs JWT_DPOP_NONCE_SECRET"),
        ("JWT_DPOP_NONCE_SECRET", SECRET, "turn nonces on with JWT_DPOP_NONCE"),
    ],
)
@pytest.mark.parametrize("mode", ["off", "allowed"])
def test_settings_refusals_name_the_setting(
    setting: str, value: object, message: str, mode: str
) -> None:
    """Every setting is checked, even with DPoP off (a typo shows at start-up)."""
    mapping = {"JWT_DPOP": mode, setting: value}
    with pytest.raises(ConfigurationError) as caught:
        dpop_policy_from_mapping(mapping)
    assert message in str(caught.value)


def test_the_nonce_secret_never_appears_in_a_message(tmp_path: Path) -> None:
    short = "tiny-secret-value"
    with pytest.raises(ConfigurationError, match=r"JWT_DPOP_NONCE_SECRET: .*at least 32") as caught:
        dpop_policy_from_mapping({"JWT_DPOP": "allowed", "JWT_DPOP_NONCE": "1",
                                  "JWT_DPOP_NONCE_SECRET": short})
    assert short not in str(caught.value)
    with pytest.raises(ConfigurationError, match="not both"):
        dpop_policy_from_mapping({"JWT_DPOP_NONCE": "1", "JWT_DPOP_NONCE_SECRET": SECRET,
                                  "JWT_DPOP_NONCE_SECRET_FILE": "x"})
    with pytest.raises(ConfigurationError, match="JWT_DPOP_NONCE_SECRET_FILE: cannot read"):
        dpop_policy_from_mapping({"JWT_DPOP_NONCE": "1",
                                  "JWT_DPOP_NONCE_SECRET_FILE": str(tmp_path / "missing")})
    (tmp_path / "nonce").write_bytes(SECRET.encode() + b"\n")
    policy = dpop_policy_from_mapping(
        {"JWT_DPOP": "allowed", "JWT_DPOP_NONCE": "1", "JWT_DPOP_NONCE_SECRET_FILE": "nonce"},
        base_dir=tmp_path,
    )
    assert policy.fresh_nonce() == DPoPNonces(SECRET.encode()).current()  # newline stripped


def test_the_dpop_settings_are_known_names() -> None:
    env = {"JWT_DPOP": "allowed", "JWT_DPOP_ALGORITHMS": "ES256", "JWT_DPOP_IAT_WINDOW": "30",
           "JWT_DPOP_NONCE": "1", "JWT_DPOP_NONCE_SECRET": SECRET,
           "JWT_DPOP_NONCE_SECRET_FILE": "x"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_unknown_settings(env, "JWT_")
    with pytest.warns(UserWarning, match="did you mean JWT_DPOP_NONCE"):
        warn_unknown_settings({"JWT_DPOP_NONCES": "1"}, "JWT_")


# --- one replay cache for several processes -----------------------------------------


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server = RedisServer()
    yield server.url
    server.close()


def _twins(url: str) -> tuple[TokenService, TokenService]:
    """Two services as two processes would have them: their own store objects, one
    store behind them, one issuer key and the same settings."""
    issuer = make_issuer(url)
    twin = Issuer(issuer.config)
    one, two = (
        TokenService(i, check, dpop=dpop_policy_from_mapping({"JWT_DPOP": "allowed"},
                                                             store=store_from_url(url)))
        for i in (issuer, twin)
    )
    return one, two


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_a_proof_accepted_by_one_process_is_refused_by_the_other(
    backend: str, key: DPoPKey, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = request.getfixturevalue("redis_url")
    one, two = _twins(url)
    proof = [key.proof("POST", LOGIN)]
    assert one.login("alice", "pw", proofs=proof, url=LOGIN).status == 200
    replay = two.login("alice", "pw", proofs=proof, url=LOGIN)
    assert (replay.status, replay.body["error"]) == (401, "invalid_dpop_proof")

    async def async_twin() -> int:
        fresh = [key.proof("POST", LOGIN)]
        first = await two.alogin("alice", "pw", proofs=fresh, url=LOGIN)
        second = await one.alogin("alice", "pw", proofs=fresh, url=LOGIN)
        return first.status * 1000 + second.status

    assert asyncio.run(async_twin()) == 200_401


def test_a_replay_cache_that_is_down_is_503_never_a_pair(key: DPoPKey) -> None:
    """Fail closed: the token route cannot tell whether the proof was used before."""
    server = RedisServer()
    try:
        issuer = make_issuer()  # refresh families elsewhere: only the replay cache fails
        policy = dpop_policy_from_mapping({"JWT_DPOP": "allowed"}, store=server.url)
        service = TokenService(issuer, check, dpop=policy)
        first = service.login("alice", "pw", proofs=[key.proof("POST", LOGIN)], url=LOGIN)
        assert first.status == 200, first.body
        server.stop()
        answer = service.login("alice", "pw", proofs=[key.proof("POST", LOGIN)], url=LOGIN)
        assert answer.status == 503, answer.body
        assert "access_token" not in answer.body
        assert dict(answer.headers).get("retry-after")
        # Without a proof nothing needs the cache: a bearer login still works.
        assert service.login("alice", "pw").body["token_type"] == "Bearer"
    finally:
        server.close()


def test_one_header_value_may_be_given_as_a_string(key: DPoPKey) -> None:
    service = TokenService(make_issuer(), check, dpop=DPoPPolicy("allowed"))
    answer = service.login("alice", "pw", proofs=key.proof("POST", LOGIN), url=LOGIN)
    assert (answer.status, answer.body["token_type"]) == (200, "DPoP")


def test_logout_takes_the_key_proved_by_a_dpop_access_token(key: DPoPKey) -> None:
    """A middleware that checks DPoP attaches a bound principal only after a proof by its
    key (and has used that proof up): the logout then needs no second proof. The same
    principal from ``Authorization: Bearer`` proves nothing."""
    issuer = make_issuer()
    service = TokenService(issuer, check, dpop=DPoPPolicy("allowed"))
    pair = service.login("alice", "pw", proofs=[key.proof("POST", LOGIN)], url=LOGIN).body
    principal = issuer.verifier.verify(pair["access_token"])
    token = pair["refresh_token"]
    as_bearer = service.logout(principal, token, authorization=f"Bearer {pair['access_token']}")
    assert (as_bearer.status, as_bearer.body["error"]) == (401, "invalid_dpop_proof")
    stranger = issuer.verifier.verify(issuer.issue("eve").access_token)  # bound to no key
    assert service.logout(stranger, token, authorization="DPoP x").status == 401
    answer = service.logout(principal, token, authorization=f"DPoP {pair['access_token']}")
    assert answer.status == 200, answer.body
    refresh = service.refresh(token, proofs=[key.proof("POST", REFRESH)], url=REFRESH)
    assert (refresh.status, refresh.body["error"]) == (401, "invalid_token")
