"""Compact JWS parsing: size, shape, strict base64url and strict JSON.

Pure functions, no key material. Everything here runs before the signature
check, on attacker-controlled bytes, so it is bounded and strict:

* base64url without padding (RFC 7515 section 2), canonical (unused
  trailing bits must be zero), no other characters;
* JSON objects only, no duplicate member names, no ``NaN``/``Infinity``,
  nesting at most :data:`MAX_DEPTH` levels (deeper is reported as malformed,
  the same on every Python: 3.13's parser no longer stops at the recursion limit).
"""

from __future__ import annotations

import binascii
import json
import re
import sys
from typing import Any

from .errors import MalformedTokenError, TokenTooLargeError

_TO_STD = bytes.maketrans(b"-_", b"+/")
_PAD = (b"", b"", b"==", b"=")
# The last character of a segment whose length is 2 or 3 modulo 4 carries
# unused bits; canonical encodings have them all zero.
_CANONICAL_LAST = (
    b"",
    b"",
    frozenset(b"AQgw"),
    frozenset(b"AEIMQUYcgkosw048"),
)
_STRICT = sys.version_info >= (3, 11)
_ALPHABET = re.compile(rb"[A-Za-z0-9_-]*").fullmatch


def b64url_decode(segment: bytes) -> bytes:
    """Decode one base64url segment strictly. Raises :class:`MalformedTokenError`."""
    rest = len(segment) & 3
    if rest == 1 or (rest and segment[-1] not in _CANONICAL_LAST[rest]):
        raise MalformedTokenError()
    if b"+" in segment or b"/" in segment or b"=" in segment:
        raise MalformedTokenError()
    try:
        if _STRICT:
            return binascii.a2b_base64(segment.translate(_TO_STD) + _PAD[rest], strict_mode=True)
        if _ALPHABET(segment) is None:  # pragma: no cover - Python 3.10 only
            raise MalformedTokenError()
        return binascii.a2b_base64(segment.translate(_TO_STD) + _PAD[rest])  # pragma: no cover
    except binascii.Error:
        raise MalformedTokenError() from None


def b64url_encode(data: bytes) -> bytes:
    """Encode bytes as unpadded base64url."""
    return binascii.b2a_base64(data, newline=False).translate(_FROM_STD).rstrip(b"=")


_FROM_STD = bytes.maketrans(b"+/", b"-_")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member")
    return obj


def _no_constants(name: str) -> Any:
    raise ValueError("non-finite number")


_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
_decode = _decoder.decode
_scan = getattr(_decoder, "scan_once")  # noqa: B009 - the C scanner, without decode()'s Python-level wrapping


#: Objects and arrays nested deeper than this make a header or claims set malformed.
MAX_DEPTH = 16


def _too_deep(obj: Any) -> bool:
    """Whether ``obj`` nests containers deeper than :data:`MAX_DEPTH` (no recursion)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = value.values() if type(value) is dict else value
        stack.extend((c, depth + 1) for c in children if type(c) is dict or type(c) is list)
    return False


def json_object(data: bytes) -> dict[str, Any]:
    """Parse a JSON object strictly. Raises :class:`MalformedTokenError`."""
    try:
        text = data.decode("utf-8")
        if text[:1] == "{" and text[-1:] == "}":
            # Compact JSON, as every issuer writes it: scan directly. The scan
            # must consume everything, or the document is not one object.
            obj, end = _scan(text, 0)
            if end != len(text):
                raise ValueError("trailing data")
        else:
            obj = _decode(text)
    except (ValueError, RecursionError, StopIteration):
        raise MalformedTokenError() from None
    if type(obj) is not dict:
        raise MalformedTokenError()
    # Cheap first: a document with few brackets cannot nest deeply.
    if text.count("[") + text.count("{") > MAX_DEPTH and _too_deep(obj):
        raise MalformedTokenError()
    return obj


def split(token: str | bytes, max_bytes: int) -> tuple[bytes, bytes, bytes]:
    """Check size and shape; return the three raw segments.

    The size cap is checked before anything else is done with the input.
    """
    try:
        size = len(token)
    except TypeError:  # None, a number: not a token (and never a bare TypeError)
        raise MalformedTokenError() from None
    if size > max_bytes:
        raise TokenTooLargeError()
    if isinstance(token, str):
        try:
            raw = token.encode("ascii")
        except UnicodeEncodeError:
            raise MalformedTokenError() from None
    elif isinstance(token, bytes):
        raw = token
    else:
        raise MalformedTokenError()
    parts = raw.split(b".")
    # An empty payload is a valid JWS (RFC 7515); a JWT's claims parse refuses it later.
    if len(parts) != 3 or not parts[0]:
        raise MalformedTokenError()
    return parts[0], parts[1], parts[2]
