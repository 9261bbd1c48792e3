"""Differential test against PyJWT: the same verdict on the same token, or a listed reason.

Hypothesis builds tokens from a valid baseline, perturbs a few claims and header
members (time boundaries, random JSON values of random types, duplicate
members, odd encodings), then maybe mutates the finished token (bit flips,
segment swaps, truncation, header edits without re-signing, another key's
signature). Both verifiers see it on the same frozen clock:

* when we accept, PyJWT must accept too, with no exception at all: we are never
  more permissive than the reference;
* when PyJWT accepts and we refuse, :func:`deliberately_stricter` must name the
  rule, and each listed rule must really make us refuse (the list is exact).
"""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from unittest import mock

import jwt
import jwt.api_jwt
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jwt_middleware import Config, Key, KeySet, TokenError, Verifier

from .helpers import NOW, KeyRing, b64url

ISSUER = "https://issuer.example"
OTHER_ISSUER = "https://other.example"
MAX_BYTES = 8192
MAX_KID = 256
DATE_BOUND = 1e15
DATES = ("exp", "nbf", "iat")
ROLE_AND_SCOPE_CLAIMS = ("roles", "scope", "scp")  # the default claims preset

ABSENT: Any = object()
DROP: Any = object()  # in test_each_listed_difference_is_real: leave the claim out


@dataclass(frozen=True)
class Signer:
    algorithm: str
    ours: Key  # a one-key set without a kid: any kid is taken as a hint
    theirs: Any  # what PyJWT is given: the secret bytes or the public key object
    attacker: Key


@pytest.fixture(scope="module")
def signers(keys: KeyRing) -> dict[str, Signer]:
    """Kid-less one-key sets made from the session's keys (nothing generated here)."""
    return {
        "HS256": Signer(
            "HS256", Key.from_secret(keys.hs256_secret), keys.hs256_secret, keys.attacker_hs256
        ),
        "ES256": Signer(
            "ES256",
            Key("ES256", keys.es256_private),
            keys.es256_private.public_key(),
            keys.attacker_es256,
        ),
    }


@dataclass(frozen=True)
class Setup:
    algorithm: str
    now: float
    issuer: str | tuple[str, ...] | None
    audience: str | tuple[str, ...] | None
    leeway: float
    required: tuple[str, ...]


@dataclass
class Case:
    setup: Setup
    header: dict[str, Any]
    claims: dict[str, Any]
    header_extra: list[tuple[str, Any]] = field(default_factory=list)
    claims_extra: list[tuple[str, Any]] = field(default_factory=list)
    encoding: str = "utf-8"
    pad: tuple[bool, bool] = (False, False)
    mutation: str = "none"
    mutation_data: Any = None


# --- strategies -------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats()
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=5,
)


def date_values(now: float) -> st.SearchStrategy[Any]:
    base = math.floor(now)
    return st.one_of(
        st.sampled_from([-3600, -31, -30, -2, -1, 0, 1, 2, 30, 31, 3600]).map(lambda d: base + d),
        st.sampled_from([-30.5, -1.5, -0.5, 0.25, 0.5, 0.75, 1.5, 29.5, 30.5]).map(
            lambda d: base + d
        ),
        st.floats(min_value=-40, max_value=40).map(lambda d: now + d),
        st.sampled_from(
            [
                str(base + 3600),
                " 1",
                "1_7",
                True,
                False,
                None,
                [base + 3600],
                10**16,
                -(10**16),
                1e15,
                -1e15,
                float("inf"),
                float("-inf"),
                float("nan"),
                1e308,
                0,
                -1,
            ]
        ),
        json_values,
    )


AUDIENCES = ["api", "web", "x", ""]


