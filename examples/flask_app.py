"""Flask example: one public route, one for any valid token, one for admins.

Configure it from the environment (``JWT_ALGORITHMS``, ``JWT_SECRET`` or
``JWT_PUBLIC_KEY_FILE``, ``JWT_ISSUER``, ``JWT_AUDIENCE``), then run::

    python -m examples.flask_app --port 8000
    gunicorn examples.flask_app:app

Routes: ``GET /public`` (no token), ``GET /me`` (any valid token; the
principal as JSON) and ``GET /admin`` (role ``admin``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from examples._common import PUBLIC_PATHS, config_from_env, parse_port
from jwt_middleware.flask import JWT, current_principal, roles_required


def create_app() -> Flask:
    """The app factory: settings from ``JWT_*`` environment variables."""
    app = Flask(__name__)
    JWT(app, config=config_from_env(), public_paths=PUBLIC_PATHS)

    @app.get("/public")
    def public() -> dict[str, Any]:
        return {"message": "anyone can read this"}

    @app.get("/me")
    def me() -> dict[str, Any]:
        return current_principal.to_dict()

    @app.get("/admin")
    @roles_required("admin")
    def admin() -> dict[str, Any]:
        return {"message": f"welcome, admin {current_principal.subject}"}

    return app


app = create_app()


def main() -> None:
    host, port = parse_port()
    app.run(host=host, port=port, threaded=True)


if __name__ == "__main__":
    main()
