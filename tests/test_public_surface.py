"""The curated public surface, and a layout that shows the layers.

* every public module has one sorted ``__all__`` whose names all exist;
* examples, docs and the README import only public modules and public names;
* every module of the package sits in a layer folder (or is a public face), and
  stays about one thing (at most ~400 lines).
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "jwt_middleware"

PUBLIC_MODULES = [
    "jwt_middleware",
    "jwt_middleware.asgi",
    "jwt_middleware.audit",
    "jwt_middleware.cli",
    "jwt_middleware.client",
    "jwt_middleware.fastapi",
    "jwt_middleware.flask",
    "jwt_middleware.jwks",
    "jwt_middleware.metrics",
    "jwt_middleware.starlette",
    "jwt_middleware.stores",
    "jwt_middleware.stores.memory",
    "jwt_middleware.stores.redis",
    "jwt_middleware.stores.sqlite",
    "jwt_middleware.testing",
    "jwt_middleware.wsgi",
]

#: The top level of the package: the layers (private folders), the public faces, and
#: the stores, whose backends are public modules.
LAYERS = {"_core", "_lifecycle", "_keysources", "_sansio", "_testing", "stores"}
FACES = {
    "__init__.py", "__main__.py", "_version.py", "asgi.py", "wsgi.py", "client", "jwks.py",
    "testing.py", "cli", "flask", "starlette", "fastapi", "audit.py", "metrics",
}
MAX_LINES = 430  # "about 400": a module past this is doing two things


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_each_public_module_has_one_sorted_all(name: str) -> None:
    module = importlib.import_module(name)
    names = module.__all__
    assert names == sorted(names), f"{name}.__all__ is not sorted"
    assert len(names) == len(set(names)), f"{name}.__all__ repeats a name"
    for public in names:
        assert hasattr(module, public), f"{name}.__all__ names {public}, which is missing"
    source = Path(module.__file__ or "").read_text()
    assert len(re.findall(r"^__all__\b", source, flags=re.M)) == 1, f"{name}: one __all__"


def _imports(source: str) -> list[tuple[str, list[str]]]:
    """(module, [names]) for every ``from jwt_middleware... import`` and ``import`` in code."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "jwt_middleware":
                found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend(
                (a.name, []) for a in node.names if a.name.split(".")[0] == "jwt_middleware"
            )
    return found


def _parses(block: str) -> bool:
    try:
        ast.parse(block)
    except SyntaxError:  # a fragment (a signature sketch, an elided body): not a module
        return False
    return True


def _code_blocks(markdown: str) -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", markdown, flags=re.S)
    return [b for b in blocks if "jwt_middleware" in b and _parses(b)]


def _user_facing_sources() -> list[tuple[str, str]]:
    sources = [(str(p.relative_to(ROOT)), p.read_text()) for p in (ROOT / "examples").rglob("*.py")]
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for index, block in enumerate(_code_blocks(doc.read_text())):
            sources.append((f"{doc.relative_to(ROOT)} block {index + 1}", block))
    return sources


@pytest.mark.parametrize(("where", "source"), _user_facing_sources(), ids=lambda v: str(v)[:60])
def test_examples_and_docs_import_only_public_names(where: str, source: str) -> None:
    for module, names in _imports(source):
        assert module in PUBLIC_MODULES, f"{where} imports the private module {module}"
        public = importlib.import_module(module).__all__
        for name in names:
            assert name in public, f"{where} imports {name} from {module}: not in its __all__"


def test_the_top_level_shows_the_layers() -> None:
    entries = {
        p.name for p in PACKAGE.iterdir() if p.name != "__pycache__" and p.name != "py.typed"
    }
    assert entries == LAYERS | FACES, sorted(entries ^ (LAYERS | FACES))
    for layer in LAYERS - {"stores"}:
        assert (PACKAGE / layer / "__init__.py").read_text().startswith('"""'), layer


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_each_module_is_about_one_thing(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it"
