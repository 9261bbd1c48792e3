"""The TLS harness itself (tests/tls.py): uvicorn and gunicorn serve HTTPS with a
certificate the test made, verified against that CA and refused without it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from cryptography import x509

if TYPE_CHECKING:  # imported by pytest_plugins first, so that pytest can rewrite it
    from tests.tls import StartServer, TLSFiles

# The fixtures (tls_files, uvicorn_https, gunicorn_https); pytest refuses pytest_plugins
# in a non-root conftest, so each module that needs them names them.
pytest_plugins = ["tests.tls"]
pytestmark = pytest.mark.slow

TIMEOUT = 10
APPS = {"uvicorn": "tests.tls:hello_asgi", "gunicorn": "tests.tls:hello_wsgi"}


def test_the_certificate_is_for_loopback_and_signed_by_the_ca(tls_files: TLSFiles) -> None:
    ca = x509.load_pem_x509_certificate(tls_files.ca.read_bytes())
    cert = x509.load_pem_x509_certificate(tls_files.cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert {str(a) for a in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert tls_files.key.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("kind", ["uvicorn", "gunicorn"])
def test_https_verified_against_the_test_ca(
    kind: str,
    uvicorn_https: StartServer,
    gunicorn_https: StartServer,
    tls_files: TLSFiles,
    tmp_path: Path,
) -> None:
    start = uvicorn_https if kind == "uvicorn" else gunicorn_https
    server = start(APPS[kind])
    assert server.url.startswith("https://127.0.0.1:")
    answer = requests.get(server.url + "/", verify=str(tls_files.ca), timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.json() == {"scheme": "https", "client": "127.0.0.1"}
    by_name = f"https://localhost:{server.port}/"
    assert requests.get(by_name, verify=server.verify, timeout=TIMEOUT).status_code == 200
    # Not trusted by the default bundle, nor by another CA.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url + "/", timeout=TIMEOUT)
    from tests.tls import make_tls

    other = make_tls(tmp_path / "other")
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url + "/", verify=str(other.ca), timeout=TIMEOUT)
    # Plain HTTP to the TLS port gets no HTTP answer from the app.
    try:
        plain = requests.get(f"http://127.0.0.1:{server.port}/", timeout=TIMEOUT)
    except requests.ConnectionError:
        pass
    else:
        assert plain.status_code == 400


@pytest.mark.parametrize("kind", ["uvicorn", "gunicorn"])
def test_the_same_harness_serves_plain_http(
    kind: str, uvicorn_https: StartServer, gunicorn_https: StartServer
) -> None:
    start = uvicorn_https if kind == "uvicorn" else gunicorn_https
    server = start(APPS[kind], tls=False)
    assert server.url.startswith("http://")
    answer = requests.get(server.url + "/", timeout=TIMEOUT)
    assert answer.json()["scheme"] == "http"
