"""The project's exception tree.

Three tiers, as in PyJWT:

* :class:`JWTMiddlewareError` is the root: catch it to catch everything.
* :class:`ConfigurationError` is raised at start-up, never while serving.
  :class:`AuthError` is raised while serving and maps onto an HTTP answer:
  :class:`AuthenticationError` (401) and :class:`AuthorizationError` (403).
  :class:`TokenError` is "the token is bad" (``invalid_token``).
* One leaf per reason below those, each with a stable ``reason`` code for logs
  and metrics.

Security: ``description`` is sent to the client. It is always a fixed,
short text chosen here, never the token, a claim value or key material.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import ClassVar

__all__ = [
    "AuthError",
    "AuthenticationError",
    "AuthorizationError",
    "ConfigurationError",
    "DPoPBindingError",
    "DecryptionError",
    "EncryptionRequiredError",
    "ExpiredTokenError",
    "FreshTokenRequiredError",
    "ImmatureTokenError",
    "InsufficientRoleError",
    "InsufficientScopeError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidDPoPProofError",
    "InvalidHeaderError",
    "InvalidIssuedAtError",
    "InvalidIssuerError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "JWTMiddlewareError",
    "MalformedTokenError",
    "MissingClaimError",
    "MissingTokenError",
    "RevokedTokenError",
    "ServiceUnavailableError",
    "SessionExpiredError",
    "TokenError",
    "TokenTooLargeError",
    "TokenTooOldError",
    "UnknownKeyError",
    "UseDPoPNonceError",
    "WrongTokenKindError",
]


class JWTMiddlewareError(Exception):
    """Root of every exception this package raises."""


class ConfigurationError(JWTMiddlewareError, ValueError):
    """A setting is invalid or unsafe. Raised when the configuration is built."""


def _quote(value: str) -> str:
    # RFC 7235 quoted-string: escape backslash and double quote, drop controls.
    cleaned = "".join(ch for ch in value if ch >= " " and ch != "\x7f")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AuthError(JWTMiddlewareError):
    """A request was refused. Carries everything needed to render the answer.

    ``status`` is the HTTP status, ``error`` the RFC 6750 error code,
    ``reason`` a stable machine-readable code for logs and metrics and
    ``description`` a short text that is safe to send to the client.
    """

    status: ClassVar[int] = 401
    error: ClassVar[str] = "invalid_token"
    reason: ClassVar[str] = "invalid_token"
    default_description: ClassVar[str] = "the access token is invalid"
    #: The whole ``WWW-Authenticate`` value when the request policy chose it (DPoP: the
    #: challenge of the scheme the request used, and the other scheme's alongside);
    #: ``None``: :meth:`www_authenticate`.
    challenge: str | None = None

    def __init__(self, description: str | None = None, *, scope: str | None = None) -> None:
        self.description = description or self.default_description
        self.scope = scope
        super().__init__(self.description)

    def www_authenticate(self, realm: str = "api") -> str:
        """The ``WWW-Authenticate`` header value (RFC 6750 section 3)."""
        parts = [f"realm={_quote(realm)}", f"error={_quote(self.error)}"]
        parts.append(f"error_description={_quote(self.description)}")
        if self.scope:
            parts.append(f"scope={_quote(self.scope)}")
        return "Bearer " + ", ".join(parts)

    def body(self) -> dict[str, str]:
        """The JSON body as a dict: ``error`` and ``error_description``."""
        return {"error": self.error, "error_description": self.description}

    def json_body(self) -> bytes:
        """The JSON body, encoded."""
        return json.dumps(self.body(), separators=(",", ":")).encode()

    def headers(self, realm: str = "api") -> list[tuple[str, str]]:
        """Response headers for this error, ``WWW-Authenticate`` included."""
        return [
            ("content-type", "application/json"),
            ("www-authenticate", self.challenge or self.www_authenticate(realm)),
            ("cache-control", "no-store"),
        ]


class AuthenticationError(AuthError):
    """401: no usable credentials."""


class InvalidRequestError(AuthenticationError):
    """401 ``invalid_request``: the ``Authorization`` header is malformed."""

    error = "invalid_request"
    reason = "malformed_header"
    default_description = "the authorization header is malformed"


class MissingTokenError(InvalidRequestError):
    """401 ``invalid_request``: no bearer token in the request."""

    reason = "missing_token"
    default_description = "a bearer token is required"


class FreshTokenRequiredError(AuthenticationError):
    """401 ``insufficient_user_authentication`` (RFC 9470): this route needs a token
    minted by a login, not by a refresh. The client should ask the user to log in again."""

    error = "insufficient_user_authentication"
    reason = "not_fresh"
    default_description = "a fresh login is required for this action"


class TokenError(AuthenticationError):
    """401 ``invalid_token``: the token is bad. Parent of one leaf per reason."""


class TokenTooLargeError(TokenError):
    reason = "token_too_large"
    default_description = "the token is too large"


class MalformedTokenError(TokenError):
    reason = "malformed"
    default_description = "the token is malformed"


class InvalidHeaderError(TokenError):
    reason = "invalid_header"
    default_description = "the token header is not acceptable"


class InvalidAlgorithmError(TokenError):
    reason = "invalid_algorithm"
    default_description = "the token algorithm is not allowed"


class UnknownKeyError(TokenError):
    reason = "unknown_key"
    default_description = "the token was signed with an unknown key"


class InvalidSignatureError(TokenError):
    reason = "bad_signature"
    default_description = "the token signature is invalid"


class DecryptionError(TokenError):
    """An encrypted token (JWE) that does not decrypt: another key, or a changed header,
    IV, ciphertext or tag. The library's own message is never shown."""

    reason = "decryption_failed"
    default_description = "the token could not be decrypted"


