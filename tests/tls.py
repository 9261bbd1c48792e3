"""Real TLS for the tests: a throw-away CA, a server certificate for 127.0.0.1 and
localhost, and uvicorn or gunicorn serving HTTPS with it on a free port.

::

    def test_it(uvicorn_https: StartServer, tls_files: TLSFiles) -> None:
        server = uvicorn_https("examples.starlette_app:app", {"JWT_REQUIRE_HTTPS": "1"})
        requests.get(server.url + "/health", verify=str(tls_files.ca))

The CA and the certificate are made with ``cryptography`` (EC P-256, valid for a day) into
a temporary folder, once per test session; no file of the repository holds a key. A
server is ready when it has answered one HTTPS request (any status) with that CA
verified, polled until then, never waited for with a fixed sleep. A test module gets the
fixtures with ``pytest_plugins = ["tests.tls"]`` (and imports this module's names under
``TYPE_CHECKING`` or inside tests, so that the plugin import comes first).
The bare apps here (:func:`hello_asgi`, :func:`hello_wsgi`) answer 200 with the scheme
the server saw, to prove the harness.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e.servers import Server, free_port, gunicorn_argv, run_server, uvicorn_argv

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

Kind = Literal["uvicorn", "gunicorn"]
HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TLSFiles:
    """PEM files: ``ca`` for clients (``verify=str(ca)``), ``cert`` and ``key`` for servers."""

    ca: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_tls(directory: Path, hosts: Iterable[str] = HOSTS) -> TLSFiles:
    """A new CA and a server certificate it signed for ``hosts`` (names and addresses)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("jwt_middleware test CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TLSFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(_pem(key))
    files.key.chmod(0o600)
    return files


# --- servers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HTTPSServer:
    """A running server: ``url`` is ``https://127.0.0.1:<port>`` (``http://`` without TLS)."""

    url: str
    port: int
    server: Server
    tls: TLSFiles | None

    @property
    def verify(self) -> str | bool:
        """What to pass as ``requests``' ``verify=``: the CA file."""
        return str(self.tls.ca) if self.tls is not None else True

    def log(self) -> str:
        return self.server.log.read_text()


def _argv(kind: Kind, app: str, tls: TLSFiles | None, workers: int) -> list[str]:
    if kind == "uvicorn":
        argv = uvicorn_argv(app)
        if tls is not None:
            argv += ["--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key)]
        return argv
    argv = gunicorn_argv(app, workers=workers)
    if tls is not None:
        argv += ["--certfile", str(tls.cert), "--keyfile", str(tls.key)]
    return argv


def _wait_answering(server: HTTPSServer, path: str, deadline: float) -> None:
    """Poll until one request over the server's scheme gets an answer (any status)."""
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.server.process.poll() is not None:
            raise RuntimeError(f"server exited:\n{server.log()}")
        try:
            requests.get(server.url + path, verify=server.verify, timeout=2)
            return
        except requests.exceptions.SSLError:
            raise
        except (requests.ConnectionError, requests.Timeout) as exc:  # not serving yet
            last = exc
            with contextlib.suppress(Exception):
                server.server.process.wait(timeout=0.05)
    raise RuntimeError(f"server did not answer {path}: {last}\n{server.log()}")


@contextlib.contextmanager
def serve(
    kind: Kind,
    app: str,
    tls: TLSFiles | None,
    env: Mapping[str, str] | None = None,
    *,
    ready_path: str = "/",
    workers: int = 1,
    timeout: float = 30.0,
) -> Iterator[HTTPSServer]:
    """Run ``app`` (``module:attribute``) under uvicorn or gunicorn on 127.0.0.1, over HTTPS
    with ``tls`` (plain HTTP with ``None``), until the block ends."""
    deadline = time.monotonic() + timeout
    argv = _argv(kind, app, tls, workers)
    with run_server(argv, dict(env or {}), port=free_port(), timeout=timeout) as server:
        scheme = "https" if tls is not None else "http"
        running = HTTPSServer(f"{scheme}://127.0.0.1:{server.port}", server.port, server, tls)
        _wait_answering(running, ready_path, deadline)
        yield running


class StartServer(Protocol):
    def __call__(
        self,
        app: str,
        env: Mapping[str, str] | None = None,
        *,
        tls: bool = True,
        ready_path: str = "/",
        workers: int = 1,
    ) -> HTTPSServer: ...


def _starter(kind: Kind, files: TLSFiles, stack: contextlib.ExitStack) -> StartServer:
    def start(
        app: str,
        env: Mapping[str, str] | None = None,
        *,
        tls: bool = True,
        ready_path: str = "/",
        workers: int = 1,
    ) -> HTTPSServer:
        chosen = files if tls else None
        return stack.enter_context(
            serve(kind, app, chosen, env, ready_path=ready_path, workers=workers)
        )

    return start


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """One throw-away CA and server certificate for the session."""
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def uvicorn_https(tls_files: TLSFiles) -> Iterator[StartServer]:
    """``start(app, env)``: uvicorn serving the ASGI ``app`` over HTTPS; stopped after the test."""
    with contextlib.ExitStack() as stack:
        yield _starter("uvicorn", tls_files, stack)


@pytest.fixture
def gunicorn_https(tls_files: TLSFiles) -> Iterator[StartServer]:
    """``start(app, env)``: gunicorn serving the WSGI ``app`` over HTTPS; stopped after the test."""
    with contextlib.ExitStack() as stack:
        yield _starter("gunicorn", tls_files, stack)


# --- bare apps ----------------------------------------------------------------------------


async def hello_asgi(scope: dict[str, Any], receive: Callable[..., Any], send: Any) -> None:
    """200 with the scheme and the client address the ASGI server reported."""
    if scope["type"] != "http":
        return
    client = scope.get("client")
    body = json.dumps({"scheme": scope["scheme"], "client": client[0] if client else None})
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def hello_wsgi(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    """200 with the scheme and the client address the WSGI server reported."""
    body = {"scheme": environ["wsgi.url_scheme"], "client": environ.get("REMOTE_ADDR")}
    start_response("200 OK", [("content-type", "application/json")])
    return [json.dumps(body).encode()]
