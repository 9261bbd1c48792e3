"""Reading the token from ``Authorization: Bearer <token>`` (RFC 6750 section 2.1)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jwt_middleware import InvalidRequestError, MissingTokenError, extract_bearer

from .helpers import assert_request_error

TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN}",
        f"bearer {TOKEN}",
        f"BEARER {TOKEN}",
        f"bEaReR {TOKEN}",
        f"Bearer   {TOKEN}",
        f"  Bearer {TOKEN}  ",
        f"Bearer\t{TOKEN}".replace("\t", " \t"),
        f"\tBearer {TOKEN}\t",
        f"Bearer {TOKEN}".encode("latin-1"),
    ],
    ids=[
        "canonical",
        "lower-case-scheme",
        "upper-case-scheme",
        "mixed-case-scheme",
        "extra-spaces-between",
        "surrounding-spaces",
        "space-then-tab",
        "surrounding-tabs",
        "bytes-header",
    ],
)
def test_bearer_token_extracted(header: str | bytes) -> None:
    assert extract_bearer(header) == TOKEN


@pytest.mark.parametrize(
    "token",
    ["abc", "a-b_c.d~e+f/g", "YWJj==", "x" * 8192],
    ids=["plain", "every-b64token-symbol", "trailing-padding", "at-max-length"],
)
def test_every_b64token_form_accepted(token: str) -> None:
    assert extract_bearer("Bearer " + token) == token


@pytest.mark.parametrize(
    "header",
    [None, "", b"", "Basic dXNlcjpwYXNz", "Digest username=x", "Bearerx abc", "Token abc", "abc"],
    ids=[
        "none",
        "empty-str",
        "empty-bytes",
        "basic-scheme",
        "digest-scheme",
        "scheme-prefix-only",
        "other-scheme",
        "no-scheme",
    ],
)
def test_no_bearer_token(header: str | bytes | None) -> None:
    with pytest.raises(InvalidRequestError) as info:
        extract_bearer(header)
    assert_request_error(info.value, MissingTokenError)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer    ",
        f"Bearer {TOKEN} {TOKEN}",
        f"Bearer {TOKEN}, Bearer {TOKEN}",
        f"Bearer {TOKEN},{TOKEN}",
        'Bearer "quoted"',
        "Bearer abc\x00def",
        "Bearer abc\ndef",
        "Bearer tök",
        "Bearer =abc",
        "Bearer ab=c",
        "Bearer a" + "=" * 3 + "b",
        "Bearer " + "x" * 8193,
        "Bearer " + "x" * 100_000,
    ],
    ids=[
        "scheme-alone",
        "scheme-and-space",
        "scheme-and-spaces",
        "two-tokens",
        "two-credentials",
        "comma-separated",
        "quoted",
        "nul-byte",
        "newline",
        "non-ascii",
        "leading-padding",
        "padding-inside",
        "padding-then-more",
        "one-over-max-length",
        "far-over-max-length",
    ],
)
def test_malformed_bearer_refused(header: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        extract_bearer(header)
    assert_request_error(info.value, InvalidRequestError)


def test_max_length_is_configurable() -> None:
    assert extract_bearer("Bearer " + "x" * 100, max_length=100) == "x" * 100
    with pytest.raises(InvalidRequestError) as info:
        extract_bearer("Bearer " + "x" * 101, max_length=100)
    assert_request_error(info.value, InvalidRequestError)


def test_non_text_header_refused() -> None:
    with pytest.raises(InvalidRequestError) as info:
        extract_bearer(["Bearer", TOKEN])  # type: ignore[arg-type]
    assert_request_error(info.value, InvalidRequestError)


B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@settings(max_examples=500, deadline=None)
@given(
    header=st.one_of(
        st.text(),
        st.binary(),
        st.none(),
        st.builds(
            lambda s, t: s + t, st.sampled_from(["Bearer ", "bearer ", "BEARER \t"]), st.text()
        ),
        st.builds(
            lambda pre, sep, token, post: f"{pre}Bearer{sep}{token}{post}",
            st.text(alphabet=" \t", max_size=3),
            st.text(alphabet=" \t", max_size=3).map(lambda s: " " + s),
            st.from_regex(B64TOKEN, fullmatch=True),
            st.text(alphabet=" \t", max_size=3),
        ),
    )
)
def test_nothing_else_is_ever_raised(header: str | bytes | None) -> None:
    refused: InvalidRequestError | None = None
    try:
        token = extract_bearer(header, max_length=64)
    except InvalidRequestError as exc:  # MissingTokenError included
        refused = exc
    if refused is not None:
        assert (refused.status, refused.error) == (401, "invalid_request")
        return
    # Accepted: the header is "Bearer" (any case), blanks, one b64token, blanks.
    text = header.decode("latin-1") if isinstance(header, bytes) else header
    assert text is not None
    assert B64TOKEN.fullmatch(token)
    assert len(token) <= 64
    before, _, after = text.rpartition(token)
    assert after.strip(" \t") == ""
    assert before.strip(" \t").lower() == "bearer"
    assert before.rstrip(" \t") != before
