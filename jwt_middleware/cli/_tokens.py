"""Tokens: ``issue`` signs one, ``inspect`` shows one, ``verify`` checks one as the app would."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import secrets
import sys
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .. import (
    ALGORITHMS,
    AuthError,
    Config,
    JWTMiddlewareError,
    Key,
    KeyResolver,
    KeyRing,
    KeySet,
    Principal,
    ServiceUnavailableError,
    Verifier,
    encode,
)
from .._core.jws import b64url_decode, json_object, split
from . import _defaults
from ._keys import key_from_file, read_file, secret_key
from ._output import UsageError, as_usage_error, dumps, emit, missing_library, when
from ._store import check_sqlite_folder

_MAX_TOKEN = 1 << 16
_REGISTERED = ("iss", "sub", "aud", "iat", "nbf", "exp", "jti")

NOT_VERIFIED = (
    "!!! WARNING: NOT VERIFIED !!! Neither the signature nor any claim of this token was\n"
    "!!! checked: anyone can write these claims. Give --jwks, --key or --secret to verify."
)


def read_token(arg: str) -> str:
    text = sys.stdin.read() if arg == "-" else arg
    text = text.strip()
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    if not text:
        raise UsageError("no token given")
    return text


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        head, payload, _ = split(token, _MAX_TOKEN)
        return json_object(b64url_decode(head)), json_object(b64url_decode(payload))
    except AuthError as exc:
        raise UsageError(f"not a JWT: {exc.description}") from None


# --- issue --------------------------------------------------------------------------


def _signing_setup(args: argparse.Namespace) -> tuple[Key, str | tuple[str, ...] | None, Any]:
    """The signing key, and the issuer and audience the app's settings name."""
    chosen = [n for n in ("key", "secret", "ring") if getattr(args, n) is not None]
    if len(chosen) > 1:
        raise UsageError("give only one of --key, --secret and --ring")
    if args.key is not None:
        key = key_from_file(args.key, args.alg, args.kid)
    elif args.secret is not None:
        key = secret_key(args.secret, args.alg, args.kid)
    elif args.ring is not None:
        key = KeyRing.load(args.ring).signing_key()
    else:
        app = _defaults.app_config()
        return app.key_set.signing_key(), app.issuer, app.audience
    if not key.can_sign:
        raise UsageError("the key is public only and cannot sign: give a private key")
    allowed = _defaults.algorithms()
    if args.alg is None and allowed and key.algorithm not in allowed:
        raise UsageError(
            f"the key signs {key.algorithm} but JWT_ALGORITHMS allows {', '.join(allowed)}: "
            "the app would refuse the token (use a key of the app's algorithm)"
        )
    # Validated and normalised as the app's Config does it (one value or several).
    env = _defaults.settings("ISSUER", "AUDIENCE")  # not the store: issuing needs none
    app = Config(keys=key, issuer=env.get("issuer"), audience=env.get("audience"))
    return key, app.issuer, app.audience


def _claim_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def cmd_issue(args: argparse.Namespace) -> int:
    if not args.sub.strip():
        raise UsageError("--sub must name the subject: the verifier refuses an empty sub")
    if args.ttl == 0:
        raise UsageError("--ttl must not be 0")
    claims: dict[str, Any] = {}
    for item in args.claim:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--claim takes NAME=VALUE, not {item!r}")
        if name in _REGISTERED:
            raise UsageError(f"--claim cannot set {name}: use --sub, --iss, --aud or --ttl")
        claims[name] = _claim_value(value)
    ttl = args.ttl if args.ttl is not None else _defaults.access_ttl()[0]
    key, env_iss, env_aud = _signing_setup(args)
    iss = args.iss if args.iss is not None else env_iss
    aud: Any = args.aud if args.aud else env_aud
    if isinstance(iss, tuple):  # several accepted issuers: a token names the first
        iss = iss[0]
    if iss is not None:
        claims["iss"] = iss
    claims["sub"] = args.sub
    if isinstance(aud, (list, tuple)):
        aud = aud[0] if len(aud) == 1 else list(aud)
    if aud:
        claims["aud"] = aud
    now = int(time.time())
    claims.update(iat=now, nbf=now, exp=now + int(ttl), jti=secrets.token_urlsafe(18))
    if args.role:
        claims["roles"] = sorted(set(args.role))
    if args.scope:
        claims["scope"] = " ".join(sorted(set(args.scope)))
    token = encode(claims, key, headers={"typ": args.typ})
    header = {"alg": key.algorithm, "typ": args.typ, **({"kid": key.kid} if key.kid else {})}
    emit(args, {"token": token, "header": header, "claims": claims}, token)
    return 0


