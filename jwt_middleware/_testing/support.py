"""Keys, tokens and a JWKS server for tests: everything of the pytest plugin but the fixtures.

Imports the standard library and the core only (never pytest, a web framework
or an HTTP client), so :class:`JWKSServer` and :func:`sign_token` work in any
script. Public through :mod:`jwt_middleware.testing`, which adds the fixtures.
"""

from __future__ import annotations

import http.server
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from .._core.claims import ACCESS_TYP, REFRESH_TYP
from .._core.config import Config
from .._core.jws import b64url_encode
from .._core.keys import Key, generate_key
from .._core.keyset import KeySet

__all__ = [
    "OMIT",
    "TEST_AUDIENCE",
    "TEST_ISSUER",
    "JWKSServer",
    "TokenFactory",
    "sign_token",
]

#: The issuer of the tokens ``make_token`` makes (and ``jwt_config`` accepts).
TEST_ISSUER = "https://issuer.test"
#: Their audience.
TEST_AUDIENCE = "test-api"


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


#: Put as a value in ``claims=`` or ``headers=`` to leave that member out:
#: ``make_token(claims={"exp": OMIT})``.
OMIT: Any = _Omit()


def sign_token(
    key: Key,
    sub: str | None = "alice",
    *,
    roles: Iterable[str] | None = None,
    scopes: Iterable[str] | None = None,
    expires_in: float | None = 900,
    claims: Mapping[str, Any] | None = None,
    kind: str = "access",
    headers: Mapping[str, Any] | None = None,
    issuer: str | None = TEST_ISSUER,
    audience: str | Iterable[str] | None = TEST_AUDIENCE,
    roles_claim: str = "roles",
    now: float | None = None,
) -> str:
    """Sign a token the way ``jwt_middleware``'s issuer would.

    ``kind`` is ``"access"`` (header ``typ: at+jwt``) or ``"refresh"``
    (``typ: refresh+jwt``, audience the issuer itself). ``expires_in`` may be
    negative (an expired token) or ``None`` (no ``exp``). ``claims`` and
    ``headers`` are applied last; a value of :data:`OMIT` removes a member.
    """
    if kind not in ("access", "refresh"):
        raise ValueError('kind must be "access" or "refresh"')
    issued = int(time.time() if now is None else now)
    body: dict[str, Any] = {"iat": issued, "nbf": issued, "jti": secrets.token_urlsafe(12)}
    if issuer is not None:
        body["iss"] = issuer
    if sub is not None:
        body["sub"] = sub
    if kind == "refresh":
        audience = issuer
    if audience is not None:
        auds = [audience] if isinstance(audience, str) else list(audience)
        body["aud"] = auds[0] if len(auds) == 1 else auds
    if expires_in is not None:
        body["exp"] = int(issued + expires_in)
    if roles is not None:
        body[roles_claim] = list(roles)
    if scopes is not None:
        body["scope"] = " ".join(scopes)
    body.update(claims or {})
    header: dict[str, Any] = {"alg": key.algorithm, "typ": ACCESS_TYP}
    if kind == "refresh":
        header["typ"] = REFRESH_TYP
    if key.kid:
        header["kid"] = key.kid
    header.update(headers or {})  # "alg" too: tests of algorithm confusion need it
    segments = [
        b64url_encode(_json({k: v for k, v in header.items() if v is not OMIT})),
        b64url_encode(_json({k: v for k, v in body.items() if v is not OMIT})),
    ]
    signing_input = b".".join(segments)
    return (signing_input + b"." + b64url_encode(key.sign(signing_input))).decode("ascii")


