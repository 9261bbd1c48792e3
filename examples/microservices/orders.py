"""The orders service (Flask): trusts the gateway's JWKS, serves users and services.

* ``GET /orders`` (any valid token for ``orders-api``): the caller's orders;
  a token the gateway forwarded shows the *user*;
* ``GET /internal/stats`` (scope ``orders:internal``): for services only; the
  gateway's service token carries the scope, a user's token does not (403).

Settings (environment): ``MS_ISSUER`` (the gateway's URL; its JWKS is at
``/.well-known/jwks.json``).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from jwt_middleware import Config
from jwt_middleware.flask import JWT, current_principal, scopes_required
from jwt_middleware.jwks import JWKSClient

ISSUER = os.environ.get("MS_ISSUER", "http://127.0.0.1:9100")
JWKS_URI = ISSUER.rstrip("/") + "/.well-known/jwks.json"
ORDERS = {"alice": ["book", "teapot"], "bob": ["hammer"]}

keys = JWKSClient(JWKS_URI, algorithms=["ES256"],
                  allow_http=urlsplit(JWKS_URI).hostname == "127.0.0.1")
app = Flask(__name__)
JWT(app, config=Config(keys=keys, issuer=ISSUER, audience="orders-api"),
    public_paths=("/health",))


@app.get("/health")
def health() -> dict[str, Any]:
    return {"ok": True}


@app.get("/orders")
def orders() -> dict[str, Any]:
    subject = current_principal.subject or ""
    return {"service": "orders (Flask)", "caller": subject, "orders": ORDERS.get(subject, [])}


@app.get("/internal/stats")
@scopes_required("orders:internal")
def internal_stats() -> dict[str, Any]:
    return {"service": "orders (Flask)", "caller": current_principal.subject,
            "orders_total": sum(len(v) for v in ORDERS.values())}
