"""Who may say what the client used: trusted proxies and the forwarding headers.

Behind a TLS-terminating proxy the app sees plain HTTP from the proxy; the proxy tells it
the client's scheme and host in ``Forwarded`` (RFC 7239: ``proto=``, ``host=``, ``for=``)
or in ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` / ``X-Forwarded-For``. Those headers
are read only when the connection's peer is in the :class:`TrustedProxies` (addresses or
networks, IPv4 and IPv6; the entry ``unix`` trusts a peer without an IP address, such as
a proxy on a Unix socket); from anyone else they are ignored, since any client can send
them. Through a chain of proxies the headers are walked from the right, one hop per
trusted proxy, and the walk stops at the first hop that is not a trusted proxy: what
that hop claims is never believed. ``Forwarded`` elements are hops (a hop's ``proto`` and
``host``, when given, replace those of the hop inside it); with ``X-Forwarded-*`` the
trusted hops are counted on ``X-Forwarded-For`` and the proto and host are taken at that
depth from the right (a single value, as most proxies write it, stands for the chain).
When a trusted proxy sends both families and they disagree on the scheme or host, the
request is refused: a proxy that sets one and passes the other through unchanged would
otherwise let the client choose. Malformed forwarding headers from a trusted proxy are a
400 (:class:`ForwardedHeaderError`); from anyone else they are ignored like the rest.

:func:`public_url` is the URL the client addressed (DPoP's ``htu``), by the same rule.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from typing import Any, ClassVar, NamedTuple, TypeAlias

from .._core.errors import AuthError, ConfigurationError

__all__ = [
    "Effective",
    "ForwardedHeaderError",
    "HostHeaderError",
    "TransportError",
    "TransportInfo",
    "TrustedProxies",
    "is_loopback",
    "public_url",
    "resolve",
]

Address: TypeAlias = "ipaddress.IPv4Address | ipaddress.IPv6Address"
Network: TypeAlias = "ipaddress.IPv4Network | ipaddress.IPv6Network"


class TransportError(AuthError):
    """400 ``invalid_request``: the request's transport or how it names itself is wrong."""

    status: ClassVar[int] = 400
    error: ClassVar[str] = "invalid_request"
    reason: ClassVar[str] = "bad_transport"
    default_description: ClassVar[str] = "the request cannot be accepted over this transport"


class HostHeaderError(TransportError):
    """400: the public URL was needed and the ``Host`` header is missing or malformed."""

    reason = "bad_host"
    default_description = "the Host header is missing or malformed"


class ForwardedHeaderError(TransportError):
    """400: a trusted proxy sent a malformed or self-contradicting forwarding header."""

    reason = "bad_forwarded"
    default_description = "the forwarding headers from the proxy are malformed"


# --- trusted proxies ------------------------------------------------------------------