def _json(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class TokenFactory(Protocol):
    """The type of the ``make_token`` fixture."""

    def __call__(
        self,
        sub: str | None = "alice",
        *,
        roles: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        expires_in: float | None = 900,
        claims: Mapping[str, Any] | None = None,
        kind: str = "access",
        headers: Mapping[str, Any] | None = None,
    ) -> str: ...


def _factory(key: Key, config: Config) -> TokenFactory:
    issuer = config.issuer[0] if isinstance(config.issuer, tuple) else config.issuer
    audience = config.audience
    flat_roles = [p for p in config.roles_paths if "." not in p]
    roles_claim = flat_roles[0] if flat_roles else "roles"
    clock = config.clock

    def make_token(
        sub: str | None = "alice",
        *,
        roles: Iterable[str] | None = None,
        scopes: Iterable[str] | None = None,
        expires_in: float | None = 900,
        claims: Mapping[str, Any] | None = None,
        kind: str = "access",
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        return sign_token(
            key,
            sub,
            roles=roles,
            scopes=scopes,
            expires_in=expires_in,
            claims=claims,
            kind=kind,
            headers=headers,
            issuer=issuer,
            audience=audience,
            roles_claim=roles_claim,
            now=clock(),
        )

    return make_token


# --- the JWKS server ----------------------------------------------------------------


class JWKSServer:
    """A JWKS + OpenID discovery server on 127.0.0.1, in a thread.

    ``url`` is its base URL and also its ``issuer``; ``jwks_uri`` serves the
    public keys (newest first) and ``/.well-known/openid-configuration`` the
    discovery document. ``rotate()`` adds a new signing key (keeping the old
    ones published unless ``keep=False``); ``status`` (default 200) makes every
    answer fail with that status; ``requests`` lists the paths asked for.
    """

    def __init__(self, algorithm: str = "ES256", *, audience: str = TEST_AUDIENCE) -> None:
        self.algorithm = algorithm
        self.audience = audience
        self.keys: list[Key] = [generate_key(algorithm)]
        self.requests: list[str] = []
        self.status = 200
        self.max_age = 300
        self._lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._serve(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        host, port = self._httpd.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self.issuer = self.url
        self.jwks_uri = f"{self.url}/.well-known/jwks.json"
        self.discovery_url = f"{self.url}/.well-known/openid-configuration"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="jwks_server", daemon=True
        )
        self._thread.start()

    def __enter__(self) -> JWKSServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<JWKSServer {self.url} kids={[k.kid for k in self.keys]!r}>"

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # --- keys ---------------------------------------------------------------------

    @property
    def signing_key(self) -> Key:
        """The key new tokens are signed with (the newest)."""
        with self._lock:
            return self.keys[0]

    def rotate(self, algorithm: str | None = None, *, keep: bool = True) -> Key:
        """A new signing key, published at once; the old keys stay published if ``keep``."""
        key = generate_key(algorithm or self.algorithm)
        with self._lock:
            self.keys = [key, *self.keys] if keep else [key]
        return key

    @property
    def jwks(self) -> dict[str, Any]:
        """The JWKS document being served."""
        with self._lock:
            return {"keys": [k.public_jwk() for k in self.keys]}

    def key_set(self) -> KeySet:
        """The published keys, public only."""
        return KeySet.from_jwks(self.jwks)

    def config(self, **overrides: Any) -> Config:
        """A :class:`Config` with the current public keys, this issuer and audience."""
        options: dict[str, Any] = {
            "keys": self.key_set(),
            "issuer": self.issuer,
            "audience": self.audience,
        }
        options.update(overrides)
        return Config(**options)

    def make_token(self, sub: str | None = "alice", **options: Any) -> str:
        """A token signed with the current key, issued by this server (see ``sign_token``)."""
        options.setdefault("issuer", self.issuer)
        options.setdefault("audience", self.audience)
        return sign_token(self.signing_key, sub, **options)

    # --- HTTP -----------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "id_token_signing_alg_values_supported": sorted({k.algorithm for k in self.keys}),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        }

    def _serve(self, request: http.server.BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        with self._lock:
            self.requests.append(path)
            status = self.status
        if status != 200:
            body, code = b'{"error":"unavailable"}', status
        elif path == "/.well-known/jwks.json":
            body, code = json.dumps(self.jwks).encode(), 200
        elif path == "/.well-known/openid-configuration":
            body, code = json.dumps(self.discovery()).encode(), 200
        else:
            body, code = b'{"error":"not_found"}', 404
        request.send_response(code)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        if code == 200:
            request.send_header("Cache-Control", f"public, max-age={self.max_age}")
        request.end_headers()
        request.wfile.write(body)
