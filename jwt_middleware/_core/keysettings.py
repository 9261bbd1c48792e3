"""The key settings: one key source from a flat mapping, in the form the user gave it.

``SECRET``; ``PUBLIC_KEY`` / ``PUBLIC_KEY_FILE`` (a PEM public key or
certificate, or a public JWK); ``PRIVATE_KEY`` / ``PRIVATE_KEY_FILE`` (a PEM
private key or a private JWK); ``JWKS_FILE`` (a JWKS or one public JWK); with
``ALGORITHMS`` and ``KID``. What ``jwt-middleware keygen`` writes fits:
``<kid>.public.pem`` and ``<kid>.public.jwk`` where a public key is expected,
``<kid>.private.pem`` and ``<kid>.private.jwk`` where a private key is.

A setting that holds the wrong form is refused with a message naming the
setting, what was found (``a JWKS``, ``a PEM private key``, ``what looks like
a file path``) and where that belongs. Messages never hold key material.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .keys import _HMAC_BYTES, Key, _check_algorithm, load_pem
from .keyset import FORMS, KeySet, fitting_algorithms, key_form

__all__ = ["KEY_SETTINGS", "keys_from_settings"]

KEY_SETTINGS = (
    "ALGORITHMS",
    "JWKS_FILE",
    "KID",
    "PRIVATE_KEY",
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY",
    "PUBLIC_KEY_FILE",
    "SECRET",
)

_KEY_SOURCES = (
    "SECRET",
    "PUBLIC_KEY",
    "PUBLIC_KEY_FILE",
    "PRIVATE_KEY",
    "PRIVATE_KEY_FILE",
    "JWKS_FILE",
)
#: What each kind of key setting accepts, by key_form().
_ACCEPTS = {
    "PUBLIC_KEY": ("pem-public", "pem-certificate", "jwk-public"),
    "PRIVATE_KEY": ("pem-private", "jwk-private", "jwk-secret"),
    "JWKS": ("jwks", "jwk-public"),
}
_PRIVATE_FORMS = ("pem-private", "pem-encrypted", "jwk-private", "jwk-secret")
_PUBLIC_FORMS = ("pem-public", "pem-certificate", "jwk-public")


def _wrong_key_form(prefix: str, source: str, form: str) -> str:
    """Why ``source`` cannot hold ``form``, and where that form belongs."""
    p, kind, found = prefix, source.removesuffix("_FILE"), FORMS[form]
    head = f"{p}{source} holds {found}"
    if form == "path":
        return f"{head}; put the path in {p}{kind}_FILE"
    if form in _PRIVATE_FORMS and kind != "PRIVATE_KEY":
        what = "a secret" if form == "jwk-secret" else "a private key"
        return (
            f"{head}: found {what} where a public key was expected; put it in "
            f"{p}PRIVATE_KEY_FILE to sign as well, or give the public key "
            "(keygen writes <kid>.public.pem and <kid>.public.jwk)"
        )
    if form in _PUBLIC_FORMS and kind == "PRIVATE_KEY":
        return (
            f"{head}: found a public key where a private key was expected; a public key can "
            f"only verify: put it in {p}PUBLIC_KEY_FILE"
        )
    if form == "jwks":
        return f"{head} where a PEM key or one JWK was expected; put the path in {p}JWKS_FILE"
    if form in ("pem-public", "pem-certificate"):  # in JWKS_FILE
        return (
            f"{head} where a JWKS or JWK was expected; put the path in {p}PUBLIC_KEY_FILE "
            f"(with {p}ALGORITHMS)"
        )
    if form == "pem-encrypted":
        return (
            f"{head}; the settings take an unencrypted key (openssl pkey -in in.pem -out "
            'out.pem), or build it with Key.from_pem_file(path, alg, password=b"...")'
        )
    if form == "ssh":
        return f"{head}; convert it to PEM (ssh-keygen -e -m PKCS8 -f key.pub)"
    wanted = {"PUBLIC_KEY": "a PEM public key or a JWK", "PRIVATE_KEY": "a PEM private key or JWK"}
    return f"{head}; give {wanted.get(kind, 'a JWKS or a JWK')}"


def _secret_form(prefix: str, form: str) -> str | None:
    p = prefix
    where = {
        "pem-public": f"a public key goes in {p}PUBLIC_KEY or {p}PUBLIC_KEY_FILE",
        "pem-certificate": f"a certificate goes in {p}PUBLIC_KEY or {p}PUBLIC_KEY_FILE",
        "pem-private": f"a private key goes in {p}PRIVATE_KEY or {p}PRIVATE_KEY_FILE",
        "pem-encrypted": f"a private key goes in {p}PRIVATE_KEY_FILE, unencrypted",
        "ssh": f"convert it to PEM and put it in {p}PUBLIC_KEY_FILE",
        "jwk-public": f"put the JWK file's path in {p}PUBLIC_KEY_FILE",
        "jwk-private": f"put the JWK file's path in {p}PRIVATE_KEY_FILE",
        "jwk-secret": f'put the JWK file\'s path in {p}PRIVATE_KEY_FILE, or its "k" as base64:<k>',
        "jwks": f"put the JWKS file's path in {p}JWKS_FILE",
    }.get(form)
    return None if where is None else f"{p}SECRET holds {FORMS[form]}, not an HMAC secret: {where}"


def _algorithms(found: Mapping[str, Any], prefix: str) -> tuple[str, ...]:
    value = found.get("ALGORITHMS", "")
    if isinstance(value, str):
        algorithms = tuple(v.strip() for v in value.split(",") if v.strip())
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        algorithms = tuple(value)
    else:
        raise ConfigurationError(f"{prefix}ALGORITHMS must be a comma-separated list")
    for alg in algorithms:
        try:
            _check_algorithm(alg)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{prefix}ALGORITHMS: {exc}") from None
    return algorithms


def _one_algorithm(algorithms: tuple[str, ...], prefix: str, label: str, example: str) -> str:
    if len(algorithms) != 1:
        raise ConfigurationError(
            f"{prefix}ALGORITHMS must name exactly one algorithm for {label} "
            f"(each key is pinned to one algorithm), for example {example}"
        )
    return algorithms[0]


def _secret(value: Any, algorithms: tuple[str, ...], kid: str | None, prefix: str) -> Key:
    label = prefix + "SECRET"
    if not isinstance(value, (str, bytes)):
        raise ConfigurationError(f"{label} must be text (prefix it with base64: for base64)")
    wrong = _secret_form(prefix, key_form(value))
    if wrong:
        raise ConfigurationError(wrong)
    alg = _one_algorithm(algorithms, prefix, label, "HS256")
    if alg not in _HMAC_BYTES:
        raise ConfigurationError(
            f"{prefix}ALGORITHMS={alg} needs a public or private key, but {label} is a shared "
            f"secret: use HS256, HS384 or HS512 (or give the key in {prefix}PUBLIC_KEY_FILE)"
        )
    with _named(label):
        if isinstance(value, str) and value.startswith("base64:"):
            return Key.from_secret(value[7:], alg, kid=kid, encoding="base64")
        return Key.from_secret(value, alg, kid=kid)


def _read_file(value: Any, label: str, base_dir: str | os.PathLike[str] | None) -> bytes:
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigurationError(f"{label} must be a file path")
    path = Path(value)
    if not path.is_absolute():
        base = Path.cwd() if base_dir is None else Path(base_dir)
        where = f" (relative to {os.fspath(base)!r})"
        path = base / path
    else:
        where = ""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"{label}: cannot read key file {os.fspath(value)!r}{where}: {exc.strerror}"
        ) from None


@contextmanager
def _named(label: str) -> Iterator[None]:
    """Put the setting's name before a message from the key classes."""
    try:
        yield
    except ConfigurationError as exc:
        raise ConfigurationError(f"{label}: {exc}") from None


