"""Keys: reading them from files and secrets, ``keygen``, and the key ring (``jwks``).

``jwks rotate --if-due`` rotates only when the signing key is due (``--period``, else
``JWT_KEY_ROTATION_PERIOD``), deciding under the ring's lock: run it from cron on every
host sharing the ring, and one of them rotates. Not due is exit status 0 too.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from .. import JWTMiddlewareError, Key, KeyRing, generate_key, token_policy_from_mapping
from .._core.policy import DEFAULT_ACTIVATE_AFTER
from .._keysources.keyring import RingKey, write_private
from .._keysources.rotation import next_rotation
from . import _defaults
from ._output import PROG, UsageError, dumps, emit, when

_CURVE_ALGS = {
    "secp256r1": "ES256",
    "secp384r1": "ES384",
    "secp521r1": "ES512",
    "secp256k1": "ES256K",
}
_FALLBACK_ALG = "ES256"


def read_file(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror}", reason="os") from None


# --- reading keys -------------------------------------------------------------------


def _pem_algorithm(data: bytes) -> str:
    """The algorithm a PEM key fits (RS256 for RSA, the curve's ES*, EdDSA)."""
    key: Any
    try:
        if b"PRIVATE KEY-----" in data:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        elif b"CERTIFICATE-----" in data:
            from cryptography import x509

            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UsageError("the PEM data could not be read as a key") from None
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name in _CURVE_ALGS:
        return _CURVE_ALGS[key.curve.name]
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return "EdDSA"
    raise UsageError("unsupported key type in the PEM data: pass --alg")


def key_from_file(path: str, alg: str | None, kid: str | None, *, name_pem: bool = True) -> Key:
    """A PEM key, certificate or JWK (JSON) from ``path``.

    Without ``--alg`` a PEM key takes ``JWT_ALGORITHMS`` (when it names one
    algorithm) or the algorithm its type implies; without ``--kid``, ``JWT_KID``,
    else (with ``name_pem``) its thumbprint, as ``keygen`` names it. Unnamed, a
    single verification key takes any token ``kid``.
    """
    data = read_file(path, "key file")
    if data.lstrip().startswith(b"{"):
        try:
            jwk = json.loads(data)
        except ValueError:
            raise UsageError(f"{path!r} is neither PEM nor JSON") from None
        if isinstance(jwk, dict) and "keys" in jwk:
            raise UsageError(f"{path!r} is a JWKS: pass it with --jwks")
        if not isinstance(jwk, dict):
            raise UsageError(f"{path!r} is not a JWK")
        if kid is not None:
            jwk["kid"] = kid
        return Key.from_jwk(jwk, alg or (None if "alg" in jwk else _defaults.algorithm()))
    algorithm = alg or _defaults.algorithm() or _pem_algorithm(data)
    kid = kid or _defaults.kid()
    key = Key.from_pem(data, algorithm, kid=kid)
    if name_pem and kid is None and not algorithm.startswith("HS"):
        key = Key.from_pem(data, algorithm, kid=key.thumbprint())
    return key


def secret_key(secret: str, alg: str | None, kid: str | None) -> Key:
    """An HMAC key (``--alg``: ``JWT_ALGORITHMS``, else HS256; ``--kid``: ``JWT_KID``)."""
    if alg is None:
        alg = _defaults.algorithm()
        if alg is not None and not alg.upper().startswith("HS"):
            raise UsageError(
                f"JWT_ALGORITHMS is {alg}, which a secret cannot sign or verify: "
                "give --alg HS256 (an app configured so would refuse the token)"
            )
    kid = kid or _defaults.kid()
    if secret.startswith("base64:"):
        return Key.from_secret(secret[7:], alg or "HS256", kid=kid, encoding="base64")
    return Key.from_secret(secret, alg or "HS256", kid=kid)


# --- keygen -------------------------------------------------------------------------


def _default_algorithm() -> str:
    """The first of ``JWT_ALGORITHMS`` (the algorithm the app pins), else ES256."""
    names = _defaults.algorithms()
    return names[0] if names else _FALLBACK_ALG


def cmd_keygen(args: argparse.Namespace) -> int:
    key = generate_key(args.alg or _default_algorithm(), kid=args.kid)
    kid = key.kid or ""
    hmac = key.algorithm.startswith("HS")
    if args.out is None:
        data: dict[str, Any] = {"kid": kid, "alg": key.algorithm, "private_jwk": key.private_jwk()}
        if not hmac:
            data["public_jwk"] = key.public_jwk()
        emit(args, data, dumps(key.private_jwk()))
        return 0
    if not kid or "/" in kid or "\\" in kid or kid.startswith(".") or "\0" in kid:
        raise UsageError(f"kid {kid!r} cannot name a file: pick another --kid")
    out = Path(args.out)
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create directory {args.out!r}: {exc.strerror}", reason="os"
        ) from None
    files: list[tuple[str, bytes, bool]] = [
        (f"{kid}.private.jwk", dumps(key.private_jwk()).encode() + b"\n", True)
    ]
    if not hmac:
        files += [
            (f"{kid}.private.pem", key.private_pem(), True),
            (f"{kid}.public.jwk", dumps(key.public_jwk()).encode() + b"\n", False),
            (f"{kid}.public.pem", key.public_pem(), False),
        ]
    for name, _, _ in files:
        if (out / name).exists():
            raise UsageError(f"{out / name} exists: refusing to overwrite a key")
    written = []
    for name, body, private in files:
        path = out / name
        try:
            write_private(path, body)
            if not private:
                os.chmod(path, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}", reason="os") from None
        written.append(str(path))
    lines = [f"generated {key.algorithm} key {kid}"]
    lines += [
        f"  wrote {p}"
        + ("  (private, mode 0600)" if p.endswith(("private.jwk", "private.pem")) else "")
        for p in written
    ]
    emit(args, {"kid": kid, "alg": key.algorithm, "files": written}, "\n".join(lines))
    return 0


