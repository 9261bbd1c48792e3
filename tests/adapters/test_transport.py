"""HTTPS and proxies, the pure parts: trusted proxies, forwarding headers, public URLs,
require_https and HSTS (``jwt_middleware._sansio.proxies`` and ``.transport``)."""

from __future__ import annotations

import asyncio
import ipaddress
import warnings
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jwt_middleware import AuthError, ConfigurationError, CookiePolicy
from jwt_middleware._core.settings import KNOWN_SETTINGS, TRANSPORT_SETTINGS, warn_unknown_settings
from jwt_middleware._sansio.transport import (
    TRANSPORT_KEY,
    ForwardedHeaderError,
    HostHeaderError,
    HTTPSRequiredError,
    TransportInfo,
    TransportPolicy,
    TrustedProxies,
    check_environ,
    check_scope,
    environ_url,
    hsts_start_response,
    info_from_environ,
    info_from_scope,
    public_url,
    resolve,
    scope_url,
    transport_policy_from_mapping,
    with_hsts,
)

PROXY = "10.0.0.1"
INNER = "10.0.0.2"
CLIENT = "203.0.113.9"
PROXIES = TrustedProxies("10.0.0.0/24, fd00::/8")


def info(peer: str | None = CLIENT, scheme: str = "http", **headers: Any) -> TransportInfo:
    headers.setdefault("host", "api.example")
    return TransportInfo(peer, scheme, **headers)


# --- trusted proxies ----------------------------------------------------------------------


def test_addresses_and_networks_ipv4_and_ipv6() -> None:
    proxies = TrustedProxies("10.0.0.1, 192.168.0.0/16 ,::1, fd00::/8")
    assert "10.0.0.1" in proxies
    assert "10.0.0.2" not in proxies
    assert "192.168.44.3" in proxies
    assert "::1" in proxies
    assert "fd00::1234" in proxies
    assert "fe80::1" not in proxies
    assert "2001:db8::1" not in proxies


def test_an_iterable_of_strings_and_ipaddress_objects() -> None:
    entries = ["10.0.0.0/8", ipaddress.ip_address("::1"), ipaddress.ip_network("fd00::/8")]
    proxies = TrustedProxies(entries)
    assert "10.9.9.9" in proxies
    assert "::1" in proxies
    assert "fd00::2" in proxies
    assert TrustedProxies(proxies).networks == proxies.networks


def test_an_ipv4_mapped_peer_matches_the_ipv4_network() -> None:
    assert "::ffff:10.0.0.7" in TrustedProxies("10.0.0.0/24")
    assert "10.0.0.7" in TrustedProxies("::ffff:10.0.0.0/120")


def test_a_peer_that_is_not_an_address_is_not_trusted() -> None:
    proxies = TrustedProxies("0.0.0.0/0, ::/0")
    for peer in (None, "", "testclient", "/run/app.sock", "10.0.0.1:80"):
        assert peer not in proxies


def test_unix_trusts_a_peer_without_an_address_only() -> None:
    proxies = TrustedProxies("unix")
    assert None in proxies
    assert "" in proxies
    assert "/run/nginx.sock" in proxies
    assert "10.0.0.1" not in proxies
    assert "testclient" not in proxies
    assert bool(proxies)
    assert not bool(TrustedProxies())


@pytest.mark.parametrize(
    ("entry", "hint"),
    [
        ("10.0.0.300", "not an IP address or network"),
        ("proxy.internal", "not an IP address or network"),
        ("10.0.0.0/33", "not an IP address or network"),
        ("10.0.0.1/8", "has host bits set: write 10.0.0.0/8"),
        ("*", "write 0.0.0.0/0, ::/0"),
    ],
)
def test_garbage_is_refused_at_start_up(entry: str, hint: str) -> None:
    with pytest.raises(ConfigurationError, match="trusted_proxies") as caught:
        TrustedProxies(f"10.0.0.1, {entry}")
    assert hint in str(caught.value)
    with pytest.raises(ConfigurationError, match=r"^JWT_TRUSTED_PROXIES") as caught:
        transport_policy_from_mapping({"JWT_TRUSTED_PROXIES": f"::1,{entry}"})
    assert hint in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_proxy_list_is_accepted_or_refused_clearly(text: str) -> None:
    try:
        proxies = TrustedProxies(text)
    except ConfigurationError as exc:
        message = str(exc)
    else:
        message = "trusted_proxies: accepted"
        networks = (ipaddress.IPv4Network, ipaddress.IPv6Network)
        assert all(isinstance(n, networks) for n in proxies.networks)
    assert message.startswith("trusted_proxies: ")