@functools.lru_cache(maxsize=512)  # peers repeat (the proxy's, a client's): parse once
def _address(text: str) -> Address | None:
    """An IP address (IPv4-mapped IPv6 unmapped), or ``None``."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The peers whose forwarding headers are believed: addresses and networks.

    ``entries``: a comma-separated string or an iterable of strings (``"10.0.0.1"``,
    ``"10.0.0.0/8"``, ``"::1"``, ``"fd00::/8"``) or ``ipaddress`` objects, and ``unix``
    for a peer with no IP address. A network with host bits set (``10.0.0.1/8``) and a
    wildcard (``*``) are refused: write ``0.0.0.0/0, ::/0`` to trust every peer, and do
    so only when nothing but the proxy can reach the app.
    """

    __slots__ = ("networks", "unix")

    def __init__(
        self, entries: TrustedProxies | str | Iterable[Any] = (), *, label: str = "trusted_proxies"
    ) -> None:
        if isinstance(entries, TrustedProxies):
            self.networks: tuple[Network, ...] = entries.networks
            self.unix: bool = entries.unix
            return
        if isinstance(entries, str):
            entries = [e.strip() for e in entries.split(",") if e.strip()]
        elif not isinstance(entries, Iterable):
            raise ConfigurationError(f"{label} must be addresses or networks, comma-separated")
        networks: list[Network] = []
        self.unix = False
        for entry in entries:
            if isinstance(entry, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                networks.append(entry)
            elif isinstance(entry, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                networks.append(ipaddress.ip_network(entry))
            elif isinstance(entry, str) and entry.strip().lower() == "unix":
                self.unix = True
            elif isinstance(entry, str):
                networks.append(self._network(entry.strip(), label))
            else:
                raise ConfigurationError(f"{label}: each entry is an address or a network")
        self.networks = tuple(dict.fromkeys(networks))

    @staticmethod
    def _network(entry: str, label: str) -> Network:
        shown = repr(entry[:64])
        if entry == "*":
            raise ConfigurationError(
                f"{label}: '*' is not accepted; write 0.0.0.0/0, ::/0 to trust every peer "
                "(only when nothing but the proxy can reach the app)"
            )
        try:
            network = ipaddress.ip_network(entry)
        except ValueError as exc:
            if "host bits set" in str(exc):
                wider = ipaddress.ip_network(entry, strict=False)
                raise ConfigurationError(
                    f"{label}: {shown} has host bits set: write {wider} for the network, "
                    "or the address alone"
                ) from None
            raise ConfigurationError(
                f"{label}: {shown} is not an IP address or network (such as 10.0.0.1, "
                "10.0.0.0/8, ::1 or fd00::/8)"
            ) from None
        mapped = getattr(network.network_address, "ipv4_mapped", None)
        if mapped is not None and network.prefixlen >= 96:  # ::ffff:10.0.0.0/104
            return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
        return network

    def __bool__(self) -> bool:
        return bool(self.networks) or self.unix

    def __contains__(self, peer: object) -> bool:
        """Whether ``peer`` (an address as text) is trusted; ``None``, ``""`` or a socket
        path (a Unix socket's peer, as servers report it) only with the ``unix`` entry."""
        if not peer or not isinstance(peer, str):
            return self.unix and not peer
        address = _address(peer)
        if address is None:
            return self.unix and peer.startswith("/")
        return any(address in network for network in self.networks)

    def __repr__(self) -> str:
        shown = [str(n) for n in self.networks] + (["unix"] if self.unix else [])
        return f"TrustedProxies({', '.join(shown)!r})"


def is_loopback(peer: str | None) -> bool:
    address = _address(peer) if peer else None
    return address is not None and address.is_loopback


# --- header syntax ---------------------------------------------------------------------

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PAIR = re.compile(
    rf'[ \t]*({_TOKEN})=({_TOKEN}|"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*")'
)
_UNQUOTE = re.compile(r"\\(.)")
_HOST = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9._~-]+)(?::([0-9]{0,5}))?", re.ASCII)
_NODE = re.compile(
    r"(\[[0-9a-f:.]+\]|[0-9.]+|unknown|_[a-z0-9._-]+)(?::([0-9]{1,5}|_[a-z0-9._-]+))?"
)
_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}
_DEFAULT_PORT = {"http": "80", "https": "443"}


def _forwarded(text: str) -> list[dict[str, str]]:
    """RFC 7239 §4: elements separated by commas, pairs by semicolons; a parameter at
    most once per element. Raises ``ValueError`` when the header is malformed."""
    elements: list[dict[str, str]] = []
    current: dict[str, str] = {}
    at, end = 0, len(text)
    while True:
        while at < end and text[at] in " \t":
            at += 1
        if at < end and text[at] not in ",;":
            match = _PAIR.match(text, at)
            if match is None:
                raise ValueError("pair")
            name, value = match[1].lower(), match[2]
            if name in current:
                raise ValueError("repeated")
            current[name] = _UNQUOTE.sub(r"\1", value[1:-1]) if value[0] == '"' else value
            at = match.end()
            while at < end and text[at] in " \t":
                at += 1
        if at >= end or text[at] == ",":
            if current:
                elements.append(current)
            if at >= end:
                return elements
            current = {}
        elif text[at] != ";":
            raise ValueError("separator")
        at += 1


def _scheme(value: str, where: str) -> str:
    scheme = _SCHEMES.get(value.strip().lower())
    if scheme is None:
        raise ForwardedHeaderError(f"the {where} from the proxy names no http(s) scheme")
    return scheme


def _host(value: str, where: str, error: type[TransportError] = ForwardedHeaderError) -> str:
    """``host[:port]`` lower-cased, an empty port dropped; ``error`` when malformed."""
    match = _HOST.fullmatch(value.strip().lower())
    if (
        match is None
        or (match[1].startswith("[") and _address(match[1][1:-1]) is None)
        or (match[2] and int(match[2]) > 65535)
    ):
        raise error(f"the {where} is malformed")
    host, port = match.groups()
    return f"{host}:{port}" if port else host


def _node(value: str, where: str) -> str | None:
    """A hop's address from ``for=`` or ``X-Forwarded-For``: the IP as text, or ``None``
    for ``unknown`` and obfuscated names (never trusted)."""
    text = value.strip().lower()
    match = _NODE.fullmatch(text)
    name = match[1] if match is not None else text  # X-Forwarded-For: a bare IPv6 address
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    elif match is None and ":" not in name:
        name = ""
    if name == "unknown" or name.startswith("_"):
        return None
    address = _address(name)
    if address is None:
        raise ForwardedHeaderError(f"the {where} from the proxy is malformed")
    return str(address)


