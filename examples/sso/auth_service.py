"""The single sign-on auth service (FastAPI): logs users in, signs, publishes its keys.

* ``POST /login`` ``{"username", "password"}`` (demo users of
  :mod:`examples._users`): an access token for both resource services
  (``aud`` = ``orders-api`` and ``profile-api``) signed with the key ring's
  current key, whose ``kid`` is in the header;
* ``GET /.well-known/jwks.json``: the ring's public keys (pending, active and
  not yet retired), ``Cache-Control: public, max-age=300``;
* ``GET /.well-known/openid-configuration`` (and RFC 8414's
  ``/.well-known/oauth-authorization-server``): ``issuer`` and ``jwks_uri``;
* ``POST /admin/rotate`` (role ``admin``, audience ``sso-admin``): rotate the
  ring with ``activate_after=0``, so the next logins carry the new ``kid``;
  the replaced key stays published for ``RETIRE_AFTER`` seconds, the longest
  token life, so tokens it signed keep working until they expire.

Settings (environment): ``SSO_ISSUER`` (this service's URL, the tokens'
``iss``), ``SSO_RING_DIR`` (the key ring directory; an empty ring gets its
first key at start-up). In production rotate with ``activate_after`` longer
than the JWKS ``max-age`` (``jwt-middleware jwks rotate``) instead; see
``docs/sso.md``.

Run: ``SSO_ISSUER=http://127.0.0.1:9000 SSO_RING_DIR=/tmp/ring uvicorn
examples.sso.auth_service:app --port 9000``.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from examples._users import UserTable
from jwt_middleware import Config, ConfigurationError, Issuer, KeyRing, Principal, TokenService
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import WELL_KNOWN_PATHS, JWTBearer, jwks_router
from jwt_middleware.starlette import login_reply, reply_response
from jwt_middleware.stores import store_from_url

#: Who the tokens are for: the two resource services, and this service's admin API.
AUDIENCES = ("orders-api", "profile-api", "sso-admin")
ACCESS_TTL = 15 * 60
REFRESH_TTL = 60 * 60
#: A replaced key stays published this long: the longest token life (refresh included).
RETIRE_AFTER = float(REFRESH_TTL)
_KID = re.compile(r"^sso-key-(\d+)$")

ISSUER = os.environ.get("SSO_ISSUER", "http://127.0.0.1:9000")
RING_DIR = os.environ.get("SSO_RING_DIR", "sso-keys")


def next_kid(ring: KeyRing) -> str:
    """``sso-key-<n>``, one past the highest number in the ring."""
    numbers = [int(m.group(1)) for e in ring.entries() if (m := _KID.match(e.kid))]
    return f"sso-key-{max(numbers, default=0) + 1}"


ring = KeyRing.load(RING_DIR, max_token_lifetime=REFRESH_TTL)
if not ring.entries():
    ring.rotate(kid=next_kid(ring))
store = store_from_url("memory://")
users = UserTable()


class Signer:
    """The token service for the ring's current signing key, rebuilt when it changes.

    An :class:`~jwt_middleware.Issuer` signs with the key it was built with, so
    after a rotation the next login builds a new one; the key set it holds
    (every published key) still verifies the older refresh tokens.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._service: TokenService | None = None

    def service(self) -> TokenService:
        kid = ring.signing_key().kid
        current = self._service
        if current is not None and current.issuer.key.kid == kid:
            return current
        with self._lock:
            if self._service is None or self._service.issuer.key.kid != kid:
                config = Config(keys=ring.key_set(), issuer=ISSUER, audience=AUDIENCES,
                                store=store)
                issuer = Issuer(config, access_ttl=ACCESS_TTL, refresh_ttl=REFRESH_TTL)
                self._service = TokenService(issuer, users.check)
            return self._service


signer = Signer()
# The admin API verifies with the ring itself (a KeyResolver): every published key.
admin = JWTBearer(config=Config(keys=ring, issuer=ISSUER, audience="sso-admin", store=store))
Admin = Annotated[Principal, Depends(admin.roles_required("admin"))]

app = FastAPI(title="SSO auth service")
admin.init_app(app)  # refusals in the one body shape, 401/403 in OpenAPI
app.add_middleware(
    JWTMiddleware,
    config=Config(keys=ring, issuer=ISSUER, audience="sso-admin", store=store),
    public_paths=(*WELL_KNOWN_PATHS, "/login", "/health"),
)
app.include_router(jwks_router(ring, issuer=ISSUER, metadata={"token_endpoint": ISSUER + "/login"}))


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.post("/login")
async def login(request: Request) -> Response:
    return reply_response(await login_reply(signer.service(), request))


@app.post("/admin/rotate")
async def rotate(principal: Admin) -> dict[str, Any]:
    def do_rotate() -> str:
        try:
            return ring.rotate(activate_after=0, retire_after=RETIRE_AFTER,
                               kid=next_kid(ring)).kid
        except ConfigurationError:  # a concurrent rotation took that kid: once more
            return ring.rotate(activate_after=0, retire_after=RETIRE_AFTER,
                               kid=next_kid(ring.refresh())).kid

    kid = await asyncio.to_thread(do_rotate)  # file I/O and a lock: off the event loop
    return {
        "rotated_by": principal.subject,
        "signing_kid": kid,
        "published": [e.kid for e in reversed(ring.entries())],
        "old_keys_retire_in_s": int(RETIRE_AFTER),
    }