# Claim name -> strategy for a perturbed value (ABSENT removes the claim).
def claim_strategies(now: float) -> dict[str, st.SearchStrategy[Any]]:
    absent = st.just(ABSENT)
    return {
        "exp": absent | date_values(now),
        "nbf": absent | date_values(now),
        "iat": absent | date_values(now),
        "iss": absent
        | st.sampled_from(
            [ISSUER, OTHER_ISSUER, ISSUER + ".evil", ISSUER[:-3], ISSUER + "/", "", None]
        )
        | json_values,
        "aud": absent
        | st.sampled_from(AUDIENCES)
        | st.lists(st.sampled_from(AUDIENCES), max_size=3)
        | json_values,
        "sub": absent | st.text(max_size=6) | json_values,
        "jti": absent | st.text(max_size=6) | json_values,
        "roles": absent | st.sampled_from(["admin", "a b", ["admin"], []]) | json_values,
        "scope": absent | st.sampled_from(["read", "read write", ""]) | json_values,
        "scp": absent | st.sampled_from([["read"], "write"]) | json_values,
        "token_use": absent
        | st.sampled_from(["access", "Access", "refresh", "id", "ID"])
        | json_values,
        "typ": absent
        | st.sampled_from(["Bearer", "bearer", "Refresh", "offline", "ID", "JWT"])
        | json_values,
        "extra": st.dictionaries(st.text(max_size=5), json_values, min_size=1, max_size=2),
    }


HEADER_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "alg": st.just(ABSENT)
    | st.sampled_from(["none", "None", "", "HS256", "ES256", "RS256", "HS512", "hs256"])
    | json_values,
    "typ": st.just(ABSENT)
    | st.sampled_from(
        [
            "JWT",
            "at+jwt",
            "AT+JWT",
            "refresh+jwt",
            "application/refresh+jwt",
            "Refresh+JWT",
            "application/jwt",
        ]
    )
    | json_values,
    "kid": st.just(ABSENT)
    | st.text(max_size=8)
    | st.sampled_from(["k" * MAX_KID, "k" * (MAX_KID + 1)])
    | json_values,
    "crit": st.just(ABSENT) | st.sampled_from([["b64"], ["exp"], [], "b64"]) | json_values,
    "b64": st.just(ABSENT) | st.sampled_from([True, False, "false", 0, None]),
    "jku": st.just(ABSENT) | st.sampled_from(["https://attacker.example/jwks.json"]),
    "jwk": st.just(ABSENT) | st.just({"kty": "oct", "k": "AAAA"}),
    "extra": st.dictionaries(st.text(max_size=5), json_values, min_size=1, max_size=2),
}

MUTATIONS = ["none"] * 8 + [
    "bitflip",
    "swap",
    "truncate",
    "append",
    "header_edit",
    "other_key",
    "strip_signature",
]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    setup = Setup(
        algorithm=draw(st.sampled_from(["HS256", "ES256"])),
        now=draw(st.sampled_from([NOW, NOW + 0.25, NOW + 0.75])),
        issuer=draw(st.sampled_from([None, ISSUER, (ISSUER, OTHER_ISSUER)])),
        audience=draw(st.sampled_from([None, "api", ("api", "web")])),
        leeway=draw(st.sampled_from([0, 1, 30.5])),
        required=draw(st.sampled_from([(), ("sub",), ("jti", "iat")])),
    )
    claims: dict[str, Any] = {
        "sub": "alice",
        "jti": "j-1",
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 3600,
        "roles": ["admin"],
        "scope": "read",
    }
    if setup.issuer is not None:
        claims["iss"] = draw(
            st.sampled_from([ISSUER, OTHER_ISSUER] if setup.issuer != ISSUER else [ISSUER])
        )
    if setup.audience is not None:
        claims["aud"] = draw(st.sampled_from(["api", ["x", "api"], ["web"]]))
    header: dict[str, Any] = {"alg": setup.algorithm, "typ": "JWT"}
    strategies = claim_strategies(setup.now)
    for name in draw(st.lists(st.sampled_from(sorted(strategies)), max_size=3, unique=True)):
        value = draw(strategies[name])
        if name == "extra":
            claims.update(value)
        elif value is ABSENT:
            claims.pop(name, None)
        else:
            claims[name] = value
    for name in draw(st.lists(st.sampled_from(sorted(HEADER_STRATEGIES)), max_size=2, unique=True)):
        value = draw(HEADER_STRATEGIES[name])
        if name == "extra":
            header.update(value)
        elif value is ABSENT:
            header.pop(name, None)
        else:
            header[name] = value
    case = Case(setup, header, claims)
    duplicates = st.lists(
        st.tuples(
            st.sampled_from(["alg", "kid", "typ", "exp", "sub", "iss", "aud", "x"]), json_values
        ),
        max_size=2,
    )
    if draw(st.integers(0, 9)) == 0:
        case.header_extra = draw(duplicates)
    if draw(st.integers(0, 9)) == 0:
        case.claims_extra = draw(duplicates)
    case.encoding = draw(st.sampled_from(["utf-8"] * 12 + ["utf-16", "utf-8-sig", "utf-32", "raw"]))
    case.pad = (draw(st.integers(0, 15)) == 0, draw(st.integers(0, 15)) == 0)
    case.mutation = draw(st.sampled_from(MUTATIONS))
    if case.mutation in ("bitflip", "truncate"):
        case.mutation_data = (
            draw(st.integers(min_value=0, max_value=10_000)),
            draw(st.sampled_from("AQgw_-9.=+/ é")),
        )
    elif case.mutation == "swap":
        case.mutation_data = draw(st.sampled_from([(1, 0, 2), (0, 2, 1), (2, 1, 0), (1, 2, 0)]))
    elif case.mutation == "append":
        case.mutation_data = draw(st.sampled_from([".", "=", "A", ".e30", "==", " "]))
    elif case.mutation == "header_edit":
        case.mutation_data = draw(
            st.sampled_from(
                [{"alg": "none"}, {"alg": "HS256"}, {"kid": "other"}, {"typ": "refresh+jwt"}, {}]
            )
        )
    return case


