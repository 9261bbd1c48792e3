"""Refusals as Flask responses: the app's ``on_error`` answer, else the RFC 6750 one."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.wrappers import Response as WerkzeugResponse

from .._core.errors import AuthError
from ._state import State


def error_response(exc: AuthError, realm: str) -> Response:
    """The RFC 6750 answer: JSON ``{"error", "error_description"}`` and ``WWW-Authenticate``."""
    headers = [(k, v) for k, v in exc.headers(realm) if k != "content-type"]
    return Response(
        exc.json_body(), status=exc.status, headers=headers, content_type="application/json"
    )


def answer(app: Flask, state: State, exc: AuthError) -> Response:
    """The app's ``on_error`` answer when it gives one, else the RFC 6750 answer.

    Flask's error handlers are not asked: a catch-all ``errorhandler(Exception)`` would
    turn every refusal into its 500 page. ``on_error`` is the one hook (it may call them).
    """
    hook = state.hooks.on_error
    if hook is not None:
        shaped = hook(request._get_current_object(), exc)  # type: ignore[attr-defined]
        if isinstance(shaped, (tuple, WerkzeugResponse)) or callable(shaped):
            return app.make_response(shaped)
        if shaped is not None:  # a bare body (str, dict, ...): the refusal's status
            return app.make_response((shaped, exc.status))
    return error_response(exc, state.realm)
