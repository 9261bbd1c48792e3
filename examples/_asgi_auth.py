"""What the Starlette and FastAPI examples share: the token lifecycle from the environment.

Everything comes from the core's loaders: ``Config.from_env`` (keys, issuer,
audience, ``JWT_STORE_URL``), ``cookie_policy_from_mapping`` (``JWT_COOKIES=1``
turns cookie mode on), ``issuer_options_from_mapping`` (``JWT_ACCESS_TTL``,
``JWT_REFRESH_TTL``, ``JWT_REFRESH_GRACE``), and ``dpop_policy_from_mapping`` (``JWT_DPOP``:
``off``, ``allowed`` or ``required``; a login or refresh that carries a DPoP proof gets
tokens bound to its key, and every route checks ``Authorization: DPoP`` and its proof
with the same policy; ``JWT_DPOP_NONCE`` and ``JWT_DPOP_NONCE_SECRET`` for server
nonces), and ``transport_policy_from_mapping`` (``JWT_REQUIRE_HTTPS=1``: tokens and the
token routes over HTTPS only; ``JWT_TRUSTED_PROXIES``: the proxies whose forwarding
headers are believed; ``JWT_HSTS_MAX_AGE``; see :mod:`examples._common`; cookie mode
with ``JWT_COOKIE_SECURE=0`` refuses to start then). When ``JWT_STORE_URL`` is unset
the examples keep their refresh families and revocations in a SQLite file in
the system's temporary directory.

Observability and encryption (see :mod:`examples._common`): ``EXAMPLE_METRICS=prometheus``
(``Lifecycle.metrics``: the store measured, the middleware's, the bearer's and the
issuer's ``metrics=``, and ``GET /metrics``), ``JWT_AUDIT_URL`` (``Lifecycle.audit``: the
issuer's ``audit=`` and the middleware's ``on_event=``), ``JWT_DECRYPTION_KEY_FILE`` (read
by ``Config.from_env``) and ``JWT_ENCRYPTION_KEY_FILE`` (by ``issuer_options_from_mapping``:
the issuer's ``encrypt_to``).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from examples._common import audit_from_env, measured, metrics_from_env, transport_from_env
from examples._users import UserTable
from jwt_middleware import (
    AuthError,
    Config,
    CookiePolicy,
    DPoPPolicy,
    Issuer,
    Reply,
    TokenService,
    TransportPolicy,
    cookie_policy_from_mapping,
    dpop_policy_from_mapping,
    error_reply,
    issuer_options_from_mapping,
)
from jwt_middleware.audit import Audit
from jwt_middleware.metrics import PrometheusMetrics

#: The store when ``JWT_STORE_URL`` is not set.
DEFAULT_STORE_URL = "sqlite:///" + str(Path(tempfile.gettempdir(), "jwt-middleware-examples.db"))
#: Shortest new password the examples accept.
MIN_PASSWORD = 8


@dataclass(frozen=True)
class Lifecycle:
    config: Config
    cookies: CookiePolicy | None
    issuer: Issuer
    service: TokenService
    users: UserTable
    #: ``JWT_DPOP``: the token routes' policy, and the middleware's (``dpop=``; None: off).
    dpop: DPoPPolicy | None = None
    #: ``JWT_REQUIRE_HTTPS``, ``JWT_TRUSTED_PROXIES``, ...: the middleware's ``transport=``.
    transport: TransportPolicy | None = None
    #: ``EXAMPLE_METRICS=prometheus``: the exporter behind ``GET /metrics`` (None: off).
    metrics: PrometheusMetrics | None = None
    #: ``JWT_AUDIT_URL``: the audit trail of the issuer and of the refusals (None: off).
    audit: Audit | None = None

    @property
    def on_event(self) -> Callable[[object], None] | None:
        """The middleware's and the bearer's ``on_event``: the audit's refusals."""
        return None if self.audit is None else self.audit.on_event


def lifecycle_from_env(environ: Mapping[str, str] | None = None) -> Lifecycle:
    """Config, cookie policy, issuer, token service and user table from ``JWT_*``."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("JWT_STORE_URL", DEFAULT_STORE_URL)
    metrics = metrics_from_env(env)
    audit = audit_from_env(env)
    config = measured(Config.from_env(environ=env), metrics)
    cookies = cookie_policy_from_mapping(env)
    transport = transport_from_env(cookies, env)  # refuses insecure cookies with HTTPS on
    # JWT_ENCRYPTION_KEY_FILE is the issuer's encrypt_to; JWT_ACCESS_TTL, ... its lifetimes.
    issuer = Issuer(config, audit=audit, metrics=metrics, **issuer_options_from_mapping(env))
    users = UserTable()
    dpop = dpop_policy_from_mapping(env, store=config.store)
    service = TokenService(issuer, users.check, cookies=cookies, dpop=dpop)
    return Lifecycle(config, cookies, issuer, service, users, dpop, transport, metrics, audit)


async def change_password(auth: Lifecycle, subject: str | None, new_password: str | None) -> Reply:
    """``POST /auth/password`` (behind ``fresh_required``): set the password, then
    revoke every token of the subject (this session's too: log in again)."""
    if not new_password or len(new_password) < MIN_PASSWORD:
        return Reply(400, {
            "error": "invalid_request",
            "error_description": f"new_password ({MIN_PASSWORD} characters or more) is required",
        })
    try:
        # scrypt is deliberately slow: keep it off the event loop.
        await asyncio.to_thread(auth.users.set_password, subject or "", new_password)
    except KeyError:
        return Reply(400, {"error": "invalid_request", "error_description": "unknown user"})
    try:
        await auth.issuer.arevoke_subject(subject or "")
    except AuthError as exc:  # the store is down: 503
        return error_reply(exc, auth.config.realm)
    cookies = auth.cookies.clear_cookies() if auth.cookies is not None else []
    headers = [("cache-control", "no-store")]
    return Reply(200, {"status": "password changed"}, headers, cookies)
