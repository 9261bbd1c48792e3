"""A pytest plugin: keys, tokens and a JWKS server for testing apps protected by jwt_middleware.

Installed with the package and registered through the ``pytest11`` entry
point, so the fixtures are there in every test without any import:

* ``jwt_keys``: a session-scoped :class:`~jwt_middleware.KeySet` holding one
  ES256 signing key (kid ``test-key``);
* ``jwt_config``: a :class:`~jwt_middleware.Config` that accepts the tokens
  ``make_token`` makes (issuer :data:`TEST_ISSUER`, audience :data:`TEST_AUDIENCE`);
* ``make_token``: ``make_token(sub="alice", roles=["admin"], scopes=["read"],
  expires_in=900, claims={...}, kind="access")`` signs a token with
  ``jwt_keys`` for ``jwt_config``. Override ``jwt_config`` in a ``conftest.py``
  and ``make_token`` follows its issuer, audience, claim names and clock;
* ``jwks_server``: a JWKS and OpenID discovery server on 127.0.0.1 with its
  own keys: ``.url``, ``.issuer``, ``.jwks_uri``, ``.rotate()``,
  ``.make_token(...)``, ``.config()``.

Importable without pytest: :class:`JWKSServer`, :func:`sign_token`,
:class:`TokenFactory`, :data:`OMIT` and the constants come from a module that
imports the standard library and the core only; the four fixtures are defined
(and listed in ``__all__``) only when pytest is installed. The plugin never
imports a web framework or an HTTP client. See ``docs/testing.md``.
"""

from __future__ import annotations

from ._testing.support import OMIT as OMIT
from ._testing.support import TEST_AUDIENCE as TEST_AUDIENCE
from ._testing.support import TEST_ISSUER as TEST_ISSUER
from ._testing.support import JWKSServer as JWKSServer
from ._testing.support import TokenFactory as TokenFactory
from ._testing.support import _factory as _factory
from ._testing.support import sign_token as sign_token

_FIXTURES: list[str] = []
try:
    from ._testing.fixtures import jwks_server as jwks_server
    from ._testing.fixtures import jwt_config as jwt_config
    from ._testing.fixtures import jwt_keys as jwt_keys
    from ._testing.fixtures import make_token as make_token
except ImportError as exc:  # no pytest: JWKSServer and sign_token still work
    if (exc.name or "").partition(".")[0] not in ("pytest", "_pytest"):
        raise
else:
    _FIXTURES = ["jwks_server", "jwt_config", "jwt_keys", "make_token"]

#: The fixtures are listed only where pytest is installed.
__all__ = sorted(
    ["JWKSServer", "OMIT", "TEST_AUDIENCE", "TEST_ISSUER", "TokenFactory", "sign_token", *_FIXTURES]
)
