"""DPoP on the resource side (RFC 9449 section 7): the same answers from the pure ASGI and
WSGI adapters, Starlette (middleware and backend), FastAPI and Flask.

Proofs are signed by real keys (``DPoPKey``) for the URL the server sees
(``http://api.test/...``, or the public one behind a trusted proxy); tokens are real
HS256 tokens, bound with ``cnf.jkt`` where a test says so. The verified-token cache is on
(the default), so a token seen twice is answered from it the second time.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

from jwt_middleware import (
    ConfigurationError,
    DPoPKey,
    DPoPNonces,
    DPoPPolicy,
    DPoPVerifier,
    Verifier,
)
from jwt_middleware._core.settings import DPOP_SETTINGS, TRANSPORT_SETTINGS
from jwt_middleware._sansio.transport import TrustedProxies
from jwt_middleware.flask import JWT
from jwt_middleware.flask import dpop_required as flask_dpop_required
from jwt_middleware.starlette import dpop_required as starlette_dpop_required
from tests.integrations import dpop_targets, fast_path_targets
from tests.integrations.dpop_targets import (
    AUDIENCE,
    FRAMEWORKS,
    ISSUER,
    ROUTED,
    SECRET,
    Answer,
    build,
    dpop_headers,
    token,
    url,
)

MODES = ("off", "allowed", "required")
ALGS = 'algs="ES256 EdDSA PS256 RS256"'
REALM = 'realm="api"'


def policy(mode: str, **options: Any) -> DPoPPolicy:
    if mode == "off":
        return DPoPPolicy()
    return DPoPPolicy(mode, DPoPVerifier(**options))


def bearer(access: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {access}")]


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=ROUTED)
def routed(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey.generate()


def assert_refused(answer: Answer, error: str, status: int = 401) -> None:
    assert answer.status == status, answer.body
    assert answer.error == error, answer.body
    assert "subject" not in (answer.body or {})
    assert len([k for k, _ in answer.headers if k.lower() == "www-authenticate"]) == 1


# --- the modes ------------------------------------------------------------------------


def test_allowed_takes_bearer_tokens_and_bound_tokens_with_their_proof(
    framework: str, key: DPoPKey
) -> None:
    target = build(framework, policy("allowed"))
    plain = target.send(bearer(token()))
    assert plain.status == 200, plain.body
    assert plain.body == {"subject": "alice", "jkt": None}
    bound = target.send(dpop_headers(key, token(key.thumbprint)))
    assert bound.status == 200, bound.body
    assert bound.body == {"subject": "alice", "jkt": key.thumbprint}
    post = target.send(dpop_headers(key, token(key.thumbprint), method="POST"), method="POST")
    assert post.status == 200, post.body


@pytest.mark.parametrize("mode", MODES)
def test_downgrade_a_bound_token_presented_as_bearer_is_refused_in_every_mode(
    framework: str, key: DPoPKey, mode: str
) -> None:
    target = build(framework, policy(mode))
    access = token(key.thumbprint)
    assert_refused(target.send(bearer(access)), "invalid_token")
    # A valid proof beside it changes nothing: the scheme says Bearer.
    proof = [("DPoP", key.proof("GET", url(), access_token=access))]
    answer = target.send(bearer(access) + proof)
    assert_refused(answer, "invalid_token")
    if mode != "required":
        assert "present it with DPoP" in answer.body["error_description"]


def test_downgrade_is_refused_by_an_adapter_without_a_dpop_policy(
    framework: str, key: DPoPKey
) -> None:
    target = build(framework, None)  # DPoP off, as every adapter is by default
    assert_refused(target.send(bearer(token(key.thumbprint))), "invalid_token")
    assert target.send(bearer(token())).status == 200


def test_a_cnf_this_server_cannot_check_is_refused_never_taken_as_bearer(framework: str) -> None:
    target = build(framework, policy("allowed"))
    for cnf in ({"x5t#S256": "abc"}, {"jkt": 42}, "jkt"):
        answer = target.send(bearer(token(cnf=cnf)))
        assert_refused(answer, "invalid_token")
        assert "cannot check" in answer.body["error_description"]


def test_an_unbound_token_presented_as_dpop_is_refused(framework: str, key: DPoPKey) -> None:
    answer = build(framework, policy("allowed")).send(dpop_headers(key, token()))
    assert_refused(answer, "invalid_token")
    assert "not bound to a key" in answer.body["error_description"]
    assert answer.www_authenticate.startswith('DPoP error="invalid_token"')


def test_off_refuses_the_dpop_scheme_as_invalid_request(framework: str, key: DPoPKey) -> None:
    target = build(framework, policy("off"))
    answer = target.send(dpop_headers(key, token(key.thumbprint)))
    assert_refused(answer, "invalid_request")
    assert "JWT_DPOP=off" in answer.body["error_description"]
    assert answer.www_authenticate.startswith('Bearer realm="api", error="invalid_request"')
    assert "DPoP algs" not in answer.www_authenticate  # off: the bearer challenge only
    assert target.send(bearer(token())).status == 200


def test_required_takes_dpop_only(framework: str, key: DPoPKey) -> None:
    target = build(framework, policy("required"))
    answer = target.send(bearer(token()))
    assert_refused(answer, "invalid_token")
    assert answer.www_authenticate.startswith('DPoP error="invalid_token"')
    assert ALGS in answer.www_authenticate
    assert "Bearer" not in answer.www_authenticate
    assert target.send(dpop_headers(key, token(key.thumbprint))).status == 200


def test_a_missing_token_where_dpop_is_required_gets_the_dpop_challenge(framework: str) -> None:
    answer = build(framework, policy("required")).send([])
    assert_refused(answer, "invalid_request")
    assert answer.www_authenticate.startswith('DPoP error="invalid_request"')
    assert ALGS in answer.www_authenticate
    assert "Bearer" not in answer.www_authenticate
    assert "DPoP-bound access token is required" in answer.body["error_description"]


# --- the proof ------------------------------------------------------------------------


@pytest.fixture
def uncached(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the verifications the token cache did not answer."""
    calls: list[str] = []
    sync, asynchronous = Verifier._verify, Verifier._averify

    def verify(self: Verifier, *args: Any) -> Any:
        calls.append("sync")
        return sync(self, *args)

    async def averify(self: Verifier, *args: Any) -> Any:
        calls.append("async")
        return await asynchronous(self, *args)

    monkeypatch.setattr(Verifier, "_verify", verify)
    monkeypatch.setattr(Verifier, "_averify", averify)
    return calls