# --- building the token -------------------------------------------------------------


def json_text(obj: dict[str, Any], extra: list[tuple[str, Any]], encoding: str) -> bytes:
    """JSON for ``obj``, with ``extra`` members put first (duplicates allowed)."""
    ensure_ascii = encoding != "raw"
    members = [(k, v) for k, v in extra] + list(obj.items())
    text = (
        "{"
        + ",".join(
            json.dumps(k, ensure_ascii=ensure_ascii)
            + ":"
            + json.dumps(v, ensure_ascii=ensure_ascii)
            for k, v in members
        )
        + "}"
    )
    if encoding == "raw":  # UTF-8, lone surrogates included as their (invalid) byte forms
        return text.encode("utf-8", "surrogatepass")
    return text.encode(encoding)


def padded(segment: str, pad: bool) -> str:
    return segment + "=" * (-len(segment) % 4) if pad else segment


def build(case: Case, signer: Signer) -> str:
    head = padded(b64url(json_text(case.header, case.header_extra, case.encoding)), case.pad[0])
    body = padded(b64url(json_text(case.claims, case.claims_extra, case.encoding)), case.pad[1])
    signing_input = f"{head}.{body}"
    key = signer.attacker if case.mutation == "other_key" else signer.ours
    token = f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"
    return mutate(token, case)


def mutate(token: str, case: Case) -> str:
    kind, data = case.mutation, case.mutation_data
    if kind == "bitflip":
        position, char = data
        position %= len(token)
        return token[:position] + str(char) + token[position + 1 :]
    if kind == "truncate":
        return token[: data[0] % len(token)]
    if kind == "swap":
        parts = token.split(".")
        return ".".join(parts[i] for i in data)
    if kind == "append":
        return token + str(data)
    if kind == "header_edit":
        _, rest = token.split(".", 1)
        return b64url(json.dumps({**case.header, **data}).encode()) + "." + rest
    if kind == "strip_signature":
        return token.rsplit(".", 1)[0] + "."
    return token


# --- the two verdicts ------------------------------------------------------------------


class _Frozen:
    """Freezes PyJWT's clock (``datetime.now``) at a given instant."""

    @staticmethod
    def patch(now: float) -> Any:
        class Frozen(datetime):
            @classmethod
            def now(cls, tz: tzinfo | None = None) -> Any:
                return datetime.fromtimestamp(now, tz)

        assert Frozen.now().timestamp() == now
        return mock.patch.object(jwt.api_jwt, "datetime", Frozen)


def ours(case: Case, signer: Signer, token: str) -> TokenError | None:
    s = case.setup
    config = Config(
        keys=KeySet([signer.ours]),
        issuer=s.issuer,
        audience=s.audience,
        leeway=s.leeway,
        required_claims=s.required,
        clock=lambda: s.now,
    )
    try:
        Verifier(config).verify(token)
    except TokenError as exc:  # anything else escapes and fails the test
        return exc
    return None


def pyjwt_accepts(case: Case, signer: Signer, token: str) -> bool:
    s = case.setup
    with _Frozen.patch(s.now):
        try:
            jwt.decode(
                token,
                signer.theirs,
                algorithms=[s.algorithm],
                issuer=list(s.issuer) if isinstance(s.issuer, tuple) else s.issuer,
                audience=list(s.audience) if isinstance(s.audience, tuple) else s.audience,
                leeway=s.leeway,
                options={"require": ["exp", *s.required]},
            )
        except jwt.PyJWTError:
            return False
    return True


