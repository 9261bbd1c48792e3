"""The fast path never decides differently from the general path, in every framework.

Each test sends the same requests to two copies of an app (``fast_path_targets``):
one with the fast path, one with it turned off, and compares the answers (status,
JSON body, ``WWW-Authenticate``, what the route saw) and the reported events. Where
the fast path should take the request, it also checks that the general path was
not run; where it must not, that it was.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import Config, CookiePolicy, Key, KeyRing, KeySet, encode
from jwt_middleware.stores.memory import MemoryStore

from .fast_path_targets import (
    FRAMEWORKS,
    POLICY_FRAMEWORKS,
    Answer,
    Headers,
    Target,
    build,
    counting,
)

ISSUER = "https://issuer.test"


class Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key() -> Key:
    return Key.from_secret(secrets.token_bytes(32), "HS256", kid="k1")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(key: Key, clock: Clock) -> Config:
    return Config(keys=KeySet([key]), issuer=ISSUER, clock=clock, max_token_bytes=2048)


def token_for(key: Key, clock: Clock, **claims: Any) -> str:
    now = int(clock.now)
    body: dict[str, Any] = {"sub": "alice", "iss": ISSUER, "iat": now, "exp": now + 300}
    body.update(claims)
    return encode(body, key, headers={"kid": key.kid})


def pair(framework: str, config: Config, **options: Any) -> tuple[Target, Target]:
    return build(framework, config, **options), build(framework, config, fast=False, **options)


def same(
    fast: Target, general: Target, headers: Headers, monkeypatch: pytest.MonkeyPatch, **kw: Any
) -> tuple[Answer, int]:
    """Send to both; assert the same answer and events; return it and how many requests
    of the fast copy took the general path."""
    with counting(monkeypatch) as counter:
        answer = fast.send(headers, **kw)
    expected = general.send(headers, **kw)
    assert answer == expected, (fast.name, headers)
    assert fast.events == general.events, fast.name
    return answer, counter.calls


def ok(subject: str | None = "alice") -> tuple[int, Any]:
    return 200, {"subject": subject, "user": None}


# --- the common request ---------------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_plain_bearer_hit_skips_the_general_path(
    framework: str, config: Config, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, general = pair(framework, config)
    headers = [("Authorization", "Bearer " + token_for(key, clock))]
    for _ in range(3):  # a miss, then hits
        answer, general_calls = same(fast, general, headers, monkeypatch)
        assert (answer.status, answer.body) == ok()
        assert general_calls == 0


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_lowercase_scheme_is_accepted_by_both(
    framework: str, scheme: str, config: Config, key: Key, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, general = pair(framework, config)
    answer, general_calls = same(
        fast, general, [("Authorization", f"{scheme} {token_for(key, clock)}")], monkeypatch
    )
    assert (answer.status, answer.body) == ok()
    assert general_calls == 0


# --- what the fast path must not take, or must answer as the general path --------------

MALFORMED = {
    "empty-token": "Bearer ",
    "scheme-only": "Bearer",
    "glued": "BearerTOKEN",
    "two-spaces": "Bearer  TOKEN",
    "tab": "Bearer\tTOKEN",
    "leading-space": " Bearer TOKEN",
    "trailing-space": "Bearer TOKEN ",
    "two-tokens": "Bearer TOKEN TOKEN",
    "comma": "Bearer TOKEN,",
    "padding": "Bearer TOKEN=",
    "tilde": "Bearer TOKEN~",
    "bang-in-payload": "Bearer BANG",
    "latin-1": "Bearer \xe9TOKEN",
    "basic": "Basic dXNlcjpwYXNz",
    "dpop": "DPoP TOKEN",
    "garbage": "Bearer abc",
    "three-empty-segments": "Bearer ..",
    "bad-signature": "Bearer FORGED",
    "over-long-token": "Bearer " + "a" * 2049,
    "over-long-header": "Bearer " + "a" * 2100,
    "token-at-the-limit": "Bearer " + "a" * 2048,
}

STRIPPED = {"leading-space", "trailing-space", "two-spaces"}
NOT_BEARER = {"basic", "dpop", "glued", "tab"}


def expand(template: str, token: str, key: Key) -> str:
    head, payload, _ = token.split(".")
    forged = f"{head}.{payload}." + encode({"sub": "x"}, Key.from_secret(
        secrets.token_bytes(32), "HS256")).split(".")[2]
    bang = f"{head}.{payload[:5]}!{payload[6:]}.{token.split('.')[2]}"
    return template.replace("FORGED", forged).replace("BANG", bang).replace("TOKEN", token)


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_headers_answer_as_the_general_path(
    framework: str, case: str, config: Config, key: Key, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = token_for(key, clock)
    fast, general = pair(framework, config)
    for target in (fast, general):  # the valid token is in both caches
        assert target.send([("Authorization", "Bearer " + token)]).status == 200
    answer, _ = same(
        fast, general, [("Authorization", expand(MALFORMED[case], token, key))], monkeypatch
    )
    if case in STRIPPED:  # the general path strips spaces: a valid token
        assert (answer.status, answer.body) == ok()
    elif case in NOT_BEARER - {"dpop"} and framework == "starlette-backend":
        assert (answer.status, answer.body) == ok(None)  # no bearer token: anonymous there
        # ("DPoP TOKEN" is refused even there: DPoP is off, docs/dpop.md)
    else:
        assert answer.status == 401, case
        assert answer.www_authenticate is not None


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_two_authorization_headers_take_the_general_path(
    framework: str, config: Config, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = token_for(key, clock)
    fast, general = pair(framework, config)
    for headers in (
        [("Authorization", "Bearer " + token), ("Authorization", "Bearer " + token)],
        [("Authorization", "Bearer " + token), ("Authorization", "Basic dXNlcjpwYXNz")],
    ):
        answer, general_calls = same(fast, general, headers, monkeypatch)
        assert answer.status == 401
        assert answer.body["error"] == "invalid_request"
        if framework not in ("wsgi", "flask"):  # WSGI joins them into one value
            assert general_calls == 1


# --- what changes while a token is cached ------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_expired_while_cached(
    framework: str, config: Config, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, general = pair(framework, config)
    headers = [("Authorization", "Bearer " + token_for(key, clock))]
    assert same(fast, general, headers, monkeypatch)[0].status == 200
    clock.now += 301
    answer, _ = same(fast, general, headers, monkeypatch)
    assert answer.status == 401
    assert answer.body["error"] == "invalid_token"
    assert "expired" in answer.body["error_description"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_revoked_while_cached(
    framework: str, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryStore()
    config = Config(keys=KeySet([key]), issuer=ISSUER, clock=clock, store=store)
    fast, general = pair(framework, config)
    assert not fast.authenticators[0].sync_safe  # a store: the async adapters await it
    headers = [("Authorization", "Bearer " + token_for(key, clock, jti="j-1"))]
    for _ in range(2):
        answer, general_calls = same(fast, general, headers, monkeypatch)
        assert (answer.status, general_calls) == (200, 0)
    store.revoke_token("j-1", clock.now + 600)
    answer, _ = same(fast, general, headers, monkeypatch)
    assert answer.status == 401
    assert answer.body["error"] == "invalid_token"
    assert fast.events[-1].reason == general.events[-1].reason == "revoked"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_key_retired_while_cached(
    framework: str, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ring = KeyRing.load(tmp_path / "ring", clock=clock, max_token_lifetime=3600)
    old = ring.rotate(activate_after=0, retire_after=3600)
    config = Config(keys=ring, issuer=ISSUER, clock=clock)
    fast, general = pair(framework, config)
    token = token_for(old.key, clock, exp=int(clock.now) + 7200)
    headers = [("Authorization", "Bearer " + token)]
    for _ in range(2):
        answer, general_calls = same(fast, general, headers, monkeypatch)
        assert (answer.status, general_calls) == (200, 0)
    ring.rotate(activate_after=0, retire_after=3600)  # the old key retires in an hour
    clock.now += 3600
    answer, _ = same(fast, general, headers, monkeypatch)
    assert answer.status == 401
    assert answer.body["error"] == "invalid_token"
    assert fast.events[-1].reason == general.events[-1].reason == "unknown_key"


# --- the request policy ----------------------------------------------------------------------


@pytest.mark.parametrize("framework", POLICY_FRAMEWORKS)
def test_public_path_with_an_invalid_token(
    framework: str, config: Config, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, general = pair(framework, config, public_paths=["/public"])
    valid = token_for(key, clock)
    expired = token_for(key, clock, iat=int(clock.now) - 900, exp=int(clock.now) - 600)
    for token, subject in ((valid, "alice"), (expired, None), ("a.b.c", None)):
        answer, _ = same(
            fast, general, [("Authorization", "Bearer " + token)], monkeypatch, path="/public"
        )
        assert (answer.status, answer.body) == ok(subject)
    assert fast.events == []  # an ignored token is not reported
    answer, _ = same(fast, general, [("Authorization", "Bearer " + expired)], monkeypatch)
    assert answer.status == 401


@pytest.mark.parametrize("framework", POLICY_FRAMEWORKS)
def test_cookie_mode_csrf(
    framework: str, config: Config, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cookies = CookiePolicy(secure=False)
    fast, general = pair(framework, config, cookies=cookies)
    token = token_for(key, clock, csrf="c-1")
    cookie = ("Cookie", f"{cookies.access_name}={token}")
    cases: list[tuple[Headers, str, int]] = [
        ([cookie], "POST", 403),  # the cookie without the CSRF header
        ([cookie, (cookies.csrf_header, "wrong")], "POST", 403),
        ([cookie, (cookies.csrf_header, "c-1")], "POST", 200),
        ([cookie], "GET", 200),
        ([("Authorization", "Bearer " + token)], "POST", 200),  # a header needs no CSRF
        ([cookie, ("Authorization", "Basic dXNlcjpwYXNz")], "POST", 401),
    ]
    for headers, method, status in cases:
        answer, general_calls = same(fast, general, headers, monkeypatch, method=method)
        assert answer.status == status, (headers, method)
        if headers[0] == cookie:
            assert general_calls == 1  # a cookie is never the fast path's


@pytest.mark.parametrize("framework", ["asgi", "wsgi", "flask", "fastapi"])
def test_optional_mode(
    framework: str, config: Config, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, general = pair(framework, config, mode="optional")
    nothing, _ = same(fast, general, [], monkeypatch)
    assert (nothing.status, nothing.body) == ok(None)
    answer, calls = same(
        fast, general, [("Authorization", "Bearer " + token_for(key, clock))], monkeypatch
    )
    assert ((answer.status, answer.body), calls) == (ok(), 0)
    bad, _ = same(fast, general, [("Authorization", "Bearer a.b.c")], monkeypatch)
    assert bad.status == 401


@pytest.mark.parametrize("framework", POLICY_FRAMEWORKS)
def test_a_preflight_is_not_checked_on_either_path(
    framework: str, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, general = pair(framework, config)
    headers = [("Access-Control-Request-Method", "POST"), ("Authorization", "Bearer a.b.c")]
    answer, general_calls = same(fast, general, headers, monkeypatch, method="OPTIONS")
    assert (answer.status, general_calls) == (200, 1)


@pytest.mark.parametrize("framework", ["asgi", "starlette-backend", "fastapi", "flask"])
def test_a_user_that_is_gone_is_refused_after_the_fast_path(
    framework: str, config: Config, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = {"alice": "Alice"}
    fast, general = pair(framework, config, user_loader=lambda p: users.get(p.subject or ""))
    headers = [("Authorization", "Bearer " + token_for(key, clock))]
    answer, calls = same(fast, general, headers, monkeypatch)
    assert (answer.status, answer.body, calls) == (200, {"subject": "alice", "user": "Alice"}, 0)
    users.clear()
    answer, _ = same(fast, general, headers, monkeypatch)
    assert answer.status == 401
    assert fast.events[-1].reason == "unknown_user"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_flag_turns_the_fast_path_off(
    framework: str, config: Config, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a later check that needs the whole request (DPoP proofs, HTTPS) sets."""
    general = build(framework, config, fast=False)
    with counting(monkeypatch) as counter:
        answer = general.send([("Authorization", "Bearer " + token_for(key, clock))])
    assert (answer.status, counter.calls) == (200, 1)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_token_bound_to_a_key_takes_the_general_path(
    framework: str, config: Config, key: Key, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``cnf`` claim (DPoP's ``jkt``): its binding is checked where the general path
    checks it, so the fast path never answers for it, even from the cache."""
    fast, general = pair(framework, config)
    headers = [("Authorization", "Bearer " + token_for(key, clock, cnf={"jkt": "x" * 43}))]
    for _ in range(2):
        _, general_calls = same(fast, general, headers, monkeypatch)
        assert general_calls == 1
