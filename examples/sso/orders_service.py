"""Resource service 1 (Flask): the ``orders-api``, trusting the auth service's JWKS.

Routes: ``GET /health`` (public) and ``GET /whoami`` (any valid token for
``orders-api``). Run: ``SSO_ISSUER=http://127.0.0.1:9000 gunicorn
examples.sso.orders_service:app``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from examples.sso.trust import sso_config
from jwt_middleware.flask import JWT, current_principal

AUDIENCE = "orders-api"

app = Flask(__name__)
JWT(app, config=sso_config(AUDIENCE), public_paths=("/health",))


@app.get("/health")
def health() -> dict[str, Any]:
    return {"ok": True}


@app.get("/whoami")
def whoami() -> dict[str, Any]:
    return {
        "service": "orders (Flask)",
        "subject": current_principal.subject,
        "roles": sorted(current_principal.roles),
    }