# --- the deliberate differences ------------------------------------------------------


def lenient_segment(segment: str) -> bytes | None:
    """A segment decoded the way PyJWT does (trailing padding allowed), or None."""
    try:
        stripped = segment.rstrip("=")
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except ValueError:
        return None


@dataclass
class Scan:
    """What a PyJWT-style parse of one JSON segment saw."""

    value: Any = None
    duplicates: bool = False
    constants: bool = False
    not_utf8: bool = False


def scan(raw: bytes | None) -> Scan:
    result = Scan()
    if raw is None:
        return result

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in items}) != len(items):
            result.duplicates = True
        return dict(items)

    def constant(name: str) -> float:
        result.constants = True
        return float(name)

    try:
        result.not_utf8 = json.detect_encoding(raw) != "utf-8"
        raw.decode("utf-8")
    except UnicodeDecodeError:
        result.not_utf8 = True
    try:
        result.value = json.loads(raw, object_pairs_hook=pairs, parse_constant=constant)
    except (ValueError, RecursionError):
        result.value = None
    return result


OTHER_KIND_MEDIA_TYPES = ("logout+jwt", "secevent+jwt", "token-introspection+jwt")
KEYCLOAK_OTHER_KINDS = ("refresh", "offline", "id", "serialized-id", "logout")


def kind_marker(header: dict[str, Any], claims: dict[str, Any]) -> str | None:
    """A token that says anywhere that it is not an access token: RFC 9068 ``typ``,
    Cognito, Keycloak. No marker overrides another (``typ: at+jwt`` included)."""
    typ = header.get("typ")
    if isinstance(typ, str):
        media = typ.lower().removeprefix("application/")
        if media == "refresh+jwt":
            return "header typ refresh+jwt"
        if media in OTHER_KIND_MEDIA_TYPES:
            return "header typ of another kind (logout, secevent, introspection)"
    use = claims.get("token_use")
    if isinstance(use, str) and use.lower() != "access":
        return "token_use claim other than access"
    keycloak = claims.get("typ")
    if isinstance(keycloak, str) and keycloak.lower() in KEYCLOAK_OTHER_KINDS:
        return "Keycloak typ claim refresh/offline/id/logout"
    return None


def roles_or_scopes_wrong_type(value: Any) -> bool:
    """Present (``null`` included) and neither a string nor a list of strings."""
    if isinstance(value, str):
        return False
    return not (isinstance(value, list) and all(isinstance(v, str) for v in value))


def deliberately_stricter(
    header: dict[str, Any] | None, claims: dict[str, Any] | None, token: str, setup: Setup
) -> str | None:
    """Why we refuse a token PyJWT accepts, or ``None`` when no listed rule applies.

    ``header`` and ``claims`` are the token's JSON as PyJWT reads it (last
    duplicate wins), ``None`` when PyJWT could not read it. Each rule below is
    a deliberate, documented difference, and is exact: when it applies, we refuse.
    """
    if len(token) > MAX_BYTES:
        return "token over max_token_bytes (8 KiB)"
    if "=" in token:
        return "padding '=' in a segment (RFC 7515 base64url has none)"
    segments = token.split(".")
    if len(segments) != 3:
        return None
    head, body = scan(lenient_segment(segments[0])), scan(lenient_segment(segments[1]))
    if head.not_utf8 or body.not_utf8:
        return "JSON not in UTF-8 (UTF-16/32, a BOM, or encoded surrogates)"
    if head.duplicates or body.duplicates:
        return "duplicate JSON member names"
    if head.constants or body.constants:
        return "NaN or Infinity in the JSON"
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    if "crit" in header:
        return "crit header (no JWS extension is understood)"
    if "b64" in header and header["b64"] is not True:
        return "b64 header other than true (RFC 7797 unencoded payload)"
    kid = header.get("kid")
    if isinstance(kid, str) and len(kid) > MAX_KID:
        return "kid longer than 256 characters"
    marker = kind_marker(header, claims)
    if marker is not None:
        return f"refresh/id token kind marker ({marker})"
    for name in DATES:
        value = claims.get(name)
        if isinstance(value, (str, bool)):
            return "numeric-string or boolean date"
        if isinstance(value, (int, float)) and not -DATE_BOUND < value < DATE_BOUND:
            return "date beyond ±1e15 seconds"
    for name in ("nbf", "iat"):
        value = claims.get(name)
        limit = setup.now + setup.leeway
        if isinstance(value, float) and value > limit >= int(value):
            return f"fractional {name} in the future, truncated by PyJWT"
    if setup.audience is None and "aud" in claims:
        return "aud present (empty or null) while no audience is configured"
    if claims.get("sub", "") == "":
        return "sub absent or empty (RFC 9068 section 2.2)"
    for name in ROLE_AND_SCOPE_CLAIMS:
        if name in claims and roles_or_scopes_wrong_type(claims[name]):
            return f"{name} claim neither a string nor a list of strings"
    return None


