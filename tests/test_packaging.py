"""What the wheel and the sdist carry, and the metadata a user and a packager read.

The wheel: every subpackage, ``py.typed``, the licence, the console script and the
pytest plugin, and only the extras a user installs (the developer tools are dependency
groups, which are never published). The sdist: what a packager rebuilds and tests from
(tests, docs, examples, benchmarks, tox.ini, Makefile, the licence), nothing local.

Both are built once, offline and without build isolation (setuptools from the running
environment, which the ``test`` dependency group provides), from a copy of the tree with
local clutter planted in it, so the test also shows that the clutter stays out.
"""

from __future__ import annotations

import configparser
import importlib
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest itself needs tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT: dict[str, Any] = PYPROJECT["project"]

#: Developer tools: dependency groups, never published extras.
DEVELOPER_ONLY = {"dev", "bench", "test", "lint", "typing"}
#: Folders a packager needs to rebuild and run the suite; copied whole into the sdist.
SOURCE_FOLDERS = ("jwt_middleware", "tests", "docs", "examples", "benchmarks")
SDIST_FILES = {
    "LICENSE",
    "README.md",
    "CHANGELOG.md",
    "SECURITY.md",
    "CONTRIBUTING.md",
    "pyproject.toml",
    "MANIFEST.in",
    "tox.ini",
    "Makefile",
    "PKG-INFO",
}
#: Local or generated names that must never be shipped.
STRAY_PARTS = {
    ".git",
    ".venv",
    ".tox",
    ".ci",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
}
#: Not copied into the build tree (large, or rebuilt by the build itself).
NOT_COPIED = (*STRAY_PARTS, "*.egg-info")
#: Clutter planted in the copy, as a working tree has it.
PLANTED = (
    ".venv/pyvenv.cfg",
    ".pytest_cache/README.md",
    ".mypy_cache/3.11/cache.json",
    ".ruff_cache/CACHEDIR.TAG",
    ".hypothesis/examples/0/1",
    ".tox/py311/.tox-info.json",
    "jwt_middleware/__pycache__/cli.cpython-311.pyc",
    "tests/__pycache__/test_packaging.cpython-311-pytest-8.pyc",
    "tests/core/__pycache__/helpers.cpython-311.pyc",
    "examples/__pycache__/demo.cpython-311.pyc",
)


@dataclass
class Built:
    source: Path
    wheel: zipfile.ZipFile
    sdist: tarfile.TarFile
    sdist_top: str
    wheel_names: set[str]
    sdist_names: set[str]  # relative to sdist_top