def test_an_entry_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="an address or a network"):
        TrustedProxies([10])
    with pytest.raises(ConfigurationError, match="addresses or networks"):
        TrustedProxies(10)  # type: ignore[arg-type]


# --- whose headers are read ---------------------------------------------------------------


def test_without_a_trusted_peer_the_transport_scheme_counts() -> None:
    assert resolve(info(scheme="https"), PROXIES).scheme == "https"
    assert resolve(info(scheme="wss"), PROXIES).scheme == "https"
    assert resolve(info(scheme="ws"), PROXIES).scheme == "http"


def test_forwarded_proto_from_an_untrusted_peer_is_ignored() -> None:
    """Security: any client can send X-Forwarded-Proto or Forwarded."""
    spoofed = info(x_forwarded_proto="https", forwarded="proto=https;host=evil.example")
    seen = resolve(spoofed, PROXIES)
    assert (seen.scheme, seen.host, seen.forwarded) == ("http", None, False)
    assert public_url(spoofed, PROXIES) == "http://api.example/"


def test_malformed_headers_from_an_untrusted_peer_are_ignored() -> None:
    garbage = info(forwarded="for=", x_forwarded_proto="gopher", x_forwarded_for="?")
    assert resolve(garbage, PROXIES).scheme == "http"


def test_x_forwarded_proto_and_host_from_a_trusted_peer() -> None:
    seen = resolve(
        info(PROXY, x_forwarded_proto="HTTPS", x_forwarded_host="API.Example:8443"), PROXIES
    )
    assert (seen.scheme, seen.host, seen.forwarded) == ("https", "api.example:8443", True)


def test_forwarded_from_a_trusted_peer() -> None:
    seen = resolve(
        info(PROXY, forwarded='for="203.0.113.9:4711";proto=https;host=api.example'), PROXIES
    )
    assert seen == ("https", "api.example", CLIENT, True)


def test_forwarded_without_proto_keeps_the_transport_scheme() -> None:
    seen = resolve(info(PROXY, scheme="https", forwarded=f"for={CLIENT}"), PROXIES)
    assert (seen.scheme, seen.client) == ("https", CLIENT)


def test_x_forwarded_for_alone_changes_no_scheme() -> None:
    seen = resolve(info(PROXY, x_forwarded_for=CLIENT), PROXIES)
    assert (seen.scheme, seen.client, seen.forwarded) == ("http", CLIENT, True)


# --- chains -------------------------------------------------------------------------------


def test_a_forwarded_chain_is_walked_through_trusted_hops() -> None:
    header = f"for={CLIENT};proto=https;host=api.example, for={INNER};proto=http;host=lb"
    seen = resolve(info(PROXY, forwarded=header), PROXIES)
    assert seen == ("https", "api.example", CLIENT, True)


def test_the_walk_stops_at_the_first_untrusted_hop() -> None:
    """Security: an element left of an untrusted hop was written by that hop (or the client)."""
    header = f"for={INNER};proto=https;host=evil.example, for={CLIENT};proto=http"
    seen = resolve(info(PROXY, forwarded=header), PROXIES)
    assert (seen.scheme, seen.host, seen.client) == ("http", None, CLIENT)


