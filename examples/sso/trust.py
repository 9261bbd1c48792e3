"""How a resource service trusts the auth service: through its JWKS URL, nothing else.

No key is copied between services: the resource service knows the issuer's
name and where its keys are published. :class:`~jwt_middleware.jwks.JWKSClient`
caches the key set for the response's ``max-age`` and refetches at once when
a token names a ``kid`` it has not seen (a rotation), at most once per cooldown.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from jwt_middleware import Config
from jwt_middleware.jwks import JWKSClient

_LOCAL = ("127.0.0.1", "localhost", "::1")


def sso_config(audience: str, environ: Mapping[str, str] | None = None) -> Config:
    """Verify tokens of ``SSO_ISSUER`` for ``audience``, with the keys at ``SSO_JWKS_URI``
    (default: the issuer's ``/.well-known/jwks.json``). Plain http only on this machine."""
    env = os.environ if environ is None else environ
    issuer = env.get("SSO_ISSUER", "http://127.0.0.1:9000")
    jwks_uri = env.get("SSO_JWKS_URI") or issuer.rstrip("/") + "/.well-known/jwks.json"
    keys = JWKSClient(
        jwks_uri,
        algorithms=["ES256"],
        allow_http=urlsplit(jwks_uri).hostname in _LOCAL,
    )
    return Config(keys=keys, issuer=issuer, audience=audience)
