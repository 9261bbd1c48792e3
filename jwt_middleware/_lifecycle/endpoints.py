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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._core.errors import AuthError, ConfigurationError, MissingTokenError
from .._core.principal import Principal
from .cookies import CSRF_CLAIM, CookiePolicy
from .forms import MAX_BODY, BodyError, BodyReader
from .issue import Issuer, TokenPair

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
    by default); a bigger one is answered 413.
    """

    def __init__(
        self,
        issuer: Issuer,
        check_credentials: CredentialCheck,
        *,
        cookies: CookiePolicy | None = None,
        max_body: int = MAX_BODY,
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

    def reader(self, content_type: str | None, content_length: str | None) -> BodyReader:
        """A reader for one request body (raises :class:`BodyError` for a declared
        ``Content-Length`` that is not a number or is over ``max_body``)."""
        return BodyReader(content_type, content_length, self.max_body)

    # --- login ------------------------------------------------------------------------

    def _prepare(self, identity: object) -> tuple[Identity, dict[str, Any], str | None] | Reply:
        """Wrong credentials as a reply, or what to issue: identity, claims, CSRF value."""
        if identity is None:
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
            return Reply(200, pair.to_dict(), list(_NO_STORE))
        body = {"token_type": pair.token_type, "expires_in": pair.expires_in, "csrf_token": csrf}
        cookies = self.cookies.set_cookies(
            pair.access_token, pair.refresh_token, csrf, pair.expires_in, pair.refresh_expires_in
        )
        return Reply(200, body, list(_NO_STORE), cookies)

    def login(self, username: str | None, password: str | None) -> Reply:
        """Check credentials (a sync check) and issue a fresh pair."""
        if not username or not password:
            return self._missing("username and password are required")
        found = self.check_credentials(username, password)
        if inspect.isawaitable(found):
            raise TypeError("an async credential check needs alogin()")
        prepared = self._prepare(found)
        if isinstance(prepared, Reply):
            return prepared
        identity, claims, csrf = prepared
        try:
            pair = self.issuer.issue(
                identity.subject, roles=identity.roles, scopes=identity.scopes, claims=claims
            )
        except AuthError as exc:
            return error_reply(exc, self.realm)
        return self._pair_reply(pair, csrf)

    async def alogin(self, username: str | None, password: str | None) -> Reply:
        """Async login: an async check is awaited, a sync one runs in a worker thread
        (password hashing must not block the event loop)."""
        if not username or not password:
            return self._missing("username and password are required")
        found: object = await asyncio.to_thread(self.check_credentials, username, password)
        if inspect.isawaitable(found):
            found = await found
        prepared = self._prepare(found)
        if isinstance(prepared, Reply):
            return prepared
        identity, claims, csrf = prepared
        try:
            pair = await self.issuer.aissue(
                identity.subject, roles=identity.roles, scopes=identity.scopes, claims=claims
            )
        except AuthError as exc:
            return error_reply(exc, self.realm)
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
        self, token: str | None, cookie_header: str | None = None, csrf: str | None = None
    ) -> Reply:
        """Rotate the refresh token (from the body, or the cookie with CSRF)."""
        try:
            raw, from_cookie = self._refresh_token(token, cookie_header)
            if from_cookie:
                self._csrf(self.issuer.peek_refresh(raw), csrf)
            pair = self.issuer.refresh(raw)
        except AuthError as exc:
            return self._refresh_failed(exc)
        return self._pair_reply(pair, csrf if from_cookie else None)

    async def arefresh(
        self, token: str | None, cookie_header: str | None = None, csrf: str | None = None
    ) -> Reply:
        """Async form of :meth:`refresh`."""
        try:
            raw, from_cookie = self._refresh_token(token, cookie_header)
            if from_cookie:
                self._csrf(await self.issuer.apeek_refresh(raw), csrf)
            pair = await self.issuer.arefresh(raw)
        except AuthError as exc:
            return self._refresh_failed(exc)
        return self._pair_reply(pair, csrf if from_cookie else None)

    def _refresh_failed(self, exc: AuthError) -> Reply:
        reply = error_reply(exc, self.realm)
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
    ) -> Reply:
        """Revoke the access token and its family (and the refresh token's)."""
        raw, from_cookie = self._logout_token(token, cookie_header)
        try:
            if from_cookie:
                self._csrf(self.issuer.peek_refresh(raw), csrf)
            self.issuer.logout(principal, raw)
        except AuthError as exc:
            return error_reply(exc, self.realm)
        return self._logged_out()

    async def alogout(
        self,
        principal: Principal | None,
        token: str | None = None,
        cookie_header: str | None = None,
        csrf: str | None = None,
    ) -> Reply:
        """Async form of :meth:`logout`."""
        raw, from_cookie = self._logout_token(token, cookie_header)
        try:
            if from_cookie:
                self._csrf(await self.issuer.apeek_refresh(raw), csrf)
            await self.issuer.alogout(principal, raw)
        except AuthError as exc:
            return error_reply(exc, self.realm)
        return self._logged_out()
