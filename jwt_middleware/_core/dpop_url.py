"""The ``htu`` comparison of DPoP (RFC 9449 section 4.3): both URLs normalised first.

:func:`normalise_htu` applies RFC 3986's syntax-based normalisation (section 6.2.2: the
scheme and host lower-cased, percent-encodings in upper case and unreserved characters
decoded, dot segments removed) and scheme-based normalisation (section 6.2.3: the
default port dropped, an empty path made ``/``), and drops the query and the fragment,
which ``htu`` never covers. Anything else is compared as it is: a path differing in
case, a trailing slash or an encoded reserved character is another URL.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["normalise_htu"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")


def _percent(match: re.Match[str]) -> str:
    char = chr(int(match.group()[1:], 16))
    return char if char in _UNRESERVED else match.group().upper()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, for an absolute path."""
    segments = path.split("/")
    out: list[str] = []
    last = len(segments) - 1
    for i, segment in enumerate(segments):
        if segment in (".", ".."):
            if segment == ".." and len(out) > 1:
                out.pop()
            if i == last:
                out.append("")
            continue
        out.append(segment)
    return "/".join(out)


def normalise_htu(url: str) -> str:
    """``url`` as an ``htu`` is compared: ``scheme://host[:port]/path``, normalised.

    Raises :class:`ValueError` for what is not an absolute URL with a host (or has
    user information, or a port that is not a number from 0 to 65535).
    """
    if not isinstance(url, str):
        raise ValueError("a URL must be a string")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket
        raise ValueError("not a URL") from None
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc or "@" in parts.netloc:
        raise ValueError("not an absolute URL with a host")
    host = parts.hostname or ""
    if not host:
        raise ValueError("not an absolute URL with a host")
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # urllib's message would quote the port
        raise ValueError("the URL's port is not a number from 0 to 65535") from None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = parts.path
    if "%" in path:
        path = _PERCENT.sub(_percent, path)
    if "." in path:
        path = _remove_dot_segments(path)
    return f"{scheme}://{host}{path or '/'}"