def lenient_decode(token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    segments = token.split(".")
    if len(segments) != 3:
        return None, None
    header = scan(lenient_segment(segments[0])).value
    claims = scan(lenient_segment(segments[1])).value
    return (
        header if isinstance(header, dict) else None,
        claims if isinstance(claims, dict) else None,
    )


# --- the test ------------------------------------------------------------------------


def check(case: Case, signers: dict[str, Signer], stats: Counter[str]) -> None:
    signer = signers[case.setup.algorithm]
    token = build(case, signer)
    refusal = ours(case, signer, token)
    theirs = pyjwt_accepts(case, signer, token)
    header, claims = lenient_decode(token)
    reason = deliberately_stricter(header, claims, token, case.setup)
    if refusal is None:
        # Never more permissive than PyJWT, and no listed rule may apply.
        assert theirs, f"we accepted a token PyJWT refuses: {token}"
        assert reason is None, f"{reason!r} is listed but we accepted: {token}"
        stats["both accept"] += 1
        return
    if reason is not None:
        stats[f"stricter: {reason}"] += 1
        event(f"stricter: {reason}")
    if theirs:
        assert reason is not None, f"we refused ({refusal!r}) a token PyJWT accepts: {token}"
        stats["we refuse, PyJWT accepts"] += 1
    else:
        stats["both refuse"] += 1


def test_same_verdict_as_pyjwt(signers: dict[str, Signer]) -> None:
    stats: Counter[str] = Counter()

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=cases())
    def run(case: Case) -> None:
        check(case, signers, stats)

    run()
    # The generator must reach every kind of outcome, or the test proves little.
    assert stats["both accept"] >= 20, stats
    assert stats["both refuse"] >= 20, stats
    assert stats["we refuse, PyJWT accepts"] >= 5, stats


