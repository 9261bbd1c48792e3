"""What an app decides about DPoP (RFC 9449): a mode and the verifier that checks proofs.

A :class:`DPoPPolicy` is shared by the token routes (login, refresh and logout bind
tokens to the client's key) and the resource side (a bound token must come with a
proof by that key)::

    policy = DPoPPolicy("allowed", DPoPVerifier(store=config.store))
    service = TokenService(issuer, check_credentials, dpop=policy)

The three modes:

* ``"off"`` (the default): a ``DPoP`` header is ignored and every token is a plain
  bearer token;
* ``"allowed"``: a login or refresh that carries a valid proof gets tokens bound to the
  proof's key (``cnf.jkt``, ``token_type: DPoP``); one without gets bearer tokens;
* ``"required"``: every login and refresh needs a valid proof.

Without a ``verifier``, a mode other than ``off`` gets a default
:class:`~jwt_middleware._core.dpop.DPoPVerifier` whose replay cache lives in this
process's memory: with several processes, give it the shared store
(``DPoPVerifier(store=config.store)``), as :func:`dpop_policy_from_mapping` does.

:func:`dpop_policy_from_mapping` reads the prefixed settings (``JWT_`` by default):
``DPOP`` (the mode), ``DPOP_ALGORITHMS``, ``DPOP_IAT_WINDOW``, ``DPOP_NONCE`` (on/off)
and ``DPOP_NONCE_SECRET`` / ``DPOP_NONCE_SECRET_FILE`` (the secret every process
derives the same server nonces from; at least 32 bytes).

Security: a request may carry exactly one ``DPoP`` header; two are refused rather
than choosing one (the verifier's first step).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..stores import Store, store_from_url
from .dpop import DPoPNonces, DPoPProof, DPoPVerifier
from .errors import ConfigurationError, InvalidDPoPProofError
from .keysettings import _read_file
from .settings import _BOOL, _bool, _found, _list, _number, _str, _wrong_form

__all__ = ["DPOP_MODES", "DPoPPolicy", "dpop_policy_from_mapping"]

#: The modes, weakest first.
DPOP_MODES = ("off", "allowed", "required")
_REQUIRED = "a DPoP proof is required"


class DPoPPolicy:
    """An app's DPoP mode (``off``, ``allowed``, ``required``) and its proof verifier."""

    __slots__ = ("mode", "verifier")

    def __init__(self, mode: str = "off", verifier: DPoPVerifier | None = None) -> None:
        if mode not in DPOP_MODES:
            raise ConfigurationError("the DPoP mode is 'off', 'allowed' or 'required'")
        if verifier is not None and not isinstance(verifier, DPoPVerifier):
            raise ConfigurationError("verifier must be a jwt_middleware DPoPVerifier")
        if verifier is None and mode != "off":
            verifier = DPoPVerifier()
        #: ``"off"``, ``"allowed"`` or ``"required"``.
        self.mode: str = mode
        #: Checks each proof; ``None`` when off.
        self.verifier: DPoPVerifier | None = verifier if mode != "off" else None

    def __repr__(self) -> str:
        return f"DPoPPolicy(mode={self.mode!r})"

    @property
    def enabled(self) -> bool:
        """``True`` unless the mode is ``off``."""
        return self.verifier is not None

    @property
    def required(self) -> bool:
        """``True`` when every login and refresh needs a proof."""
        return self.mode == "required"

    def _proof(self, values: Sequence[str], url: str | None) -> tuple[str, ...] | None:
        """The header values to check, ``None`` when there is nothing to check."""
        if self.verifier is None:
            return None  # off: the header is ignored
        if isinstance(values, str):
            values = (values,)  # one header value, not a sequence of characters
        if not values:
            if self.required:
                raise InvalidDPoPProofError(_REQUIRED, algs=self.verifier.algorithms)
            return None
        if url is None:
            raise TypeError("checking a DPoP proof needs the request's URL")
        return tuple(values)  # several: the verifier refuses them

    def check_token_request(
        self, values: Sequence[str], *, method: str, url: str | None
    ) -> DPoPProof | None:
        """The checked proof of a request to a token route (``values``: every ``DPoP``
        header it carries), ``None`` without one (or when off); raises
        :class:`InvalidDPoPProofError` (a bad, replayed or missing-but-required proof)
        or :class:`~jwt_middleware.UseDPoPNonceError`. No ``ath``: no access token."""
        proof = self._proof(values, url)
        if proof is None or self.verifier is None or url is None:
            return None
        return self.verifier.check(proof, method=method, url=url, access_token=None)

    async def acheck_token_request(
        self, values: Sequence[str], *, method: str, url: str | None
    ) -> DPoPProof | None:
        """Async form of :meth:`check_token_request` (the replay cache is awaited)."""
        proof = self._proof(values, url)
        if proof is None or self.verifier is None or url is None:
            return None
        return await self.verifier.acheck(proof, method=method, url=url, access_token=None)

    def fresh_nonce(self) -> str | None:
        """The current server nonce when nonces are on (a successful answer may carry
        it in ``DPoP-Nonce``, RFC 9449 §8.2, saving the client a round trip)."""
        nonces = None if self.verifier is None else self.verifier.nonces
        return None if nonces is None else nonces.current()


