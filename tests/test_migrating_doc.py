"""docs/migrating.md: every name of ours its tables mention exists, as a public name.

Each table's second column holds our names in code spans. A span is resolved in the
section's framework module (flask-jwt-extended: ``jwt_middleware.flask``, AuthX:
``jwt_middleware.fastapi``), else in ``jwt_middleware``; a dotted name is followed
attribute by attribute, and the keywords of a call (``JWT(app, on_error=...)``) must be
parameters (``Depends(auth)`` is checked as ``auth``). ``JWT_*`` spans must be settings
``JWT(app)`` knows. Spans that are routes or bodies (``POST /auth/refresh``) are not names.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import jwt_middleware

DOC = Path(__file__).resolve().parent.parent / "docs" / "migrating.md"
SECTIONS = {
    "## From flask-jwt-extended": "jwt_middleware.flask",
    "## From AuthX": "jwt_middleware.fastapi",
}
#: The instance names the doc writes (``@jwt.user_loader``, ``auth.current_user``).
INSTANCES = {
    "jwt": ("jwt_middleware.flask", "JWT"),
    "auth": ("jwt_middleware.fastapi", "JWTBearer"),
    "issuer": ("jwt_middleware", "Issuer"),
    "service": ("jwt_middleware", "TokenService"),
    "principal": ("jwt_middleware", "Principal"),
    "error": ("jwt_middleware", "AuthError"),
    # A proxy outside a request raises; its attributes are the Principal's.
    "current_principal": ("jwt_middleware", "Principal"),
}
NAME = re.compile(r"^@?(?P<path>[A-Za-z_][\w.]*)(?P<call>\(.*\))?$")
SETTING = re.compile(r"^JWT_[A-Z0-9_]+$")


def spans() -> list[tuple[str, str]]:
    """(section module, code span) for each span in the tables' second column."""
    found: list[tuple[str, str]] = []
    module: str | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            module = SECTIONS.get(line.strip())
            continue
        if module is None or not line.startswith("|") or line.startswith("|---"):
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))]
        if len(cells) < 2 or cells[1] == "jwt_middleware":  # the header row
            continue
        found.extend((module, span) for span in re.findall(r"`([^`]+)`", cells[1]))
    return found


def resolve(module_name: str, path: str) -> Any:
    parts = path.split(".")
    obj: Any
    if parts[0] == "jwt_middleware":
        obj = jwt_middleware
        for index, part in enumerate(parts[1:], start=1):
            if isinstance(obj, ModuleType) and not hasattr(obj, part):
                obj = importlib.import_module(".".join(parts[: index + 1]))
            else:
                obj = getattr(obj, part)
        return obj
    first, rest = parts[0], parts[1:]
    if first in INSTANCES:
        home, name = INSTANCES[first]
        obj = getattr(importlib.import_module(home), name)
    else:
        module = importlib.import_module(module_name)
        public = set(getattr(module, "__all__", ())) | set(jwt_middleware.__all__)
        assert first in public, f"{first} is not a public name of {module_name} or the core"
        obj = getattr(module, first) if hasattr(module, first) else getattr(jwt_middleware, first)
    for part in rest:
        obj = getattr(obj, part)
    return obj


def check_keywords(obj: Any, call: str, span: str) -> None:
    keywords = re.findall(r"(\w+)=", call)
    if not keywords:
        return
    parameters = inspect.signature(obj).parameters  # a class: its constructor's
    for keyword in keywords:
        assert keyword in parameters, f"{span}: no parameter {keyword!r}"


def known_setting(name: str) -> bool:
    """Whether ``JWT(app)`` knows ``name`` (any other complaint is about its value)."""
    from flask import Flask

    from jwt_middleware.flask import JWT

    app = Flask(__name__)
    app.config.update(JWT_ALGORITHMS="HS256", JWT_SECRET="s" * 32)
    app.config[name] = "1"
    try:
        JWT(app)
    except jwt_middleware.ConfigurationError as exc:
        return "unknown setting" not in str(exc)
    return True


ALL = spans()


def test_the_tables_mention_many_names() -> None:
    modules = {module for module, _ in ALL}
    assert modules == set(SECTIONS.values())
    assert len(ALL) > 80


@pytest.mark.parametrize(("module", "span"), ALL, ids=[span for _, span in ALL])
def test_every_name_exists(module: str, span: str) -> None:
    if SETTING.match(span):
        assert known_setting(span), f"{span} is not a setting"
        return
    depends = re.fullmatch(r"Depends\((.+)\)", span)  # FastAPI's wrapper around ours
    match = NAME.match(depends[1] if depends else span)
    if match is None:  # a route or a body, not a name
        assert " /" in span or span.startswith(("{", "/")), f"unexpected span {span!r}"
        return
    obj = resolve(module, match["path"])
    if match["call"]:
        check_keywords(obj, match["call"], span)
