"""Finding jwks_uri from an issuer: OpenID Connect Discovery, then RFC 8414."""

from __future__ import annotations

import asyncio

import pytest

from jwt_middleware import Config, ConfigurationError, Verifier
from jwt_middleware.jwks import JWKSClient, KeySourceUnavailableError

from .conftest import FakeClock, Keys, token
from .server import JWKSServer


def test_openid_configuration(server: JWKSServer, clock: FakeClock, keys: Keys) -> None:
    issuer = server.url
    server.documents["/.well-known/openid-configuration"] = {
        "issuer": issuer,
        "jwks_uri": server.jwks_uri,
    }
    client = JWKSClient.from_issuer(issuer, algorithms=["ES256"], allow_http=True, clock=clock)
    assert client.jwks_uri == server.jwks_uri
    assert client.issuer == issuer
    verifier = Verifier(Config(keys=client, issuer=issuer))
    assert verifier.verify(token(keys.es1, iss=issuer)).subject == "alice"
    assert server.count("/.well-known/oauth-authorization-server") == 0


def test_rfc8414_with_a_path(server: JWKSServer, clock: FakeClock) -> None:
    issuer = server.url + "/tenant-a"
    server.documents["/.well-known/oauth-authorization-server/tenant-a"] = {
        "issuer": issuer,
        "jwks_uri": server.jwks_uri,
    }
    client = JWKSClient.from_issuer(issuer, algorithms=["ES256"], allow_http=True, clock=clock)
    assert client.jwks_uri == server.jwks_uri
    assert server.count("/tenant-a/.well-known/openid-configuration") == 1  # tried first: 404
    assert client.resolve("es-1").kid == "es-1"


def test_async_discovery(server: JWKSServer, clock: FakeClock) -> None:
    issuer = server.url
    server.documents["/.well-known/openid-configuration"] = {
        "issuer": issuer,
        "jwks_uri": server.jwks_uri,
    }
    client = asyncio.run(
        JWKSClient.afrom_issuer(issuer, algorithms=["ES256"], allow_http=True, clock=clock)
    )
    assert client.jwks_uri == server.jwks_uri


@pytest.mark.parametrize("claimed", ["https://evil.example", "{url}/", "{url}/other", None])
def test_issuer_mismatch_is_refused(server: JWKSServer, claimed: str | None) -> None:
    doc = {"jwks_uri": server.jwks_uri}
    if claimed is not None:
        doc["issuer"] = claimed.format(url=server.url)
    server.documents["/.well-known/openid-configuration"] = doc
    with pytest.raises(ConfigurationError, match="must be equal exactly"):
        JWKSClient.from_issuer(server.url, algorithms=["ES256"], allow_http=True)
    assert server.count() == 0  # the keys of a mismatched issuer are never fetched


def test_discovered_jwks_uri_must_be_https(server: JWKSServer) -> None:
    # The issuer is plain http only because this is a local test server; the
    # discovered jwks_uri is checked on its own.
    server.documents["/.well-known/openid-configuration"] = {
        "issuer": server.url,
        "jwks_uri": "ftp://127.0.0.1/jwks",
    }
    with pytest.raises(ConfigurationError, match="jwks_uri"):
        JWKSClient.from_issuer(server.url, algorithms=["ES256"], allow_http=True)


def test_http_issuer_refused_without_allow_http() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        JWKSClient.from_issuer("http://127.0.0.1:1", algorithms=["ES256"])


def test_no_metadata_is_503(server: JWKSServer) -> None:
    with pytest.raises(KeySourceUnavailableError):
        JWKSClient.from_issuer(server.url, algorithms=["ES256"], allow_http=True)
    assert server.total == 2  # both well-known locations tried once


def test_discovery_urls() -> None:
    assert JWKSClient.discovery_urls("https://a.example/t/1/") == (
        "https://a.example/t/1/.well-known/openid-configuration",
        "https://a.example/.well-known/oauth-authorization-server/t/1",
    )
