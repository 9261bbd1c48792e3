"""Issuing tokens: login pairs, refresh rotation with reuse detection, logout.

An :class:`Issuer` signs with the configured signing key (its ``kid`` in
the header) and a store keeps refresh families and revocations:

* ``issue(subject, roles=..., scopes=...)``: a login. A new refresh
  family; the access token is marked ``fresh``.
* ``refresh(refresh_token)``: a new pair; the presented refresh token is
  retired atomically. Presenting a retired one again revokes the whole
  family (RFC 9700 section 4.14) and answers 401. Of two concurrent
  refreshes of one token exactly one wins. ``refresh_grace`` (off by
  default) lets a client that retries present the token it just retired
  for that many seconds.
* ``logout(principal, refresh_token=None)``: revokes the access token's
  ``jti`` (kept until its ``exp``) and its refresh family.
* ``revoke_subject(subject)``: every token of the subject issued before
  now (password change, compromise).

Custom claims at login: ``Issuer(config, claims_loader=load)`` calls
``load(subject)`` at every login (``issue``/``aissue``, so at every
``TokenService`` login) and adds the mapping it returns to both tokens, as
flask-jwt-extended's ``additional_claims_loader`` does for
``create_access_token``. Claims passed to ``issue(claims=...)`` (an
:class:`~jwt_middleware.Identity`'s ``claims``) win over the loader's. A
refresh does not call it: the new pair carries the claims of the login, like
its roles and scopes (a changed claim takes effect at the next login, or at
once with ``revoke_subject``). The loader may not set the registered claims
(``iss``, ``sub``, ``exp``, ``jti``, ...), the roles claim, ``scope`` or
``csrf``: those come from the issuer and the :class:`Identity`. ``aissue``
awaits an async loader and runs a sync one in a worker thread; ``issue``
takes a sync one only.

Access tokens carry ``typ: at+jwt`` (RFC 9068), ``iss``, ``sub`` (always a
string), ``aud``, ``iat``, ``nbf``, ``exp`` (15 minutes by default), ``jti``,
roles and scopes, ``fresh`` and the family id ``fam``. Refresh tokens carry
``typ: refresh+jwt``, live 14 days by default, and name the issuer itself
as their audience, so a service that checks its own audience never takes
one for an access token even without looking at ``typ``.

DPoP (RFC 9449): ``issue(..., jkt=)`` and ``refresh(token, jkt=)`` take the key
thumbprint of a checked proof; both tokens then carry ``cnf.jkt``, ``token_type``
is ``DPoP``, and a bound refresh token needs a proof by that key (``_lifecycle.binding``).
``policy=TokenPolicy(...)``: TTL maxima, session lifetime and idle timeout (``limits``).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from .._core.claims import ACCESS_TYP, REFRESH, REFRESH_TYP
from .._core.config import Config
from .._core.encode import encode
from .._core.errors import ConfigurationError, RevokedTokenError
from .._core.jwe import issuer_sealers
from .._core.policy import TokenPolicy
from .._core.principal import Principal
from .._core.revocation import FAMILY_CLAIM, store_unavailable
from .._core.verify import Verifier
from ..stores import RotateOutcome, Store, StoreError
from . import limits
from .binding import bind, check_binding, rebind, token_type
from .cookies import CSRF_CLAIM
from .hooks import acall_hook, call_hook, check_hook
from .observe import issuer_events
from .pair import TokenPair
from .sessions import ClientInfo, SessionPolicy, Sessions

__all__ = ["ClaimsLoader", "Issuer", "TokenPair"]

#: ``claims_loader(subject) -> Mapping`` (an async one returns an awaitable of it).
ClaimsLoader = Callable[[str], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"]

# ``typ`` and ``token_use`` are kind markers: a custom one would contradict the header
# ``typ`` and make the verifier refuse the token (no marker overrides another).
_REGISTERED = frozenset(
    {"iss", "sub", "aud", "iat", "nbf", "exp", "jti", FAMILY_CLAIM, "fresh", "typ", "token_use"}
)


def _new_id() -> str:
    return secrets.token_urlsafe(18)


class Issuer:
    """Signs and renews tokens for one :class:`Config` (which needs a store and an issuer)."""

    def __init__(
        self,
        config: Config,
        *,
        access_ttl: int = 15 * 60,
        refresh_ttl: int = 14 * 24 * 3600,
        refresh_grace: float = 0.0,
        claims_loader: ClaimsLoader | None = None,
        encrypt_to: Any = None, audit: Any = None, metrics: Any = None,  # metrics: observe.py
        policy: TokenPolicy | None = None, sessions: SessionPolicy | None = None,
    ) -> None:
        if claims_loader is not None:
            check_hook(claims_loader, "claims_loader", "the subject (a str)")
        if not isinstance(config.store, Store):
            raise ConfigurationError(
                "the issuer needs a store for refresh families and revocations: "
                "set JWT_STORE_URL, for example sqlite:///tokens.db"
            )
        if not isinstance(config.issuer, str):
            raise ConfigurationError(
                "signing tokens needs exactly one issuer identifier: set JWT_ISSUER to "
                "this service's own identifier (the issuer setting)"
            )
        if not 0 < access_ttl <= 24 * 3600 or not access_ttl < refresh_ttl <= 366 * 24 * 3600:
            raise ConfigurationError(
                "access_ttl must be 1 s to 1 day and shorter than refresh_ttl (at most 1 year)"
            )
        if not 0 <= refresh_grace <= 60:
            raise ConfigurationError("refresh_grace must be 0 (off) to 60 seconds")
        self.config = config
        self.store: Store = config.store
        self.key = config.key_set.signing_key()
        self.issuer: str = config.issuer
        self.audience = config.audience
        self.access_ttl = int(access_ttl)
        self.refresh_ttl = int(refresh_ttl)
        self.refresh_grace = float(refresh_grace)
        self.policy = limits.issuer_policy(policy, self.access_ttl, self.refresh_ttl)
        self._clock = config.clock
        self.verifier = Verifier(config)
        self._refresh_verifier = Verifier(dataclasses.replace(config, audience=config.issuer))
        roles_paths = [p for p in config.roles_paths if "." not in p]
        self._roles_claim = roles_paths[0] if roles_paths else "roles"
        #: ``claims_loader(subject)``: extra claims for every login (``None``: none).
        self.claims_loader = claims_loader
        self.sessions = Sessions(self, sessions)  # one per refresh family (_lifecycle.sessions)
        # encrypt_to: an EncryptionKey (or KeyRing) access tokens are encrypted to (jwe.py).
        self._seal, self._seal_refresh = issuer_sealers(config, encrypt_to)
        self.events = issuer_events(audit, metrics, self.key.kid, policy=self.policy)

    # --- the claims hook ------------------------------------------------------------

    def _merged(self, found: object, claims: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """The loader's claims under the explicit ones; reserved names refused."""
        if not isinstance(found, Mapping) or not all(isinstance(k, str) for k in found):
            raise TypeError("claims_loader must return a mapping of claim names (str) to values")
        reserved = sorted((_REGISTERED | {self._roles_claim, "scope", CSRF_CLAIM}) & found.keys())
        if reserved:
            raise ConfigurationError(
                f"claims_loader cannot set {', '.join(reserved)}: the issuer sets the "
                "registered claims, and roles and scopes come from the Identity"
            )
        return {**found, **(claims or {})} if found else claims

    def _loaded(self, subject: str, claims: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if self.claims_loader is None:
            return claims
        return self._merged(call_hook(self.claims_loader, str(subject), "claims_loader"), claims)

    async def _aloaded(
        self, subject: str, claims: Mapping[str, Any] | None
    ) -> Mapping[str, Any] | None:
        if self.claims_loader is None:
            return claims
        return self._merged(await acall_hook(self.claims_loader, str(subject)), claims)

    # --- minting ------------------------------------------------------------------

    def _claims(
        self,
        subject: str,
        roles: Iterable[str],
        scopes: Iterable[str],
        extra: Mapping[str, Any] | None,
        now: int,
        ttl: int,
    ) -> dict[str, Any]:
        claims: dict[str, Any] = dict(extra or {})
        overlap = _REGISTERED & claims.keys()
        if overlap:
            raise ConfigurationError(f"custom claims cannot set {', '.join(sorted(overlap))}")
        claims.update(
            iss=self.issuer, sub=str(subject), iat=now, nbf=now, exp=now + ttl, jti=_new_id()
        )
        roles = sorted(set(roles))
        if roles:
            claims[self._roles_claim] = roles
        scopes = sorted(set(scopes))
        if scopes:
            claims["scope"] = " ".join(scopes)
        return claims

    def access_token(
        self,
        subject: str,
        *,
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (),
        claims: Mapping[str, Any] | None = None,
        fresh: bool = False,
        family: str | None = None,
        ttl: int | None = None,
        audience: str | None = None,
    ) -> str:
        """One access token (no refresh family unless ``family`` is given).

        ``audience`` overrides the configured one: a service token for another
        service names that service.
        """
        now = int(self._clock())
        ttl = limits.check_ttl(self.policy, ttl)
        body = self._claims(subject, roles, scopes, claims, now, ttl or self.access_ttl)
        aud = audience if audience is not None else self.audience
        if aud is not None:
            body["aud"] = aud if isinstance(aud, str) else list(aud)
        body["fresh"] = fresh
        if family is not None:
            body[FAMILY_CLAIM] = family
        return self._seal(encode(body, self.key, headers={"typ": ACCESS_TYP}))

    def _pair(
        self,
        subject: str,
        roles: Iterable[str],
        scopes: Iterable[str],
        extra: Mapping[str, Any] | None,
        *,
        fresh: bool,
        family: str,
        refresh_jti: str,
    ) -> TokenPair:
        roles, scopes = tuple(roles), tuple(scopes)
        access = self.access_token(
            subject, roles=roles, scopes=scopes, claims=extra, fresh=fresh, family=family
        )
        now = int(self._clock())
        body = self._claims(subject, roles, scopes, extra, now, self.refresh_ttl)
        body.update(aud=self.issuer, jti=refresh_jti)
        body[FAMILY_CLAIM] = family
        refresh = self._seal_refresh(encode(body, self.key, headers={"typ": REFRESH_TYP}))
        self.events.paired(fresh, subject, family, refresh_jti)
        return TokenPair(access, refresh, self.access_ttl, self.refresh_ttl, token_type(extra))

    # --- login ---------------------------------------------------------------------

    def issue(
        self,
        subject: str,
        *,
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (),
        claims: Mapping[str, Any] | None = None,
        jkt: str | None = None, client: ClientInfo | None = None,
    ) -> TokenPair:
        """A login: a fresh access token and the first refresh token of a new family
        (with the ``claims_loader``'s claims under ``claims``), bound to ``jkt`` if given."""
        claims = limits.start_session(bind(self._loaded(subject, claims), jkt), self._clock())
        family, jti = _new_id(), _new_id()
        try:
            self.sessions.start(family, jti, subject, jkt, client)
        except StoreError as exc:
            raise store_unavailable(exc) from None
        return self._pair(
            subject, roles, scopes, claims, fresh=True, family=family, refresh_jti=jti
        )

    async def aissue(
        self,
        subject: str,
        *,
        roles: Iterable[str] = (),
        scopes: Iterable[str] = (),
        claims: Mapping[str, Any] | None = None,
        jkt: str | None = None, client: ClientInfo | None = None,
    ) -> TokenPair:
        """Async form of :meth:`issue` (an async ``claims_loader`` is awaited)."""
        loaded = await self._aloaded(subject, claims)
        claims = limits.start_session(bind(loaded, jkt), self._clock())
        family, jti = _new_id(), _new_id()
        try:
            await self.sessions.astart(family, jti, subject, jkt, client)
        except StoreError as exc:
            raise store_unavailable(exc) from None
        return self._pair(
            subject, roles, scopes, claims, fresh=True, family=family, refresh_jti=jti
        )

    # --- refresh -------------------------------------------------------------------

    def _rotation(
        self, principal: Principal, jkt: str | None
    ) -> tuple[str, str, str, float, float]:
        family = principal.claims.get(FAMILY_CLAIM)
        if not isinstance(family, str) or principal.token_id is None:
            raise RevokedTokenError("the refresh token belongs to no session")
        check_binding(principal, jkt)  # before the store: a wrong key is not reuse
        now = self._clock()
        return family, principal.token_id, _new_id(), now + self.refresh_ttl, now

    def _after(
        self, principal: Principal, outcome: RotateOutcome, family: str, next_jti: str,
        jkt: str | None,
    ) -> TokenPair:
        if outcome is RotateOutcome.REUSED:
            self.events.reuse_detected(principal, family)
            raise RevokedTokenError("the refresh token was already used; the session is revoked")
        if outcome is not RotateOutcome.ROTATED:
            raise RevokedTokenError("the session has ended")
        extra = {
            k: v
            for k, v in principal.claims.items()
            if k not in _REGISTERED and k not in (self._roles_claim, "scope")
        }
        rebind(extra, jkt)
        return self._pair(
            principal.subject or "",
            principal.roles,
            principal.scopes,
            extra,
            fresh=False,
            family=family,
            refresh_jti=next_jti,
        )

    def refresh(self, refresh_token: str, *, jkt: str | None = None) -> TokenPair:
        """Rotate: a new pair for a current refresh token; reuse revokes the family. A
        bound token needs ``jkt`` (its proof's key thumbprint) equal to its ``cnf.jkt``."""
        principal = self._refresh_verifier.verify(refresh_token, kind=REFRESH)
        family, jti, next_jti, expires, now = self._rotation(principal, jkt)
        limits.end_if_expired(self.policy, self.store, principal, family, now, expires)
        try:
            outcome = self.sessions.rotate(principal, jkt, family, jti, next_jti, expires, now)
        except StoreError as exc:
            raise store_unavailable(exc) from None
        return self._after(principal, outcome, family, next_jti, jkt)

    async def arefresh(self, refresh_token: str, *, jkt: str | None = None) -> TokenPair:
        """Async form of :meth:`refresh`."""
        principal = await self._refresh_verifier.averify(refresh_token, kind=REFRESH)
        family, jti, next_jti, expires, now = self._rotation(principal, jkt)
        await limits.aend_if_expired(self.policy, self.store, principal, family, now, expires)
        try:
            outcome = await self.sessions.arotate(principal, jkt, family, jti, next_jti,
                                                  expires, now)
        except StoreError as exc:
            raise store_unavailable(exc) from None
        return self._after(principal, outcome, family, next_jti, jkt)

    # --- revocation ------------------------------------------------------------------

    @staticmethod
    def _logout_plan(
        principal: Principal | None, refresh: Principal | None
    ) -> tuple[list[tuple[str, float]], set[str]]:
        tokens: list[tuple[str, float]] = []
        families: set[str] = set()
        for p in (principal, refresh):
            if p is None:
                continue
            if p.token_id is not None and p.expires_at is not None:
                tokens.append((p.token_id, float(p.expires_at)))
            family = p.claims.get(FAMILY_CLAIM)
            if isinstance(family, str):
                families.add(family)
        return tokens, families

    def peek_refresh(self, refresh_token: str | None) -> Principal | None:
        """The verified refresh token, or ``None`` if it is absent or no longer valid."""
        if not refresh_token:
            return None
        try:
            return self._refresh_verifier.verify(refresh_token, kind=REFRESH)
        except Exception:  # an already dead refresh token needs no logout
            return None

    async def apeek_refresh(self, refresh_token: str | None) -> Principal | None:
        """Async form of :meth:`peek_refresh`."""
        if not refresh_token:
            return None
        try:
            return await self._refresh_verifier.averify(refresh_token, kind=REFRESH)
        except Exception:
            return None

    def logout(self, principal: Principal | None, refresh_token: str | None = None) -> None:
        """Revoke the access token and its refresh family (and ``refresh_token``'s)."""
        tokens, families = self._logout_plan(principal, refresh := self.peek_refresh(refresh_token))
        until = self._clock() + self.refresh_ttl
        try:
            for jti, exp in tokens:
                self.store.revoke_token(jti, exp)
            for family in families:
                self.store.revoke_family(family, until)
        except StoreError as exc:
            raise store_unavailable(exc) from None
        self.events.logged_out(principal, refresh, families)

    async def alogout(self, principal: Principal | None, refresh_token: str | None = None) -> None:
        """Async form of :meth:`logout`."""
        refresh = await self.apeek_refresh(refresh_token)
        tokens, families = self._logout_plan(principal, refresh)
        until = self._clock() + self.refresh_ttl
        try:
            for jti, exp in tokens:
                await self.store.arevoke_token(jti, exp)
            for family in families:
                await self.store.arevoke_family(family, until)
        except StoreError as exc:
            raise store_unavailable(exc) from None
        self.events.logged_out(principal, refresh, families)

    def revoke_subject(self, subject: str) -> None:
        """Revoke every token of ``subject`` issued before the current second."""
        now = self._clock()
        try:
            self.store.revoke_subject(str(subject), now, now + self.refresh_ttl)
        except StoreError as exc:
            raise store_unavailable(exc) from None
        self.events.subject_revoked(str(subject))

    async def arevoke_subject(self, subject: str) -> None:
        """Async form of :meth:`revoke_subject`."""
        now = self._clock()
        try:
            await self.store.arevoke_subject(str(subject), now, now + self.refresh_ttl)
        except StoreError as exc:
            raise store_unavailable(exc) from None
        self.events.subject_revoked(str(subject))