def _metadata(text: str) -> Message:
    return HeaderParser().parsestr(text)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    setuptools = importlib.metadata.version("setuptools")
    if int(setuptools.split(".")[0]) < 77:
        pytest.fail(
            f"setuptools {setuptools} cannot build this project (needs >= 77, "
            "for PEP 639 licence metadata): install the dev tools, `make .venv/.installed-dev`"
        )
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_COPIED))
    for name in PLANTED:
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("local clutter\n")
    out = base / "dist"
    out.mkdir()
    code = (
        "import sys\n"
        "from setuptools import build_meta as backend\n"
        "out = sys.argv[1]  # the backend rewrites sys.argv\n"
        "sdist = backend.build_sdist(out)\n"
        "wheel = backend.build_wheel(out)\n"
        "print('built:', sdist, wheel)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("built: ")]
    sdist_name, wheel_name = line.split()[1:]
    with zipfile.ZipFile(out / wheel_name) as wheel, tarfile.open(out / sdist_name) as sdist:
        top = sdist_name.removesuffix(".tar.gz")
        sdist_names = {
            str(PurePosixPath(m.name).relative_to(top)) for m in sdist.getmembers() if m.isfile()
        }
        yield Built(source, wheel, sdist, top, set(wheel.namelist()), sdist_names)


def _dist_info(built: Built) -> str:
    (folder,) = {n.split("/")[0] for n in built.wheel_names if ".dist-info/" in n}
    return folder


def _wheel_text(built: Built, name: str) -> str:
    return built.wheel.read(f"{_dist_info(built)}/{name}").decode()


def _sdist_text(built: Built, name: str) -> str:
    member = built.sdist.extractfile(f"{built.sdist_top}/{name}")
    assert member is not None
    return member.read().decode()


# --- the wheel ----------------------------------------------------------------------


def test_the_wheel_carries_every_subpackage_and_nothing_else(built: Built) -> None:
    package = ROOT / "jwt_middleware"
    modules = {
        str(path.relative_to(ROOT).as_posix())
        for path in package.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    folders = {str(PurePosixPath(m).parent) for m in modules}
    for folder in folders:
        assert f"{folder}/__init__.py" in modules, f"{folder} has Python files but no __init__.py"
    assert modules <= built.wheel_names, sorted(modules - built.wheel_names)
    assert "jwt_middleware/py.typed" in built.wheel_names
    dist_info = _dist_info(built)
    outside = {
        n for n in built.wheel_names if not n.startswith(("jwt_middleware/", f"{dist_info}/"))
    }
    assert outside == set(), "the wheel carries the package only"
    assert not [n for n in built.wheel_names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_wheel_carries_the_licence(built: Built) -> None:
    licence = f"{_dist_info(built)}/licenses/LICENSE"
    assert licence in built.wheel_names
    assert built.wheel.read(licence) == (ROOT / "LICENSE").read_bytes()
    metadata = _metadata(_wheel_text(built, "METADATA"))
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_only_the_user_extras_are_published(built: Built) -> None:
    for metadata in (
        _metadata(_wheel_text(built, "METADATA")),
        _metadata(_sdist_text(built, "PKG-INFO")),
    ):
        extras = set(metadata.get_all("Provides-Extra") or [])
        assert extras == set(PROJECT["optional-dependencies"])
        assert not extras & DEVELOPER_ONLY
        requires = metadata.get_all("Requires-Dist") or []
        for tool in ("pytest", "mypy", "ruff", "tox", "authx", "flask-jwt-extended"):
            assert not [r for r in requires if r.lower().startswith(tool)], tool
    assert {"flask", "starlette", "fastapi", "redis", "all"} <= set(
        PROJECT["optional-dependencies"]
    )
    assert {"dev", "test", "bench"} <= set(PYPROJECT["dependency-groups"])


def test_the_console_script_and_the_pytest_plugin_resolve(built: Built) -> None:
    entry_points = configparser.ConfigParser()
    entry_points.read_string(_wheel_text(built, "entry_points.txt"))
    assert dict(entry_points["console_scripts"]) == {"jwt-middleware": "jwt_middleware.cli:main"}
    assert dict(entry_points["pytest11"]) == {"jwt_middleware": "jwt_middleware.testing"}
    module, _, function = entry_points["console_scripts"]["jwt-middleware"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_the_metadata_names_the_project(built: Built) -> None:
    metadata = _metadata(_wheel_text(built, "METADATA"))
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Changelog", "Issues", "Source"}
    assert all(u.startswith("https://") for u in urls.values())
    assert metadata["Keywords"]
    classifiers = metadata.get_all("Classifier") or []
    assert "Development Status :: 4 - Beta" in classifiers
    # PEP 639: the SPDX expression replaces licence classifiers (setuptools refuses both).
    assert not [c for c in classifiers if c.startswith("License ::")]


# --- the sdist ----------------------------------------------------------------------


def test_the_sdist_carries_what_a_packager_builds_and_tests_from(built: Built) -> None:
    assert built.sdist_names >= SDIST_FILES, sorted(SDIST_FILES - built.sdist_names)
    expected = {
        str(path.relative_to(built.source).as_posix())
        for folder in SOURCE_FOLDERS
        for path in (built.source / folder).rglob("*")
        if path.is_file()
        and not STRAY_PARTS & set(path.relative_to(built.source).parts)
        and path.suffix != ".pyc"
    }
    assert expected <= built.sdist_names, sorted(expected - built.sdist_names)
    for needed in ("tests/conftest.py", "tests/__init__.py", "docs/security.md"):
        if (ROOT / needed).exists():
            assert needed in built.sdist_names
    assert any(n.startswith("examples/") for n in built.sdist_names)
    assert _sdist_text(built, "LICENSE") == (ROOT / "LICENSE").read_text()
    metadata = _metadata(_sdist_text(built, "PKG-INFO"))
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]


def test_the_sdist_carries_nothing_local(built: Built) -> None:
    strays = {
        n
        for n in built.sdist_names
        if STRAY_PARTS & set(PurePosixPath(n).parts) or n.endswith((".pyc", ".pyo"))
    }
    assert strays == set()
    top_level = {PurePosixPath(n).parts[0] for n in built.sdist_names}
    allowed = SDIST_FILES | set(SOURCE_FOLDERS) | {"setup.cfg", "jwt_middleware.egg-info"}
    assert top_level <= allowed, sorted(top_level - allowed)


# --- the configuration --------------------------------------------------------------


def test_runtime_dependency_is_only_a_safe_pyjwt() -> None:
    assert PROJECT["dependencies"] == ["pyjwt[crypto]>=2.13"]


def test_the_flask_extra_brings_flask_only() -> None:
    assert PROJECT["optional-dependencies"]["flask"] == ["flask>=2.3"]
    uses = [
        path
        for path in (ROOT / "jwt_middleware").rglob("*.py")
        if re.search(r"^\s*(import|from)\s+asgiref", path.read_text(), re.MULTILINE)
    ]
    assert uses == [], "the package imports asgiref: the flask extra must bring it"


def test_the_claimed_python_versions_are_the_tested_ones() -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    labels = {
        name.strip(): [env.strip() for env in envs.split(",")]
        for name, _, envs in (
            line.partition("=") for line in tox["tox"]["labels"].splitlines() if "=" in line
        )
    }
    tested = {
        f"3.{minor}" for minor in re.findall(r"^py3(\d+)$", "\n".join(labels["versions"]), re.M)
    }
    assert tested, "tox.ini: labels = versions = py3XY, ..."
    envlist = set(re.split(r"[\s,]+", tox["tox"]["envlist"]))
    assert set(labels["versions"]) <= envlist
    prefix = "Programming Language :: Python :: "
    claimed = {
        c.removeprefix(prefix)
        for c in PROJECT["classifiers"]
        if re.fullmatch(re.escape(prefix) + r"3\.\d+", c)
    }
    assert claimed == tested
    lowest = min(claimed, key=lambda v: int(v.split(".")[1]))
    assert PROJECT["requires-python"] == f">={lowest}"


def test_the_classifiers_are_known() -> None:
    trove = pytest.importorskip("trove_classifiers")
    unknown = [c for c in PROJECT["classifiers"] if c not in trove.classifiers]
    assert unknown == []
