"""``normalise_htu``: RFC 3986 sections 6.2.2 and 6.2.3, no query, no fragment."""

from __future__ import annotations

import pytest

from jwt_middleware._core.dpop import normalise_htu


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://api.example.com/orders", "https://api.example.com/orders"),
        ("HTTPS://API.EXAMPLE.COM/orders", "https://api.example.com/orders"),
        ("https://api.example.com/orders?page=2&x=1", "https://api.example.com/orders"),
        ("https://api.example.com/orders#section", "https://api.example.com/orders"),
        ("https://api.example.com/orders?#", "https://api.example.com/orders"),
        ("https://api.example.com:443/orders", "https://api.example.com/orders"),
        ("http://api.example.com:80/orders", "http://api.example.com/orders"),
        ("https://api.example.com:80/orders", "https://api.example.com:80/orders"),
        ("http://api.example.com:443/orders", "http://api.example.com:443/orders"),
        ("https://api.example.com:8443/orders", "https://api.example.com:8443/orders"),
        ("https://api.example.com:/orders", "https://api.example.com/orders"),
        ("https://api.example.com", "https://api.example.com/"),
        ("https://api.example.com?x=1", "https://api.example.com/"),
        ("https://api.example.com/%7euser/%6f", "https://api.example.com/~user/o"),
        ("https://api.example.com/a%2fb", "https://api.example.com/a%2Fb"),
        ("https://api.example.com/a%2Fb", "https://api.example.com/a%2Fb"),
        ("https://api.example.com/a/./b/../c", "https://api.example.com/a/c"),
        ("https://api.example.com/a/b/..", "https://api.example.com/a/"),
        ("https://api.example.com/../../a", "https://api.example.com/a"),
        ("https://api.example.com/a/%2E%2E/b", "https://api.example.com/b"),
        ("https://api.example.com/v1.0/file.json", "https://api.example.com/v1.0/file.json"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
        ("https://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443/x"),
        ("wss://api.example.com:443/socket", "wss://api.example.com/socket"),
        ("https://127.0.0.1:8000/x", "https://127.0.0.1:8000/x"),
    ],
)
def test_normalisation(url: str, normal: str) -> None:
    assert normalise_htu(url) == normal
    assert normalise_htu(normal) == normal  # idempotent


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("https://api.example.com/orders", "https://api.example.com/Orders"),
        ("https://api.example.com/orders", "https://api.example.com/orders/"),
        ("https://api.example.com/a/b", "https://api.example.com/a%2Fb"),
        ("https://api.example.com/orders", "http://api.example.com/orders"),
        ("https://api.example.com/orders", "https://api.example.com:8443/orders"),
    ],
)
def test_what_stays_different(one: str, other: str) -> None:
    assert normalise_htu(one) != normalise_htu(other)


@pytest.mark.parametrize(
    "url",
    ["/orders", "orders", "", "https://", "https:///orders", "https://user:pw@api.example.com/",
     "https://api.example.com:99999/", "https://api.example.com:port/", "https://[::1/x"],
)
def test_what_is_not_an_absolute_url_with_a_host(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        normalise_htu(url)


def test_a_non_string_is_refused() -> None:
    with pytest.raises(ValueError, match="string"):
        normalise_htu(b"https://api.example.com/")  # type: ignore[arg-type]
