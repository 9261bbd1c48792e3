"""The request policy's DPoP part (``_sansio/dpop.py``) on its own: the scheme, the proof
headers, the challenges, and the policy inside the :class:`Authenticator`."""

from __future__ import annotations

import asyncio
import time

import pytest

from jwt_middleware import (
    Config,
    DPoPBindingError,
    DPoPKey,
    DPoPPolicy,
    DPoPVerifier,
    ExpiredTokenError,
    InvalidDPoPProofError,
    InvalidRequestError,
    Key,
    MissingTokenError,
    UseDPoPNonceError,
    Verifier,
    encode,
)
from jwt_middleware._sansio.authenticator import Authenticator, RequestInfo
from jwt_middleware._sansio.dpop import (
    DPOP_OFF,
    DPoPRequiredError,
    ResourceDPoP,
    environ_proofs,
    header_scheme,
    read_authorization,
    scope_proofs,
)

SECRET = "q" * 48
URL = "https://api.test/orders"


def token(**claims: object) -> str:
    now = int(time.time())
    return encode({"sub": "alice", "iss": "https://i.test", "iat": now, "exp": now + 60,
                   **claims}, Key.from_secret(SECRET, "HS256"))


def authenticator(mode: str, **options: object) -> Authenticator:
    verifier = Verifier(Config(keys=Key.from_secret(SECRET, "HS256"), issuer="https://i.test"))
    policy = DPoPPolicy() if mode == "off" else DPoPPolicy(mode, DPoPVerifier())
    return Authenticator(verifier, dpop=policy, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("Bearer abc", ("abc", "bearer")), ("DPoP abc", ("abc", "dpop")),
     ("dpop abc", ("abc", "dpop")), ("DPOP  abc.def-_~+/=", ("abc.def-_~+/=", "dpop")),
     (" DPoP abc ", ("abc", "dpop"))],
)
def test_read_authorization_takes_both_schemes(header: str, expected: tuple[str, str]) -> None:
    assert read_authorization(header) == expected


@pytest.mark.parametrize("header", ["DPoP", "DPoP ", "DPoP a b", "DPoP a,b", "DPoP \u00e9",
                                    "DPoP " + "a" * 9000])