# --- the request as the client made it --------------------------------------------------


class TransportInfo(NamedTuple):
    """What the adapters read for this module: the connection and the raw headers (each
    header's lines joined with ``", "``; ``None`` when absent)."""

    peer: str | None  # the connection's peer address (ASGI client[0], REMOTE_ADDR)
    scheme: str  # the connection's scheme: http, https, ws or wss
    host: str | None = None  # the Host header
    forwarded: str | None = None
    x_forwarded_for: str | None = None
    x_forwarded_proto: str | None = None
    x_forwarded_host: str | None = None
    server: str | None = None  # host[:port] the server listens on: the fallback for Host
    path: str = "/"  # the path as sent, percent-encoded, without the query

    @property
    def has_forwarding(self) -> bool:
        return not (
            self.forwarded is None
            and self.x_forwarded_for is None
            and self.x_forwarded_proto is None
            and self.x_forwarded_host is None
        )


class Effective(NamedTuple):
    """The request as the client made it, as far as the trusted proxies say."""

    scheme: str  # "http" or "https"
    host: str | None  # host[:port] lower-cased, from the trusted headers or Host
    client: str | None  # the first hop that is not a trusted proxy (None: unknown)
    forwarded: bool  # a trusted peer's forwarding headers were read


def _walk_forwarded(text: str, proxies: TrustedProxies, peer: str | None) -> Effective:
    try:
        elements = _forwarded(text)
    except ValueError:
        raise ForwardedHeaderError("the Forwarded header from the proxy is malformed") from None
    scheme = host = None
    client = peer
    for element in reversed(elements):
        if "proto" in element:
            scheme = _scheme(element["proto"], "Forwarded header")
        if "host" in element:
            host = _host(element["host"], "Forwarded header from the proxy")
        node = element.get("for")
        client = None if node is None else _node(node, "Forwarded header")
        if client is None or client not in proxies:
            break
    return Effective(scheme or "", host, client, True)


def _walk_x_forwarded(info: TransportInfo, proxies: TrustedProxies) -> Effective:
    hops, client = 1, info.peer
    if info.x_forwarded_for is not None:
        for entry in reversed(info.x_forwarded_for.split(",")):
            client = _node(entry, "X-Forwarded-For header")
            if client is None or client not in proxies:
                break
            hops += 1
    scheme = host = None
    if info.x_forwarded_proto is not None:
        values = info.x_forwarded_proto.split(",")
        scheme = _scheme(values[max(0, len(values) - hops)], "X-Forwarded-Proto header")
    if info.x_forwarded_host is not None:
        values = info.x_forwarded_host.split(",")
        host = _host(values[max(0, len(values) - hops)], "X-Forwarded-Host header from the proxy")
    return Effective(scheme or "", host, client, True)


def resolve(info: TransportInfo, proxies: TrustedProxies) -> Effective:
    """The scheme, host and client of the request, the forwarding headers read only
    from a trusted peer. Raises :class:`ForwardedHeaderError` for malformed ones."""
    scheme = _SCHEMES.get(info.scheme.lower(), "http")
    if not info.has_forwarding or info.peer not in proxies:
        return Effective(scheme, None, info.peer, False)
    found = []
    if info.forwarded is not None:
        found.append(_walk_forwarded(info.forwarded, proxies, info.peer))
    if info.x_forwarded_proto is not None or info.x_forwarded_host is not None or not found:
        found.append(_walk_x_forwarded(info, proxies))
    if len(found) == 2:
        first, second = found
        if (first.scheme and second.scheme and first.scheme != second.scheme) or (
            first.host and second.host and first.host != second.host
        ):
            raise ForwardedHeaderError("the Forwarded and X-Forwarded-* headers disagree")
        scheme_given, host_given = first.scheme or second.scheme, first.host or second.host
        found = [first._replace(scheme=scheme_given, host=host_given)]
    (seen,) = found
    return seen._replace(scheme=seen.scheme or scheme)


def public_url(info: TransportInfo, proxies: TrustedProxies) -> str:
    """``scheme://host[:port]/path`` as the client addressed it (the default port dropped,
    no query): DPoP's ``htu``. Raises :class:`HostHeaderError` without a usable host."""
    seen = resolve(info, proxies)
    host = seen.host
    if host is None:
        raw = info.host if info.host is not None else info.server
        if not raw:
            raise HostHeaderError("the request has no Host header")
        host = _host(raw, "Host header", HostHeaderError)
    name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if name and port == _DEFAULT_PORT[seen.scheme]:
        host = name
    return f"{seen.scheme}://{host}{info.path or '/'}"
