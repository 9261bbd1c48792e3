"""What the Starlette and FastAPI examples share: the token lifecycle from the environment.

Everything comes from the core's loaders: ``Config.from_env`` (keys, issuer,
audience, ``JWT_STORE_URL``), ``cookie_policy_from_mapping`` (``JWT_COOKIES=1``
turns cookie mode on) and ``issuer_options_from_mapping`` (``JWT_ACCESS_TTL``,
``JWT_REFRESH_TTL``, ``JWT_REFRESH_GRACE``). When ``JWT_STORE_URL`` is unset
the examples keep their refresh families and revocations in a SQLite file in
the system's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from examples._users import UserTable
from jwt_middleware import (
    AuthError,
    Config,
    CookiePolicy,
    Issuer,
    Reply,
    TokenService,
    cookie_policy_from_mapping,
    error_reply,
    issuer_options_from_mapping,
)

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


def lifecycle_from_env(environ: Mapping[str, str] | None = None) -> Lifecycle:
    """Config, cookie policy, issuer, token service and user table from ``JWT_*``."""
    env = dict(os.environ if environ is None else environ)
    env.setdefault("JWT_STORE_URL", DEFAULT_STORE_URL)
    config = Config.from_env(environ=env)
    cookies = cookie_policy_from_mapping(env)
    issuer = Issuer(config, **issuer_options_from_mapping(env))
    users = UserTable()
    service = TokenService(issuer, users.check, cookies=cookies)
    return Lifecycle(config, cookies, issuer, service, users)


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
