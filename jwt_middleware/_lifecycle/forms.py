"""The body of a token route (login, refresh, logout), read and checked once for all
three frameworks.

Each integration builds a :class:`BodyReader` from the ``Content-Type`` and
``Content-Length`` headers (a declared length over the limit is refused before a
byte is read), feeds it the body as it arrives (a chunked body is refused as soon
as it passes the limit) and asks for the fields. Everything else is here:

* the limit: :data:`MAX_BODY` (16 KiB) unless the :class:`~jwt_middleware.TokenService`
  sets another; over it, 413;
* the media types: only ``application/json`` and
  ``application/x-www-form-urlencoded`` (a ``charset`` parameter, if any, must be
  UTF-8). ``text/plain``, ``multipart/form-data`` or no ``Content-Type`` at all is
  what a cross-site page can post without a CORS preflight (login CSRF): 400. An
  empty body needs no type (a cookie-mode refresh or a logout sends none);
* the body: strict UTF-8, JSON nested at most :data:`MAX_DEPTH` levels (checked
  before the decoder runs, so no ``RecursionError``), a JSON object, no duplicate
  member or form field (RFC 6749 §3.2), no ``NaN``, no lone surrogate, at most
  :data:`MAX_FIELDS` fields; anything else is 400;
* ``grant_type``: when sent, login takes ``password`` and refresh ``refresh_token``
  (400 ``unsupported_grant_type``);
* ``device`` (login, optional): the label the session is listed under (``"phone"``), a
  string of 1 to :data:`MAX_DEVICE` printable characters; anything else is 400.

Every refusal is a :class:`BodyError`: ``invalid_request`` (or
``unsupported_grant_type``) with a description that never quotes the body.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from ..stores._sessions import MAX_DEVICE

__all__ = [
    "FORM", "JSON", "MAX_BODY", "MAX_DEPTH", "MAX_DEVICE", "MAX_FIELDS", "BodyError", "BodyReader",
]

#: Largest token-route body read, in bytes (a login is well under 1 KiB).
MAX_BODY = 16 * 1024
#: Deepest JSON nesting accepted: the bodies are flat objects of strings.
MAX_DEPTH = 4
#: Most fields (JSON members or form parameters) in one body.
MAX_FIELDS = 32
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
#: ``grant_type`` each route takes when the client sends one (RFC 6749 §4.3, §6).
GRANTS = {"login": "password", "refresh": "refresh_token"}


class BodyError(Exception):
    """A body the token route refuses: 400 or 413 with an RFC 6749 error."""

    def __init__(self, status: int, description: str, error: str = "invalid_request") -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}

    @classmethod
    def too_large(cls, limit: int) -> BodyError:
        return cls(413, f"the body is larger than {limit} bytes")

    @classmethod
    def unreadable(cls) -> BodyError:
        return cls(400, "the body could not be read (the client sent less than it declared)")


def _bad(description: str) -> BodyError:
    return BodyError(400, description)


def media_type(content_type: str | None) -> tuple[str, str | None]:
    """``(type/subtype in lower case, charset or None)`` of a ``Content-Type`` value."""
    if not content_type:
        return "", None
    kind, *params = content_type.split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return kind.strip().lower(), charset


def _depth_ok(text: str) -> bool:
    """Whether no array or object in ``text`` is nested deeper than :data:`MAX_DEPTH`."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


class _Duplicate(ValueError):
    pass


def _members(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise _Duplicate(name)
        result[name] = value
    return result


def _no_constant(name: str) -> None:
    raise ValueError(name)


def _json_object(text: str) -> dict[str, Any]:
    if not _depth_ok(text):
        raise _bad(f"the JSON body is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, object_pairs_hook=_members, parse_constant=_no_constant)
    except _Duplicate:
        raise _bad("a parameter is sent more than once") from None
    except (ValueError, RecursionError):
        raise _bad("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise _bad("the JSON body must be an object")
    return value


def _form(text: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
        )
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8 text") from None
    except ValueError:
        raise _bad(f"the body has more than {MAX_FIELDS} fields") from None
    try:
        return _members(pairs)
    except _Duplicate:
        raise _bad("a parameter is sent more than once") from None


def parse_body(content_type: str | None, body: bytes) -> dict[str, Any]:
    """The top-level fields of a JSON object or form body (``{}`` for an empty body)."""
    if not body:
        return {}
    kind, charset = media_type(content_type)
    if kind not in (JSON, FORM):
        raise _bad(f"send the parameters as {JSON} or {FORM}")
    if charset not in (None, "utf-8", "utf8"):
        raise _bad("the body must be UTF-8 (charset=utf-8)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8 text") from None
    data = _json_object(text) if kind == JSON else _form(text)
    if len(data) > MAX_FIELDS:
        raise _bad(f"the body has more than {MAX_FIELDS} fields")
    for name, value in data.items():
        try:
            name.encode("utf-8")
            if isinstance(value, str):
                value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate such as "\ud800"
            raise _bad("the body is not UTF-8 text") from None
    return data


def declared_length(value: str | None, limit: int) -> int | None:
    """The ``Content-Length`` header as a number (``None`` when absent), refused when
    it is not a number (400) or over ``limit`` (413): checked before reading."""
    if value is None or value == "":
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        raise _bad("the Content-Length header is not a number")
    length = int(text)
    if length > limit:
        raise BodyError.too_large(limit)
    return length


def _check_device(value: object) -> None:
    """A login's ``device`` label: text, 1 to :data:`MAX_DEVICE` characters, nothing a
    terminal or a page would render as anything but the label (no control characters)."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_DEVICE or any(
        unicodedata.category(c)[0] == "C" for c in value
    ):
        raise _bad(f"device is a label of 1 to {MAX_DEVICE} printable characters")


class BodyReader:
    """Reads one token-route body: construct it (checks ``Content-Length``), call
    :meth:`feed` with each piece as it arrives, then :meth:`fields`."""

    def __init__(self, content_type: str | None, content_length: str | None, limit: int) -> None:
        self.content_type = content_type
        self.limit = limit
        self.declared = declared_length(content_length, limit)
        self._chunks: list[bytes] = []
        self._size = 0

    @property
    def wanted(self) -> int:
        """How many more bytes to ask for: one past the limit is enough to refuse."""
        return self.limit + 1 - self._size

    def feed(self, chunk: bytes) -> None:
        """One more piece of the body; 413 as soon as the body passes the limit."""
        self._size += len(chunk)
        if self._size > self.limit:
            raise BodyError.too_large(self.limit)
        self._chunks.append(chunk)

    def data(self) -> dict[str, Any]:
        """Every top-level field of the complete body (values of any JSON type)."""
        if self.declared is not None and self._size != self.declared:
            raise _bad("the body does not match its Content-Length")
        return parse_body(self.content_type, b"".join(self._chunks))

    def fields(self, route: str | None = None) -> dict[str, str]:
        """The string fields; for ``route`` ``"login"`` or ``"refresh"`` a ``grant_type``
        other than the route's is refused (400 ``unsupported_grant_type``)."""
        data = self.data()
        expected = GRANTS.get(route or "")
        grant = data.get("grant_type")
        if expected is not None and grant is not None and grant != expected:
            raise BodyError(
                400, f"this endpoint takes grant_type={expected}", "unsupported_grant_type"
            )
        if route == "login" and "device" in data:
            _check_device(data["device"])
        return {name: value for name, value in data.items() if isinstance(value, str)}
