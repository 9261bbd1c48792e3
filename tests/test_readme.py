"""The README's quickstarts, run as a newcomer runs them, in an empty folder.

Each quickstart section (``### Flask``, ``### Starlette``, ``### FastAPI``) is a
sequence of code blocks: shell blocks and one Python block whose first line names
its file (``# app.py``). The test runs the blocks in order, in an empty temporary
folder, with the venv's ``bin`` first on ``PATH`` (so ``jwt-middleware``, ``flask``
and ``uvicorn`` are the ones installed with the package) and no ``JWT_*`` variable
from outside. It departs from the text only where a test must:

* ``pip install`` lines are checked (they name the extra, and uvicorn where the
  extra brings no server) but not run: the venv running the tests already has the
  package and every extra, and a test must not install from the network;
* the server line (``... &``) is started by the test on a free port (``--port N``
  appended; the README's default port in later lines becomes ``N``), and the test
  waits until it listens, as a reader waits for "Running on ..."; ``kill %1``
  stops it;
* shell lines run one at a time through ``bash`` with ``set -a``, so the variables a
  line sets (``export ...``, ``TOKEN=$(...)``) reach the next ones, as in one shell;
* each ``curl`` line runs through curl when it is installed (with ``-w`` added to
  read the status), otherwise as the same GET with ``requests``. The comment after
  it (``# 200 {"hello":"alice"}``) is the promise: that status, and that text in the
  body.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jwt_middleware import RevokedTokenError, Verifier, generate_key

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n{title}\n") + len(title) + 2
    level = title.split(" ", 1)[0]
    found = re.search(rf"^#{{2,{len(level)}}} ", text[start:], re.M)
    return text[start : start + found.start()] if found else text[start:]


def _blocks(section: str) -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block, in order."""
    return re.findall(r"^```(\w+)\n(.*?)^```$", section, re.M | re.S)


def _lines(code: str) -> list[str]:
    """Logical lines: continuations (a trailing ``\\``) joined, blank lines dropped."""
    return [line for line in code.replace("\\\n", " ").splitlines() if line.strip()]