def _pem(data: bytes, algorithms: tuple[str, ...], kid: str | None, p: str, label: str) -> Key:
    with _named(label):
        key_obj = load_pem(data)
    fits = fitting_algorithms(key_obj)
    alg = _one_algorithm(algorithms, p, label, fits[0] if fits else "RS256 or ES256")
    if fits and alg not in fits:
        others = f" (or {', '.join(fits[1:])})" if len(fits) > 1 else ""
        raise ConfigurationError(
            f"{p}ALGORITHMS={alg} does not fit the key in {label}: use {fits[0]}{others}"
        )
    with _named(label):
        return Key(alg, key_obj, kid=kid)


def _jwk(data: bytes, algorithms: tuple[str, ...], kid: str | None, p: str, label: str) -> Key:
    jwk = json.loads(data)
    if len(algorithms) > 1:
        raise ConfigurationError(
            f"{p}ALGORITHMS must name at most one algorithm for the JWK in {label}"
        )
    if not algorithms and "alg" not in jwk and jwk.get("kty") in ("RSA", "oct"):
        example = "HS256" if jwk.get("kty") == "oct" else "RS256"
        raise ConfigurationError(
            f'the JWK in {label} does not say its algorithm ("alg"): set {p}ALGORITHMS, '
            f"for example {example}"
        )
    if kid is not None:
        if jwk.get("kid") not in (None, kid):
            raise ConfigurationError(
                f"{p}KID {kid!r} differs from the kid of the JWK in {label} "
                f"({jwk['kid']!r}): leave {p}KID unset, or make them agree"
            )
        jwk = {**jwk, "kid": kid}
    with _named(label):
        return Key.from_jwk(jwk, algorithms[0] if algorithms else None)