def test_a_replayed_proof_is_refused_though_the_token_is_cached(
    framework: str, key: DPoPKey, uncached: list[str]
) -> None:
    target = build(framework, policy("allowed"))
    access = token(key.thumbprint)
    headers = dpop_headers(key, access)
    assert target.send(headers).status == 200
    replay = target.send(headers)
    assert len(uncached) == 1  # the second request's token came from the cache
    assert_refused(replay, "invalid_dpop_proof")
    assert "already used" in replay.body["error_description"]
    assert target.send(dpop_headers(key, access)).status == 200  # a new proof


def test_a_cached_bound_token_presented_as_bearer_is_still_refused(
    framework: str, key: DPoPKey, uncached: list[str]
) -> None:
    target = build(framework, policy("allowed"))
    access = token(key.thumbprint)
    assert target.send(dpop_headers(key, access)).status == 200  # verified: now cached
    for _ in range(2):
        assert_refused(target.send(bearer(access)), "invalid_token")
    assert len(uncached) == 1  # both refusals were cache hits (fast path, then general)


@pytest.mark.parametrize(
    ("case", "description"),
    [
        ("method", "another HTTP method"),
        ("url", "another URL"),
        ("token", "does not match the access token"),
        ("thief", "not the key the token is bound to"),
        ("none", "proof is required"),
        ("two", "exactly one DPoP proof"),
        ("old", "too old"),
        ("future", "in the future"),
        ("garbage", "malformed"),
    ],
)
def test_a_proof_that_does_not_fit_the_request_is_refused(
    framework: str, key: DPoPKey, case: str, description: str
) -> None:
    access = token(key.thumbprint)
    thief = DPoPKey.generate()
    now = int(time.time())
    headers = {
        "method": dpop_headers(key, access, method="POST"),
        "url": dpop_headers(key, access, path="/other"),
        "token": [("Authorization", f"DPoP {access}"),
                  ("DPoP", key.proof("GET", url(), access_token=token(key.thumbprint, n=1)))],
        "thief": dpop_headers(thief, access),
        "none": [("Authorization", f"DPoP {access}")],
        "two": [*dpop_headers(key, access), ("DPoP", key.proof("GET", url(), access_token=access))],
        "old": dpop_headers(key, access, iat=now - 3600),
        "future": dpop_headers(key, access, iat=now + 3600),
        "garbage": [("Authorization", f"DPoP {access}"), ("DPoP", "not.a.proof")],
    }[case]
    answer = build(framework, policy("allowed")).send(headers)
    assert_refused(answer, "invalid_dpop_proof")
    assert description in answer.body["error_description"]
    assert answer.www_authenticate.startswith('DPoP error="invalid_dpop_proof"')


