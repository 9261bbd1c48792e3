"""DPoP on the resource side (RFC 9449 section 7): the request policy's part of it.

The app's :class:`~jwt_middleware.DPoPPolicy` sets the mode; :class:`ResourceDPoP` applies
it to each request the :class:`~jwt_middleware._sansio.authenticator.Authenticator` sees:

* ``Authorization: Bearer <token>`` or ``Authorization: DPoP <token>``, read by
  :func:`read_authorization` (the scheme case-insensitively, one token68 value);
* before the token is verified, :meth:`ResourceDPoP.admit`: with ``off`` the ``DPoP``
  scheme is refused (401 ``invalid_request``: the server checks no proofs, so it cannot
  take a bound token; the client learns it at once instead of being treated as
  anonymous); with ``required`` the ``Bearer`` scheme is refused
  (:class:`DPoPRequiredError`, 401 ``invalid_token`` with the ``DPoP`` challenge);
* after it is verified, :meth:`ResourceDPoP.check` (or ``acheck``): the downgrade
  refusal of :func:`~jwt_middleware._core.dpop.require_binding` in **every** mode, ``off``
  included (a token with ``cnf.jkt`` as ``Bearer``, or a token without one as ``DPoP``:
  401 ``invalid_token``); a ``cnf`` this server cannot check (no string ``jkt``) is
  refused too, never taken as a bearer token; then, for the ``DPoP`` scheme, the proof:
  exactly one ``DPoP`` header, checked by the policy's
  :class:`~jwt_middleware.DPoPVerifier` against the request's method, its public URL
  (:func:`~jwt_middleware._sansio.transport.scope_url` / ``environ_url``: forwarding
  headers believed from the trusted proxies only), the token (``ath``) and the token's
  ``cnf.jkt``;
* :meth:`ResourceDPoP.challenge` writes the refusal's ``WWW-Authenticate``: the error goes
  in the challenge of the scheme the request used; with ``allowed`` the other scheme's
  bare challenge follows in the same header value (``Bearer realm="api", error=...,
  DPoP algs="ES256 ...", realm="api"``; one value, since not every framework sends two
  header lines of one name); with ``required`` the ``DPoP`` challenge alone, with
  ``algs``; with ``off`` the bearer challenge as always. ``use_dpop_nonce`` answers 401
  with the nonce in ``DPoP-Nonce``.

Per route, :func:`dpop_required` is a guard: the principal must be bound (``cnf.jkt``).
Because a bound token passes only with a valid proof by its key and an unbound one never
as ``DPoP``, "bound" is exactly "this request was proven with DPoP". A route can ask for
more than its app (``allowed`` app, ``required`` route), never less: the middleware has
decided before the route is known.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._core.bearer import extract_bearer
from .._core.dpop import DPoPProof, DPoPVerifier, require_binding
from .._core.dpop_jws import REQUIRED
from .._core.dpop_policy import DPoPPolicy
from .._core.errors import (
    DPOP_ALGORITHMS,
    AuthError,
    ConfigurationError,
    DPoPBindingError,
    InvalidDPoPProofError,
    InvalidRequestError,
    MissingTokenError,
    _quote,
)
from .._core.guards import Guard
from .._core.principal import Principal
from .._lifecycle.binding import TRUSTED_PROXIES_KEY
from .transport import TrustedProxies, environ_url, scope_url

__all__ = [
    "DPOP_OFF",
    "DPoPGuard",
    "DPoPRequiredError",
    "ResourceDPoP",
    "dpop_required",
    "environ_proofs",
    "environ_public_url",
    "header_scheme",
    "read_authorization",
    "route_refusal",
    "scheme_of",
    "scope_proofs",
    "scope_public_url",
]

logger = logging.getLogger("jwt_middleware")

BEARER, DPOP = "bearer", "dpop"
#: ``Authorization: DPoP`` while the app's DPoP is ``off``.
DPOP_OFF = "DPoP is not enabled on this server (JWT_DPOP=off): present the token as Bearer"
#: The missing-token description where DPoP is required.
DPOP_MISSING = "a DPoP-bound access token is required: send Authorization: DPoP and a DPoP proof"
UNREADABLE = "the token is bound in a way this server cannot check"
_CNF = "cnf"
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class DPoPRequiredError(DPoPBindingError):
    """401 ``invalid_token`` with the ``DPoP`` challenge: the app (``JWT_DPOP=required``) or
    the route (``dpop_required``) takes DPoP-bound tokens only, and this one came as
    ``Bearer`` (or is not bound to a key)."""

    reason = "dpop_required"
    default_description = (
        "this resource takes DPoP-bound tokens only: present the token with DPoP and a proof"
    )


def read_authorization(header: str, *, max_length: int = 8192) -> tuple[str, str]:
    """(token, scheme) of ``Authorization: Bearer <token>`` or ``Authorization: DPoP
    <token>`` (the scheme ``"bearer"`` or ``"dpop"``). Any other scheme raises
    :class:`~jwt_middleware.MissingTokenError`, a malformed value
    :class:`~jwt_middleware.InvalidRequestError`, as for bearer tokens."""
    scheme, _, rest = header.strip(" \t").partition(" ")
    if scheme.lower() != DPOP:
        return extract_bearer(header, max_length=max_length), BEARER
    if len(header) > max_length + 16:
        raise InvalidRequestError("the authorization header is too long")
    token = rest.strip(" \t")
    if not token:
        raise InvalidRequestError("the DPoP access token is empty")
    if _TOKEN68.fullmatch(token) is None:
        raise InvalidRequestError("the authorization header must hold exactly one access token")
    if len(token) > max_length:
        raise InvalidRequestError("the access token is too long")
    return token, DPOP


def header_scheme(authorization: str | None) -> str | None:
    """``"dpop"`` or ``"bearer"`` for an ``Authorization`` value of that scheme, else
    ``None`` (none, another scheme, several headers)."""
    if not authorization:
        return None
    scheme = authorization.lstrip(" \t").partition(" ")[0].lower()
    return scheme if scheme in (BEARER, DPOP) else None


def scheme_of(principal: Principal | None) -> str | None:
    """The scheme a principal that passed the request policy came with: ``"dpop"`` when
    it is bound (only a proof by its key lets a bound token in), else ``"bearer"``."""
    if principal is None:
        return None
    return DPOP if principal.jkt is not None else BEARER


# --- reading the proof and the URL ---------------------------------------------------------


def scope_proofs(headers: Sequence[tuple[bytes, bytes]]) -> tuple[str, ...]:
    """Every ``DPoP`` header value of an ASGI scope (two or more are refused later)."""
    return tuple(value.decode("latin-1") for name, value in headers if name == b"dpop")


def environ_proofs(environ: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``DPoP`` header values of a WSGI environ. Servers join repeated headers with
    commas; no proof holds one, so a comma means several headers (refused later)."""
    value = environ.get("HTTP_DPOP")
    if not isinstance(value, str):
        return ()
    return tuple(part.strip(" \t") for part in value.split(","))


