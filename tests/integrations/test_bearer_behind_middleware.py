"""A FastAPI ``JWTBearer`` behind an ASGI ``JWTMiddleware`` keeps its own policies.

The bearer reuses the principal the middleware verified. A middleware configured with
weaker policies (no ``require_https``, DPoP ``off``) must not weaken a route whose bearer
asks for them (found in review: the route answered 200).
"""


import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from starlette.testclient import TestClient

from jwt_middleware import Config, DPoPPolicy, DPoPVerifier, Key, Principal, TransportPolicy, encode
from jwt_middleware.asgi import JWTMiddleware
from jwt_middleware.fastapi import JWTBearer

KEY = Key.from_secret("behind-the-middleware-" + "q" * 40, "HS256")
ISS = "https://issuer.test"


def _token() -> str:
    now = int(time.time())
    return encode({"sub": "alice", "iss": ISS, "iat": now, "exp": now + 60}, KEY)


def _app(bearer: JWTBearer) -> Any:
    app = FastAPI()
    bearer.init_app(app)

    @app.get("/x")
    async def route(principal: Annotated[Principal, Depends(bearer)]) -> dict[str, Any]:
        return {"sub": principal.subject}

    return JWTMiddleware(app, config=Config(keys=KEY, issuer=ISS))  # no such policies


def test_security_a_bearer_requiring_https_is_not_weakened_by_the_middleware() -> None:
    config = Config(keys=KEY, issuer=ISS)
    bearer = JWTBearer(config=config, transport=TransportPolicy(require_https=True,
                                                                allow_loopback_http=False))
    headers = {"Authorization": "Bearer " + _token()}
    plain = TestClient(_app(bearer), base_url="http://api.test").get("/x", headers=headers)
    assert plain.status_code == 400
    assert "JWT_REQUIRE_HTTPS" in plain.json()["error_description"]
    tls = TestClient(_app(bearer), base_url="https://api.test").get("/x", headers=headers)
    assert tls.status_code == 200


def test_security_a_bearer_requiring_dpop_refuses_a_bearer_principal_from_the_middleware() -> None:
    config = Config(keys=KEY, issuer=ISS)
    bearer = JWTBearer(config=config, dpop=DPoPPolicy("required", DPoPVerifier()))
    answer = TestClient(_app(bearer)).get("/x", headers={"Authorization": "Bearer " + _token()})
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_token"
    assert answer.headers["www-authenticate"].startswith("DPoP ")