def test_a_stolen_bound_token_is_useless_without_the_key(framework: str, key: DPoPKey) -> None:
    target = build(framework, policy("allowed"))
    stolen = token(key.thumbprint)
    assert_refused(target.send(bearer(stolen)), "invalid_token")
    assert_refused(target.send(dpop_headers(DPoPKey.generate(), stolen)), "invalid_dpop_proof")
    assert target.send(dpop_headers(key, stolen)).status == 200


# --- WWW-Authenticate -------------------------------------------------------------------


def test_allowed_names_both_schemes_with_the_error_in_the_one_used(
    framework: str, key: DPoPKey
) -> None:
    target = build(framework, policy("allowed"))
    expired = token(exp=int(time.time()) - 600)
    answer = target.send(bearer(expired))
    assert_refused(answer, "invalid_token")
    assert answer.www_authenticate.startswith('Bearer realm="api", error="invalid_token"')
    assert answer.www_authenticate.endswith(f", DPoP {ALGS}, {REALM}")

    bad_proof = target.send(dpop_headers(key, token(key.thumbprint), method="PUT"))
    assert bad_proof.www_authenticate.startswith('DPoP error="invalid_dpop_proof"')
    assert bad_proof.www_authenticate.endswith(f"{ALGS}, {REALM}, Bearer {REALM}")

    expired_bound = token(key.thumbprint, exp=int(time.time()) - 600)
    answer = target.send(dpop_headers(key, expired_bound))
    assert_refused(answer, "invalid_token")
    assert answer.www_authenticate.startswith('DPoP error="invalid_token"')
    assert answer.www_authenticate.endswith(f", Bearer {REALM}")

    missing = target.send([])
    assert_refused(missing, "invalid_request")
    assert missing.www_authenticate.startswith('Bearer realm="api", error="invalid_request"')
    assert missing.www_authenticate.endswith(f", DPoP {ALGS}, {REALM}")


def test_the_challenge_names_the_configured_algorithms(framework: str) -> None:
    target = build(framework, policy("required", algorithms=("EdDSA",)))
    assert 'algs="EdDSA"' in target.send([]).www_authenticate
    key = DPoPKey.generate()  # ES256: not taken here
    answer = target.send(dpop_headers(key, token(key.thumbprint)))
    assert_refused(answer, "invalid_dpop_proof")
    assert 'algs="EdDSA"' in answer.www_authenticate


def test_use_dpop_nonce_then_the_retry_with_the_nonce_passes(framework: str, key: DPoPKey) -> None:
    nonces = DPoPNonces(b"n" * 32)
    target = build(framework, policy("allowed", nonces=nonces))
    access = token(key.thumbprint)
    first = target.send(dpop_headers(key, access))
    assert_refused(first, "use_dpop_nonce")
    assert first.header("DPoP-Nonce") == nonces.current()
    assert first.www_authenticate.startswith('DPoP error="use_dpop_nonce"')
    stale = target.send(dpop_headers(key, access, nonce="A" * 22))
    assert_refused(stale, "use_dpop_nonce")
    again = target.send(dpop_headers(key, access, nonce=first.header("DPoP-Nonce")))
    assert again.status == 200, again.body


# --- the URL behind a proxy ---------------------------------------------------------------


