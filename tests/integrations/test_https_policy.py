"""require_https, trusted proxies and HSTS in every adapter and integration, in-process:
the raw ASGI and WSGI middleware, Starlette, FastAPI (behind the middleware, and
``JWTBearer`` alone), Flask (from ``app.config``) and Starlette's authentication backend.
The same settings and the same answers everywhere (``https_targets.py`` builds the apps)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from jwt_middleware import (
    ConfigurationError,
    CookiePolicy,
    Key,
    TransportPolicy,
    Verifier,
    encode,
)
from jwt_middleware.asgi import JWTMiddleware as ASGIMiddleware
from jwt_middleware.fastapi import JWTBearer
from jwt_middleware.starlette import JWTAuthBackend
from jwt_middleware.wsgi import JWTMiddleware as WSGIMiddleware
from tests.integrations.https_targets import (
    FRAMEWORKS,
    HSTS_FRAMEWORKS,
    ROUTE_FRAMEWORKS,
    Answer,
    Target,
    asgi_caller,
    build,
)

SECRET = "h" * 48
ISSUER = "https://issuer.https.test"
AUDIENCE = "https-policy"
PROXY = "10.0.0.1"
CLIENT = "203.0.113.9"
SETTINGS = {
    "JWT_ALGORITHMS": "HS256",
    "JWT_SECRET": SECRET,
    "JWT_ISSUER": ISSUER,
    "JWT_AUDIENCE": AUDIENCE,
    "JWT_STORE_URL": "memory://",
    "JWT_REQUIRE_HTTPS": "1",
    "JWT_TRUSTED_PROXIES": "10.0.0.0/24",
    "JWT_HSTS_MAX_AGE": "600",
}
LOGIN = {"username": "alice", "password": "wonderland-42"}


def token(**claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    return encode({**payload, **claims}, Key.from_secret(SECRET, "HS256"))


def bearer(value: str | None = None, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value or token()}", **headers}


def target(framework: str, **settings: str) -> Target:
    return build(framework, {**SETTINGS, **settings})


def assert_https_required(answer: Answer) -> None:
    assert answer.status == 400, answer.body
    assert answer.body["error"] == "invalid_request"
    assert "JWT_REQUIRE_HTTPS" in answer.body["error_description"]
    assert 'error="invalid_request"' in answer.headers["www-authenticate"]
    assert answer.hsts is None


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call of ``Verifier.verify`` / ``averify`` (the fast path's included)."""
    calls: list[str] = []
    sync, asynchronous = Verifier.verify, Verifier.averify

    def verify(self: Verifier, raw: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("verify")
        return sync(self, raw, *args, **kwargs)

    async def averify(self: Verifier, raw: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append("averify")
        return await asynchronous(self, raw, *args, **kwargs)

    monkeypatch.setattr(Verifier, "verify", verify)
    monkeypatch.setattr(Verifier, "averify", averify)
    return calls


# --- plain HTTP -----------------------------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_token_over_plain_http_from_a_remote_peer_is_refused(framework: str) -> None:
    app = target(framework)
    assert_https_required(app.send("/me", bearer(), peer=CLIENT))
    assert [e.reason for e in app.events] == ["https_required"]
    assert app.events[0].status == 400


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_https_is_required_before_the_token_is_verified(
    framework: str, verify_calls: list[str]
) -> None:
    """Security: nothing is verified (not even a cached token looked up) over plain HTTP,
    and a bad token gets the same 400, not a 401 that would say something about it."""
    app = target(framework)
    assert_https_required(app.send("/me", bearer(), peer=CLIENT))
    assert_https_required(app.send("/me", bearer("not.a.token"), peer=CLIENT))
    assert_https_required(app.send("/me", {"Authorization": "Basic eA=="}, peer=CLIENT))
    assert verify_calls == []


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_cached_token_is_still_refused_over_http(framework: str, verify_calls: list[str]) -> None:
    """Security: the fast path for a token the verifier has cached never answers before
    the transport check: the same token that passed over HTTPS is refused over HTTP."""
    app = target(framework)
    value = token()
    for _ in range(2):  # the second is a cache hit (the fast path where there is one)
        answer = app.send("/me", bearer(value), scheme="https", peer=CLIENT)
        assert answer.status == 200, answer.body
    cache = app.verifier.cache
    assert cache is not None
    assert len(cache) >= 1
    seen = len(verify_calls)
    assert_https_required(app.send("/me", bearer(value), peer=CLIENT))
    if framework != "fastapi-bearer":  # a dependency guards its routes only
        assert_https_required(app.send("/public", bearer(value), peer=CLIENT))  # public too
    assert len(verify_calls) == seen


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_no_token_over_plain_http_is_not_refused(framework: str) -> None:
    app = target(framework)
    answer = app.send("/public", peer=CLIENT)
    assert answer.status == 200
    assert answer.hsts is None
    assert app.send("/me", peer=CLIENT).status == 401  # the usual answer: no token


# --- loopback -------------------------------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "127.8.9.10"])
def test_loopback_may_use_http_for_development(framework: str, peer: str) -> None:
    answer = target(framework).send("/me", bearer(), peer=peer)
    assert answer.status == 200, answer.body
    assert answer.body["subject"] == "alice"
    assert answer.hsts is None


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_loopback_exemption_can_be_turned_off(framework: str) -> None:
    app = target(framework, JWT_ALLOW_LOOPBACK_HTTP="0")
    assert_https_required(app.send("/me", bearer(), peer="127.0.0.1"))
    assert_https_required(app.send("/me", bearer(), peer="::1"))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_loopback_peer_that_forwards_is_not_exempt(framework: str) -> None:
    """Security: a proxy on the same machine is not a development client."""
    app = target(framework)
    assert_https_required(app.send("/me", bearer(**{"X-Forwarded-For": CLIENT}), peer="127.0.0.1"))
    assert_https_required(
        app.send("/me", bearer(**{"X-Forwarded-Proto": "https"}), peer="127.0.0.1")
    )


# --- trusted proxies ----------------------------------------------------------------------


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_https_forwarded_by_a_trusted_proxy_is_accepted(framework: str) -> None:
    app = target(framework)
    for headers in (
        {"X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT},
        {"X-Forwarded-Proto": "https"},
        {"Forwarded": f"for={CLIENT};proto=https;host=shop.example"},
    ):
        answer = app.send("/me", bearer(**headers), peer=PROXY)
        assert answer.status == 200, (headers, answer.body)
        if framework in HSTS_FRAMEWORKS:
            assert answer.hsts == "max-age=600"
    assert_https_required(app.send("/me", bearer(**{"X-Forwarded-Proto": "http"}), peer=PROXY))
    assert_https_required(app.send("/me", bearer(), peer=PROXY))  # nothing forwarded


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_forwarded_https_from_an_untrusted_peer_is_ignored(framework: str) -> None:
    """Security: a client cannot claim HTTPS with a forwarding header of its own."""
    app = target(framework)
    for headers in (
        {"X-Forwarded-Proto": "https"},
        {"Forwarded": "proto=https"},
        {"Forwarded": f"for={PROXY};proto=https", "X-Forwarded-For": PROXY},
        {"Forwarded": "proto=https;;;=", "X-Forwarded-For": "?"},  # garbage: ignored, not 400
    ):
        assert_https_required(app.send("/me", bearer(**headers), peer=CLIENT))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_malformed_forwarding_from_a_trusted_proxy_is_a_400(framework: str) -> None:
    app = target(framework)
    for headers in (
        {"Forwarded": "proto=https;proto=http"},
        {"Forwarded": "proto=https", "X-Forwarded-Proto": "http"},  # they disagree
        {"X-Forwarded-Proto": "gopher"},
    ):
        answer = app.send("/me", bearer(**headers), peer=PROXY)
        assert answer.status == 400, (headers, answer.body)
        assert answer.body["error"] == "invalid_request"
        assert "JWT_REQUIRE_HTTPS" not in answer.body["error_description"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_public_url_for_dpop_comes_from_the_trusted_proxy(framework: str) -> None:
    """The seams DPoP reads (TRANSPORT_KEY / TRUSTED_PROXIES_KEY) are set: htu is the URL
    the client addressed, from a trusted proxy only."""
    app = target(framework)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "Shop.Example:443"}
    answer = app.send("/me", bearer(**forwarded), peer=PROXY)
    assert answer.status == 200, answer.body
    assert answer.body["url"] == "https://shop.example/me"
    spoofed = app.send("/me", bearer(**forwarded), peer="127.0.0.1", scheme="https")
    assert spoofed.body["url"] == "https://api.example/me"


# --- HSTS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("framework", HSTS_FRAMEWORKS)
def test_hsts_only_over_https(framework: str) -> None:
    app = target(framework)
    secure = app.send("/me", bearer(), scheme="https", peer=CLIENT)
    assert secure.status == 200
    assert secure.hsts == "max-age=600"
    assert app.send("/public", scheme="https", peer=CLIENT).hsts == "max-age=600"
    refused = app.send("/me", scheme="https", peer=CLIENT)  # a refusal over HTTPS too
    assert refused.status == 401
    assert refused.hsts == "max-age=600"
    assert app.send("/public", peer=CLIENT).hsts is None
    assert app.send("/me", bearer(), peer="127.0.0.1").hsts is None  # HTTP, even exempt
    spoof = app.send("/public", {"X-Forwarded-Proto": "https"}, peer=CLIENT)
    assert spoof.hsts is None  # an untrusted peer's header does not make it HTTPS


@pytest.mark.parametrize("framework", HSTS_FRAMEWORKS)
def test_hsts_include_subdomains_and_off(framework: str) -> None:
    app = target(framework, JWT_HSTS_INCLUDE_SUBDOMAINS="1")
    answer = app.send("/public", scheme="https", peer=CLIENT)
    assert answer.hsts == "max-age=600; includeSubDomains"
    plain = build(framework, {k: v for k, v in SETTINGS.items() if k != "JWT_HSTS_MAX_AGE"})
    assert plain.send("/me", bearer(), scheme="https", peer=CLIENT).hsts is None


@pytest.mark.parametrize("framework", HSTS_FRAMEWORKS)
def test_hsts_without_require_https(framework: str) -> None:
    app = target(framework, JWT_REQUIRE_HTTPS="0")
    assert app.send("/me", bearer(), peer=CLIENT).status == 200  # HTTP allowed
    assert app.send("/me", bearer(), peer=CLIENT).hsts is None
    assert app.send("/me", bearer(), scheme="https", peer=CLIENT).hsts == "max-age=600"


# --- the token routes -------------------------------------------------------------------


@pytest.mark.parametrize("framework", ROUTE_FRAMEWORKS)
def test_the_token_routes_are_refused_over_http(framework: str) -> None:
    """Security: a login body holds a password, a refresh or logout body a refresh token:
    over plain HTTP they are refused before the body is read, with no header token."""
    app = target(framework)
    assert_https_required(app.send("/auth/login", method="POST", body=LOGIN, peer=CLIENT))
    for route in ("refresh", "logout"):
        answer = app.send(
            f"/auth/{route}", method="POST", body={"refresh_token": "x.y.z"}, peer=CLIENT
        )
        assert_https_required(answer)
    spoofed = app.send(
        "/auth/login", {"X-Forwarded-Proto": "https"}, method="POST", body=LOGIN, peer=CLIENT
    )
    assert_https_required(spoofed)


@pytest.mark.parametrize("framework", ROUTE_FRAMEWORKS)
def test_the_token_routes_over_https(framework: str) -> None:
    app = target(framework)
    login = app.send("/auth/login", method="POST", body=LOGIN, scheme="https", peer=CLIENT)
    assert login.status == 200, login.body
    assert login.hsts == "max-age=600"
    pair = login.body
    refreshed = app.send(
        "/auth/refresh",
        method="POST",
        peer=PROXY,
        headers={"X-Forwarded-Proto": "https"},
        body={"refresh_token": pair["refresh_token"]},
    )
    assert refreshed.status == 200, refreshed.body
    me = app.send("/me", bearer(refreshed.body["access_token"]), scheme="https", peer=CLIENT)
    assert me.status == 200
    logout = app.send(
        "/auth/logout",
        bearer(refreshed.body["access_token"]),
        method="POST",
        body={"refresh_token": refreshed.body["refresh_token"]},
        scheme="https",
        peer=CLIENT,
    )
    assert logout.status == 200, logout.body
    local = app.send("/auth/login", method="POST", body=LOGIN, peer="127.0.0.1")
    assert local.status == 200  # the development exemption, as for tokens


# --- cookies and start-up -------------------------------------------------------------------


@pytest.mark.parametrize("framework", HSTS_FRAMEWORKS)
def test_the_access_cookie_over_http_is_refused(framework: str) -> None:
    app = target(framework, JWT_COOKIES="1")
    assert_https_required(app.send("/me", {"Cookie": f"access_token={token()}"}, peer=CLIENT))
    assert_https_required(app.send("/public", {"Cookie": f"access_token={token()}"}, peer=CLIENT))
    other = app.send("/public", {"Cookie": "theme=dark"}, peer=CLIENT)
    assert other.status == 200  # another cookie carries no token


@pytest.mark.parametrize("framework", HSTS_FRAMEWORKS)  # those that take a cookie policy
def test_cookie_mode_without_secure_refuses_to_start(framework: str) -> None:
    with pytest.raises(ConfigurationError) as caught:  # Starlette builds its stack at once
        target(framework, JWT_COOKIES="1", JWT_COOKIE_SECURE="0").send("/public")
    assert "JWT_COOKIE_SECURE" in str(caught.value)
    assert "JWT_REQUIRE_HTTPS" in str(caught.value)


def _inner(scope: Any, receive: Any, send: Any) -> Any:  # pragma: no cover - never called
    raise AssertionError


def _wsgi_inner(environ: Any, start_response: Any) -> Any:  # pragma: no cover - never called
    raise AssertionError


def test_the_transport_keyword_is_checked_against_the_cookies_everywhere() -> None:
    """``transport=`` and ``cookies=`` meet in the middleware's constructor."""
    policy = TransportPolicy(require_https=True)
    insecure = CookiePolicy(secure=False)
    verifier = target("asgi").verifier
    for build_it in (
        lambda: ASGIMiddleware(_inner, verifier=verifier, transport=policy, cookies=insecure),
        lambda: WSGIMiddleware(_wsgi_inner, verifier=verifier, transport=policy, cookies=insecure),
    ):
        with pytest.raises(ConfigurationError, match="JWT_COOKIE_SECURE"):
            build_it()
    for wrong in ("1", {"require_https": True}, True):
        with pytest.raises(ConfigurationError, match="TransportPolicy"):
            ASGIMiddleware(_inner, verifier=verifier, transport=wrong)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="TransportPolicy"):
            JWTBearer(verifier=verifier, transport=wrong)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="TransportPolicy"):
            JWTAuthBackend(verifier=verifier, transport=wrong)  # type: ignore[arg-type]


def test_flask_takes_the_transport_keyword_over_app_config() -> None:
    from flask import Flask

    from jwt_middleware.flask import JWT
    from tests.integrations.https_targets import wsgi_caller

    app = Flask(__name__)
    app.config.update({**SETTINGS, "JWT_REQUIRE_HTTPS": "0"})
    JWT(app, transport=TransportPolicy(require_https=True, allow_loopback_http=False))
    app.add_url_rule("/me", "me", lambda: {"ok": True})
    call = wsgi_caller(app.wsgi_app)
    answer = call("GET", "/me", {"Authorization": f"Bearer {token()}"}, "127.0.0.1", "http", b"")
    assert_https_required(answer)


def test_flask_refuses_a_bad_setting_by_its_name() -> None:
    with pytest.raises(ConfigurationError, match="JWT_HSTS_MAX_AGE"):
        target("flask", JWT_HSTS_MAX_AGE="a year")
    with pytest.raises(ConfigurationError, match="JWT_TRUSTED_PROXIES"):
        target("flask", JWT_TRUSTED_PROXIES="*")


# --- the raw adapters' details ------------------------------------------------------------


def test_wsgi_sends_a_400_status_line() -> None:
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc: Any = None) -> None:
        statuses.append(status)

    def app(environ: Any, start: Any) -> list[bytes]:  # pragma: no cover - refused first
        raise AssertionError

    middleware: Any = WSGIMiddleware(
        app, verifier=target("wsgi").verifier, transport=TransportPolicy(require_https=True)
    )
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/me",
        "REMOTE_ADDR": CLIENT,
        "wsgi.url_scheme": "http",
        "HTTP_AUTHORIZATION": f"Bearer {token()}",
    }
    middleware(environ, start_response)
    assert statuses == ["400 Bad Request"]


