"""A store written before sessions existed: a backend seen through the abstract methods
only, so that the issuer records no sessions (tests and ``benchmarks/bench_sessions.py``)."""

from __future__ import annotations

from jwt_middleware.stores import RotateOutcome, Store


class WithoutSessions(Store):
    """Delegates the abstract methods to ``inner``; everything else is Store's default."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    def revoke_token(self, jti: str, expires_at: float) -> None:
        self.inner.revoke_token(jti, expires_at)

    def revoke_subject(self, subject: str, before: float, expires_at: float) -> None:
        self.inner.revoke_subject(subject, before, expires_at)

    def start_family(self, family: str, jti: str, expires_at: float) -> None:
        self.inner.start_family(family, jti, expires_at)

    def rotate(self, family: str, jti: str, next_jti: str, expires_at: float, now: float,
               grace: float = 0.0) -> RotateOutcome:
        return self.inner.rotate(family, jti, next_jti, expires_at, now, grace)

    def revoke_family(self, family: str, expires_at: float) -> None:
        self.inner.revoke_family(family, expires_at)

    def is_revoked(self, jti: str | None, subject: str | None, issued_at: float | None,
                   family: str | None, now: float) -> bool:
        return self.inner.is_revoked(jti, subject, issued_at, family, now)

    def purge(self, now: float) -> int:
        return self.inner.purge(now)