def test_htu_is_the_public_url_behind_a_trusted_proxy_only(framework: str, key: DPoPKey) -> None:
    target = build(framework, policy("allowed"), proxies=TrustedProxies("10.0.0.0/8"))
    access = token(key.thumbprint)
    public = "https://api.example/me"
    forwarded = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "api.example"),
                 ("X-Forwarded-For", "198.51.100.4")]
    via_proxy = target.send(dpop_headers(key, access, htu=public) + forwarded, peer="10.0.0.5")
    assert via_proxy.status == 200, via_proxy.body
    # From a peer that is not a trusted proxy the forwarding headers are ignored.
    direct = target.send(dpop_headers(key, access, htu=public) + forwarded)
    assert_refused(direct, "invalid_dpop_proof")
    assert "another URL" in direct.body["error_description"]
    seen = target.send(dpop_headers(key, access) + forwarded)  # http://api.test/me
    assert seen.status == 200, seen.body


# --- per route ------------------------------------------------------------------------------


def test_dpop_required_on_a_route_of_an_allowed_app(routed: str, key: DPoPKey) -> None:
    target = build(routed, policy("allowed"), mode="optional")
    plain = target.send(bearer(token()), path="/bound")
    assert_refused(plain, "invalid_token")
    assert plain.www_authenticate.startswith('DPoP error="invalid_token"')
    assert ALGS in plain.www_authenticate
    assert "Bearer" not in plain.www_authenticate
    assert "DPoP-bound tokens only" in plain.body["error_description"]
    missing = target.send([], path="/bound")
    assert_refused(missing, "invalid_request")
    assert missing.www_authenticate.startswith('DPoP error="invalid_request"')
    assert "Bearer" not in missing.www_authenticate
    bound = target.send(dpop_headers(key, token(key.thumbprint), path="/bound"), path="/bound")
    assert bound.status == 200, bound.body
    assert bound.body["jkt"] == key.thumbprint
    assert target.send(bearer(token())).status == 200  # the app takes bearer tokens elsewhere


def test_dpop_required_route_refuses_a_downgrade_too(routed: str, key: DPoPKey) -> None:
    target = build(routed, policy("allowed"), mode="optional")
    assert_refused(target.send(bearer(token(key.thumbprint)), path="/bound"), "invalid_token")


def test_a_guard_refusal_of_a_dpop_request_uses_the_dpop_challenge(
    routed: str, key: DPoPKey
) -> None:
    target = build(routed, policy("allowed"))
    denied = target.send(dpop_headers(key, token(key.thumbprint), path="/admin"), path="/admin")
    assert_refused(denied, "insufficient_scope", status=403)
    assert denied.www_authenticate.startswith('DPoP error="insufficient_scope"')
    plain = target.send(bearer(token()), path="/admin")
    assert_refused(plain, "insufficient_scope", status=403)
    assert plain.www_authenticate.startswith('Bearer realm="api", error="insufficient_scope"')
    allowed = target.send(dpop_headers(key, token(key.thumbprint, roles=("admin",)),
                                       path="/admin"), path="/admin")
    assert allowed.status == 200, allowed.body


def test_dpop_required_is_checked_when_it_decorates() -> None:
    def no_request(thing: Any) -> Any:  # not a Starlette endpoint
        return thing

    with pytest.raises(ConfigurationError, match="no 'request'"):
        starlette_dpop_required()(no_request)
    with pytest.raises(TypeError):
        flask_dpop_required(no_request)  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError):
        flask_dpop_required()(42)  # type: ignore[arg-type]


# --- Flask settings --------------------------------------------------------------------------


def flask_settings(**extra: Any) -> dict[str, Any]:
    return {"JWT_SECRET": SECRET, "JWT_ALGORITHMS": "HS256", "JWT_ISSUER": ISSUER,
            "JWT_AUDIENCE": AUDIENCE, **extra}


def test_flask_reads_the_dpop_mode_from_app_config(key: DPoPKey) -> None:
    target = build("flask", None, flask_settings=flask_settings(JWT_DPOP="required"))
    assert_refused(target.send(bearer(token())), "invalid_token")
    assert target.send(dpop_headers(key, token(key.thumbprint))).status == 200


