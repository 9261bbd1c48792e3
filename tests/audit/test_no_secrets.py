"""Security: no token, signature or secret ever reaches an audit sink.

Events are built the way the package builds them, from real tokens (an issuer's pair,
verified; refused tokens through the request policy's ``on_event``), and, as misuse, with
the token itself passed as an id (redacted). Every sink's output is then searched: the log lines
(message and structured fields), the SQLite file with its WAL, the Redis stream.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis

from jwt_middleware import AuthError, Config, Issuer, Key
from jwt_middleware._sansio.authenticator import Authenticator, RequestInfo
from jwt_middleware.audit import Audit, AuditKind
from jwt_middleware.stores.memory import MemoryStore
from tests.redis_server import RedisServer

SECRET = "correct-horse-battery-staple-" + "s" * 40


def _searched(token: str) -> list[str]:
    """The token, each of its segments, and the secret."""
    return [token, *[part for part in token.split(".") if len(part) > 8], SECRET]


def test_no_token_or_secret_reaches_any_sink(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = Key.from_secret(SECRET, "HS256", kid="k1")
    config = Config(keys=key, issuer="https://issuer.example", audience="api",
                    store=MemoryStore())  # fmt: skip
    issuer = Issuer(config)
    pair = issuer.issue("alice", roles=["admin"])
    access = issuer.verifier.verify(pair.access_token)
    refresh = issuer.peek_refresh(pair.refresh_token)
    assert refresh is not None
    tampered = pair.access_token[:-4] + ("AAAA" if not pair.access_token.endswith("AAAA")
                                         else "BBBB")  # fmt: skip

    sqlite_path = tmp_path / "audit.db"
    prefix = "nosecret:"
    audit = Audit(url=f"sqlite:///{sqlite_path}")
    from jwt_middleware.audit import LogSink, RedisAuditLog

    stream = RedisAuditLog(redis_server.url, prefix=prefix)
    audit = Audit([*audit.sinks, LogSink(stream)])
    authenticator = Authenticator(issuer.verifier, on_event=audit.on_event)

    with caplog.at_level(logging.DEBUG):
        audit.emit(AuditKind.ISSUED, subject=access.subject, session=access.claims["fam"],
                   token_id=access.token_id, key_id=access.header.get("kid"))  # fmt: skip
        audit.emit(AuditKind.REFRESHED, subject=refresh.subject,
                   session=refresh.claims["fam"], token_id=refresh.token_id)  # fmt: skip
        for bad in (tampered, pair.refresh_token, "Bearer " + pair.access_token + "x"):
            with pytest.raises(AuthError):
                authenticator.authenticate(RequestInfo("GET", "/api", f"Bearer {bad}"))
        # Misuse: the token itself where an id goes (it is recognised and redacted; no
        # field could tell a secret from an id, and the package never passes one).
        audit.emit(AuditKind.LOGOUT, subject=pair.access_token, session=pair.refresh_token,
                   token_id=tampered, key_id=pair.refresh_token,
                   request_id="Bearer " + pair.access_token)  # fmt: skip
        assert audit.flush(10)

    outputs = {
        "log lines": caplog.text,
        "log fields": repr([getattr(r, "audit", None) for r in caplog.records]),
        "sqlite": b"".join(p.read_bytes() for p in tmp_path.glob("audit.db*")).decode("latin-1"),
    }
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    outputs["redis"] = repr(client.xrange(prefix + "audit"))
    client.close()
    assert "alice" in outputs["sqlite"]  # the ids did arrive
    assert "alice" in outputs["redis"]
    assert outputs["log lines"].count('"kind":"refused"') == 3
    for where, text in outputs.items():
        for needle in _searched(pair.access_token) + _searched(pair.refresh_token):
            assert needle not in text, f"{where} holds a token part or the secret"
        assert tampered not in text, where
    audit.close()
    assert sqlite_path.exists()