def test_a_client_cannot_forge_a_hop_with_x_forwarded() -> None:
    """Security: values a client prepends sit left of the trusted depth and are not read."""
    seen = resolve(
        info(
            PROXY,
            x_forwarded_for=f"{INNER}, {CLIENT}, {INNER}",
            x_forwarded_proto="https, http, http",
            x_forwarded_host="evil.example, api.example, lb",
        ),
        PROXIES,
    )
    assert (seen.scheme, seen.host, seen.client) == ("http", "api.example", CLIENT)


def test_an_x_forwarded_chain_takes_the_value_at_its_depth() -> None:
    seen = resolve(
        info(PROXY, x_forwarded_for=f"{CLIENT}, {INNER}", x_forwarded_proto="https, http"),
        PROXIES,
    )
    assert (seen.scheme, seen.client) == ("https", CLIENT)


def test_a_single_x_forwarded_proto_stands_for_the_chain() -> None:
    seen = resolve(
        info(PROXY, x_forwarded_for=f"{CLIENT}, {INNER}", x_forwarded_proto="https"), PROXIES
    )
    assert seen.scheme == "https"


def test_ipv6_hops() -> None:
    proxies = TrustedProxies("::1, fd00::/8")
    header = 'for="[2001:db8::7]:4711";proto=https, for="[fd00::2]"'
    seen = resolve(info("::1", forwarded=header), proxies)
    assert (seen.scheme, seen.client) == ("https", "2001:db8::7")
    seen = resolve(
        info("fd00::1", x_forwarded_for="2001:db8::7, [fd00::2]:80", x_forwarded_proto="https"),
        proxies,
    )
    assert (seen.scheme, seen.client) == ("https", "2001:db8::7")


def test_unknown_and_obfuscated_hops_end_the_walk() -> None:
    for node in ("unknown", "_hidden", '"_hidden:_port"'):
        seen = resolve(info(PROXY, forwarded=f"for={node};proto=https"), PROXIES)
        assert (seen.scheme, seen.client) == ("https", None)


def test_forwarded_and_x_forwarded_must_agree() -> None:
    agree = info(PROXY, forwarded="proto=https", x_forwarded_proto="https")
    assert resolve(agree, PROXIES).scheme == "https"
    for other in (
        {"forwarded": "proto=https", "x_forwarded_proto": "http"},
        {"forwarded": "host=api.example", "x_forwarded_host": "evil.example"},
    ):
        with pytest.raises(ForwardedHeaderError, match="disagree"):
            resolve(info(PROXY, **other), PROXIES)


# --- malformed headers from a trusted proxy -----------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"forwarded": "for=10.0.0.9 proto=https"},
        {"forwarded": "proto=https;proto=http"},
        {"forwarded": "proto=ftp"},
        {"forwarded": 'host="api example"'},
        {"forwarded": "for=proxy.internal"},
        {"forwarded": 'for="[not-v6]"'},
        {"forwarded": 'proto="https'},
        {"forwarded": "=https"},
        {"x_forwarded_proto": "gopher"},
        {"x_forwarded_for": "not-an-address"},
        {"x_forwarded_for": "203.0.113.9,,"},
        {"x_forwarded_host": "api.example:99999"},
        {"x_forwarded_host": "user@api.example"},
    ],
)
def test_malformed_forwarding_headers_from_a_trusted_proxy_are_a_400(headers: Any) -> None:
    with pytest.raises(ForwardedHeaderError) as caught:
        resolve(info(PROXY, **headers), PROXIES)
    error = caught.value
    assert isinstance(error, AuthError)
    assert (error.status, error.error, error.reason) == (400, "invalid_request", "bad_forwarded")
    assert "from the proxy" in error.description


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=60),
    st.sampled_from(["forwarded", "x_forwarded_for", "x_forwarded_proto", "x_forwarded_host"]),
)
def test_any_header_text_gives_an_answer_or_a_400(text: str, header: str) -> None:
    """Bad input of any kind is a clear 4xx, never a 500."""
    try:
        seen = resolve(info(PROXY, **{header: text}), PROXIES)
    except ForwardedHeaderError:
        return
    assert seen.scheme in ("http", "https")