# --- verification -------------------------------------------------------------------


def _verification_config(args: argparse.Namespace, *, required: bool) -> Config | None:
    """The app's settings (``Config.from_env()``), the command line's key and options over them."""
    chosen = [n for n in ("jwks", "secret", "key") if getattr(args, n) is not None]
    if len(chosen) > 1:
        raise UsageError("give only one of --jwks, --secret and --key")
    overrides: dict[str, Any] = {}
    if args.leeway is not None:
        overrides["leeway"] = args.leeway
    if args.iss is not None:
        overrides["issuer"] = args.iss
    if args.aud:
        overrides["audience"] = tuple(args.aud)
    if not chosen and not required:
        return None  # inspect without a key: nothing is verified
    check_sqlite_folder(os.environ.get(_defaults.PREFIX + "STORE_URL", ""))
    if args.jwks is not None:
        keys: KeySet | Key | KeyResolver = _jwks_key_set(args.jwks, args.alg)
    elif args.secret is not None:
        keys = secret_key(args.secret, args.alg, None)
    elif args.key is not None:
        keys = key_from_file(args.key, args.alg, None, name_pem=False)
    else:
        return _defaults.app_config(**overrides)
    return Config(**{**_defaults.settings(), **overrides, "keys": keys})


def _jwks_key_set(source: str, alg: str | None) -> KeySet | KeyResolver:
    algorithms = [alg] if alg else list(_defaults.algorithms()) or None
    if source.startswith(("http://", "https://")):
        return _fetch_jwks(source, algorithms)
    if "://" in source:
        raise UsageError(f"--jwks takes an http(s) URL or a file, not {source!r}")
    data = read_file(source, "JWKS file")
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
    except JWTMiddlewareError as exc:
        missing = missing_library(exc, f"fetching the JWKS from {url}")
        if missing is not None:
            raise missing from None
        detail = client.last_error or str(exc) or type(exc).__name__
        raise UsageError(f"cannot fetch the JWKS from {url}: {detail}", reason="jwks") from None
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
        lines.append(f"  expires  {when(principal.expires_at, now)}")
    return "\n".join(lines)


def _check(config: Config, token: str) -> tuple[Principal | None, AuthError | None]:
    try:
        return Verifier(config).verify(token), None
    except ServiceUnavailableError as exc:  # a store or a key source that cannot be asked
        raise as_usage_error(exc) from None
    except AuthError as exc:
        return None, exc


def cmd_inspect(args: argparse.Namespace) -> int:
    token = read_token(args.token)
    header, claims = decode_unverified(token)
    config = _verification_config(args, required=False)
    now = time.time()
    times = {
        name: {"value": claims[name], "utc": when(claims[name], now)}
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
        print(NOT_VERIFIED, file=sys.stderr)
    lines = ["Header:", dumps(header), "Claims:", dumps(claims)]
    if times:
        lines.append("Times:")
        lines += [f"  {name:<9} {info['utc']}" for name, info in times.items()]
    if config is not None:
        lines.append(
            "Verified: yes"
            if status == 0
            else f"Verified: NO, {verdict['error']} ({verdict['reason']})"
        )
    emit(args, {"header": header, "claims": claims, "times": times, **verdict}, "\n".join(lines))
    return status


def cmd_verify(args: argparse.Namespace) -> int:
    token = read_token(args.token)
    header, _ = decode_unverified(token)
    config = _verification_config(args, required=True)
    assert config is not None
    principal, error = _check(config, token)
    if error is not None or principal is None:
        assert error is not None
        emit(
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
    emit(args, data, "valid\n" + _principal_summary(principal, header, time.time()))
    return 0