# --- settings ---------------------------------------------------------------------------


def _nonce_secret(
    found: Mapping[str, Any], prefix: str, base_dir: str | os.PathLike[str] | None
) -> bytes | None:
    p = prefix
    if "DPOP_NONCE_SECRET" in found and "DPOP_NONCE_SECRET_FILE" in found:
        raise ConfigurationError(f"set {p}DPOP_NONCE_SECRET or {p}DPOP_NONCE_SECRET_FILE, not both")
    if "DPOP_NONCE_SECRET_FILE" in found:
        label = f"{p}DPOP_NONCE_SECRET_FILE"
        secret = _read_file(found["DPOP_NONCE_SECRET_FILE"], label, base_dir).strip()
    elif "DPOP_NONCE_SECRET" in found:
        value = found["DPOP_NONCE_SECRET"]
        if isinstance(value, bytes):
            secret = value
        else:
            try:
                secret = _str(value).encode("utf-8")
            except TypeError:
                raise _wrong_form(f"{p}DPOP_NONCE_SECRET", "text") from None
    else:
        return None
    return secret


def _mode(found: Mapping[str, Any], prefix: str) -> str:
    value = found.get("DPOP", "off")
    mode = value.strip().lower() if isinstance(value, str) else value
    if mode not in DPOP_MODES:
        raise ConfigurationError(f"{prefix}DPOP must be 'off', 'allowed' or 'required'")
    return str(mode)


def dpop_policy_from_mapping(
    mapping: Mapping[str, Any],
    prefix: str = "JWT_",
    *,
    store: Store | str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> DPoPPolicy:
    """A :class:`DPoPPolicy` from ``DPOP`` (``off`` by default), ``DPOP_ALGORITHMS``
    (ES256, EdDSA, PS256, RS256), ``DPOP_IAT_WINDOW`` (300 s), ``DPOP_NONCE`` (off) and
    ``DPOP_NONCE_SECRET`` / ``DPOP_NONCE_SECRET_FILE`` (needed with nonces on).

    ``store`` keeps the replay cache (pass ``config.store`` so that every process sharing
    it refuses a proof another one accepted); ``None`` keeps it in memory. Every
    setting is checked even when the mode is ``off``.
    """
    found, p = _found(mapping, prefix), prefix
    mode = _mode(found, p)
    options: dict[str, Any] = {}
    name, wanted = "DPOP_ALGORITHMS", "a comma-separated list of algorithms, e.g. ES256,EdDSA"
    try:
        if name in found:
            options["algorithms"] = _list(found[name])
            if not options["algorithms"]:
                raise ValueError
        name, wanted = "DPOP_IAT_WINDOW", "a number of seconds, e.g. 300"
        if name in found:
            options["iat_window"] = _number(found[name])
        name, wanted = "DPOP_NONCE", _BOOL
        nonce = _bool(found.get(name, False))
    except (TypeError, ValueError):
        raise _wrong_form(p + name, wanted) from None
    secret = _nonce_secret(found, p, base_dir)
    if nonce and secret is None:
        raise ConfigurationError(
            f"{p}DPOP_NONCE needs {p}DPOP_NONCE_SECRET or {p}DPOP_NONCE_SECRET_FILE: the "
            "secret every process derives the same nonces from"
        )
    if secret is not None and not nonce:
        raise ConfigurationError(f"{p}DPOP_NONCE_SECRET is set: turn nonces on with {p}DPOP_NONCE")
    if secret is not None:
        try:
            options["nonces"] = DPoPNonces(secret)
        except ConfigurationError as exc:  # too short: the message names no secret
            raise ConfigurationError(f"{p}DPOP_NONCE_SECRET: {exc}") from None
    for option, setting in (("algorithms", "DPOP_ALGORITHMS"), ("iat_window", "DPOP_IAT_WINDOW")):
        if option in options:  # which setting is wrong? (the verifier checks the values)
            try:
                DPoPVerifier(**{option: options[option]})
            except (ConfigurationError, ValueError, TypeError) as exc:
                raise ConfigurationError(f"{p}{setting}: {exc}") from None
    if mode == "off":
        return DPoPPolicy()
    if isinstance(store, str):
        store = store_from_url(store)
    return DPoPPolicy(mode, DPoPVerifier(store=store, **options))