# --- public URL (DPoP's htu) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "host", "url"),
    [
        ("https", "api.example:443", "https://api.example/orders"),
        ("http", "api.example:80", "http://api.example/orders"),
        ("https", "api.example:80", "https://api.example:80/orders"),
        ("https", "API.Example:8443", "https://api.example:8443/orders"),
        ("https", "api.example:", "https://api.example/orders"),
        ("https", "[::1]:443", "https://[::1]/orders"),
        ("http", "[::1]:8000", "http://[::1]:8000/orders"),
        ("wss", "127.0.0.1:443", "https://127.0.0.1/orders"),
    ],
)
def test_public_url_drops_the_default_port(scheme: str, host: str, url: str) -> None:
    assert public_url(TransportInfo(CLIENT, scheme, host, path="/orders"), PROXIES) == url


def test_public_url_behind_a_trusted_proxy() -> None:
    forwarded = info(
        PROXY, host="app:8000", forwarded="for=203.0.113.9;proto=https;host=api.example"
    )
    assert public_url(forwarded._replace(path="/a"), PROXIES) == "https://api.example/a"
    x_forwarded = info(PROXY, host="api.example", x_forwarded_proto="https")
    assert public_url(x_forwarded, PROXIES) == "https://api.example/"


def test_public_url_without_host_uses_the_server_address() -> None:
    assert public_url(TransportInfo(CLIENT, "https", server="10.1.1.1:443"), PROXIES) == (
        "https://10.1.1.1/"
    )


@pytest.mark.parametrize("host", [None, "", "api example", "api.example, other", "[zz]"])
def test_public_url_without_a_usable_host_is_a_400(host: str | None) -> None:
    with pytest.raises(HostHeaderError) as caught:
        public_url(TransportInfo(CLIENT, "https", host), PROXIES)
    assert (caught.value.status, caught.value.reason) == (400, "bad_host")


def test_scope_info_and_url() -> None:
    scope = {
        "type": "http",
        "scheme": "http",
        "path": "/a b",
        "raw_path": b"/a%20b",
        "query_string": b"x=1",
        "client": (PROXY, 5000),
        "server": ("127.0.0.1", 8000),
        "headers": [
            (b"host", b"app:8000"),
            (b"x-forwarded-for", CLIENT.encode()),
            (b"x-forwarded-for", INNER.encode()),
            (b"x-forwarded-proto", b"https"),
            (b"authorization", b"Bearer x"),
        ],
    }
    seen = info_from_scope(scope)
    assert seen.x_forwarded_for == f"{CLIENT}, {INNER}"
    assert (seen.peer, seen.path, seen.server) == (PROXY, "/a%20b", "127.0.0.1:8000")
    assert scope_url(scope, PROXIES) == "https://app:8000/a%20b"
    bare: dict[str, Any] = {
        "type": "websocket",
        "scheme": "wss",
        "path": "/ws/é",
        "headers": [],
        "client": None,
    }
    seen = info_from_scope(bare)
    assert (seen.peer, seen.path, seen.server) == (None, "/ws/%C3%A9", None)


def test_environ_info_and_url() -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "wsgi.url_scheme": "http",
        "REMOTE_ADDR": PROXY,
        "HTTP_HOST": "api.example",
        "HTTP_FORWARDED": f"for={CLIENT};proto=https",
        "SCRIPT_NAME": "/app",
        "PATH_INFO": "/a b",
        "SERVER_NAME": "0.0.0.0",
        "SERVER_PORT": "8000",
    }
    assert environ_url(environ, PROXIES) == "https://api.example/app/a%20b"
    environ["RAW_URI"] = "/app/a%20b?q=1"
    assert info_from_environ(environ).path == "/app/a%20b"
    del environ["HTTP_HOST"]
    assert info_from_environ(environ).server == "0.0.0.0:8000"


# --- require_https ------------------------------------------------------------------------

STRICT = TransportPolicy(require_https=True, trusted_proxies=PROXIES)