def keys_from_settings(
    found: Mapping[str, Any], prefix: str, base_dir: str | os.PathLike[str] | None = None
) -> KeySet:
    """The key set of the one key source in ``found`` (names without ``prefix``)."""
    p = prefix
    sources = [n for n in _KEY_SOURCES if found.get(n)]
    if not sources:
        raise ConfigurationError(
            f"no key configured: set {p}SECRET, {p}PUBLIC_KEY_FILE, {p}PRIVATE_KEY_FILE or "
            f"{p}JWKS_FILE"
        )
    if len(sources) > 1:
        named = ", ".join(p + s for s in sources)
        raise ConfigurationError(f"set only one key source, not {named}")
    (source,) = sources
    label, value = p + source, found[source]
    algorithms = _algorithms(found, p)
    kid = found.get("KID") or None
    if kid is not None and not isinstance(kid, str):
        raise ConfigurationError(f"{p}KID must be text")
    if source == "SECRET":
        return KeySet([_secret(value, algorithms, kid, p)])
    if source.endswith("_FILE"):
        data = _read_file(value, label, base_dir)
    elif isinstance(value, (str, bytes)):
        data = value.encode() if isinstance(value, str) else value
    else:
        raise ConfigurationError(f"{label} must be PEM text (or put a file's path in {label}_FILE)")
    form = key_form(data)
    if form == "path" and source.endswith("_FILE"):
        form = "unknown"  # a file holding a path is not a key either
    if form not in _ACCEPTS[source.removesuffix("_FILE")]:
        raise ConfigurationError(_wrong_key_form(p, source, form))
    if source == "JWKS_FILE":
        if kid is not None:
            raise ConfigurationError(
                f"{p}KID does not apply to {label}: a JWKS (or JWK) names its own keys"
            )
        with _named(label):
            return KeySet.from_jwks(data, algorithms or None)
    if form.startswith("jwk"):
        return KeySet([_jwk(data, algorithms, kid, p, label)])
    return KeySet([_pem(data, algorithms, kid, p, label)])