def test_flask_reads_the_trusted_proxies_for_htu_from_app_config(key: DPoPKey) -> None:
    settings = flask_settings(JWT_DPOP="allowed", JWT_TRUSTED_PROXIES="10.0.0.0/8")
    target = build("flask", None, flask_settings=settings)
    public = "https://api.example/me"
    forwarded = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "api.example")]
    access = token(key.thumbprint)
    answer = target.send(dpop_headers(key, access, htu=public) + forwarded, peer="10.0.0.5")
    assert answer.status == 200, answer.body


def test_flask_refuses_bad_dpop_settings_at_init_app() -> None:
    for bad in ({"JWT_DPOP": "sometimes"}, {"JWT_DPOP": "allowed", "JWT_DPOP_ALGORITHMS": "HS256"},
                {"JWT_DPOP": "allowed", "JWT_DPOP_NONCE": "on"}):
        app = Flask(__name__)
        app.config.update(flask_settings(**bad))
        with pytest.raises(ConfigurationError, match="JWT_DPOP"):
            JWT(app)


def test_flask_strict_settings_accept_every_dpop_and_transport_name() -> None:
    values = {
        "DPOP": "allowed", "DPOP_ALGORITHMS": "ES256", "DPOP_IAT_WINDOW": "60",
        "DPOP_NONCE": "on", "DPOP_NONCE_SECRET": "s" * 40, "ALLOW_LOOPBACK_HTTP": "1",
        "HSTS_INCLUDE_SUBDOMAINS": "0", "HSTS_MAX_AGE": "600", "REQUIRE_HTTPS": "0",
        "TRUSTED_PROXIES": "10.0.0.0/8",
    }
    names = set(DPOP_SETTINGS) | set(TRANSPORT_SETTINGS)
    assert names - {"DPOP_NONCE_SECRET_FILE"} == set(values)
    app = Flask(__name__)
    app.config.update(flask_settings(**{f"JWT_{k}": v for k, v in values.items()}))
    JWT(app)  # no unknown-setting error


# --- FastAPI's OpenAPI document ------------------------------------------------------------


def test_fastapi_documents_the_dpop_scheme_and_its_refusals() -> None:
    api = dpop_targets._fastapi(Verifier(dpop_targets.config()), policy("allowed"), "required")
    schema = api.openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["DPoP"]["type"] == "http"
    assert schemes["DPoP"]["scheme"] == "DPoP"
    operation = schema["paths"]["/bound"]["get"]
    assert {"DPoP": []} in operation["security"]
    refusal = operation["responses"]["401"]
    codes = refusal["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
    assert {"invalid_dpop_proof", "use_dpop_nonce", "invalid_token"} <= set(codes)
    assert "DPoP-Nonce" in refusal["headers"]
    me = schema["paths"]["/me"]["get"]
    assert {"JWTBearer": []} in me["security"]
    assert {"DPoP": []} in me["security"]


def test_fastapi_without_dpop_documents_no_dpop_scheme() -> None:
    api = dpop_targets._fastapi(Verifier(dpop_targets.config()), None, "required")
    schema = api.openapi()
    me = schema["paths"]["/me"]["get"]
    assert me["security"] == [{"JWTBearer": []}]
    codes = me["responses"]["401"]["content"]["application/json"]["schema"]["properties"]
    assert "invalid_dpop_proof" not in codes["error"]["enum"]
    assert "DPoP-Nonce" not in me["responses"]["401"]["headers"]
    # A dpop_required route is DPoP only, whatever the bearer's own policy.
    assert schema["paths"]["/bound"]["get"]["security"] == [{"DPoP": []}]


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "general-path"])
@pytest.mark.parametrize("name", fast_path_targets.FRAMEWORKS)
def test_downgrade_is_refused_with_and_without_the_fast_path(
    name: str, fast: bool, key: DPoPKey
) -> None:
    """The fast path's own targets (``fast_path_targets.py``): the same refusal both ways,
    the token cache warm (a first request with an unbound token of the same key set)."""
    target = fast_path_targets.build(name, dpop_targets.config(), fast=fast)
    assert target.send(bearer(token())).status == 200
    for _ in range(2):  # the second time from the cache
        answer = target.send(bearer(token(key.thumbprint)))
        assert answer.status == 401, answer.body
        assert answer.body["error"] == "invalid_token"
        assert "present it with DPoP" in answer.body["error_description"]
