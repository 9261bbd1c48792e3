"""The ``jwt-middleware`` command line (also ``python -m jwt_middleware``).

Commands: ``keygen``, ``issue``, ``inspect``, ``verify``, ``jwks export``,
``jwks rotate``, ``jwks list``, ``revoke``, ``purge``. Every command takes
``--json`` for scripts. A TOKEN argument of ``-`` is read from stdin.

Exit status: 0 success (a valid token, for ``verify``); 1 a token that
failed verification; 2 bad input (arguments, files, URLs, a TOKEN that is
not a JWT at all), reported as one line on stderr, never a traceback.

See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from ._claims import ACCESS_TYP
from ._config import Config
from ._encode import encode
from ._errors import AuthError, JWTMiddlewareError, ServiceUnavailableError
from ._jws import b64url_decode, json_object, split
from ._keyring import DEFAULT_MAX_TOKEN_LIFETIME, KeyRing, write_private
from ._keys import ALGORITHMS, Key, KeySet, generate_key
from ._principal import Principal
from ._protocols import KeyResolver
from ._settings import issuer_options_from_mapping
from ._verify import Verifier
from ._version import __version__
from .stores import Store, StoreError, store_from_url

__all__ = ["build_parser", "main"]

PROG = "jwt-middleware"
_MAX_TOKEN = 1 << 16
_REGISTERED = ("iss", "sub", "aud", "iat", "nbf", "exp", "jti")
_CURVE_ALGS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_CURVE_ALGS["secp256k1"] = "ES256K"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


_NOT_VERIFIED = (
    "!!! WARNING: NOT VERIFIED !!! Neither the signature nor any claim of this token was\n"
    "!!! checked: anyone can write these claims. Give --jwks, --key or --secret to verify."
)


class UsageError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


# --- small helpers ------------------------------------------------------------------


def _duration(text: str) -> float:
    """Seconds from ``900``, ``90s``, ``15m``, ``2h`` or ``14d``."""
    value = text.strip().lower()
    scale = _UNITS.get(value[-1:], 0)
    number = value[:-1] if scale else value
    try:
        seconds = float(number) * (scale or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (try 900, 15m, 2h, 14d)"
        ) from None
    if seconds != seconds or abs(seconds) > 10 * 366 * 86400:
        raise argparse.ArgumentTypeError(f"duration out of range: {text!r}")
    return seconds


def _timestamp(text: str) -> float:
    """Seconds since the epoch from a number or an ISO 8601 date-time (UTC if no zone)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (seconds since the epoch or 2030-01-31T12:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def _relative(seconds: float) -> str:
    span = abs(seconds)
    if span < 1:
        return "now"
    if span < 90:
        amount = f"{span:.0f} s"
    elif span < 90 * 60:
        amount = f"{span / 60:.0f} min"
    elif span < 48 * 3600:
        amount = f"{span / 3600:.0f} h"
    else:
        amount = f"{span / 86400:.0f} d"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _when(ts: Any, now: float) -> str:
    if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not abs(ts) < 1e11:
        return f"{ts!r} (not a time)"
    return f"{_utc(ts)}  ({_relative(ts - now)})"


def _read_text(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path!r}: {exc.strerror}") from None


def _read_token(arg: str) -> str:
    text = sys.stdin.read() if arg == "-" else arg
    text = text.strip()
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    if not text:
        raise UsageError("no token given")
    return text


def _decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        head, payload, _ = split(token, _MAX_TOKEN)
        return json_object(b64url_decode(head)), json_object(b64url_decode(payload))
    except AuthError as exc:
        raise UsageError(f"not a JWT: {exc.description}") from None


def _emit(args: argparse.Namespace, data: Mapping[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    elif text:
        print(text)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)


# --- keys ---------------------------------------------------------------------------


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


def _key_from_file(path: str, alg: str | None, kid: str | None, *, name_pem: bool = True) -> Key:
    """A PEM key, certificate or JWK (JSON) from ``path``.

    A PEM key is named by its thumbprint (as ``keygen`` names it) when
    ``name_pem``; unnamed, a single verification key takes any token ``kid``.
    """
    data = _read_text(path, "key file")
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
        return Key.from_jwk(jwk, alg)
    algorithm = alg or _pem_algorithm(data)
    key = Key.from_pem(data, algorithm, kid=kid)
    if name_pem and kid is None and not algorithm.startswith("HS"):
        key = Key.from_pem(data, algorithm, kid=key.thumbprint())
    return key


def _secret_key(secret: str, alg: str | None, kid: str | None) -> Key:
    if secret.startswith("base64:"):
        return Key.from_secret(secret[7:], alg or "HS256", kid=kid, encoding="base64")
    return Key.from_secret(secret, alg or "HS256", kid=kid)


# --- commands -----------------------------------------------------------------------


def cmd_keygen(args: argparse.Namespace) -> int:
    key = generate_key(args.alg, kid=args.kid)
    kid = key.kid or ""
    hmac = key.algorithm.startswith("HS")
    if args.out is None:
        data: dict[str, Any] = {"kid": kid, "alg": key.algorithm, "private_jwk": key.private_jwk()}
        if not hmac:
            data["public_jwk"] = key.public_jwk()
        _emit(args, data, _dumps(key.private_jwk()))
        return 0
    if not kid or "/" in kid or "\\" in kid or kid.startswith(".") or "\0" in kid:
        raise UsageError(f"kid {kid!r} cannot name a file: pick another --kid")
    out = Path(args.out)
    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create directory {args.out!r}: {exc.strerror}") from None
    files: list[tuple[str, bytes, bool]] = [
        (f"{kid}.private.jwk", _dumps(key.private_jwk()).encode() + b"\n", True)
    ]
    if not hmac:
        files += [
            (f"{kid}.private.pem", key.private_pem(), True),
            (f"{kid}.public.jwk", _dumps(key.public_jwk()).encode() + b"\n", False),
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
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None
        written.append(str(path))
    lines = [f"generated {key.algorithm} key {kid}"]
    lines += [
        f"  wrote {p}"
        + ("  (private, mode 0600)" if p.endswith(("private.jwk", "private.pem")) else "")
        for p in written
    ]
    _emit(args, {"kid": kid, "alg": key.algorithm, "files": written}, "\n".join(lines))
    return 0


def _signing_setup(args: argparse.Namespace) -> tuple[Key, str | tuple[str, ...] | None, Any]:
    """The signing key, and the issuer / audience defaults from the environment."""
    chosen = [n for n in ("key", "secret", "ring") if getattr(args, n) is not None]
    if len(chosen) > 1:
        raise UsageError("give only one of --key, --secret and --ring")
    if args.key is not None:
        key = _key_from_file(args.key, args.alg, args.kid)
    elif args.secret is not None:
        key = _secret_key(args.secret, args.alg, args.kid)
    elif args.ring is not None:
        key = KeyRing.load(args.ring).signing_key()
    else:
        config = Config.from_env()
        return config.key_set.signing_key(), config.issuer, config.audience
    if not key.can_sign:
        raise UsageError("the key is public only and cannot sign: give a private key")
    return key, None, None


def _claim_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_issue(args: argparse.Namespace) -> int:
    key, env_iss, env_aud = _signing_setup(args)
    if args.ttl == 0:
        raise UsageError("--ttl must not be 0")
    now = int(time.time())
    claims: dict[str, Any] = {}
    for item in args.claim:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--claim takes NAME=VALUE, not {item!r}")
        if name in _REGISTERED:
            raise UsageError(f"--claim cannot set {name}: use --sub, --iss, --aud or --ttl")
        claims[name] = _claim_value(value)
    iss = args.iss if args.iss is not None else env_iss
    aud: Any = args.aud if args.aud else env_aud
    if isinstance(iss, tuple):
        iss = iss[0]
    if iss is not None:
        claims["iss"] = iss
    claims["sub"] = args.sub
    if isinstance(aud, (list, tuple)):
        aud = aud[0] if len(aud) == 1 else list(aud)
    if aud:
        claims["aud"] = aud
    claims.update(iat=now, nbf=now, exp=now + int(args.ttl), jti=secrets.token_urlsafe(18))
    if args.role:
        claims["roles"] = sorted(set(args.role))
    if args.scope:
        claims["scope"] = " ".join(sorted(set(args.scope)))
    token = encode(claims, key, headers={"typ": args.typ})
    header = {"alg": key.algorithm, "typ": args.typ, **({"kid": key.kid} if key.kid else {})}
    _emit(args, {"token": token, "header": header, "claims": claims}, token)
    return 0


def _verification_config(args: argparse.Namespace, *, required: bool) -> Config | None:
    chosen = [n for n in ("jwks", "secret", "key") if getattr(args, n) is not None]
    if len(chosen) > 1:
        raise UsageError("give only one of --jwks, --secret and --key")
    options: dict[str, Any] = {"leeway": args.leeway}
    if args.iss is not None:
        options["issuer"] = args.iss
    if args.aud:
        options["audience"] = tuple(args.aud)
    if args.jwks is not None:
        keys: KeySet | Key | KeyResolver = _jwks_key_set(args.jwks, args.alg)
    elif args.secret is not None:
        keys = _secret_key(args.secret, args.alg, None)
    elif args.key is not None:
        keys = _key_from_file(args.key, args.alg, None, name_pem=False)
    elif required:
        return Config.from_env(**options)
    else:
        return None
    return Config(keys=keys, **options)


def _jwks_key_set(source: str, alg: str | None) -> KeySet | KeyResolver:
    algorithms = [alg] if alg else None
    if source.startswith(("http://", "https://")):
        return _fetch_jwks(source, algorithms)
    if "://" in source:
        raise UsageError(f"--jwks takes an http(s) URL or a file, not {source!r}")
    data = _read_text(source, "JWKS file")
    try:
        document = json.loads(data)
    except ValueError:
        raise UsageError(f"{source!r} is not a JWKS (not JSON)") from None
    if isinstance(document, dict) and "keys" not in document and "kty" in document:
        document = {"keys": [document]}  # one JWK, as keygen writes it
    return KeySet.from_jwks(document, algorithms)


def _fetch_jwks(url: str, algorithms: list[str] | None) -> KeyResolver:
    """A JWKS client for ``url``, fetched once now (http only for this machine)."""
    # Loaded by name: the client's HTTP library stays out of the CLI's import graph.
    jwks_module = importlib.import_module("jwt_middleware.jwks")
    host = urlsplit(url).hostname or ""
    client = jwks_module.JWKSClient(
        url,
        algorithms=algorithms or [a for a in ALGORITHMS if not a.startswith("HS")],
        allow_http=host in ("localhost", "127.0.0.1", "::1"),
    )
    try:
        client.refresh()
    except JWTMiddlewareError:
        raise UsageError(f"cannot fetch the JWKS from {url}: {client.last_error}") from None
    resolver: KeyResolver = client
    return resolver


def _principal_summary(principal: Principal, header: Mapping[str, Any], now: float) -> str:
    lines = [f"  subject  {principal.subject}"]
    if principal.roles:
        lines.append(f"  roles    {' '.join(sorted(principal.roles))}")
    if principal.scopes:
        lines.append(f"  scopes   {' '.join(sorted(principal.scopes))}")
    lines.append(f"  key      {header.get('kid', '(no kid)')} ({header.get('alg')})")
    if principal.expires_at is not None:
        lines.append(f"  expires  {_when(principal.expires_at, now)}")
    return "\n".join(lines)


def _check(config: Config, token: str) -> tuple[Principal | None, AuthError | None]:
    try:
        return Verifier(config).verify(token), None
    except ServiceUnavailableError as exc:
        raise UsageError(exc.description) from None
    except AuthError as exc:
        return None, exc


def cmd_inspect(args: argparse.Namespace) -> int:
    token = _read_token(args.token)
    header, claims = _decode_unverified(token)
    config = _verification_config(args, required=False)
    now = time.time()
    times = {
        name: {"value": claims[name], "utc": _when(claims[name], now)}
        for name in ("iat", "nbf", "exp", "auth_time")
        if name in claims
    }
    verdict: dict[str, Any] = {"verified": False}
    status = 0
    if config is not None:
        principal, error = _check(config, token)
        verdict = {"verified": principal is not None}
        if error is not None:
            verdict.update(reason=error.reason, error=error.description)
            status = 1
    else:
        print(_NOT_VERIFIED, file=sys.stderr)
    lines = ["Header:", _dumps(header), "Claims:", _dumps(claims)]
    if times:
        lines.append("Times:")
        lines += [f"  {name:<9} {info['utc']}" for name, info in times.items()]
    if config is not None:
        lines.append(
            "Verified: yes"
            if status == 0
            else f"Verified: NO, {verdict['error']} ({verdict['reason']})"
        )
    _emit(args, {"header": header, "claims": claims, "times": times, **verdict}, "\n".join(lines))
    return status


def cmd_verify(args: argparse.Namespace) -> int:
    token = _read_token(args.token)
    header, _ = _decode_unverified(token)
    config = _verification_config(args, required=True)
    assert config is not None
    principal, error = _check(config, token)
    if error is not None or principal is None:
        assert error is not None
        _emit(
            args,
            {"valid": False, "reason": error.reason, "error": error.description},
            f"invalid: {error.description} ({error.reason})",
        )
        return 1
    data = {
        "valid": True,
        "subject": principal.subject,
        "roles": sorted(principal.roles),
        "scopes": sorted(principal.scopes),
        "header": header,
        "claims": dict(principal.claims),
    }
    _emit(args, data, "valid\n" + _principal_summary(principal, header, time.time()))
    return 0


def _longest_lifetime() -> tuple[float, str]:
    """The longest token lifetime, from the TTL settings the app reads, and its source."""
    ttls = issuer_options_from_mapping(os.environ)
    refresh = ttls.get("refresh_ttl", DEFAULT_MAX_TOKEN_LIFETIME)
    longest, name = max((refresh, "JWT_REFRESH_TTL"), (ttls.get("access_ttl", 0), "JWT_ACCESS_TTL"))
    if longest <= 0:
        raise UsageError(f"{name} must be a positive number of seconds")
    return float(longest), name if name in os.environ else "the default refresh TTL"


def cmd_jwks(args: argparse.Namespace) -> int:
    if args.jwks_command == "rotate":
        longest, source = _longest_lifetime()
        retire = longest if args.retire_after is None else args.retire_after
        if retire < longest:
            raise UsageError(
                f"--retire-after {retire:.10g} s is shorter than the longest token lifetime, "
                f"{longest:.10g} s ({source}): tokens the old key signed would stop verifying "
                f"early; give --retire-after {longest:.10g} or more, or leave it out"
            )
        ring = KeyRing(args.ring, max_token_lifetime=longest)
        entry = ring.rotate(
            algorithm=args.alg, activate_after=args.activate_after, retire_after=retire
        )
        now = time.time()
        data = {
            "kid": entry.kid,
            "alg": entry.key.algorithm,
            "activates_at": entry.activates_at,
            "retire_after": retire,
            "keys": _ring_rows(ring, now),
        }
        text = (
            f"new {entry.key.algorithm} key {entry.kid}: published now, "
            f"signs from {_when(entry.activates_at, now)}\n" + _ring_table(ring, now)
        )
        _emit(args, data, text)
        return 0
    ring = KeyRing.load(args.ring)
    if args.jwks_command == "list":
        now = time.time()
        _emit(args, {"keys": _ring_rows(ring, now)}, _ring_table(ring, now))
        return 0
    jwks = ring.public_jwks()
    if not jwks["keys"]:
        raise UsageError(f"the key ring {args.ring!r} is empty: run `{PROG} jwks rotate` first")
    if args.out:
        try:
            write_private(Path(args.out), _dumps(jwks).encode() + b"\n")
            os.chmod(args.out, 0o644)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out!r}: {exc.strerror}") from None
        _emit(
            args, {"file": args.out, "kids": [k["kid"] for k in jwks["keys"]]}, f"wrote {args.out}"
        )
    else:
        print(_dumps(jwks))
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
            line += f" signs from {_when(row['activates_at'], now)}"
        elif row["retires_at"] is not None:
            line += f" retires {_when(row['retires_at'], now)}"
        lines.append(line.rstrip())
    return "\n".join(lines)


def _store(args: argparse.Namespace) -> Store:
    url = args.store or os.environ.get("JWT_STORE_URL")
    if not url:
        raise UsageError("give --store URL (or set JWT_STORE_URL)")
    return store_from_url(url)


def cmd_revoke(args: argparse.Namespace) -> int:
    if (args.jti is None) == (args.sub is None):
        raise UsageError("give either --jti (with --exp) or --sub")
    now = time.time()
    store = _store(args)
    try:
        if args.jti is not None:
            if args.exp is None:
                raise UsageError("--jti needs --exp: the token's expiry (its exp claim)")
            store.revoke_token(args.jti, args.exp)
            data = {"revoked": "token", "jti": args.jti, "until": args.exp}
            text = f"revoked token {args.jti} until {_when(args.exp, now)}"
        else:
            until = now + args.max_lifetime
            store.revoke_subject(args.sub, now, until)
            data = {"revoked": "subject", "sub": args.sub, "before": now, "until": until}
            text = f"revoked every token of {args.sub} issued before {_utc(now)}"
    finally:
        store.close()
    _emit(args, data, text)
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        count = store.purge(time.time())
    finally:
        store.close()
    _emit(args, {"purged": count}, f"purged {count} expired record{'s' * (count != 1)}")
    return 0


# --- parser -------------------------------------------------------------------------


def _verification_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("verification (one key source)")
    group.add_argument("--jwks", metavar="URL|FILE", help="a JWKS document (file or https URL)")
    group.add_argument("--secret", help="an HMAC secret (prefix base64: for base64 text)")
    group.add_argument("--key", metavar="FILE", help="a public key: PEM, certificate or JWK")
    group.add_argument("--alg", help="the algorithm (default: inferred from the key; HS256)")
    group.add_argument("--iss", help="the issuer the token must name")
    group.add_argument("--aud", action="append", default=[], help="an accepted audience")
    group.add_argument("--leeway", type=float, default=0.0, help="seconds of clock skew")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="JSON output for scripts"
    )
    parser = _Parser(
        prog=PROG, description="Tools for JSON Web Tokens protected by jwt_middleware."
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--json", action="store_true", help="JSON output for scripts")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("keygen", parents=[common], help="generate a signing key")
    p.add_argument("--alg", default="ES256", choices=ALGORITHMS, help="(default ES256)")
    p.add_argument("--kid", help="key id (default: the RFC 7638 thumbprint)")
    p.add_argument("--out", metavar="DIR", help="write JWK and PEM files here")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("issue", parents=[common], help="sign a token")
    p.add_argument("--sub", required=True, help="the subject")
    p.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    p.add_argument("--scope", action="append", default=[], help="a scope (repeatable)")
    p.add_argument("--ttl", type=_duration, default=900.0, help="lifetime (default 900 s)")
    p.add_argument("--claim", action="append", default=[], metavar="NAME=VALUE",
                   help="an extra claim; VALUE is JSON or text (repeatable)")  # fmt: skip
    p.add_argument("--iss", help="issuer (default: JWT_ISSUER)")
    p.add_argument("--aud", action="append", default=[], help="audience (repeatable)")
    p.add_argument("--typ", default=ACCESS_TYP, help=f"header typ (default {ACCESS_TYP})")
    p.add_argument("--key", metavar="FILE", help="private key: PEM or JWK")
    p.add_argument("--secret", help="HMAC secret (prefix base64: for base64 text)")
    p.add_argument("--ring", metavar="DIR", help="sign with a key ring's active key")
    p.add_argument("--alg", help="algorithm (default: inferred from the key; HS256)")
    p.add_argument("--kid", help="key id for the header (default: the key's thumbprint)")
    p.set_defaults(func=cmd_issue)

    p = sub.add_parser("inspect", parents=[common], help="show a token's header and claims")
    p.add_argument("token", metavar="TOKEN", help="the token, or - for stdin")
    _verification_options(p)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("verify", parents=[common], help="verify a token (exit 0 valid, 1 not)")
    p.add_argument("token", metavar="TOKEN", help="the token, or - for stdin")
    _verification_options(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("jwks", parents=[common], help="key ring: export, rotate, list")
    jsub = p.add_subparsers(dest="jwks_command", metavar="ACTION", parser_class=_Parser)
    jsub.required = True
    j = jsub.add_parser("export", parents=[common], help="print the public JWKS")
    j.add_argument("--ring", required=True, metavar="DIR")
    j.add_argument("--out", metavar="FILE", help="write it to FILE instead")
    j = jsub.add_parser("rotate", parents=[common], help="publish a new key")
    j.add_argument("--ring", required=True, metavar="DIR")
    j.add_argument("--alg", help="(default: the current key's, or ES256)")
    j.add_argument("--activate-after", type=_duration, default=3600.0,
                   help="publish this long before signing with it (default 1h)")  # fmt: skip
    j.add_argument("--retire-after", type=_duration, default=None,
                   help="keep the old key this long after the switch (default and minimum: "
                   "the longest token lifetime, JWT_REFRESH_TTL or 14d)")  # fmt: skip
    j = jsub.add_parser("list", parents=[common], help="show the ring's keys and their state")
    j.add_argument("--ring", required=True, metavar="DIR")
    p.set_defaults(func=cmd_jwks)

    p = sub.add_parser("revoke", parents=[common], help="revoke a token id or a subject")
    p.add_argument("--jti", help="the token id")
    p.add_argument("--exp", type=_timestamp, help="the token's expiry (keeps the entry until)")
    p.add_argument("--sub", help="revoke every token of this subject issued until now")
    p.add_argument("--max-lifetime", type=_duration, default=14 * 86400.0,
                   help="the longest token lifetime (default 14d)")  # fmt: skip
    p.add_argument("--store", metavar="URL", help="store URL (default: JWT_STORE_URL)")
    p.set_defaults(func=cmd_revoke)

    p = sub.add_parser("purge", parents=[common], help="drop expired store records")
    p.add_argument("--store", metavar="URL", help="store URL (default: JWT_STORE_URL)")
    p.set_defaults(func=cmd_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    # The library's warnings (a failed JWKS fetch, ...) reach the user as the one-line
    # error instead of through logging's last-resort handler.
    quiet = logging.NullHandler()
    library_logger = logging.getLogger("jwt_middleware")
    library_logger.addHandler(quiet)
    try:
        return _main(argv)
    finally:
        library_logger.removeHandler(quiet)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        status: int = args.func(args)
        sys.stdout.flush()
        return status
    except UsageError as exc:
        return _fail(str(exc))
    except JWTMiddlewareError as exc:
        return _fail(str(exc))
    except StoreError as exc:
        return _fail(f"store: {exc}")
    except BrokenPipeError:  # `jwt-middleware jwks export ... | head`
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback for a command-line user
        return _fail(f"unexpected {type(exc).__name__}: {exc}")


def _fail(message: str) -> int:
    first = " ".join(message.split()) or "failed"
    with contextlib.suppress(OSError):
        print(f"{PROG}: error: {first}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
