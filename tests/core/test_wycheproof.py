"""Wycheproof JSON Web Signature vectors against the signature stage of the verifier.

All 401 vectors of ``json_web_signature_test.json`` (C2SP/wycheproof), one
test case each. Each group's key is loaded as a one-key set; a group whose key
is refused at load time (``use: enc``, ``key_ops: [encrypt]``) rejects all of
its tests. Payloads are not JWT claim sets, so only
``Verifier.verify_signature`` is exercised.

Six vectors carry a label that no strict verifier can meet, or that contradicts
a rule this library must keep; they are listed in :data:`DEVIATIONS` with the
reason and the verdict asserted instead.

The vectors are third-party data and are not in this repository. Point
``JWT_MIDDLEWARE_WYCHEPROOF_DIR`` at a checkout's ``testvectors_v1`` folder
(or any folder holding ``json_web_signature_test.json``), as pyca/cryptography
does for its own Wycheproof run; ``.ci/run`` points it at the copy that CI
keeps beside the clone. Unset, these tests skip with that reason;
with ``JWT_MIDDLEWARE_REQUIRE_WYCHEPROOF=1`` (CI) a missing file fails instead.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _pytest.mark import ParameterSet

from jwt_middleware import (
    Config,
    ConfigurationError,
    InvalidAlgorithmError,
    InvalidSignatureError,
    JWTMiddlewareError,
    Key,
    KeySet,
    MalformedTokenError,
    TokenError,
    Verifier,
)

WYCHEPROOF_SETTING = "JWT_MIDDLEWARE_WYCHEPROOF_DIR"
WHERE = (
    "get the vectors from https://github.com/C2SP/wycheproof (testvectors_v1/"
    f"json_web_signature_test.json) and set {WYCHEPROOF_SETTING} to their folder"
)
_DIR = os.environ.get(WYCHEPROOF_SETTING, "")
VECTORS = Path(_DIR, "json_web_signature_test.json") if _DIR else None


@dataclass(frozen=True)
class Vector:
    group: int
    group_comment: str
    jwk: dict[str, Any]
    tc_id: int
    comment: str
    jws: str
    result: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Deviation:
    #: ``None``: accepted; otherwise the exact error class we answer with.
    expected: type[TokenError] | None
    reason: str


_PINNED = (
    "RFC 7520 figure 20 is a PS384 signature, but the group's JWK says alg PS256; every key "
    "is pinned to the one algorithm it was configured for, so the token's alg must equal it"
)
_SAME_AS_357 = (
    "byte-identical to tcId 357, which is labelled valid: the padding this vector was meant "
    "to carry was lost upstream (C2SP/wycheproof#236); it must get 357's verdict"
)
_NOT_BASE64URL = (
    "'?' is not in the base64url alphabet (RFC 7515 section 2), and the same insertion is "
    "labelled invalid in tcIds 361-364, 366, 369 and 371. In the header it fails parsing; in "
    "the payload the signature check comes first, and the MAC covers the literal text"
)

#: tcId -> the verdict asserted instead of the vector's label, and why.
DEVIATIONS: dict[int, Deviation] = {
    346: Deviation(InvalidAlgorithmError, _PINNED),
    350: Deviation(InvalidAlgorithmError, _PINNED),
    367: Deviation(None, _SAME_AS_357),
    370: Deviation(None, _SAME_AS_357),
    372: Deviation(MalformedTokenError, _NOT_BASE64URL),
    373: Deviation(InvalidSignatureError, _NOT_BASE64URL),
}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def load_vectors() -> tuple[dict[str, Any], list[Vector]]:
    document: dict[str, Any] = json.loads(require_vectors().read_text(encoding="utf-8"))
    vectors = [
        Vector(
            group=index,
            group_comment=group.get("comment", ""),
            # The public key, or for HMAC groups (no public key) the secret.
            jwk=group.get("public") or group["private"],
            tc_id=test["tcId"],
            comment=test["comment"],
            jws=test["jws"],
            result=test["result"],
            flags=tuple(test["flags"]),
        )
        for index, group in enumerate(document["testGroups"])
        for test in group["tests"]
    ]
    return document, vectors


def parameters() -> list[ParameterSet]:
    if VECTORS is None or not VECTORS.is_file():
        # Collected as one case that skips (or fails under CI) with the reason.
        return [pytest.param(None, id="wycheproof-vectors-missing")]
    _, vectors = load_vectors()
    return [
        pytest.param(
            v,
            id=f"g{v.group:02d}-{_slug(v.group_comment)}-tc{v.tc_id}-{_slug(v.comment)}",
        )
        for v in vectors
    ]


def require_vectors() -> Path:
    """The vectors file; skips with where to get it, or fails under CI."""
    if VECTORS is None:
        reason = f"{WYCHEPROOF_SETTING} is unset: {WHERE}"
    elif not VECTORS.is_file():
        reason = f"{WYCHEPROOF_SETTING} names no {VECTORS.name} ({VECTORS}): {WHERE}"
    else:
        return VECTORS
    if os.environ.get("JWT_MIDDLEWARE_REQUIRE_WYCHEPROOF") == "1":
        pytest.fail(f"JWT_MIDDLEWARE_REQUIRE_WYCHEPROOF=1 but {reason}")
    pytest.skip(reason)


def load_group_key(jwk: dict[str, Any]) -> KeySet:
    return KeySet.from_jwks({"keys": [jwk]})


def segment(jws: str, index: int) -> bytes:
    text = jws.split(".")[index]
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize("vector", parameters())
def test_wycheproof_signature_stage(vector: Vector | None) -> None:
    require_vectors()
    assert vector is not None
    try:
        key_set = load_group_key(vector.jwk)
    except ConfigurationError:
        # A key refused at start-up rejects everything signed for it.
        assert vector.result == "invalid", f"tcId {vector.tc_id}: a usable key was refused"
        algorithm = {"RSA": "RS256", "EC": "ES256"}.get(vector.jwk.get("kty", ""))
        with pytest.raises(ConfigurationError, match=r"use|key_ops"):
            Key.from_jwk(vector.jwk, vector.jwk.get("alg") or algorithm)
        return
    v = Verifier(Config(keys=key_set))
    deviation = DEVIATIONS.get(vector.tc_id)
    if deviation is not None:
        check_deviation(v, vector, deviation)
        return
    if vector.result == "valid":
        assert not vector.jws.lstrip().startswith("{")
        header, payload = v.verify_signature(vector.jws)
        (key,) = key_set
        assert header["alg"] == key.algorithm
        assert payload == segment(vector.jws, 1)
        return
    assert vector.result == "invalid"
    with pytest.raises(JWTMiddlewareError) as info:
        v.verify_signature(vector.jws)
    assert isinstance(info.value, TokenError), f"tcId {vector.tc_id}: {info.value!r}"


def check_deviation(v: Verifier, vector: Vector, deviation: Deviation) -> None:
    if deviation.expected is None:
        v.verify_signature(vector.jws)
    else:
        with pytest.raises(TokenError) as info:
            v.verify_signature(vector.jws)
        assert type(info.value) is deviation.expected
    _, vectors = load_vectors()
    by_id = {other.tc_id: other for other in vectors}
    if deviation.reason is _SAME_AS_357:
        assert vector.jws == by_id[357].jws
        assert by_id[357].result == "valid"
    elif deviation.reason is _NOT_BASE64URL:
        assert "?" in vector.jws
    elif deviation.reason is _PINNED:
        assert json.loads(segment(vector.jws, 0))["alg"] == "PS384"
        assert vector.jwk["alg"] == "PS256"
        # The signature itself is sound: the same key, pinned to PS384, accepts it.
        unpinned = {name: value for name, value in vector.jwk.items() if name != "alg"}
        ps384 = Verifier(Config(keys=KeySet([Key.from_jwk(unpinned, "PS384")])))
        header, _ = ps384.verify_signature(vector.jws)
        assert header["alg"] == "PS384"


def test_wycheproof_file_is_complete() -> None:
    require_vectors()
    document, vectors = load_vectors()
    assert document["numberOfTests"] == 401
    assert len(vectors) == 401
    assert len({v.tc_id for v in vectors}) == 401
    assert len(document["testGroups"]) == 23
    assert {v.result for v in vectors} == {"valid", "invalid"}
    assert set(DEVIATIONS) <= {v.tc_id for v in vectors}


def test_json_serialization_is_rejected() -> None:
    require_vectors()
    _, vectors = load_vectors()
    serialized = [v for v in vectors if "JsonSerialization" in v.flags]
    assert serialized, "the data set has JSON-serialized cases"
    for vector in serialized:
        v = Verifier(Config(keys=load_group_key(vector.jwk)))
        with pytest.raises(MalformedTokenError):
            v.verify_signature(vector.jws)