# --- jwks: the key ring -------------------------------------------------------------


def add_rotate_options(parser: argparse.ArgumentParser, duration: Callable[[str], float]) -> None:
    """The options of ``jwks rotate`` (``duration`` parses ``900``, ``15m``, ``14d``)."""
    parser.add_argument("--ring", required=True, metavar="DIR")
    parser.add_argument("--alg", help="(default: the current key's; for the first key the "
                        "first asymmetric one of JWT_ALGORITHMS, else ES256)")  # fmt: skip
    parser.add_argument("--activate-after", type=duration, default=None,
                        help="publish this long before signing with it (default: "
                        "JWT_KEY_ACTIVATE_AFTER, else 1h)")  # fmt: skip
    parser.add_argument("--retire-after", type=duration, default=None,
                        help="keep the old key this long after the switch (default: "
                        "JWT_KEY_RETIRE_AFTER, else and at least the longest token lifetime, "
                        "JWT_REFRESH_TTL or 14d)")  # fmt: skip
    parser.add_argument("--if-due", action="store_true",
                        help="rotate only if the signing key is due (see --period); exit 0 "
                        "either way, for cron. Several hosts on one ring rotate once")  # fmt: skip
    parser.add_argument("--period", type=duration, default=None,
                        help="the rotation period for --if-due (default: "
                        "JWT_KEY_ROTATION_PERIOD)")  # fmt: skip


def _schedule(args: argparse.Namespace) -> tuple[float, float, float]:
    """The longest token lifetime, ``activate_after`` and ``retire_after``, from the options
    and the settings the app reads (a token policy's maxima count as lifetimes)."""
    policy = token_policy_from_mapping(os.environ, _defaults.PREFIX)  # a clash is refused
    longest, source = _defaults.longest_lifetime()
    for name in ("max_refresh_ttl", "max_access_ttl"):  # what the policy lets tokens live
        allowed = getattr(policy, name, None)
        if allowed is not None and allowed > longest:
            longest, source = float(allowed), f"{_defaults.PREFIX}{name.upper()}"
    activate = args.activate_after
    if activate is None:
        activate = float(policy.key_activate_after if policy else DEFAULT_ACTIVATE_AFTER)
    retire, option = args.retire_after, "--retire-after"
    if retire is None and policy is not None and policy.key_retire_after is not None:
        retire, option = float(policy.key_retire_after), f"{_defaults.PREFIX}KEY_RETIRE_AFTER"
    if retire is None:
        return longest, activate, longest
    if retire < longest:
        raise UsageError(
            f"{option} {retire:.10g} s is shorter than the longest token lifetime, "
            f"{longest:.10g} s ({source}): tokens the old key signed would stop verifying "
            f"early; give {option} {longest:.10g} or more, or leave it out"
        )
    return longest, activate, retire