class EncryptionRequiredError(TokenError):
    """A plain (signed, not encrypted) token where encrypted ones are required."""

    reason = "encryption_required"
    default_description = "an encrypted token is required"


class ExpiredTokenError(TokenError):
    reason = "expired"
    default_description = "the token has expired"


class ImmatureTokenError(TokenError):
    reason = "not_yet_valid"
    default_description = "the token is not valid yet"


class InvalidIssuedAtError(TokenError):
    reason = "invalid_iat"
    default_description = "the token issue time is invalid"


class TokenTooOldError(TokenError):
    reason = "too_old"
    default_description = "the token is too old"


class InvalidIssuerError(TokenError):
    reason = "invalid_issuer"
    default_description = "the token issuer is not accepted"


class InvalidAudienceError(TokenError):
    reason = "invalid_audience"
    default_description = "the token audience is not accepted"


class MissingClaimError(TokenError):
    reason = "missing_claim"
    default_description = "the token lacks a required claim"


class InvalidClaimError(TokenError):
    reason = "invalid_claim"
    default_description = "a token claim is invalid"


class WrongTokenKindError(TokenError):
    reason = "wrong_token_kind"
    default_description = "this kind of token is not accepted here"


class RevokedTokenError(TokenError):
    reason = "revoked"
    default_description = "the token has been revoked"


class SessionExpiredError(TokenError):
    """401 ``invalid_token`` at a refresh: the session passed the token policy's absolute
    lifetime or idle timeout (``TokenPolicy``); it is revoked and the user logs in again."""

    reason = "session_expired"
    default_description = "the session has expired: log in again"


class DPoPBindingError(TokenError):
    """401 ``invalid_token``: the token is bound to a key (``cnf.jkt``) but came as a
    bearer token, or came with the DPoP scheme but is bound to no key (RFC 9449 section 7)."""

    reason = "dpop_binding"
    default_description = "this token is bound to a key: present it with DPoP"


#: The DPoP proof algorithms accepted by default, and named in a DPoP challenge.
DPOP_ALGORITHMS: tuple[str, ...] = ("ES256", "EdDSA", "PS256", "RS256")


class InvalidDPoPProofError(AuthenticationError):
    """401 ``invalid_dpop_proof`` (RFC 9449 section 7.1): the ``DPoP`` proof is missing,
    malformed, for another request, too old, replayed, or made with another key.

    ``algs`` are the proof algorithms the server accepts; the challenge names them
    (``WWW-Authenticate: DPoP error="invalid_dpop_proof", ..., algs="ES256 ..."``).
    """

    error = "invalid_dpop_proof"
    reason = "invalid_dpop_proof"
    default_description = "the DPoP proof is invalid"

    def __init__(
        self, description: str | None = None, *, algs: Iterable[str] = DPOP_ALGORITHMS
    ) -> None:
        super().__init__(description)
        self.algs = tuple(algs)

    def www_authenticate(self, realm: str = "api") -> str:
        """The ``DPoP`` challenge (RFC 9449 section 7.1), ``realm`` last."""
        parts = [f"error={_quote(self.error)}", f"error_description={_quote(self.description)}"]
        if self.algs:
            parts.append(f"algs={_quote(' '.join(self.algs))}")
        parts.append(f"realm={_quote(realm)}")
        return "DPoP " + ", ".join(parts)


class UseDPoPNonceError(InvalidDPoPProofError):
    """401 ``use_dpop_nonce`` (RFC 9449 sections 8 and 9): the proof lacks the server's
    nonce, or carries a stale one. ``nonce`` is a fresh one, sent in ``DPoP-Nonce``;
    the client signs a new proof with it and retries once."""

    error = "use_dpop_nonce"
    reason = "use_dpop_nonce"
    default_description = "the resource server requires a fresh DPoP nonce in the proof"

    def __init__(
        self,
        description: str | None = None,
        *,
        nonce: str = "",
        algs: Iterable[str] = DPOP_ALGORITHMS,
    ) -> None:
        super().__init__(description, algs=algs)
        self.nonce = nonce

    def headers(self, realm: str = "api") -> list[tuple[str, str]]:
        headers = super().headers(realm)
        if self.nonce:
            headers.append(("dpop-nonce", self.nonce))
        return headers


class AuthorizationError(AuthError):
    """403 ``insufficient_scope``: valid token, not enough rights."""

    status = 403
    error = "insufficient_scope"
    reason = "forbidden"
    default_description = "the token does not grant access to this resource"


class InsufficientRoleError(AuthorizationError):
    reason = "insufficient_role"
    default_description = "a required role is missing"


class InsufficientScopeError(AuthorizationError):
    reason = "insufficient_scope"
    default_description = "a required scope is missing"


class ServiceUnavailableError(AuthError):
    """503: the revocation store could not be asked, so the token was not accepted.

    Fail closed: a token that could not be checked is never let through.
    ``retry_after`` seconds go into the ``Retry-After`` header.
    """

    status = 503
    error = "temporarily_unavailable"
    reason = "store_unavailable"
    default_description = "token revocation cannot be checked right now; retry shortly"

    def __init__(self, description: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(description)
        self.retry_after = retry_after

    def headers(self, realm: str = "api") -> list[tuple[str, str]]:
        return [*super().headers(realm), ("retry-after", str(self.retry_after))]
