"""Reading a bearer token from an ``Authorization`` header value (RFC 6750 section 2.1)."""

from __future__ import annotations

import re

from .errors import InvalidRequestError, MissingTokenError

__all__ = ["extract_bearer"]

# b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def extract_bearer(authorization: str | bytes | None, *, max_length: int = 8192) -> str:
    """The token from ``Authorization: Bearer <token>``.

    The scheme is matched case-insensitively; exactly one token must follow.
    No header, or another scheme (``Basic``), raises :class:`MissingTokenError`;
    anything malformed or longer than ``max_length`` characters raises
    :class:`InvalidRequestError`. Both are 401 ``invalid_request``; nothing
    else is ever raised.
    """
    if not authorization:
        raise MissingTokenError()
    if len(authorization) > max_length + 16:
        raise InvalidRequestError("the authorization header is too long")
    if isinstance(authorization, bytes):
        value = authorization.decode("latin-1")
    elif isinstance(authorization, str):
        value = authorization
    else:
        raise InvalidRequestError()
    scheme, _, rest = value.strip(" \t").partition(" ")
    if scheme.lower() != "bearer":
        raise MissingTokenError()
    token = rest.strip(" \t")
    if not token:
        raise InvalidRequestError("the bearer token is empty")
    if _B64TOKEN.fullmatch(token) is None:
        raise InvalidRequestError("the authorization header must hold exactly one bearer token")
    if len(token) > max_length:
        raise InvalidRequestError("the bearer token is too long")
    return token