@pytest.mark.parametrize(
    ("mutate_claims", "mutate_header", "expected"),
    [
        ({"nbf": NOW + 0.5}, {}, "fractional nbf in the future, truncated by PyJWT"),
        ({"iat": NOW + 0.75}, {}, "fractional iat in the future, truncated by PyJWT"),
        ({"exp": str(NOW + 3600)}, {}, "numeric-string or boolean date"),
        ({"nbf": True}, {}, "numeric-string or boolean date"),
        ({"exp": 10**16}, {}, "date beyond ±1e15 seconds"),
        ({"aud": ""}, {}, "aud present (empty or null) while no audience is configured"),
        ({"roles": 5}, {}, "roles claim neither a string nor a list of strings"),
        ({"scope": ["a", 1]}, {}, "scope claim neither a string nor a list of strings"),
        ({"roles": None}, {}, "roles claim neither a string nor a list of strings"),
        ({"scope": None}, {}, "scope claim neither a string nor a list of strings"),
        ({"scp": None}, {}, "scp claim neither a string nor a list of strings"),
        ({"sub": DROP}, {}, "sub absent or empty (RFC 9068 section 2.2)"),
        ({"sub": ""}, {}, "sub absent or empty (RFC 9068 section 2.2)"),
        (
            {"typ": "Refresh"},
            {},
            "refresh/id token kind marker (Keycloak typ claim refresh/offline/id/logout)",
        ),
        (
            {"token_use": "id"},
            {},
            "refresh/id token kind marker (token_use claim other than access)",
        ),
        (
            {"token_use": "refresh"},
            {"typ": "at+jwt"},
            "refresh/id token kind marker (token_use claim other than access)",
        ),
        (
            {"typ": "ID"},
            {"typ": "at+jwt"},
            "refresh/id token kind marker (Keycloak typ claim refresh/offline/id/logout)",
        ),
        ({}, {"typ": "refresh+jwt"}, "refresh/id token kind marker (header typ refresh+jwt)"),
        (
            {},
            {"typ": "logout+jwt"},
            "refresh/id token kind marker "
            "(header typ of another kind (logout, secevent, introspection))",
        ),
        ({}, {"crit": ["b64"], "b64": True}, "crit header (no JWS extension is understood)"),
        ({}, {"b64": "false"}, "b64 header other than true (RFC 7797 unencoded payload)"),
        ({}, {"kid": "k" * 300}, "kid longer than 256 characters"),
    ],
    ids=[
        "fractional-nbf",
        "fractional-iat",
        "string-exp",
        "boolean-nbf",
        "huge-exp",
        "empty-aud",
        "roles-number",
        "scope-list-with-number",
        "roles-null",
        "scope-null",
        "scp-null",
        "sub-absent",
        "sub-empty",
        "keycloak-refresh-typ-claim",
        "cognito-id-token",
        "at+jwt-header-with-cognito-refresh-claim",
        "at+jwt-header-with-keycloak-id-claim",
        "refresh-typ",
        "logout-typ",
        "crit-b64",
        "b64-string",
        "long-kid",
    ],
)
def test_each_listed_difference_is_real(
    signers: dict[str, Signer],
    mutate_claims: dict[str, Any],
    mutate_header: dict[str, Any],
    expected: str,
) -> None:
    """Each rule, alone on an otherwise valid token: PyJWT accepts, we refuse, for that reason."""
    setup = Setup("HS256", NOW, None, None, 0, ())
    claims = {"sub": "alice", "exp": NOW + 3600, **mutate_claims}
    claims = {k: v for k, v in claims.items() if v is not DROP}
    case = Case(setup, {"alg": "HS256", **mutate_header}, claims)
    signer = signers["HS256"]
    token = build(case, signer)
    assert pyjwt_accepts(case, signer, token)
    assert ours(case, signer, token) is not None
    header, decoded = lenient_decode(token)
    assert deliberately_stricter(header, decoded, token, setup) == expected


@pytest.mark.parametrize(
    ("encoding", "extra", "pad", "expected"),
    [
        (
            "utf-16",
            [],
            (False, False),
            "JSON not in UTF-8 (UTF-16/32, a BOM, or encoded surrogates)",
        ),
        (
            "utf-8-sig",
            [],
            (False, False),
            "JSON not in UTF-8 (UTF-16/32, a BOM, or encoded surrogates)",
        ),
        ("utf-8", [("sub", "mallory")], (False, False), "duplicate JSON member names"),
        ("utf-8", [("x", float("nan"))], (False, False), "NaN or Infinity in the JSON"),
        ("utf-8", [], (False, True), "padding '=' in a segment (RFC 7515 base64url has none)"),
    ],
    ids=["utf-16", "bom", "duplicate-sub", "nan", "padding"],
)
def test_each_listed_encoding_difference_is_real(
    signers: dict[str, Signer],
    encoding: str,
    extra: list[tuple[str, Any]],
    pad: tuple[bool, bool],
    expected: str,
) -> None:
    setup = Setup("HS256", NOW, None, None, 0, ())
    # This payload encodes to 43 characters: one '=' of padding.
    case = Case(
        setup, {"alg": "HS256"}, {"sub": "alice", "exp": NOW + 3600}, [], extra, encoding, pad
    )
    signer = signers["HS256"]
    token = build(case, signer)
    assert pyjwt_accepts(case, signer, token)
    assert ours(case, signer, token) is not None
    header, decoded = lenient_decode(token)
    assert deliberately_stricter(header, decoded, token, setup) == expected


def test_frozen_clock_is_used_by_both(signers: dict[str, Signer]) -> None:
    setup = Setup("HS256", NOW, None, None, 0, ())
    signer = signers["HS256"]
    for exp, accepted in ((NOW, False), (NOW + 1, True)):
        case = Case(setup, {"alg": "HS256"}, {"sub": "alice", "exp": exp})
        token = build(case, signer)
        assert pyjwt_accepts(case, signer, token) is accepted
        assert (ours(case, signer, token) is None) is accepted
