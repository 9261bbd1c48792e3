"""``issuer.sessions`` and its parts without HTTP: what a login records (cleaned), DPoP
binding, async twins on SQLite, the audit events, the settings, and a store that is down."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest
from flask import Flask

from jwt_middleware import (
    ClientInfo,
    Config,
    ConfigurationError,
    Identity,
    Issuer,
    RevokedTokenError,
    ServiceUnavailableError,
    SessionEndpoints,
    SessionPolicy,
    TokenService,
    Verifier,
    issuer_options_from_mapping,
)
from jwt_middleware.audit import Audit, AuditEvent, AuditKind
from jwt_middleware.flask import JWT
from jwt_middleware.stores.redis import RedisStore
from tests.redis_server import free_port

SETTINGS = {
    "JWT_SECRET": "s" * 48,
    "JWT_ALGORITHMS": "HS256",
    "JWT_ISSUER": "https://issuer.test",
    "JWT_AUDIENCE": "api.test",
    "JWT_STORE_URL": "memory://",
}


def issuer(**extra: str) -> Issuer:
    env = {**SETTINGS, **extra}
    return Issuer(Config.from_env(environ=env), **issuer_options_from_mapping(env))


class Recorded:
    """An audit sink that keeps the events it was given."""

    blocking = False

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def emit(self, event: AuditEvent) -> None:
        self.events.append(event)

    def write(self, events: Sequence[AuditEvent]) -> None:
        self.events.extend(events)


# --- what is recorded -------------------------------------------------------------------


def test_client_info_drops_control_and_format_characters_and_cuts() -> None:
    info = ClientInfo(user_agent="Evil\x1b[31m\r\nAgent\u202e  x" + "y" * 300,
                      device="  my\tphone  ", address="2001:db8::1\x00")
    assert info.user_agent is not None
    assert info.user_agent.startswith("Evil[31m Agent x")
    assert len(info.user_agent) == 256
    assert not any(c in info.user_agent for c in "\x1b\r\n\u202e")
    assert (info.device, info.address) == ("my phone", "2001:db8::1")
    assert ClientInfo(user_agent="\x00\x01").user_agent is None


def test_the_address_is_kept_only_when_the_policy_records_it() -> None:
    client = ClientInfo(device="phone", address="192.0.2.1")
    off, on = issuer(), issuer(JWT_SESSION_RECORD_ADDRESS="true")
    off.issue("alice", client=client)
    on.issue("alice", client=client)
    assert [s.address for s in off.sessions.list("alice")] == [None]
    assert [s.address for s in on.sessions.list("alice")] == ["192.0.2.1"]


def test_a_dpop_bound_login_and_a_refresh_that_binds_are_shown_bound() -> None:
    found = issuer()
    found.issue("alice", jkt="thumb-at-login", client=ClientInfo(device="bound"))
    bearer = found.issue("alice", client=ClientInfo(device="upgraded"))
    by_device = {s.device: s for s in found.sessions.list("alice")}
    assert by_device["bound"].jkt == "thumb-at-login"
    assert by_device["upgraded"].jkt is None
    found.refresh(bearer.refresh_token, jkt="thumb-at-refresh")
    upgraded = {s.device: s for s in found.sessions.list("alice")}["upgraded"]
    assert upgraded.to_dict()["dpop_bound"] is True
    assert upgraded.jkt == "thumb-at-refresh"


# --- the API ---------------------------------------------------------------------------


def test_revoking_a_session_revokes_its_family_and_its_access_tokens() -> None:
    found = issuer()
    laptop, phone = found.issue("alice"), found.issue("alice")
    verifier = Verifier(found.config)
    phone_id = str(verifier.verify(phone.access_token).claims["fam"])
    assert found.sessions.revoke("bob", phone_id) is False, "not bob's"
    assert found.sessions.revoke("alice", "not a session id!") is False
    assert found.sessions.revoke("alice", phone_id) is True
    with pytest.raises(RevokedTokenError):
        verifier.verify(phone.access_token)
    with pytest.raises(RevokedTokenError):
        found.refresh(phone.refresh_token)
    assert verifier.verify(laptop.access_token).subject == "alice"
    assert found.sessions.revoke("alice", phone_id) is False, "already gone"


def test_the_async_twins_on_sqlite(tmp_path: Path) -> None:
    found = issuer(JWT_STORE_URL=f"sqlite:///{tmp_path}/t.db")

    async def main() -> None:
        kept = await found.aissue("alice", client=ClientInfo(device="laptop"))
        await found.aissue("alice", client=ClientInfo(device="phone"))
        await found.arefresh(kept.refresh_token)
        listed = await found.sessions.alist("alice")
        assert sorted(s.device or "" for s in listed) == ["laptop", "phone"]
        keep = next(s.id for s in listed if s.device == "laptop")
        assert await found.sessions.aget("alice", keep) is not None
        assert await found.sessions.aget("bob", keep) is None
        assert len(await found.sessions.arevoke_others("alice", keep)) == 1
        assert [s.id for s in await found.sessions.alist("alice")] == [keep]
        assert await found.sessions.arevoke("alice", keep) is True
        assert await found.sessions.alist("alice") == []

    asyncio.run(main())
    found.store.close()


def test_each_revoked_session_is_one_audit_event() -> None:
    sink = Recorded()
    found = Issuer(Config.from_env(environ=SETTINGS), audit=Audit(sinks=[sink]))
    current = found.issue("alice")
    for _ in range(2):
        found.issue("alice")
    keep = str(Verifier(found.config).verify(current.access_token).claims["fam"])
    ended = found.sessions.revoke_others("alice", keep)
    revoked = [e for e in sink.events if e.kind == AuditKind.REVOKED_SESSION]
    assert sorted(e.session or "" for e in revoked) == sorted(ended)
    assert {e.subject for e in revoked} == {"alice"}
    assert all(current.refresh_token not in repr(e) for e in revoked), "never a token"


# --- settings ------------------------------------------------------------------------------


def test_session_settings_are_read_and_checked() -> None:
    options = issuer_options_from_mapping({"JWT_SESSION_RECORD_ADDRESS": "yes",
                                           "JWT_SESSION_ADMIN_ROLE": "auditor"})
    assert options["sessions"] == SessionPolicy(record_address=True, admin_role="auditor")
    assert "sessions" not in issuer_options_from_mapping({})
    with pytest.raises(ConfigurationError, match="JWT_SESSION_RECORD_ADDRESS"):
        issuer_options_from_mapping({"JWT_SESSION_RECORD_ADDRESS": "maybe"})
    with pytest.raises(ConfigurationError, match="JWT_SESSION_ADMIN_ROLE"):
        issuer_options_from_mapping({"JWT_SESSION_ADMIN_ROLE": "  "})
    with pytest.raises(ConfigurationError, match="SessionPolicy"):
        Issuer(Config.from_env(environ=SETTINGS), sessions="admin")  # type: ignore[arg-type]


def test_flask_reads_the_session_settings_from_app_config() -> None:
    app = Flask(__name__)
    app.config.update(SETTINGS, JWT_SESSION_ADMIN_ROLE="auditor",
                      JWT_SESSION_RECORD_ADDRESS=True)
    JWT(app, check_credentials=lambda username, password: Identity(username))
    policy = JWT.token_issuer(app).sessions.policy
    assert (policy.admin_role, policy.record_address) == ("auditor", True)


# --- a store that is down ------------------------------------------------------------------


def test_a_store_that_is_down_is_503_never_a_list() -> None:
    down = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2, breaker_failures=0)
    config = dataclasses.replace(Config.from_env(environ=SETTINGS), store=down)
    found = Issuer(config)
    with pytest.raises(ServiceUnavailableError):
        found.sessions.list("alice")
    service = TokenService(found, lambda username, password: Identity(username))
    principal = Verifier(Config.from_env(environ=SETTINGS)).verify(
        Issuer(Config.from_env(environ=SETTINGS)).issue("alice").access_token)
    reply = SessionEndpoints(service).mine(principal)
    assert reply.status == 503
    assert ("retry-after", "5") in reply.headers
    assert "sessions" not in reply.body
    down.close()


def test_a_store_with_only_some_session_methods_is_one_without() -> None:
    """Half an implementation would fail a login or a refresh (a 500): it is ignored."""
    from jwt_middleware.stores import SessionInfo
    from jwt_middleware.stores.memory import MemoryStore
    from tests.stores.without_sessions import WithoutSessions

    class Half(WithoutSessions):
        def sessions(self, subject: str, now: float) -> list[SessionInfo]:
            return []

    config = dataclasses.replace(Config.from_env(environ=SETTINGS), store=Half(MemoryStore()))
    found = Issuer(config)
    assert found.sessions.enabled is False
    pair = found.issue("alice")
    assert found.refresh(pair.refresh_token).access_token
