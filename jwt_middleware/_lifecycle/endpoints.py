"""Login, refresh and logout as framework-neutral request handlers.

Each integration parses its request (form or JSON body, cookies, the CSRF
header) and renders the :class:`Reply`; everything else is here, shared.

* ``login(username, password)``: the app's credential check returns an
  :class:`Identity` or ``None``. Success: 200 with the OAuth 2 token
  response (``access_token``, ``token_type``, ``expires_in``,
  ``refresh_token``) and ``Cache-Control: no-store``. Wrong credentials:
  401 ``invalid_grant``. In cookie mode the tokens go into HttpOnly cookies
  and are left out of the body (a script must never see them); the body
  keeps ``token_type``, ``expires_in`` and the ``csrf_token``. The issuer's
  ``claims_loader`` (see :class:`~jwt_middleware.Issuer`) adds its claims under
  the identity's; an :class:`~jwt_middleware.AuthError` it raises is the answer.
* ``refresh(token)``: the refresh token from the body, or in cookie mode
  from its cookie (then the CSRF header must match). A new pair; a reused
  token revokes its family and answers 401.
* ``logout(principal, token)``: revokes the access token and the family;
  clears the cookies in cookie mode. Always 200 (logging out twice is fine).

DPoP (``TokenService(..., dpop=DPoPPolicy("allowed"))``, RFC 9449 §5): each
route takes the request's ``DPoP`` header values (``proofs=``, all of them: two
are refused), its method and its public URL (``url=``, for ``htu``). A login
or refresh with a valid proof gets a pair bound to the proof's key
(``token_type: DPoP``); a bound refresh token needs a proof by its key, and so
does the logout of one (see ``_lifecycle.binding``). Refusals: 401
``invalid_dpop_proof``, or 400 ``use_dpop_nonce`` with ``DPoP-Nonce``. With
``required``, a login or refresh without a proof is refused; with ``off`` (or
no policy) the header is ignored. Cookie mode and DPoP do not combine (refused
when the service is built).

Bodies: each integration reads the body with a :class:`~jwt_middleware._lifecycle.forms.BodyReader`
from :meth:`TokenService.reader` (at most ``max_body`` bytes, 16 KiB by default: 413
over it; only JSON or an OAuth 2 form: 400 otherwise) and renders a refusal with
:func:`body_reply`.

Security: the credential check runs for unknown users too (the examples
hash a dummy password), so timing does not tell which usernames exist.
Rate-limit the login route in front of the app.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._core.dpop_policy import DPoPPolicy
from .._core.errors import (
    AuthError,
    ConfigurationError,
    InvalidDPoPProofError,
    MissingTokenError,
)
from .._core.principal import Principal
from .binding import (
    DPoPRequest,
    alogout_binding,
    atoken_proof,
    check_policy,
    dpop_refusal,
    logout_binding,
    nonce_headers,
    proof_jkt,
    token_proof,
)
from .cookies import CSRF_CLAIM, CookiePolicy
from .forms import MAX_BODY, BodyError, BodyReader
from .issue import Issuer, TokenPair
from .sessions import ClientInfo

__all__ = ["CredentialCheck", "Identity", "Reply", "TokenService", "body_reply"]

_NO_STORE = [("cache-control", "no-store"), ("pragma", "no-cache")]


@dataclass(frozen=True)
class Identity:
    """Who logged in: the token's subject, roles, scopes and extra claims."""

    subject: str
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    claims: Mapping[str, Any] = field(default_factory=dict)


CredentialCheck = Callable[[str, str], "Identity | Awaitable[Identity | None] | None"]


@dataclass
class Reply:
    """A response to render: status, JSON body, headers, ``Set-Cookie`` values."""

    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookies: list[str] = field(default_factory=list)


def body_reply(exc: BodyError) -> Reply:
    """The answer to a body the token route refuses (400 or 413, RFC 6749 error)."""
    return Reply(exc.status, exc.body(), list(_NO_STORE))


def error_reply(exc: AuthError, realm: str) -> Reply:
    """The RFC 6750 answer for an :class:`AuthError` as a :class:`Reply`."""
    headers = [h for h in exc.headers(realm) if h[0] != "content-type"]
    return Reply(exc.status, exc.body(), headers)


