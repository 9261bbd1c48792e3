"""The token policy at start-up: each contradiction refused with a message naming both
values (as settings when it came from settings, as keywords in code), the settings read
and checked, the issuer's lifetimes held to the policy, in code and in Flask's init_app."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from jwt_middleware import (
    Config,
    ConfigurationError,
    Identity,
    Issuer,
    Key,
    TokenPolicy,
    issuer_options_from_mapping,
    token_policy_from_mapping,
)
from jwt_middleware._core.policy import POLICY_SETTINGS
from jwt_middleware._core.settings import KNOWN_SETTINGS, LIFECYCLE_SETTINGS
from jwt_middleware.flask import JWT

DAY = 86400
SECRET = "s" * 48
ISSUER = "https://issuer.test"


def config(**extra: Any) -> Config:
    return Config(keys=Key.from_secret(SECRET, "HS256"), issuer=ISSUER, store="memory://",
                  **extra)  # fmt: skip


def refused(match: str) -> Any:
    return pytest.raises(ConfigurationError, match=match)


# --- contradictions within the policy ---------------------------------------------------


def test_policy_refuses_an_idle_timeout_above_the_absolute_lifetime() -> None:
    with refused(
        r"^the token policy contradicts itself: session_idle_timeout=691200 \(8 d\) is "
        r"longer than session_max_age=604800 \(7 d\): a session ends at its absolute"
    ):
        TokenPolicy(session_max_age=7 * DAY, session_idle_timeout=8 * DAY)
    TokenPolicy(session_max_age=7 * DAY, session_idle_timeout=7 * DAY)  # equal is allowed


def test_policy_refuses_a_retirement_before_the_refresh_lifetime() -> None:
    with refused(
        r"key_retire_after=604800 \(7 d\) is shorter than max_refresh_ttl=1209600 \(14 d\): "
        "tokens signed by a replaced key would stop verifying before they expire"
    ):
        TokenPolicy(max_refresh_ttl=14 * DAY, key_retire_after=7 * DAY)
    with refused(r"key_retire_after=600 \(10 min\) is shorter than max_access_ttl=900"):
        TokenPolicy(max_access_ttl=900, key_retire_after=600)
    TokenPolicy(max_refresh_ttl=14 * DAY, key_retire_after=14 * DAY)


def test_policy_refuses_a_rotation_period_not_longer_than_the_activation_delay() -> None:
    with refused(
        r"key_rotation_period=3600 \(1 h\) is not longer than key_activate_after=3600 \(1 h\): "
        "a new key is published that long before it signs"
    ):
        TokenPolicy(key_rotation_period=3600)
    with refused(r"key_rotation_period=60 \(1 min\) is not longer than key_activate_after=120"):
        TokenPolicy(key_rotation_period=60, key_activate_after=120)
    TokenPolicy(key_rotation_period=60, key_activate_after=0)


def test_policy_refuses_an_idle_timeout_above_the_maximum_refresh_lifetime() -> None:
    with refused(
        r"session_idle_timeout=2592000 \(30 d\) is longer than max_refresh_ttl=1209600 "
        r"\(14 d\): a refresh token expires that long after the last refresh"
    ):
        TokenPolicy(max_refresh_ttl=14 * DAY, session_idle_timeout=30 * DAY)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("session_max_age", 0),
        ("session_idle_timeout", -5),
        ("max_access_ttl", float("inf")),
        ("max_refresh_ttl", float("nan")),
        ("key_rotation_period", True),
        ("key_retire_after", "14d"),
        ("key_activate_after", -1),
        ("key_activate_after", None),
        ("session_max_age", 11 * 366 * DAY),
    ],
)
def test_policy_refuses_values_that_are_not_durations(field: str, value: Any) -> None:
    with refused(f"^{field} must be a number of seconds from"):
        TokenPolicy(**{field: value})


def test_an_empty_policy_limits_nothing() -> None:
    policy = TokenPolicy()
    assert not policy.limits_sessions
    assert policy.session_ended({}, 1e12) is None
    policy.check_issuer(24 * 3600, 366 * DAY)


# --- the issuer's lifetimes against the policy ------------------------------------------


@pytest.mark.parametrize(
    ("policy", "options", "message"),
    [
        pytest.param(
            {"max_access_ttl": 600}, {},
            r"the issuer's lifetimes contradict the token policy: access_ttl=900 \(15 min\) "
            r"is above max_access_ttl=600 \(10 min\)",
            id="access-ttl-above-its-maximum",
        ),
        pytest.param(
            {"max_refresh_ttl": 7 * DAY}, {},
            r"refresh_ttl=1209600 \(14 d\) is above max_refresh_ttl=604800 \(7 d\)",
            id="refresh-ttl-above-its-maximum",
        ),
        pytest.param(
            {"key_retire_after": 7 * DAY}, {},
            r"key_retire_after=604800 \(7 d\) is shorter than refresh_ttl=1209600 \(14 d\)",
            id="retirement-before-the-refresh-lifetime",
        ),
        pytest.param(
            {"session_idle_timeout": 900}, {},
            r"session_idle_timeout=900 \(15 min\) is not longer than access_ttl=900 "
            r"\(15 min\): a client refreshes when its access token expires",
            id="idle-timeout-within-one-access-token",
        ),
        pytest.param(
            {"session_idle_timeout": 20 * DAY}, {},
            r"session_idle_timeout=1728000 \(20 d\) is longer than refresh_ttl=1209600",
            id="idle-timeout-beyond-the-refresh-lifetime",
        ),
        pytest.param(
            {"session_max_age": 600}, {"access_ttl": 900},
            r"session_max_age=600 \(10 min\) is not longer than access_ttl=900 \(15 min\): a "
            "session would end before its first access token expires",
            id="absolute-lifetime-within-one-access-token",
        ),
    ],
)
def test_issuer_refuses_lifetimes_the_policy_forbids(
    policy: dict[str, Any], options: dict[str, Any], message: str
) -> None:
    with refused(message):
        Issuer(config(), policy=TokenPolicy(**policy), **options)


def test_issuer_takes_lifetimes_within_the_policy() -> None:
    policy = TokenPolicy(max_access_ttl=900, max_refresh_ttl=14 * DAY, session_max_age=30 * DAY,
                         session_idle_timeout=7 * DAY, key_retire_after=14 * DAY)  # fmt: skip
    issuer = Issuer(config(), policy=policy)
    assert issuer.policy is policy
    assert Issuer(config()).policy is None


def test_issuer_refuses_a_policy_of_another_type() -> None:
    with refused("policy must be a jwt_middleware TokenPolicy"):
        Issuer(config(), policy={"session_max_age": DAY})  # type: ignore[arg-type]


def test_a_one_off_access_token_is_held_to_the_maximum() -> None:
    issuer = Issuer(config(), access_ttl=300, policy=TokenPolicy(max_access_ttl=600))
    assert issuer.access_token("svc", ttl=600)
    with refused(r"an access token of 3600 s is longer than the token policy's max_access_ttl"):
        issuer.access_token("svc", ttl=3600)


# --- the start time is the issuer's own ------------------------------------------------


def test_claims_cannot_set_the_session_start() -> None:
    """Security: auth_time is what the absolute lifetime counts from; only the issuer sets it."""
    issuer = Issuer(config(), policy=TokenPolicy(session_max_age=7 * DAY))
    with refused("custom claims cannot set auth_time: the issuer sets it at login"):
        issuer.issue("alice", claims={"auth_time": 4_102_444_800})
    loading = Issuer(config(), claims_loader=lambda subject: {"auth_time": 4_102_444_800})
    with refused("custom claims cannot set auth_time"):
        loading.issue("alice")
    assert Identity("alice", claims={"team": "a"}).claims == {"team": "a"}


# --- settings ------------------------------------------------------------------------


def test_every_policy_setting_is_a_known_lifecycle_setting() -> None:
    names = set(POLICY_SETTINGS.values())
    assert names <= set(LIFECYCLE_SETTINGS)
    assert names <= KNOWN_SETTINGS
    assert set(POLICY_SETTINGS) == {
        f for f in TokenPolicy.__dataclass_fields__ if not f.startswith("_")
    }


def test_settings_build_the_policy_and_the_issuer_takes_it() -> None:
    env = {
        "JWT_MAX_ACCESS_TTL": "900",
        "JWT_MAX_REFRESH_TTL": str(14 * DAY),
        "JWT_SESSION_MAX_AGE": str(30 * DAY),
        "JWT_SESSION_IDLE_TIMEOUT": 7 * DAY,  # app.config holds typed values
        "JWT_KEY_ROTATION_PERIOD": str(90 * DAY),
        "JWT_KEY_ACTIVATE_AFTER": "600",
        "JWT_KEY_RETIRE_AFTER": str(14 * DAY),
        "JWT_ACCESS_TTL": "600",
    }
    policy = token_policy_from_mapping(env)
    assert policy == TokenPolicy(900, 14 * DAY, 30 * DAY, 7 * DAY, 90 * DAY, 600, 14 * DAY)
    options = issuer_options_from_mapping(env)
    assert options == {"access_ttl": 600, "policy": policy}
    assert Issuer(config(), **options).policy == policy
    assert token_policy_from_mapping({"JWT_ACCESS_TTL": "600"}) is None
    assert "policy" not in issuer_options_from_mapping({"JWT_ACCESS_TTL": "600"})
    assert token_policy_from_mapping({"JWT_SESSION_MAX_AGE": ""}) is None


@pytest.mark.parametrize("value", ["7d", "1.5", "soon", True])
def test_a_policy_setting_of_the_wrong_form_is_named(value: Any) -> None:
    with refused(
        "^JWT_SESSION_MAX_AGE has a value of the wrong form: give a whole number of seconds"
    ):
        token_policy_from_mapping({"JWT_SESSION_MAX_AGE": value})


def test_clashes_from_settings_name_the_settings_with_their_prefix() -> None:
    with refused(
        r"^the token policy contradicts itself: APP_SESSION_IDLE_TIMEOUT=1209600 \(14 d\) is "
        r"longer than APP_SESSION_MAX_AGE=604800 \(7 d\)"
    ):
        token_policy_from_mapping(
            {"APP_SESSION_MAX_AGE": 7 * DAY, "APP_SESSION_IDLE_TIMEOUT": 14 * DAY}, "APP_"
        )
    options = issuer_options_from_mapping(
        {"JWT_REFRESH_TTL": str(14 * DAY), "JWT_KEY_RETIRE_AFTER": str(DAY)}
    )
    with refused(
        r"^the issuer's lifetimes contradict the token policy: JWT_KEY_RETIRE_AFTER=86400 "
        r"\(1 d\) is shorter than JWT_REFRESH_TTL=1209600 \(14 d\)"
    ):
        Issuer(config(), **options)
    with refused(r"^JWT_SESSION_IDLE_TIMEOUT must be a number of seconds from 1"):
        token_policy_from_mapping({"JWT_SESSION_IDLE_TIMEOUT": "0"})


def test_flask_refuses_a_contradictory_policy_at_init_app() -> None:
    app = Flask(__name__)
    app.config.update(
        JWT_SECRET=SECRET, JWT_ALGORITHMS="HS256", JWT_ISSUER=ISSUER, JWT_STORE_URL="memory://",
        JWT_ACCESS_TTL=900, JWT_MAX_ACCESS_TTL=300,
    )  # fmt: skip
    with refused(
        re.escape("JWT_ACCESS_TTL=900 (15 min) is above JWT_MAX_ACCESS_TTL=300 (5 min)")
    ):
        JWT(app, check_credentials=lambda u, p: None)
    app = Flask(__name__)
    app.config.update(
        JWT_SECRET=SECRET, JWT_ALGORITHMS="HS256", JWT_ISSUER=ISSUER, JWT_STORE_URL="memory://",
        JWT_SESSION_MAX_AGE=DAY, JWT_SESSION_IDLE_TIMEOUT=2 * DAY,
    )  # fmt: skip
    with refused("JWT_SESSION_IDLE_TIMEOUT=172800 .* is longer than JWT_SESSION_MAX_AGE=86400"):
        JWT(app, check_credentials=lambda u, p: None)