def test_a_token_over_plain_http_is_refused_with_a_400_naming_the_setting() -> None:
    with pytest.raises(HTTPSRequiredError) as caught:
        STRICT.check(info(), carries_token=True)
    error = caught.value
    assert (error.status, error.error, error.reason) == (400, "invalid_request", "https_required")
    assert "JWT_REQUIRE_HTTPS" in error.description
    assert 'error="invalid_request"' in error.www_authenticate()
    assert b"JWT_REQUIRE_HTTPS" in error.json_body()


def test_https_and_requests_without_a_token_pass() -> None:
    assert STRICT.check(info(scheme="https"), carries_token=True) is None
    assert STRICT.check(info(), carries_token=False) is None
    assert TransportPolicy().check(info(), carries_token=True) is None


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_may_use_http_for_development(peer: str) -> None:
    assert STRICT.check(info(peer), carries_token=True) is None
    strict = TransportPolicy(require_https=True, allow_loopback_http=False)
    with pytest.raises(HTTPSRequiredError):
        strict.check(info(peer), carries_token=True)


def test_a_loopback_peer_that_forwards_is_not_exempt() -> None:
    """Security: a local proxy not listed as trusted must not make every client loopback."""
    for header in ("x_forwarded_for", "x_forwarded_proto", "forwarded"):
        value = "https" if header == "x_forwarded_proto" else f"for={CLIENT}"
        if header == "x_forwarded_for":
            value = CLIENT
        with pytest.raises(HTTPSRequiredError):
            STRICT.check(info("127.0.0.1", **{header: value}), carries_token=True)


def test_a_trusted_loopback_proxy_is_judged_on_the_forwarded_scheme() -> None:
    policy = TransportPolicy(require_https=True, trusted_proxies="127.0.0.1")
    assert policy.check(info("127.0.0.1", x_forwarded_proto="https"), carries_token=True) is None
    with pytest.raises(HTTPSRequiredError):
        policy.check(info("127.0.0.1", x_forwarded_proto="http"), carries_token=True)
    with pytest.raises(HTTPSRequiredError):
        policy.check(info("127.0.0.1", forwarded=f"for={CLIENT};proto=http"), carries_token=True)
    with pytest.raises(HTTPSRequiredError):  # a trusted proxy that said nothing
        policy.check(info("127.0.0.1"), carries_token=True)


def test_https_forwarded_by_a_trusted_proxy_is_accepted() -> None:
    assert STRICT.check(info(PROXY, x_forwarded_proto="https"), carries_token=True) is None
    with pytest.raises(HTTPSRequiredError):
        STRICT.check(info(CLIENT, x_forwarded_proto="https"), carries_token=True)


def test_malformed_headers_are_read_only_when_needed() -> None:
    bad = info(PROXY, forwarded="proto=https;;proto=")
    assert STRICT.check(bad, carries_token=False) is None  # nothing to decide
    with pytest.raises(ForwardedHeaderError):
        STRICT.check(bad, carries_token=True)
    with pytest.raises(ForwardedHeaderError):
        TransportPolicy(hsts_max_age=60, trusted_proxies=PROXIES).check(bad, carries_token=False)


# --- HSTS ---------------------------------------------------------------------------------


def test_hsts_over_https_only() -> None:
    policy = TransportPolicy(hsts_max_age=31536000, trusted_proxies=PROXIES)
    assert policy.hsts == "max-age=31536000"
    assert policy.check(info(scheme="https"), carries_token=False) == "max-age=31536000"
    assert policy.check(info(), carries_token=True) is None  # RFC 6797 §7.2
    assert policy.check(info(PROXY, x_forwarded_proto="https"), carries_token=False) is not None
    assert policy.check(info(CLIENT, x_forwarded_proto="https"), carries_token=False) is None


