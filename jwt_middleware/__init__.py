"""jwt_middleware: JSON Web Token protection for WSGI and ASGI apps.

The core (this package's top level) is framework-free: keys, configuration,
the verifier, bearer extraction and the error tree. Framework adapters and
integrations live in their own modules and are imported explicitly.
"""

from ._core.bearer import extract_bearer
from ._core.claims import PRESETS
from ._core.config import Config
from ._core.dpop import DPoPNonces, DPoPProof, DPoPVerifier
from ._core.dpop_policy import DPoPPolicy, dpop_policy_from_mapping
from ._core.encode import encode
from ._core.errors import (
    AuthenticationError,
    AuthError,
    AuthorizationError,
    ConfigurationError,
    DecryptionError,
    DPoPBindingError,
    EncryptionRequiredError,
    ExpiredTokenError,
    FreshTokenRequiredError,
    ImmatureTokenError,
    InsufficientRoleError,
    InsufficientScopeError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidDPoPProofError,
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
    SessionExpiredError,
    TokenError,
    TokenTooLargeError,
    TokenTooOldError,
    UnknownKeyError,
    UseDPoPNonceError,
    WrongTokenKindError,
)
from ._core.jwekeys import DecryptionKey, EncryptionKey
from ._core.jwekeyset import DecryptionKeys
from ._core.keys import ALGORITHMS, Key, generate_key
from ._core.keyset import KeySet
from ._core.policy import TokenPolicy, token_policy_from_mapping
from ._core.principal import Principal
from ._core.proofs import DPoPKey
from ._core.protocols import KeyResolver, RevocationCheck
from ._core.verify import Verifier
from ._keysources.keyring import KeyRing
from ._keysources.publish import WELL_KNOWN_PATHS, JWKSPublisher
from ._keysources.registry import MultiIssuerVerifier, TrustedIssuer
from ._keysources.rotation import RotationScheduler
from ._lifecycle.cookies import CookiePolicy, CSRFError, WebSocketOriginError
from ._lifecycle.endpoints import Identity, Reply, TokenService, error_reply
from ._lifecycle.issue import Issuer, TokenPair
from ._lifecycle.session_endpoints import SessionEndpoints
from ._lifecycle.sessions import ClientInfo, SessionPolicy
from ._lifecycle.settings import cookie_policy_from_mapping, issuer_options_from_mapping
from ._sansio.health import READINESS_PATH, Readiness
from ._sansio.transport import (
    ForwardedHeaderError,
    HTTPSRequiredError,
    TransportError,
    TransportPolicy,
    TrustedProxies,
    transport_policy_from_mapping,
)
from ._version import __version__
from .stores import SessionInfo

__all__ = [
    "ALGORITHMS",
    "AuthError",
    "AuthenticationError",
    "AuthorizationError",
    "CSRFError",
    "ClientInfo",
    "Config",
    "ConfigurationError",
    "CookiePolicy",
    "DPoPBindingError",
    "DPoPKey",
    "DPoPNonces",
    "DPoPPolicy",
    "DPoPProof",
    "DPoPVerifier",
    "DecryptionError",
    "DecryptionKey",
    "DecryptionKeys",
    "EncryptionKey",
    "EncryptionRequiredError",
    "ExpiredTokenError",
    "ForwardedHeaderError",
    "FreshTokenRequiredError",
    "HTTPSRequiredError",
    "Identity",
    "ImmatureTokenError",
    "InsufficientRoleError",
    "InsufficientScopeError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidDPoPProofError",
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
    "RotationScheduler",
    "ServiceUnavailableError",
    "SessionEndpoints",
    "SessionExpiredError",
    "SessionInfo",
    "SessionPolicy",
    "TokenError",
    "TokenPair",
    "TokenPolicy",
    "TokenService",
    "TokenTooLargeError",
    "TokenTooOldError",
    "TransportError",
    "TransportPolicy",
    "TrustedIssuer",
    "TrustedProxies",
    "UnknownKeyError",
    "UseDPoPNonceError",
    "Verifier",
    "WELL_KNOWN_PATHS",
    "WebSocketOriginError",
    "WrongTokenKindError",
    "__version__",
    "cookie_policy_from_mapping",
    "dpop_policy_from_mapping",
    "encode",
    "error_reply",
    "extract_bearer",
    "generate_key",
    "issuer_options_from_mapping",
    "token_policy_from_mapping",
    "transport_policy_from_mapping",
]