def _proxies(request: Mapping[str, Any]) -> TrustedProxies | None:
    proxies = request.get(TRUSTED_PROXIES_KEY)
    return proxies if isinstance(proxies, TrustedProxies) else None


def scope_public_url(scope: Mapping[str, Any]) -> str:
    """The URL the client addressed, for ``htu``: the trusted proxies an adapter recorded
    (``TRUSTED_PROXIES_KEY``), else those of the transport policy in the scope, else none."""
    return scope_url(scope, _proxies(scope))


def environ_public_url(environ: Mapping[str, Any]) -> str:
    """:func:`scope_public_url` for a WSGI environ."""
    return environ_url(environ, _proxies(environ))


# --- the policy ---------------------------------------------------------------------------


class ResourceDPoP:
    """An app's DPoP mode applied to requests (module docstring). ``policy=None`` is
    ``off``: no proof is checked, bound tokens are still refused as bearer tokens."""

    __slots__ = ("algorithms", "mode", "policy", "verifier")

    def __init__(self, policy: DPoPPolicy | None = None) -> None:
        if policy is None:
            policy = DPoPPolicy()
        if not isinstance(policy, DPoPPolicy):
            raise ConfigurationError("dpop must be a jwt_middleware DPoPPolicy")
        self.policy = policy
        #: ``"off"``, ``"allowed"`` or ``"required"``.
        self.mode: str = policy.mode
        self.verifier = policy.verifier
        #: The proof algorithms named in the ``DPoP`` challenge.
        self.algorithms: tuple[str, ...] = (
            self.verifier.algorithms if self.verifier is not None else DPOP_ALGORITHMS
        )

    def __repr__(self) -> str:
        return f"ResourceDPoP(mode={self.mode!r})"

    @property
    def required(self) -> bool:
        return self.mode == "required"

    def admit(self, scheme: str) -> None:
        """Before verifying: may a token come with ``scheme`` at all?"""
        if scheme == DPOP and self.verifier is None:
            raise InvalidRequestError(DPOP_OFF)
        if scheme == BEARER and self.mode == "required":
            raise DPoPRequiredError()

    def _needs_proof(self, principal: Principal, scheme: str) -> bool:
        """The downgrade refusal, in every mode; whether a proof must now be checked."""
        if _CNF in principal.claims and principal.jkt is None:
            raise DPoPBindingError(UNREADABLE)
        require_binding(principal.jkt, scheme)
        return scheme == DPOP

    def _proof(
        self, proofs: Sequence[str], method: str, url: Callable[[], str] | None
    ) -> tuple[DPoPVerifier, Sequence[str], str, str]:
        """(verifier, proofs, ``htm``, ``htu``) to check."""
        verifier = self.verifier
        if verifier is None:  # admit() refused the scheme already
            raise InvalidRequestError(DPOP_OFF)
        if not proofs:
            raise InvalidDPoPProofError(REQUIRED, algs=self.algorithms)
        if url is None:
            raise TypeError("checking a DPoP proof needs the request's URL (RequestInfo.url)")
        # A websocket handshake is a GET (the Starlette backend reports it as WEBSOCKET).
        return verifier, proofs, "GET" if method == "WEBSOCKET" else method, url()

    def check(
        self, principal: Principal, scheme: str, token: str,
        proofs: Sequence[str], method: str, url: Callable[[], str] | None,
    ) -> DPoPProof | None:
        """After verifying ``token`` (``principal``): the binding, then the proof for the
        ``DPoP`` scheme (``url()`` is called only then). ``None`` for a bearer token."""
        if not self._needs_proof(principal, scheme):
            return None
        verifier, proof, htm, htu = self._proof(proofs, method, url)
        return verifier.check(proof, method=htm, url=htu, access_token=token, jkt=principal.jkt)

    async def acheck(
        self, principal: Principal, scheme: str, token: str,
        proofs: Sequence[str], method: str, url: Callable[[], str] | None,
    ) -> DPoPProof | None:
        """Async form of :meth:`check` (the replay cache is awaited)."""
        if not self._needs_proof(principal, scheme):
            return None
        verifier, proof, htm, htu = self._proof(proofs, method, url)
        return await verifier.acheck(proof, method=htm, url=htu, access_token=token,
                                     jkt=principal.jkt)

    # --- the answer ---------------------------------------------------------------

    def _dpop_challenge(self, exc: AuthError | None, realm: str) -> str:
        parts: list[str] = []
        if exc is not None:
            parts += [f"error={_quote(exc.error)}", f"error_description={_quote(exc.description)}"]
            if exc.scope:
                parts.append(f"scope={_quote(exc.scope)}")
        parts += [f"algs={_quote(' '.join(self.algorithms))}", f"realm={_quote(realm)}"]
        return "DPoP " + ", ".join(parts)

    def challenge(
        self, exc: AuthError, realm: str, scheme: str | None, *, required: bool = False
    ) -> AuthError:
        """Set ``exc``'s ``WWW-Authenticate`` for this app (``required``: a route that
        takes DPoP only) and a request that came with ``scheme`` (``None``: no token)."""
        mode = "required" if required else self.mode
        dpop_error = isinstance(exc, (InvalidDPoPProofError, DPoPRequiredError))
        if isinstance(exc, InvalidDPoPProofError):
            exc.algs = self.algorithms
        if mode == "off" and not dpop_error:
            return exc  # the bearer challenge, as without DPoP
        if mode == "required" and type(exc) is MissingTokenError and (
            exc.description == MissingTokenError.default_description
        ):
            exc.description = DPOP_MISSING
        if mode == "required" or dpop_error or scheme == DPOP:
            value = self._dpop_challenge(exc, realm)
            if mode == "allowed":
                value += f", Bearer realm={_quote(realm)}"
        else:
            value = f"{exc.www_authenticate(realm)}, {self._dpop_challenge(None, realm)}"
        exc.challenge = value
        return exc