def test_hsts_values() -> None:
    assert TransportPolicy().hsts is None
    assert TransportPolicy(hsts_max_age=0).hsts == "max-age=0"
    both = TransportPolicy(hsts_max_age=600, hsts_include_subdomains=True)
    assert both.hsts == "max-age=600; includeSubDomains"
    assert both.active
    assert TransportPolicy(require_https=True).active
    assert not TransportPolicy(trusted_proxies="10.0.0.1").active


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"require_https": "yes"}, "require_https must be true or false"),
        ({"allow_loopback_http": 1}, "allow_loopback_http must be true or false"),
        ({"hsts_max_age": -1}, "hsts_max_age must be a whole number"),
        ({"hsts_max_age": 1.5}, "hsts_max_age must be a whole number"),
        ({"hsts_max_age": True}, "hsts_max_age must be a whole number"),
        ({"hsts_include_subdomains": True}, "hsts_include_subdomains needs hsts_max_age"),
    ],
)
def test_bad_keywords_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        TransportPolicy(**options)


# --- cookies and settings -----------------------------------------------------------------


def test_cookie_mode_needs_secure_cookies_with_require_https() -> None:
    with pytest.raises(ConfigurationError) as caught:
        STRICT.check_cookies(CookiePolicy(secure=False))
    assert "JWT_COOKIE_SECURE" in str(caught.value)
    assert "JWT_REQUIRE_HTTPS" in str(caught.value)
    STRICT.check_cookies(CookiePolicy())
    STRICT.check_cookies(None)
    TransportPolicy().check_cookies(CookiePolicy(secure=False))
    with pytest.raises(ConfigurationError, match="JWT_COOKIE_SECURE"):
        transport_policy_from_mapping(
            {"JWT_REQUIRE_HTTPS": "1"}, cookies=CookiePolicy(secure=False)
        )


def test_from_the_environment() -> None:
    policy = transport_policy_from_mapping(
        {
            "JWT_REQUIRE_HTTPS": "true",
            "JWT_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "JWT_ALLOW_LOOPBACK_HTTP": "off",
            "JWT_HSTS_MAX_AGE": "31536000",
            "JWT_HSTS_INCLUDE_SUBDOMAINS": "yes",
        }
    )
    assert policy.require_https
    assert not policy.allow_loopback_http
    assert "10.2.3.4" in policy.trusted_proxies
    assert "::1" in policy.trusted_proxies
    assert policy.hsts == "max-age=31536000; includeSubDomains"
    default = transport_policy_from_mapping({"JWT_HSTS_MAX_AGE": ""})
    assert (default.require_https, default.hsts, bool(default.trusted_proxies)) == (
        False,
        None,
        False,
    )


