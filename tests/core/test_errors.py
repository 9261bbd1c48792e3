"""The error tree and how errors are rendered (RFC 6750 section 3), without leaking tokens."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jwt_middleware
from jwt_middleware import (
    AuthenticationError,
    AuthError,
    AuthorizationError,
    ConfigurationError,
    CSRFError,
    DecryptionError,
    DPoPBindingError,
    EncryptionRequiredError,
    ExpiredTokenError,
    ForwardedHeaderError,
    FreshTokenRequiredError,
    HTTPSRequiredError,
    ImmatureTokenError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidDPoPProofError,
    InvalidHeaderError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidRequestError,
    InvalidSignatureError,
    JWTMiddlewareError,
    KeySet,
    MalformedTokenError,
    MissingClaimError,
    MissingTokenError,
    RevokedTokenError,
    ServiceUnavailableError,
    SessionExpiredError,
    TokenError,
    TokenTooLargeError,
    TokenTooOldError,
    TransportError,
    UnknownKeyError,
    UseDPoPNonceError,
    WebSocketOriginError,
    WrongTokenKindError,
    extract_bearer,
)

from .helpers import NOW, KeyRing, claims_with, make_token, verifier

#: Every refusal the package can answer with: (class, HTTP status, RFC 6750 error code).
ANSWERS: list[tuple[type[AuthError], int, str]] = [
    (AuthError, 401, "invalid_token"),
    (AuthenticationError, 401, "invalid_token"),
    (InvalidRequestError, 401, "invalid_request"),
    (MissingTokenError, 401, "invalid_request"),
    (FreshTokenRequiredError, 401, "insufficient_user_authentication"),
    (TokenError, 401, "invalid_token"),
    (TokenTooLargeError, 401, "invalid_token"),
    (MalformedTokenError, 401, "invalid_token"),
    (InvalidHeaderError, 401, "invalid_token"),
    (InvalidAlgorithmError, 401, "invalid_token"),
    (UnknownKeyError, 401, "invalid_token"),
    (InvalidSignatureError, 401, "invalid_token"),
    (ExpiredTokenError, 401, "invalid_token"),
    (ImmatureTokenError, 401, "invalid_token"),
    (InvalidIssuedAtError, 401, "invalid_token"),
    (TokenTooOldError, 401, "invalid_token"),
    (InvalidIssuerError, 401, "invalid_token"),
    (InvalidAudienceError, 401, "invalid_token"),
    (MissingClaimError, 401, "invalid_token"),
    (InvalidClaimError, 401, "invalid_token"),
    (WrongTokenKindError, 401, "invalid_token"),
    (RevokedTokenError, 401, "invalid_token"),
    (SessionExpiredError, 401, "invalid_token"),
    (DPoPBindingError, 401, "invalid_token"),
    (DecryptionError, 401, "invalid_token"),
    (EncryptionRequiredError, 401, "invalid_token"),
    (InvalidDPoPProofError, 401, "invalid_dpop_proof"),
    (UseDPoPNonceError, 401, "use_dpop_nonce"),
    (AuthorizationError, 403, "insufficient_scope"),
    (InsufficientRoleError, 403, "insufficient_scope"),
    (InsufficientScopeError, 403, "insufficient_scope"),
    (CSRFError, 403, "invalid_request"),
    (WebSocketOriginError, 403, "invalid_request"),
    (ServiceUnavailableError, 503, "temporarily_unavailable"),
    (TransportError, 400, "invalid_request"),  # HTTPS and proxies (docs/security.md)
    (HTTPSRequiredError, 400, "invalid_request"),
    (ForwardedHeaderError, 400, "invalid_request"),
]


@pytest.mark.parametrize(
    ("cls", "status", "error"), ANSWERS, ids=[cls.__name__ for cls, _, _ in ANSWERS]
)
def test_status_and_error_code(cls: type[AuthError], status: int, error: str) -> None:
    exc = cls()
    assert (exc.status, exc.error) == (status, error)
    assert isinstance(exc, JWTMiddlewareError)
    assert exc.description == cls.default_description
    assert str(exc) == exc.description
    assert exc.reason
    assert exc.reason.replace("_", "").isalpha()
    if status == 401:
        assert isinstance(exc, AuthenticationError) or cls is AuthError
    if error == "invalid_token" and cls not in (AuthError, AuthenticationError):
        assert isinstance(exc, TokenError)


def test_every_exported_refusal_has_a_known_answer() -> None:
    exported = {
        obj
        for name in jwt_middleware.__all__
        if isinstance(obj := getattr(jwt_middleware, name), type) and issubclass(obj, AuthError)
    }
    assert exported == {cls for cls, _, _ in ANSWERS}


def test_tree() -> None:
    assert issubclass(ConfigurationError, JWTMiddlewareError)
    assert issubclass(ConfigurationError, ValueError)
    assert not issubclass(ConfigurationError, AuthError)
    assert issubclass(MissingTokenError, InvalidRequestError)
    assert issubclass(InvalidRequestError, AuthenticationError)
    assert issubclass(TokenError, AuthenticationError)
    assert not issubclass(AuthorizationError, AuthenticationError)
    reasons = [cls.reason for cls, _, _ in ANSWERS if cls not in (AuthError, AuthenticationError)]
    assert len(reasons) == len(set(reasons)), "every leaf has its own reason code"


# --- WWW-Authenticate (RFC 6750 section 3) ------------------------------------


def test_www_authenticate_format() -> None:
    assert ExpiredTokenError().www_authenticate() == (
        'Bearer realm="api", error="invalid_token", error_description="the token has expired"'
    )
    assert InvalidRequestError().www_authenticate("orders") == (
        'Bearer realm="orders", error="invalid_request", '
        'error_description="the authorization header is malformed"'
    )
    assert InsufficientScopeError(scope="orders:write admin").www_authenticate() == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="a required scope is missing", scope="orders:write admin"'
    )


def test_www_authenticate_escapes_quotes_and_drops_controls() -> None:
    exc = InvalidClaimError('the "tenant" claim \\ is\r\nSet-Cookie: x=1')
    assert exc.www_authenticate('my "realm"') == (
        'Bearer realm="my \\"realm\\"", error="invalid_token", '
        'error_description="the \\"tenant\\" claim \\\\ isSet-Cookie: x=1"'
    )


# auth-param = token BWS "=" BWS quoted-string (RFC 7235); quoted-pair = "\" any char
PARAM = re.compile(r'([A-Za-z_]+)="((?:[^"\\]|\\.)*)"')


def parse_challenge(header: str) -> dict[str, str]:
    assert header.startswith("Bearer ")
    rest = header[len("Bearer ") :]
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = PARAM.match(rest, position)
        assert match, f"unparsable challenge at {rest[position:]!r}"
        params[match.group(1)] = re.sub(r"\\(.)", r"\1", match.group(2))
        position = match.end()
        if position < len(rest):
            assert rest[position : position + 2] == ", "
            position += 2
    return params


@settings(max_examples=300, deadline=None)
@given(description=st.text(min_size=1), realm=st.text(min_size=1), scope=st.text())
def test_www_authenticate_always_parses_back(description: str, realm: str, scope: str) -> None:
    exc = InsufficientScopeError(description, scope=scope or None)
    header = exc.www_authenticate(realm)
    assert "\r" not in header
    assert "\n" not in header

    def printable(text: str) -> str:
        return "".join(ch for ch in text if ch >= " " and ch != "\x7f")

    params = parse_challenge(header)
    assert params["realm"] == printable(realm)
    assert params["error"] == "insufficient_scope"
    assert params["error_description"] == printable(description)
    assert params.get("scope") == (printable(scope) if scope else None)


def test_json_body_and_headers() -> None:
    exc = WrongTokenKindError()
    assert exc.body() == {
        "error": "invalid_token",
        "error_description": "this kind of token is not accepted here",
    }
    assert isinstance(exc.json_body(), bytes)
    assert json.loads(exc.json_body()) == exc.body()
    assert exc.headers("orders") == [
        ("content-type", "application/json"),
        ("www-authenticate", exc.www_authenticate("orders")),
        ("cache-control", "no-store"),
    ]
    quoted = InvalidClaimError('say "hi" \\ </script>')
    assert json.loads(quoted.json_body())["error_description"] == 'say "hi" \\ </script>'


def test_service_unavailable_headers_carry_retry_after() -> None:
    headers = dict(ServiceUnavailableError(retry_after=7).headers())
    assert headers["retry-after"] == "7"
    assert headers["www-authenticate"].startswith('Bearer realm="api", error="temporarily')


# --- rendered errors never include the token ----------------------------------

MARK = "Zq9MarkerValue"


def refusals(keys: KeyRing) -> list[tuple[str, Callable[[], object]]]:
    marked = claims_with(
        sub=f"{MARK}-sub",
        iss=f"https://{MARK}.example",
        aud=f"{MARK}-aud",
        tenant=f"{MARK}-tenant",
        roles=[f"{MARK}-role"],
    )
    strict = verifier(
        KeySet([keys.hs256]),
        issuer="https://issuer.example",
        audience="api",
        claim_checks={"tenant": lambda v: v == "acme"},
    )
    lenient = verifier(keys.hs256, audience=f"{MARK}-aud")
    checked = verifier(keys.hs256, audience=f"{MARK}-aud", claim_checks={"tenant": str.isdigit})
    cases: list[tuple[str, Callable[[], object]]] = [
        ("bad-issuer", lambda: strict.verify(make_token(keys.hs256, marked))),
        ("expired", lambda: lenient.verify(make_token(keys.hs256, {**marked, "exp": NOW - 1}))),
        ("bad-signature", lambda: lenient.verify(make_token(keys.attacker_hs256, marked))),
        ("unknown-kid", lambda: lenient.verify(make_token(keys.hs256, marked, {"kid": MARK}))),
        ("bad-kid-type", lambda: lenient.verify(make_token(keys.hs256, marked, {"kid": [MARK]}))),
        ("bad-alg", lambda: lenient.verify(make_token(keys.hs256, marked, {"alg": MARK}))),
        ("crit", lambda: lenient.verify(make_token(keys.hs256, marked, {"crit": [MARK]}))),
        ("claim-check", lambda: checked.verify(make_token(keys.hs256, marked))),
        (
            "wrong-roles-type",
            lambda: lenient.verify(make_token(keys.hs256, {**marked, "roles": 1})),
        ),
        ("refresh", lambda: lenient.verify(make_token(keys.hs256, marked, {"typ": "refresh+jwt"}))),
        ("malformed", lambda: lenient.verify(make_token(keys.hs256, marked) + "." + MARK)),
        ("too-large", lambda: lenient.verify(make_token(keys.hs256, {**marked, "x": MARK * 900}))),
        (
            "two-bearer-tokens",
            lambda: extract_bearer(f"Bearer {make_token(keys.hs256, marked)} {MARK}"),
        ),
        ("basic", lambda: extract_bearer(f"Basic {MARK}")),
    ]
    return cases


def test_rendered_errors_never_include_the_token(keys: KeyRing) -> None:
    for name, refuse in refusals(keys):
        with pytest.raises(AuthError) as info:
            refuse()
        exc = info.value
        rendered = " ".join(
            [
                str(exc),
                repr(exc),
                repr(exc.args),
                exc.description,
                exc.www_authenticate(),
                exc.json_body().decode(),
                repr(exc.headers()),
            ]
        )
        assert MARK not in rendered, name
        assert "eyJ" not in rendered, name  # no token segment, no JSON header echoed
        assert exc.__cause__ is None, name