# --- per route --------------------------------------------------------------------------


class DPoPGuard(Guard):
    """The guard of :func:`dpop_required` (the integrations answer a missing token on its
    routes with the ``DPoP`` challenge alone)."""

    __slots__ = ()


def _check_bound(principal: Principal) -> None:
    if principal.jkt is None:
        raise DPoPRequiredError()


def dpop_required() -> DPoPGuard:
    """The route takes DPoP-bound tokens only (401 ``invalid_token``, ``DPoP`` challenge,
    for a bearer token; 401 ``invalid_request`` with the ``DPoP`` challenge for none).
    Needs the app's DPoP ``allowed`` or ``required``: with ``off`` no request can pass."""
    return DPoPGuard("dpop_required", _check_bound)


def route_refusal(
    dpop: ResourceDPoP, exc: AuthError, realm: str, principal: Principal | None,
    guard: Guard | None,
) -> AuthError:
    """A guard's (or a missing token's) refusal on a route, with the right challenge."""
    required = isinstance(guard, DPoPGuard)
    if required and dpop.mode == "off":
        logger.warning("dpop_required on a route of an app whose DPoP is off: every request "
                       "to it is refused (set JWT_DPOP=allowed or required)")
    return dpop.challenge(exc, realm, scheme_of(principal), required=required)