def test_read_authorization_refuses_a_malformed_dpop_value(header: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        read_authorization(header)
    assert type(caught.value) is InvalidRequestError  # malformed, not "missing"
    assert "a" * 50 not in str(caught.value)  # never the token


def test_read_authorization_leaves_other_schemes_to_the_bearer_rules() -> None:
    with pytest.raises(MissingTokenError):
        read_authorization("Basic dXNlcjpwYXNz")


def test_header_scheme() -> None:
    assert header_scheme("DPoP x") == "dpop"
    assert header_scheme("bearer x") == "bearer"
    assert header_scheme("Basic x") is None
    assert header_scheme(None) is None
    assert header_scheme("") is None


def test_proof_headers_are_all_kept_so_that_two_are_refused() -> None:
    assert scope_proofs([(b"dpop", b"a.b.c"), (b"host", b"x"), (b"dpop", b"d.e.f")]) == (
        "a.b.c", "d.e.f")
    assert environ_proofs({"HTTP_DPOP": "a.b.c, d.e.f"}) == ("a.b.c", "d.e.f")
    assert environ_proofs({"HTTP_DPOP": "a.b.c"}) == ("a.b.c",)
    assert environ_proofs({}) == ()


def test_resource_dpop_refuses_what_is_not_a_policy() -> None:
    from jwt_middleware import ConfigurationError

    with pytest.raises(ConfigurationError):
        ResourceDPoP("allowed")  # type: ignore[arg-type]
    assert ResourceDPoP().mode == "off"


def test_admit_by_mode() -> None:
    off, allowed, required = (ResourceDPoP(DPoPPolicy()),
                              ResourceDPoP(DPoPPolicy("allowed")),
                              ResourceDPoP(DPoPPolicy("required")))
    with pytest.raises(InvalidRequestError, match="JWT_DPOP=off"):
        off.admit("dpop")
    off.admit("bearer")
    allowed.admit("bearer")
    allowed.admit("dpop")
    with pytest.raises(DPoPRequiredError):
        required.admit("bearer")
    required.admit("dpop")


def test_challenges_by_mode_and_scheme() -> None:
    algs = 'algs="ES256 EdDSA PS256 RS256"'
    off = ResourceDPoP()
    assert off.challenge(ExpiredTokenError(), "api", "bearer").challenge is None
    allowed = ResourceDPoP(DPoPPolicy("allowed"))
    bearer = allowed.challenge(ExpiredTokenError(), "api", "bearer").challenge
    assert bearer == ('Bearer realm="api", error="invalid_token", error_description="the '
                      f'token has expired", DPoP {algs}, realm="api"')
    dpop = allowed.challenge(ExpiredTokenError(), "shop", "dpop").challenge
    assert dpop == ('DPoP error="invalid_token", error_description="the token has expired", '
                    f'{algs}, realm="shop", Bearer realm="shop"')
    required = ResourceDPoP(DPoPPolicy("required"))
    missing = required.challenge(MissingTokenError(), "api", None)
    assert missing.challenge is not None
    assert missing.challenge.startswith(
        'DPoP error="invalid_request", error_description="a DPoP-bound access token')
    assert "Bearer" not in missing.challenge
    # A quote in a description cannot break out of its quoted string.
    odd = allowed.challenge(InvalidDPoPProofError('say "hi"'), "api", "dpop").challenge
    assert odd is not None
    assert 'error_description="say \\"hi\\""' in odd


def test_the_nonce_refusal_keeps_its_header_and_the_algorithms() -> None:
    allowed = ResourceDPoP(DPoPPolicy("allowed", DPoPVerifier(algorithms=["EdDSA"])))
    exc = allowed.challenge(UseDPoPNonceError(nonce="N" * 22), "api", "dpop")
    headers = dict(exc.headers("api"))
    assert headers["dpop-nonce"] == "N" * 22
    assert headers["www-authenticate"].startswith('DPoP error="use_dpop_nonce"')
    assert 'algs="EdDSA"' in headers["www-authenticate"]


def test_the_authenticator_checks_the_proof_sync_and_async() -> None:
    key = DPoPKey.generate()
    access = token(cnf={"jkt": key.thumbprint})
    auth = authenticator("allowed")

    def request(proof: str) -> RequestInfo:
        return RequestInfo("GET", "/orders", f"DPoP {access}", dpop=(proof,), url=lambda: URL)

    principal = auth.authenticate(request(key.proof("GET", URL, access_token=access)))
    assert principal is not None
    assert principal.jkt == key.thumbprint
    proof = key.proof("GET", URL, access_token=access)
    assert asyncio.run(auth.aauthenticate(request(proof))) is not None
    with pytest.raises(InvalidDPoPProofError, match="already used"):
        auth.authenticate(request(proof))
    with pytest.raises(InvalidDPoPProofError, match="already used"):
        asyncio.run(auth.aauthenticate(request(proof)))


def test_the_authenticator_refuses_a_downgrade_and_an_unbound_dpop_token() -> None:
    key = DPoPKey.generate()
    bound, plain = token(cnf={"jkt": key.thumbprint}), token()
    for mode in ("off", "allowed"):
        auth = authenticator(mode)
        with pytest.raises(DPoPBindingError, match="present it with DPoP"):
            auth.authenticate(RequestInfo("GET", "/", f"Bearer {bound}"))
        assert auth.authenticate(RequestInfo("GET", "/", f"Bearer {plain}")) is not None
    auth = authenticator("allowed")
    proof = key.proof("GET", URL, access_token=plain)
    with pytest.raises(DPoPBindingError, match="not bound"):
        auth.authenticate(RequestInfo("GET", "/", f"DPoP {plain}", dpop=(proof,),
                                      url=lambda: URL))


def test_on_a_public_path_a_bad_proof_is_ignored_like_a_bad_token() -> None:
    key = DPoPKey.generate()
    access = token(cnf={"jkt": key.thumbprint})
    auth = authenticator("allowed", public_paths=["/public"])
    request = RequestInfo("GET", "/public", f"DPoP {access}", dpop=("bad",), url=lambda: URL)
    assert auth.authenticate(request) is None
    off = authenticator("off", public_paths=["/public"])
    assert off.authenticate(RequestInfo("GET", "/public", f"DPoP {access}")) is None
    with pytest.raises(InvalidRequestError, match="JWT_DPOP=off") as caught:
        off.authenticate(RequestInfo("GET", "/me", f"DPoP {access}"))
    assert str(caught.value) == DPOP_OFF


def test_required_turns_the_fast_path_off_and_refuses_cookies_and_query_tokens() -> None:
    assert authenticator("allowed").fast_path
    assert authenticator("off").fast_path
    auth = authenticator("required")
    assert not auth.fast_path
    with pytest.raises(DPoPRequiredError):
        auth.authenticate(RequestInfo("GET", "/ws", None, alt_token=token()))