def _period(args: argparse.Namespace) -> float | None:
    """The rotation period of ``--if-due`` (``None`` without it)."""
    if not args.if_due:
        if args.period is not None:
            raise UsageError("--period applies only with --if-due")
        return None
    if args.period is not None:
        return float(args.period)
    policy = token_policy_from_mapping(os.environ, _defaults.PREFIX)
    if policy is None or policy.key_rotation_period is None:
        raise UsageError(
            f"--if-due needs a rotation period: give --period (e.g. 90d) or set "
            f"{_defaults.PREFIX}KEY_ROTATION_PERIOD"
        )
    return float(policy.key_rotation_period)


def _rotate(args: argparse.Namespace) -> int:
    longest, activate, retire = _schedule(args)
    period = _period(args)
    if period is not None and not period > activate:
        raise UsageError(
            f"the rotation period, {period:.10g} s (--period or {_defaults.PREFIX}"
            f"KEY_ROTATION_PERIOD), must be longer than {activate:.10g} s, how long a new key "
            f"is published before it signs (--activate-after or {_defaults.PREFIX}"
            "KEY_ACTIVATE_AFTER, default 1h)"
        )
    ring = KeyRing(args.ring, max_token_lifetime=longest)
    algorithm = args.alg
    if algorithm is None and not ring.refresh().entries():
        # The first key: the app's algorithm (an asymmetric one: a ring publishes its keys).
        algorithm = next((a for a in _defaults.algorithms() if not a.startswith("HS")), None)
    entry: RingKey[Key] | None
    if period is None:
        entry = ring.rotate(algorithm=algorithm, activate_after=activate, retire_after=retire)
    else:
        entry = ring.rotate_if_due(period=period, activate_after=activate,
                                   retire_after=retire, algorithm=algorithm)  # fmt: skip
    now = time.time()
    data: dict[str, Any] = {"rotated": entry is not None, "keys": _ring_rows(ring, now)}
    if period is not None:
        data["due_at"] = next_rotation(ring.entries(now), period, activate)
    if entry is None:
        text = f"not due: the next rotation is due {when(data['due_at'], now)}"
        emit(args, data, text + "\n" + _ring_table(ring, now))
        return 0
    data.update(kid=entry.kid, alg=entry.key.algorithm, activates_at=entry.activates_at,
                retire_after=retire)  # fmt: skip
    text = (
        f"new {entry.key.algorithm} key {entry.kid}: published now, "
        f"signs from {when(entry.activates_at, now)}\n" + _ring_table(ring, now)
    )
    emit(args, data, text)
    return 0


def cmd_jwks(args: argparse.Namespace) -> int:
    if args.jwks_command == "rotate":
        return _rotate(args)
    ring = KeyRing.load(args.ring)
    if args.jwks_command == "list":
        now = time.time()
        emit(args, {"keys": _ring_rows(ring, now)}, _ring_table(ring, now))
        return 0
    jwks = ring.public_jwks()
    if not jwks["keys"]:
        raise UsageError(f"the key ring {args.ring!r} is empty: run `{PROG} jwks rotate` first")
    if args.out:
        try:
            write_private(Path(args.out), dumps(jwks).encode() + b"\n")
            os.chmod(args.out, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out!r}: {exc.strerror}", reason="os") from None
        kids = [k["kid"] for k in jwks["keys"]]
        emit(args, {"file": args.out, "kids": kids}, f"wrote {args.out}")
    else:
        print(dumps(jwks))
    return 0


def _ring_rows(ring: KeyRing, now: float) -> list[dict[str, Any]]:
    try:
        signer: str | None = ring.signing_key(now).kid
    except JWTMiddlewareError:
        signer = None
    return [
        {
            "kid": e.kid,
            "alg": e.key.algorithm,
            "state": "signing" if e.kid == signer else e.state(now),
            "activates_at": e.activates_at,
            "retires_at": e.retires_at,
        }
        for e in reversed(ring.entries(now))
    ]


def _ring_table(ring: KeyRing, now: float) -> str:
    rows = _ring_rows(ring, now)
    if not rows:
        return "(empty ring)"
    lines = []
    for row in rows:
        state = row["state"]
        line = f"  {row['kid']}  {row['alg']:<6} {state:<8}"
        if state == "pending":
            line += f" signs from {when(row['activates_at'], now)}"
        elif row["retires_at"] is not None:
            line += f" retires {when(row['retires_at'], now)}"
        lines.append(line.rstrip())
    return "\n".join(lines)
