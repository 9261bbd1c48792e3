"""The request policy with verification metrics: an :class:`Authenticator` that times.

:func:`~jwt_middleware._sansio.authenticator.build_authenticator` makes one of these
only when an adapter was given ``metrics=``; without, the plain policy runs and the
metrics cost nothing, not even a ``None`` check.

Each request whose token was verified is one ``verification(outcome, reason, seconds)``:
``ok`` (reason ``none``), ``refused`` (a 401 or 403, with the error's reason code) or
``unavailable`` (503: the store or the key source could not be asked). A request that
needed no token (a public path, an optional route without one, a preflight) is not a
verification and is not counted; neither is a fast-path answer that hands the request to
the general path (it is counted there, once). The seconds cover the whole check:
parsing, the token cache or the signature, the claims, the revocation look-up.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from .._core.errors import AuthError
from .._core.metrics import Metrics
from .._core.principal import Principal
from .authenticator import FALLBACK, Authenticator, Fast, RequestInfo

__all__ = ["MeasuredAuthenticator", "policy_factory"]

_perf = time.perf_counter


def _outcome(exc: AuthError) -> str:
    return "unavailable" if exc.status == 503 else "refused"


class MeasuredAuthenticator(Authenticator):
    """:class:`Authenticator` reporting each verification to ``metrics``."""

    __slots__ = ("metrics",)

    def __init__(self, *args: Any, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    def authenticate(self, request: RequestInfo) -> Principal | None:
        started = _perf()
        try:
            principal = super().authenticate(request)
        except AuthError as exc:
            self.metrics.verification(_outcome(exc), exc.reason, _perf() - started)
            raise
        if principal is not None:
            self.metrics.verification("ok", None, _perf() - started)
        return principal

    async def aauthenticate(self, request: RequestInfo) -> Principal | None:
        started = _perf()
        try:
            principal = await super().aauthenticate(request)
        except AuthError as exc:
            self.metrics.verification(_outcome(exc), exc.reason, _perf() - started)
            raise
        if principal is not None:
            self.metrics.verification("ok", None, _perf() - started)
        return principal

    def fast(self, method: str, path: str, authorization: str) -> Fast:
        started = _perf()
        try:
            answer = super().fast(method, path, authorization)
        except AuthError as exc:
            self.metrics.verification(_outcome(exc), exc.reason, _perf() - started)
            raise
        if answer is not None and answer is not FALLBACK:
            self.metrics.verification("ok", None, _perf() - started)
        return answer

    async def afast(self, method: str, path: str, authorization: str) -> Fast:
        started = _perf()
        try:
            answer = await super().afast(method, path, authorization)
        except AuthError as exc:
            self.metrics.verification(_outcome(exc), exc.reason, _perf() - started)
            raise
        if answer is not None and answer is not FALLBACK:
            self.metrics.verification("ok", None, _perf() - started)
        return answer


def policy_factory(metrics: Metrics | None) -> Callable[..., Authenticator]:
    """What builds a request policy: :class:`Authenticator` itself without ``metrics``,
    else a maker of :class:`MeasuredAuthenticator` reporting to them (same arguments)."""
    if metrics is None:
        return Authenticator
    return functools.partial(MeasuredAuthenticator, metrics=metrics)
