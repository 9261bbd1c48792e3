"""jwt_middleware: JSON Web Token protection for WSGI and ASGI apps.

The core (this package's top level) is framework-free: keys, configuration,
the verifier, bearer extraction and the error tree. Framework adapters and
integrations live in their own modules and are imported explicitly.
"""

from ._bearer import extract_bearer
from ._claims import PRESETS
from ._config import Config
from ._cookies import CookiePolicy, CSRFError
from ._encode import encode
from ._endpoints import Identity, Reply, TokenService
from ._errors import (
    AuthenticationError,
    AuthError,
    AuthorizationError,
    ConfigurationError,
    ExpiredTokenError,
    FreshTokenRequiredError,
    ImmatureTokenError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidHeaderError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidRequestError,
    InvalidSignatureError,
    JWTMiddlewareError,
    MalformedTokenError,
    MissingClaimError,
    MissingTokenError,
    RevokedTokenError,
    ServiceUnavailableError,
    TokenError,
    TokenTooLargeError,
    TokenTooOldError,
    UnknownKeyError,
    WrongTokenKindError,
)
from ._health import READINESS_PATH, Readiness
from ._issue import Issuer, TokenPair
from ._keyring import KeyRing
from ._keys import ALGORITHMS, Key, generate_key
from ._keyset import KeySet
from ._principal import Principal
from ._protocols import KeyResolver, RevocationCheck
from ._publish import WELL_KNOWN_PATHS, JWKSPublisher
from ._registry import MultiIssuerVerifier, TrustedIssuer
from ._verify import Verifier
from ._version import __version__

__all__ = [
    "ALGORITHMS",
    "AuthError",
    "AuthenticationError",
    "AuthorizationError",
    "CSRFError",
    "Config",
    "ConfigurationError",
    "CookiePolicy",
    "ExpiredTokenError",
    "FreshTokenRequiredError",
    "Identity",
    "ImmatureTokenError",
    "InsufficientRoleError",
    "InsufficientScopeError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidHeaderError",
    "InvalidIssuedAtError",
    "InvalidIssuerError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "Issuer",
    "JWKSPublisher",
    "JWTMiddlewareError",
    "Key",
    "KeyResolver",
    "KeyRing",
    "KeySet",
    "MalformedTokenError",
    "MissingClaimError",
    "MissingTokenError",
    "MultiIssuerVerifier",
    "PRESETS",
    "Principal",
    "READINESS_PATH",
    "Readiness",
    "Reply",
    "RevocationCheck",
    "RevokedTokenError",
    "ServiceUnavailableError",
    "TokenError",
    "TokenPair",
    "TokenService",
    "TokenTooLargeError",
    "TokenTooOldError",
    "TrustedIssuer",
    "UnknownKeyError",
    "Verifier",
    "WELL_KNOWN_PATHS",
    "WrongTokenKindError",
    "__version__",
    "encode",
    "extract_bearer",
    "generate_key",
]