def test_asgi_on_error_shapes_the_https_refusal() -> None:
    from starlette.responses import PlainTextResponse

    seen: list[str] = []

    def on_error(scope: Any, error: Any) -> Any:
        seen.append(error.reason)
        return PlainTextResponse("use https", status_code=error.status)

    middleware = ASGIMiddleware(
        _inner,
        verifier=target("asgi").verifier,
        on_error=on_error,
        transport=TransportPolicy(require_https=True),
    )
    answer = asgi_caller(middleware)("GET", "/me", bearer(), CLIENT, "http", b"")
    assert (answer.status, answer.body, seen) == (400, "use https", ["https_required"])


def test_asgi_websocket_tokens_over_ws_are_refused() -> None:
    """A token in the header, the query parameter or the subprotocol, over ``ws://``."""
    import asyncio

    policy = TransportPolicy(require_https=True)
    middleware = ASGIMiddleware(
        _inner,
        verifier=target("asgi").verifier,
        transport=policy,
        websocket_query_param="access_token",
        websocket_subprotocol=True,
    )

    def handshake(**extra: Any) -> list[Any]:
        scope: dict[str, Any] = {
            "type": "websocket",
            "path": "/ws",
            "scheme": "ws",
            "client": (CLIENT, 1),
            "headers": [],
            "query_string": b"",
            **extra,
        }
        sent: list[Any] = []

        async def receive() -> Any:
            return {"type": "websocket.connect"}

        async def send(message: Any) -> None:
            sent.append(message)

        asyncio.run(middleware(scope, receive, send))
        return sent

    refused = [{"type": "websocket.close", "code": 1008, "reason": "invalid_request"}]
    assert handshake(headers=[(b"authorization", f"Bearer {token()}".encode())]) == refused
    assert handshake(query_string=f"access_token={token()}".encode()) == refused
    protocols = [(b"sec-websocket-protocol", f"bearer, {token()}".encode())]
    assert handshake(headers=protocols) == refused