class TokenService:
    """Login, refresh and logout around an :class:`Issuer`.

    ``max_body`` is the largest request body the token routes read (bytes, 16 KiB
    by default); a bigger one is answered 413. ``dpop`` (a :class:`DPoPPolicy`)
    binds tokens to the client's key (module docstring); ``None`` or mode ``off``:
    plain bearer tokens, the ``DPoP`` header ignored.
    """

    def __init__(
        self,
        issuer: Issuer,
        check_credentials: CredentialCheck,
        *,
        cookies: CookiePolicy | None = None,
        max_body: int = MAX_BODY,
        dpop: DPoPPolicy | None = None,
    ) -> None:
        if not callable(check_credentials):
            raise TypeError("check_credentials must be a callable (username, password)")
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
            raise ConfigurationError("max_body must be a positive number of bytes")
        self.issuer = issuer
        self.check_credentials = check_credentials
        self.cookies = cookies
        self.realm = issuer.config.realm
        self.max_body = max_body
        #: The DPoP policy in force (``None``: off).
        self.dpop = check_policy(dpop, cookies)

    def reader(self, content_type: str | None, content_length: str | None) -> BodyReader:
        """A reader for one request body (raises :class:`BodyError` for a declared
        ``Content-Length`` that is not a number or is over ``max_body``)."""
        return BodyReader(content_type, content_length, self.max_body)

    def _refused(self, exc: AuthError) -> Reply:
        """An error as the token route's answer (DPoP ones: 401, or 400 for a nonce)."""
        self.issuer.events.refused(exc)  # the audit trail's refused, rate-limited
        if isinstance(exc, InvalidDPoPProofError):
            return Reply(*dpop_refusal(exc, self.realm, self.dpop))
        return error_reply(exc, self.realm)

    # --- login ------------------------------------------------------------------------

    def _prepare(self, identity: object) -> tuple[Identity, dict[str, Any], str | None] | Reply:
        """Wrong credentials as a reply, or what to issue: identity, claims, CSRF value."""
        if identity is None:
            self.issuer.events.wrong_credentials()  # the audit trail's refused (rate-limited)
            return Reply(
                401,
                {"error": "invalid_grant", "error_description": "wrong username or password"},
                [("www-authenticate", f'Bearer realm="{self.realm}"'), *_NO_STORE],
            )
        if not isinstance(identity, Identity):
            raise TypeError("check_credentials must return an Identity or None")
        claims = dict(identity.claims)
        csrf = None
        if self.cookies is not None:
            csrf = self.cookies.new_csrf()
            claims[CSRF_CLAIM] = csrf
        return identity, claims, csrf

    def _pair_reply(self, pair: TokenPair, csrf: str | None) -> Reply:
        if self.cookies is None or csrf is None:
            return Reply(200, pair.to_dict(), [*_NO_STORE, *nonce_headers(self.dpop)])
        body = {"token_type": pair.token_type, "expires_in": pair.expires_in, "csrf_token": csrf}
        cookies = self.cookies.set_cookies(
            pair.access_token, pair.refresh_token, csrf, pair.expires_in, pair.refresh_expires_in
        )
        return Reply(200, body, list(_NO_STORE), cookies)

    def login(
        self,
        username: str | None,
        password: str | None,
        *,
        proofs: Sequence[str] = (),
        method: str = "POST",
        url: str | None = None,
        client: ClientInfo | None = None,
    ) -> Reply:
        """Check credentials (a sync check) and issue a fresh pair (bound to the key of
        a valid DPoP proof among ``proofs``, the ``DPoP`` header values); ``client`` is
        what the session records (device label, user agent, address)."""
        if not username or not password:
            return self._missing("username and password are required")
        try:  # before the credential check: a refused proof costs no password hash
            proof = token_proof(self.dpop, proofs, method, url)
        except AuthError as exc:
            return self._refused(exc)
        found = self.check_credentials(username, password)
        if inspect.isawaitable(found):
            raise TypeError("an async credential check needs alogin()")
        prepared = self._prepare(found)
        if isinstance(prepared, Reply):
            return prepared
        identity, claims, csrf = prepared
        try:
            pair = self.issuer.issue(
                identity.subject,
                roles=identity.roles,
                scopes=identity.scopes,
                claims=claims,
                jkt=proof_jkt(proof),
                client=client,
            )
        except AuthError as exc:
            return self._refused(exc)
        return self._pair_reply(pair, csrf)

    async def alogin(
        self,
        username: str | None,
        password: str | None,
        *,
        proofs: Sequence[str] = (),
        method: str = "POST",
        url: str | None = None,
        client: ClientInfo | None = None,
    ) -> Reply:
        """Async login: an async check is awaited, a sync one runs in a worker thread
        (password hashing must not block the event loop)."""
        if not username or not password:
            return self._missing("username and password are required")
        try:
            proof = await atoken_proof(self.dpop, proofs, method, url)
        except AuthError as exc:
            return self._refused(exc)
        found: object = await asyncio.to_thread(self.check_credentials, username, password)
        if inspect.isawaitable(found):
            found = await found
        prepared = self._prepare(found)
        if isinstance(prepared, Reply):
            return prepared
        identity, claims, csrf = prepared
        try:
            pair = await self.issuer.aissue(
                identity.subject,
                roles=identity.roles,
                scopes=identity.scopes,
                claims=claims,
                jkt=proof_jkt(proof),
                client=client,
            )
        except AuthError as exc:
            return self._refused(exc)
        return self._pair_reply(pair, csrf)

    def _missing(self, text: str) -> Reply:
        return Reply(400, {"error": "invalid_request", "error_description": text}, list(_NO_STORE))

    # --- refresh ------------------------------------------------------------------------

    def _refresh_token(self, token: str | None, cookie_header: str | None) -> tuple[str, bool]:
        if token:
            return token, False
        if self.cookies is not None:
            value = self.cookies.parse(cookie_header).get(self.cookies.refresh_name)
            if value:
                return value, True
        raise MissingTokenError("a refresh token is required")

    def _csrf(self, principal: Principal | None, csrf: str | None) -> None:
        if principal is not None and self.cookies is not None:
            self.cookies.check_csrf(principal, "POST", csrf)

    def refresh(
        self,
        token: str | None,
        cookie_header: str | None = None,
        csrf: str | None = None,
        *,
        proofs: Sequence[str] = (),
        method: str = "POST",
        url: str | None = None,
    ) -> Reply:
        """Rotate the refresh token (from the body, or the cookie with CSRF); a bound
        one needs a DPoP proof by its key among ``proofs``."""
        try:
            raw, from_cookie = self._refresh_token(token, cookie_header)
            if from_cookie:
                self._csrf(self.issuer.peek_refresh(raw), csrf)
            proof = token_proof(self.dpop, proofs, method, url)
            pair = self.issuer.refresh(raw, jkt=proof_jkt(proof))
        except AuthError as exc:
            return self._refresh_failed(exc)
        return self._pair_reply(pair, csrf if from_cookie else None)

    async def arefresh(
        self,
        token: str | None,
        cookie_header: str | None = None,
        csrf: str | None = None,
        *,
        proofs: Sequence[str] = (),
        method: str = "POST",
        url: str | None = None,
    ) -> Reply:
        """Async form of :meth:`refresh`."""
        try:
            raw, from_cookie = self._refresh_token(token, cookie_header)
            if from_cookie:
                self._csrf(await self.issuer.apeek_refresh(raw), csrf)
            proof = await atoken_proof(self.dpop, proofs, method, url)
            pair = await self.issuer.arefresh(raw, jkt=proof_jkt(proof))
        except AuthError as exc:
            return self._refresh_failed(exc)
        return self._pair_reply(pair, csrf if from_cookie else None)

    def _refresh_failed(self, exc: AuthError) -> Reply:
        reply = self._refused(exc)
        if self.cookies is not None and exc.status == 401:
            reply.cookies = self.cookies.clear_cookies()
        return reply

    # --- logout ------------------------------------------------------------------------

    def _logout_token(
        self, token: str | None, cookie_header: str | None
    ) -> tuple[str | None, bool]:
        try:
            return self._refresh_token(token, cookie_header)
        except MissingTokenError:
            return None, False

    def _logged_out(self) -> Reply:
        cookies = self.cookies.clear_cookies() if self.cookies is not None else []
        return Reply(200, {"status": "logged out"}, list(_NO_STORE), cookies)

    def logout(
        self,
        principal: Principal | None,
        token: str | None = None,
        cookie_header: str | None = None,
        csrf: str | None = None,
        *,
        proofs: Sequence[str] = (),
        method: str = "POST",
        url: str | None = None,
        authorization: str | None = None,
    ) -> Reply:
        """Revoke the access token and its family (and the refresh token's); a bound
        refresh token needs a DPoP proof by its key, or a ``principal`` bound to that key
        that came as ``Authorization: DPoP`` (``authorization``, the header's value)."""
        raw, from_cookie = self._logout_token(token, cookie_header)
        try:
            if from_cookie:
                self._csrf(self.issuer.peek_refresh(raw), csrf)
            if self.dpop is not None:
                refresh = self.issuer.peek_refresh(raw)
                dpop = DPoPRequest(proofs=proofs, method=method, url=url)
                logout_binding(self.dpop, refresh, principal, dpop, authorization)
            self.issuer.logout(principal, raw)
        except AuthError as exc:
            return self._refused(exc)
        return self._logged_out()

    async def alogout(
        self,
        principal: Principal | None,
        token: str | None = None,
        cookie_header: str | None = None,
        csrf: str | None = None,
        *,
        proofs: Sequence[str] = (),
        method: str = "POST",
        url: str | None = None,
        authorization: str | None = None,
    ) -> Reply:
        """Async form of :meth:`logout`."""
        raw, from_cookie = self._logout_token(token, cookie_header)
        try:
            if from_cookie:
                self._csrf(await self.issuer.apeek_refresh(raw), csrf)
            if self.dpop is not None:
                refresh = await self.issuer.apeek_refresh(raw)
                dpop = DPoPRequest(proofs=proofs, method=method, url=url)
                await alogout_binding(self.dpop, refresh, principal, dpop, authorization)
            await self.issuer.alogout(principal, raw)
        except AuthError as exc:
            return self._refused(exc)
        return self._logged_out()