def _split_comment(line: str) -> tuple[str, str]:
    command, _, comment = line.partition(" #")
    return command.strip(), comment.strip()


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Shell:
    """One shell session in ``cwd``: its variables, and the server it started."""

    cwd: Path
    env: dict[str, str] = field(default_factory=_clean_env)
    server: subprocess.Popen[bytes] | None = None
    started: str = ""  # the server's command, as the README writes it
    ports: dict[str, str] = field(default_factory=dict)  # README port -> free port
    answers: list[int] = field(default_factory=list)

    def substitute(self, line: str) -> str:
        for readme, free in self.ports.items():
            line = line.replace(f"127.0.0.1:{readme}", f"127.0.0.1:{free}")
        return line

    def run(self, line: str) -> None:
        command, comment = _split_comment(line)
        if command.startswith("pip install"):
            return  # checked by the caller; the venv already has the package
        if command.endswith("&"):
            self.start(command[:-1].strip(), comment)
        elif command == "kill %1":
            assert self.server is not None, "kill %1 without a server"
            _stop(self.server)
        elif command.startswith("curl "):
            self.curl(self.substitute(command), comment)
        else:
            self.sh(command)

    def sh(self, command: str) -> None:
        dump = self.cwd.parent / "env.out"
        script = f"set -ea\n{command}\nenv -0 > {shlex.quote(str(dump))}\n"
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{command!r} failed:\n{done.stdout}{done.stderr}"
        pairs = (item.partition("=") for item in dump.read_text().split("\0") if item)
        self.env = {name: value for name, _, value in pairs}

    def start(self, command: str, comment: str) -> None:
        assert self.server is None, "one server per quickstart"
        self.started = command
        default = re.search(r"http://127\.0\.0\.1:(\d+)", comment)
        assert default is not None, f"say where {command!r} listens: {comment!r}"
        port = _free_port()
        self.ports[default.group(1)] = str(port)
        log = self.cwd.parent / "server.log"
        with log.open("wb") as out:
            self.server = subprocess.Popen(
                [*shlex.split(command), "--port", str(port)],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                pytest.fail(f"{command!r} exited with {self.server.returncode}:\n{log.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return
            time.sleep(0.05)
        pytest.fail(f"{command!r} did not listen in 30 s:\n{log.read_text()}")

    def curl(self, command: str, comment: str) -> None:
        promise = re.fullmatch(r"(\d{3}) (.+)", comment)
        assert promise is not None, f"say what {command!r} answers: {comment!r}"
        status, text = int(promise.group(1)), promise.group(2)
        if shutil.which("curl", path=self.env["PATH"]):
            done = subprocess.run(
                ["bash", "-c", f"{command} -s -w '\\n%{{http_code}}'"],
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert done.returncode == 0, f"{command!r}: {done.stderr}"
            body, _, code = done.stdout.rpartition("\n")
            got = int(code)
        else:
            got, body = _requests_get(command, self.env)
        assert got == status, f"{command!r} answered {got}, the README says {status}: {body}"
        assert text in body, f"{command!r} answered {body!r}, the README says {text!r}"
        self.answers.append(got)


def _requests_get(command: str, env: dict[str, str]) -> tuple[int, str]:
    """``curl [-H header] URL`` as a GET with ``requests``, ``$NAME`` taken from ``env``."""
    import requests

    words = shlex.split(re.sub(r"\$(\w+)", lambda m: env[m.group(1)], command))
    headers: dict[str, str] = {}
    while len(words) > 2 and words[1] == "-H":
        name, _, value = words[2].partition(":")
        headers[name.strip()] = value.strip()
        del words[1:3]
    assert len(words) == 2, f"only curl [-H header] URL is understood: {command!r}"
    response = requests.get(words[1], headers=headers, timeout=30)
    return response.status_code, response.text


@contextlib.contextmanager
def _shell(tmp_path: Path) -> Iterator[Shell]:
    folder = tmp_path / "quickstart"
    folder.mkdir()
    shell = Shell(folder)
    try:
        yield shell
    finally:
        if shell.server is not None:
            _stop(shell.server)


@pytest.mark.parametrize(
    ("title", "extra", "server"),
    [
        ("Flask", "flask", "flask --app app run"),
        ("Starlette", "starlette", "uvicorn app:app"),
        ("FastAPI", "fastapi", "uvicorn app:app"),
    ],
)
def test_quickstart_runs_as_written(tmp_path: Path, title: str, extra: str, server: str) -> None:
    blocks = _blocks(_section(f"### {title}"))
    languages = [language for language, _ in blocks]
    assert languages.count("python") == 1, languages
    assert "sh" in languages, languages
    with _shell(tmp_path) as shell:
        for language, code in blocks:
            if language == "python":
                name = re.fullmatch(r"# ([\w./-]+)", code.splitlines()[0])
                assert name is not None, "the app block's first line names its file: # app.py"
                (shell.cwd / name.group(1)).write_text(code)
                continue
            assert language == "sh", language
            for line in _lines(code):
                if line.startswith("pip install"):
                    assert f"'jwt-middleware[{extra}]'" in line, line
                    assert extra == "flask" or " uvicorn" in line, "the extra brings no server"
                shell.run(line)
        assert shell.server is not None, "the quickstart starts a server"
        assert shell.started == server, shell.started
        assert shell.server.poll() is not None, "the quickstart stops its server (kill %1)"
    assert sorted(set(shell.answers)) == [200, 401, 403], shell.answers


def test_quickstarts_configure_what_the_readme_promises() -> None:
    """The opening promises an exact `iss` check; the quickstarts configure an issuer."""
    for title in ("Flask", "Starlette", "FastAPI"):
        code = "\n".join(c for lang, c in _blocks(_section(f"### {title}")) if lang == "sh")
        assert "keygen --alg ES256 --kid demo --out keys" in code, title
        for setting in (
            "JWT_ALGORITHMS=ES256",
            "JWT_PUBLIC_KEY_FILE=keys/demo.public.pem",
            "JWT_ISSUER=",
            "JWT_AUDIENCE=",
        ):
            assert setting in code, (title, setting)


def test_keygen_writes_the_files_the_quickstarts_name(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "jwt-middleware"), "keygen", "--alg", "ES256", "--kid", "demo", "--out", "keys"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert sorted(p.name for p in (tmp_path / "keys").iterdir()) == [
        "demo.private.jwk",
        "demo.private.pem",
        "demo.public.jwk",
        "demo.public.pem",
    ], done.stdout
    readme = README.read_text()
    assert "`keys/demo.private.pem`" in readme
    assert "`keys/demo.public.pem`" in readme


def test_token_life_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The token-life block, with the signing key it names; every name in it is defined."""
    (code,) = [c for lang, c in _blocks(_section("## The token life")) if lang == "python"]
    (tmp_path / "signing.pem").write_bytes(generate_key("ES256").private_pem())
    monkeypatch.chdir(tmp_path)
    scope: dict[str, Any] = {"__name__": "readme"}
    exec(compile(code, "README-token-life", "exec"), scope)
    with pytest.raises(RevokedTokenError):
        Verifier(scope["config"]).verify(scope["pair"].access_token)


def _example_error(env: dict[str, str]) -> str:
    """The last line ``uvicorn examples.fastapi_app:app`` prints when it refuses to start."""
    done = subprocess.run(
        [str(BIN / "uvicorn"), "examples.fastapi_app:app", "--port", str(_free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0, done.stderr
    return done.stderr.strip().splitlines()[-1]


def _names_a_keyword(message: str) -> bool:
    return re.search(r"(?<![\w-])[a-z][a-z_]*=", message) is not None


def test_fastapi_example_without_settings_names_them(tmp_path: Path) -> None:
    """The README's `uvicorn examples.fastapi_app:app` started without the environment:
    the message names the JWT_* variable to set, never a Python keyword (issuer=)."""
    env = {**_clean_env(), "JWT_STORE_URL": "memory://"}
    message = _example_error(env)
    assert "JWT_SECRET" in message, message
    assert "JWT_PRIVATE_KEY_FILE" in message, message
    assert not _names_a_keyword(message), message

    key = tmp_path / "demo.private.pem"
    key.write_bytes(generate_key("ES256").private_pem())
    env.update(JWT_ALGORITHMS="ES256", JWT_PRIVATE_KEY_FILE=str(key))
    message = _example_error(env)
    assert "JWT_ISSUER" in message, message
    assert not _names_a_keyword(message), message