# --- the adapters' shortcut -------------------------------------------------------------------


def _outcome(call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as exc:  # the type is the outcome
        return type(exc)


@pytest.mark.parametrize("proxies", ["", "10.0.0.0/24", "10.0.0.0/24, unix", "::/0, 0.0.0.0/0"])
def test_the_adapters_shortcut_decides_as_the_policy(proxies: str) -> None:
    """The adapters skip the header pass for TLS from a peer that is no trusted proxy
    (``_sansio.enforce``); over every combination it answers as ``TransportPolicy.check``."""
    from jwt_middleware._sansio.authenticator import Authenticator
    from jwt_middleware._sansio.enforce import environ_transport, scope_transport
    from jwt_middleware._sansio.transport import check_environ, check_scope

    authenticator = Authenticator(target("asgi").verifier)
    headers_cases: list[list[tuple[str, str]]] = [
        [],
        [("authorization", "Bearer x")],
        [("authorization", "Bearer x"), ("x-forwarded-proto", "https")],
        [("authorization", "Bearer x"), ("x-forwarded-proto", "http")],
        [("authorization", "Bearer x"), ("forwarded", "proto=https;proto=http")],
        [("x-forwarded-proto", "http")],
    ]
    for policy in (
        TransportPolicy(require_https=True, trusted_proxies=proxies, hsts_max_age=60),
        TransportPolicy(require_https=True, trusted_proxies=proxies, allow_loopback_http=False),
        TransportPolicy(trusted_proxies=proxies, hsts_max_age=0),
    ):
        for scheme in ("http", "https", "ws", "wss", "HTTPS"):
            for peer in (PROXY, CLIENT, "127.0.0.1", "::1", None, "/run/proxy.sock"):
                for headers in headers_cases:
                    scope = {
                        "type": "websocket" if scheme.startswith("ws") else "http",
                        "scheme": scheme, "path": "/me", "server": ("10.1.1.1", 443),
                        "client": (peer, 1) if peer is not None else None,
                        "headers": [(k.encode(), v.encode()) for k, v in [("host", "a"),
                                                                          *headers]],
                    }  # fmt: skip
                    expected = _outcome(check_scope, policy, scope)
                    got = _outcome(scope_transport, policy, dict(scope), authenticator)
                    assert got == expected, (policy, scheme, peer, headers)
                    environ = {"wsgi.url_scheme": scheme, "PATH_INFO": "/me", "HTTP_HOST": "a"}
                    if peer is not None:
                        environ["REMOTE_ADDR"] = peer
                    for name, value in headers:
                        environ["HTTP_" + name.upper().replace("-", "_")] = value
                    if not scheme.startswith("ws"):
                        expected = _outcome(check_environ, policy, environ)
                        got = _outcome(environ_transport, policy, dict(environ), authenticator)
                        assert got == expected, (policy, scheme, peer, headers)
