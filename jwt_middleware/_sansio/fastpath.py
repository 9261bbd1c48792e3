"""The fast path's side in the ASGI adapter and integrations: which request it may take.

The policy itself is :meth:`Authenticator.fast` / :meth:`Authenticator.afast` (see
:mod:`._sansio.authenticator` for why it never decides differently from the general
path). Here is what an ASGI caller needs around it: the one ``Authorization`` header of a
raw header list (none for several headers or a CORS preflight), only for ``http`` scopes
(a websocket reads its token from more places) and only while the authenticator's
``fast_path`` flag is on; and the call itself, without a coroutine when the verifier can
never wait (``Authenticator.sync_safe``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .authenticator import FALLBACK, Authenticator, Fast

__all__ = ["fast_authenticate", "fast_header", "single_authorization"]


def single_authorization(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The value of the one ``Authorization`` header among raw ASGI ``headers``, if
    the fast path may look at it: ``None`` when there is none, several, or the
    request is a CORS preflight (the general path does not check its token)."""
    found: bytes | None = None
    for name, value in headers:
        if name == b"authorization":
            if found is not None:
                return None
            found = value
        elif name == b"access-control-request-method":
            return None
    return None if found is None else found.decode("latin-1")


def fast_header(authenticator: Authenticator, scope: Mapping[str, Any]) -> str | None:
    """The one ``Authorization`` header of an ``http`` scope, when the fast path
    (``Authenticator.fast``) may look at it; else ``None`` (take the general path)."""
    if scope["type"] != "http" or not authenticator.fast_path:
        return None
    return single_authorization(scope["headers"])


async def fast_authenticate(authenticator: Authenticator, scope: Mapping[str, Any]) -> Fast:
    """The fast path for an ``http`` scope with one plain ``Authorization`` header, else
    :data:`FALLBACK` (take the general path)."""
    header = fast_header(authenticator, scope)
    if header is None:
        return FALLBACK
    if authenticator.sync_safe:
        return authenticator.fast(scope["method"], scope["path"], header)
    return await authenticator.afast(scope["method"], scope["path"], header)
