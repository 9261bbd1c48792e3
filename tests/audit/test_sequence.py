"""The audit events of one login, refresh, reuse and logout, against the expected list;
the key ring's events; the token metrics of the same run."""

from __future__ import annotations

from pathlib import Path

import pytest

from jwt_middleware import (
    Config,
    Identity,
    Issuer,
    Key,
    KeyRing,
    RevokedTokenError,
    TokenPolicy,
    TokenService,
)
from jwt_middleware._sansio.authenticator import Authenticator, RequestInfo
from jwt_middleware.audit import Audit, AuditKind
from jwt_middleware.metrics import Metrics
from jwt_middleware.stores.memory import MemoryStore
from tests.audit.support import Collect

SECRET = "audit-sequence-secret-" + "x" * 40
NOW = 1_700_000_000.0



class Counted(Metrics):
    def __init__(self) -> None:
        self.events: list[str] = []

    def token_event(self, event: str) -> None:
        self.events.append(event)


def test_login_refresh_reuse_logout_gives_the_expected_events() -> None:
    """Through the token routes' service, as every framework runs them."""
    sink, counted = Collect(), Counted()
    audit = Audit([sink], clock=lambda: NOW)
    key = Key.from_secret(SECRET, "HS256", kid="k1")
    config = Config(keys=key, issuer="https://issuer.example", audience="api",
                    store=MemoryStore(), clock=lambda: NOW)  # fmt: skip
    issuer = Issuer(config, audit=audit, metrics=counted)
    service = TokenService(issuer, lambda user, password: Identity(user) if password == "pw"
                           else None)  # fmt: skip
    policy = Authenticator(issuer.verifier, on_event=audit.on_event)

    first = service.login("alice", "pw").body
    login = issuer.peek_refresh(first["refresh_token"])
    second = service.refresh(first["refresh_token"]).body
    rotated = issuer.peek_refresh(second["refresh_token"])
    assert login is not None
    assert rotated is not None
    assert service.refresh(first["refresh_token"]).status == 401  # reuse: session revoked
    assert service.refresh(second["refresh_token"]).status == 401  # the session has ended
    with pytest.raises(RevokedTokenError):
        policy.authenticate(RequestInfo("GET", "/api", f"Bearer {second['access_token']}"))
    third = service.login("alice", "pw").body
    session = issuer.peek_refresh(third["refresh_token"])
    assert session is not None
    access = issuer.verifier.verify(third["access_token"])
    assert service.logout(access, third["refresh_token"]).status == 200
    issuer.revoke_subject("alice")

    family, later = login.claims["fam"], session.claims["fam"]
    got = [(e.kind.value, e.outcome, e.subject, e.session, e.token_id, e.key_id, e.reason)
           for e in sink.events]  # fmt: skip
    assert got == [
        ("issued", "ok", "alice", family, login.token_id, "k1", None),
        ("refreshed", "ok", "alice", family, rotated.token_id, "k1", None),
        ("reuse_detected", "refused", "alice", family, login.token_id, None, "revoked"),
        ("refused", "refused", None, None, None, None, "revoked"),  # that refresh's answer
        ("refused", "refused", None, None, None, None, "revoked"),  # the ended session
        ("refused", "refused", None, None, None, None, "revoked"),  # its access token
        ("issued", "ok", "alice", later, session.token_id, "k1", None),
        ("logout", "ok", "alice", later, access.token_id, None, None),
        ("revoked_subject", "ok", "alice", None, None, None, None),
    ]
    assert counted.events == ["issued", "refreshed", "reuse_detected", "issued", "logout",
                              "revoked"]  # fmt: skip
    text = "\n".join(e.to_json() for e in sink.events)
    for pair in (first, second, third):
        for name in ("access_token", "refresh_token"):
            for part in pair[name].split("."):
                assert part not in text
    assert SECRET not in text


def test_the_key_ring_reports_publish_activate_retire(tmp_path: Path) -> None:
    sink = Collect()
    audit = Audit([sink], clock=lambda: NOW)
    clock = [NOW]
    ring = KeyRing(tmp_path / "ring", clock=lambda: clock[0], max_token_lifetime=100,
                   audit=audit)  # fmt: skip
    first = ring.rotate()
    second = ring.rotate(activate_after=10)
    clock[0] += 11
    ring.refresh()  # the second key signs from now on
    clock[0] += 101
    assert ring.prune() == [first.kid]
    got = [(e.kind, e.key_id) for e in sink.events]
    assert got == [
        (AuditKind.KEY_PUBLISHED, first.kid), (AuditKind.KEY_ACTIVATED, first.kid),
        (AuditKind.KEY_PUBLISHED, second.kid), (AuditKind.KEY_ACTIVATED, second.kid),
        (AuditKind.KEY_RETIRED, first.kid),
    ]


def test_an_issuer_with_a_token_policy_records_policy_loaded_first() -> None:
    sink = Collect()
    key = Key.from_secret(SECRET, "HS256", kid="k1")
    config = Config(keys=key, issuer="https://issuer.example", audience="api",
                    store=MemoryStore(), clock=lambda: NOW)  # fmt: skip
    Issuer(config, audit=Audit([sink], clock=lambda: NOW), policy=TokenPolicy())
    assert [(e.kind.value, e.key_id) for e in sink.events] == [("policy_loaded", "k1")]
    plain = Collect()
    Issuer(config, audit=Audit([plain], clock=lambda: NOW))
    assert plain.events == [], "no policy: nothing loaded to record"


def test_a_wrong_password_is_a_refused_event_without_the_username() -> None:
    sink = Collect()
    key = Key.from_secret(SECRET, "HS256", kid="k1")
    config = Config(keys=key, issuer="https://issuer.example", audience="api",
                    store=MemoryStore(), clock=lambda: NOW)  # fmt: skip
    issuer = Issuer(config, audit=Audit([sink], clock=lambda: NOW))
    service = TokenService(issuer, lambda user, password: Identity(user) if password == "pw"
                           else None)  # fmt: skip
    assert service.login("mallory@example.com", "hunter2").status == 401
    got = [(e.kind.value, e.outcome, e.subject, e.reason) for e in sink.events]
    assert got == [("refused", "refused", None, "invalid_credentials")]
    text = "\n".join(e.to_json() for e in sink.events)
    assert "mallory" not in text
    assert "hunter2" not in text