def test_from_app_config_values_and_a_prefix() -> None:
    policy = transport_policy_from_mapping(
        {"AUTH_REQUIRE_HTTPS": True, "AUTH_TRUSTED_PROXIES": ["10.0.0.1"], "AUTH_HSTS_MAX_AGE": 60},
        "AUTH_",
    )
    assert policy.require_https
    assert PROXY in policy.trusted_proxies
    assert policy.hsts == "max-age=60"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"JWT_REQUIRE_HTTPS": "maybe"}, "JWT_REQUIRE_HTTPS has a value of the wrong form"),
        ({"JWT_HSTS_MAX_AGE": "a year"}, "JWT_HSTS_MAX_AGE has a value of the wrong form"),
        ({"JWT_HSTS_MAX_AGE": "-5"}, "^JWT_HSTS_MAX_AGE must be a whole number"),
        (
            {"JWT_HSTS_INCLUDE_SUBDOMAINS": "1"},
            "^JWT_HSTS_INCLUDE_SUBDOMAINS needs JWT_HSTS_MAX_AGE$",
        ),
        ({"JWT_TRUSTED_PROXIES": "nope"}, "^JWT_TRUSTED_PROXIES: 'nope' is not an IP"),
    ],
)
def test_setting_errors_name_the_setting(mapping: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        transport_policy_from_mapping(mapping)


def test_the_settings_are_known_names() -> None:
    assert set(TRANSPORT_SETTINGS) <= KNOWN_SETTINGS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_unknown_settings({f"JWT_{name}": "1" for name in TRANSPORT_SETTINGS}, "JWT_")


# --- the adapters' side ---------------------------------------------------------------------


def scope_of(*headers: tuple[bytes, bytes], kind: str = "http", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": kind, "scheme": "http" if kind == "http" else "ws"}
    base.update(path="/", headers=[(b"host", b"api.example"), *headers], client=(CLIENT, 1))
    base.update(extra)
    return base


def test_check_scope_finds_the_tokens_it_judges() -> None:
    cookies = CookiePolicy()
    assert check_scope(STRICT, scope_of()) is None
    assert check_scope(STRICT, scope_of((b"cookie", b"theme=dark")), cookies=cookies) is None
    carrying = [
        scope_of((b"authorization", b"Basic YTpi")),
        scope_of((b"cookie", b"theme=dark; access_token=x")),
        scope_of((b"cookie", b"refresh_token=x")),
        scope_of((b"sec-websocket-protocol", b"chat, bearer, x"), kind="websocket"),
        scope_of(kind="websocket", query_string=b"access_token=x"),
    ]
    for scope in carrying:
        with pytest.raises(HTTPSRequiredError):
            check_scope(STRICT, scope, cookies=cookies, query_param="access_token")
    assert check_scope(STRICT, scope_of((b"cookie", b"access_token=x"))) is None  # no cookie mode
    secure = scope_of((b"authorization", b"Bearer x"), scheme="https")
    assert check_scope(STRICT, secure) is None


def test_check_environ_finds_the_tokens_it_judges() -> None:
    environ = {"REMOTE_ADDR": CLIENT, "wsgi.url_scheme": "http", "HTTP_HOST": "api.example"}
    assert check_environ(STRICT, environ) is None
    for extra in ({"HTTP_AUTHORIZATION": "Bearer x"}, {"HTTP_COOKIE": "access_token=x"}):
        with pytest.raises(HTTPSRequiredError):
            check_environ(STRICT, {**environ, **extra}, cookies=CookiePolicy())
    forwarded = {**environ, "REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_PROTO": "https"}
    assert check_environ(STRICT, {**forwarded, "HTTP_AUTHORIZATION": "Bearer x"}) is None


def test_the_public_url_uses_the_policy_in_the_scope_or_environ() -> None:
    scope = scope_of((b"x-forwarded-proto", b"https"), client=(PROXY, 1))
    assert scope_url(scope) == "http://api.example/"  # no policy: no trusted proxy
    scope[TRANSPORT_KEY] = STRICT
    assert scope_url(scope) == "https://api.example/"
    environ = {"REMOTE_ADDR": PROXY, "HTTP_HOST": "api.example", "HTTP_FORWARDED": "proto=https"}
    assert environ_url(environ) == "http://api.example/"
    assert environ_url({**environ, TRANSPORT_KEY: STRICT}) == "https://api.example/"


def test_with_hsts_adds_the_header_once() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    wrapped = with_hsts(send, "max-age=60")
    own = [(b"Strict-Transport-Security", b"max-age=5")]

    async def respond() -> None:
        await wrapped({"type": "http.response.start", "status": 200, "headers": []})
        await wrapped({"type": "http.response.body", "body": b""})
        await wrapped({"type": "http.response.start", "status": 200, "headers": own})

    asyncio.run(respond())
    assert sent[0]["headers"] == [(b"strict-transport-security", b"max-age=60")]
    assert sent[1] == {"type": "http.response.body", "body": b""}
    assert sent[2]["headers"] == own


def test_hsts_start_response_adds_the_header_once() -> None:
    started: list[list[tuple[str, str]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append(headers)

    wrapped = hsts_start_response(start_response, "max-age=60")
    wrapped("200 OK", [("content-type", "text/plain")])
    wrapped("200 OK", [("strict-transport-security", "max-age=5")])
    assert started[0] == [
        ("content-type", "text/plain"),
        ("Strict-Transport-Security", "max-age=60"),
    ]
    assert started[1] == [("strict-transport-security", "max-age=5")]
