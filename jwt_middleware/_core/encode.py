"""Signing a compact JWS with a :class:`Key` (the primitive the issuer builds on)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .jws import b64url_encode
from .keys import Key

__all__ = ["encode"]


def encode(claims: Mapping[str, Any], key: Key, *, headers: Mapping[str, Any] | None = None) -> str:
    """Sign ``claims`` with ``key``. The header gets the key's ``alg`` and ``kid``.

    ``headers`` adds header members (``typ``, for instance); ``alg`` cannot
    be overridden, so a key only ever signs with its pinned algorithm.
    """
    header: dict[str, Any] = {"alg": key.algorithm, "typ": "JWT"}
    if key.kid:
        header["kid"] = key.kid
    if headers:
        header.update({k: v for k, v in headers.items() if k != "alg"})
    segments = [
        b64url_encode(json.dumps(header, separators=(",", ":")).encode()),
        b64url_encode(json.dumps(dict(claims), separators=(",", ":")).encode()),
    ]
    signing_input = b".".join(segments)
    return (signing_input + b"." + b64url_encode(key.sign(signing_input))).decode("ascii")
