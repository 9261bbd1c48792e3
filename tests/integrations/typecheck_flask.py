"""Checked by mypy, never run by pytest: the documented Flask API keeps view signatures.

``typing.assert_type`` fails the mypy run if a decorator loses a view's parameters or
return type (sync, async and ``MethodView`` methods alike).
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from typing import Any, assert_type

from flask import Blueprint, Flask
from flask.views import MethodView

from jwt_middleware import Config, Issuer, KeySet, Principal, TokenService, generate_key
from jwt_middleware.flask import (
    JWT,
    AuthEvent,
    CookiePolicy,
    Identity,
    auth_blueprint,
    claims_required,
    current_principal,
    dpop_required,
    fresh_required,
    get_jwt,
    get_principal,
    jwt_required,
    revoke_subject,
    roles_accepted,
    roles_required,
    scopes_required,
)


def on_event(event: AuthEvent) -> None:
    print(event.reason, event.status, event.subject)


def create_app() -> Flask:
    app = Flask(__name__)
    JWT(app, config=Config(keys=KeySet([generate_key("HS256")])), on_event=on_event)
    jwt = JWT(prefix="OTHER_", mode="optional", public_paths=["/health"])
    jwt.init_app(Flask("second"))
    return app


def check_credentials(username: str, password: str) -> Identity | None:
    return Identity(username, roles=("user",)) if password == "right" else None


def create_lifecycle_app() -> Flask:
    app = Flask(__name__)
    config = Config(keys=KeySet([generate_key("HS256")]), issuer="me", store="memory://")
    JWT(
        app,
        config=config,
        cookies=CookiePolicy(secure=False),
        check_credentials=check_credentials,
        issuer_options={"access_ttl": 300},
    )
    blueprint = auth_blueprint(url_prefix="/auth")
    assert_type(blueprint, Blueprint)
    app.register_blueprint(blueprint)
    assert_type(JWT.token_service(app), TokenService)
    assert_type(JWT.token_issuer(app), Issuer)
    return app


@fresh_required()
def change_password(new_password: str) -> tuple[dict[str, str], int]:
    revoke_subject(current_principal.subject or "")
    return {"status": new_password}, 200


assert_type(change_password("x"), tuple[dict[str, str], int])


@dpop_required()
def bound_only(order: int) -> dict[str, int]:
    return {"order": order}


assert_type(bound_only(1), dict[str, int])
bound_only("1")  # type: ignore[arg-type]
change_password(1)  # type: ignore[arg-type]
assert_type(revoke_subject("alice"), None)


@roles_required("admin")
def admin(item_id: int, *, verbose: bool = False) -> dict[str, Any]:
    return {"id": item_id, "verbose": verbose, "subject": current_principal.subject}


assert_type(admin(1, verbose=True), dict[str, Any])
# With strict mypy (warn_unused_ignores), these ignores prove the parameters are still checked.
admin("one")  # type: ignore[arg-type]
admin(1, loud=True)  # type: ignore[call-arg]


@jwt_required(optional=True)
def maybe(name: str) -> str:
    principal = get_principal()
    assert_type(principal, Principal | None)
    return name if principal is None else f"{name}:{principal.subject}"


assert_type(maybe("x"), str)


@roles_accepted("admin", "ops")
@scopes_required("read")
@claims_required(lambda claims: claims.get("tenant") == "acme", description="tenant")
async def async_view(page: int) -> list[str]:
    claims = get_jwt()
    assert_type(claims, Mapping[str, Any])
    return [str(claims.get("sub")), str(page)]


pending = async_view(2)
_pending = assert_type(pending, Coroutine[Any, Any, list[str]])
pending.close()
async_view("two").close()  # type: ignore[arg-type]


@jwt_required()
def required() -> tuple[str, int]:
    roles = current_principal.roles
    assert_type(roles, frozenset[str])
    return "ok", 200


assert_type(required(), tuple[str, int])
required(1)  # type: ignore[call-arg]


class Items(MethodView):
    @roles_required("writer")
    def post(self, item_id: int) -> tuple[str, int]:
        return str(item_id), 201

    @jwt_required(optional=True)
    async def get(self) -> str:
        return "items"


assert_type(Items().post(3), tuple[str, int])
listing = Items().get()
_listing = assert_type(listing, Coroutine[Any, Any, str])
listing.close()
