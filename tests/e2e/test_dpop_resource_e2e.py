"""DPoP on the resource side over real sockets: the examples under uvicorn and gunicorn,
called with ``requests`` and the package's ``DPoPAuth`` helper.

* The nonce flow: with ``JWT_DPOP_NONCE`` on, a bound call without the server's nonce is
  answered 401 ``use_dpop_nonce`` with ``DPoP-Nonce``; the helper signs a new proof with
  it and retries once (Starlette and FastAPI under uvicorn, Flask under gunicorn with two
  workers that derive the same nonces from one secret).
* Replay across processes: two uvicorn processes sharing one SQLite file, then one Redis
  (a real redis-server on a free port); a proof accepted by one is refused by the other.
  Both are called with ``Host: api.test``, so the URL each sees (and a proof's ``htu``)
  is the same.
* The downgrade and the stolen token, end to end.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests

from jwt_middleware import generate_key
from jwt_middleware.client import DPoPAuth, DPoPKey
from tests.e2e.servers import Server, free_port, gunicorn_argv, run_server, uvicorn_argv
from tests.redis_server import RedisServer

pytestmark = pytest.mark.slow

ALICE = {"username": "alice", "password": "wonderland-42"}
TIMEOUT = 10
SERVERS = {
    "starlette-uvicorn": uvicorn_argv("examples.starlette_app:app"),
    "fastapi-uvicorn": uvicorn_argv("examples.fastapi_app:app"),
    "flask-gunicorn": gunicorn_argv("examples.flask_app:app", workers=2),
}


def environment(tmp_path: Path, store_url: str, **extra: str) -> dict[str, str]:
    key = generate_key("ES256", kid="e2e-dpop")
    pem = tmp_path / "signing.pem"
    pem.write_bytes(key.private_pem())
    return {
        "JWT_ALGORITHMS": "ES256",
        "JWT_PRIVATE_KEY_FILE": str(pem),
        "JWT_KID": "e2e-dpop",
        "JWT_ISSUER": "https://auth.e2e-dpop.local",
        "JWT_AUDIENCE": "e2e-dpop-api",
        "JWT_STORE_URL": store_url,
        "JWT_DPOP": "allowed",
        **extra,
    }


def login(base: str, device: DPoPAuth, host: str | None = None) -> dict[str, str]:
    headers = {"Host": host} if host else {}
    url = f"http://{host}/auth/login" if host else f"{base}/auth/login"
    if host:
        headers.update(device.proof_headers("POST", url))
        answer = requests.post(f"{base}/auth/login", json=ALICE, headers=headers, timeout=TIMEOUT)
    else:
        answer = requests.post(url, json=ALICE, auth=device.requests_auth(), timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    pair: dict[str, str] = answer.json()
    assert pair["token_type"] == "DPoP"
    return pair


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_the_nonce_flow_with_the_client_helper(server: str, tmp_path: Path) -> None:
    env = environment(tmp_path, f"sqlite:///{tmp_path}/tokens.db", JWT_DPOP_NONCE="on",
                      JWT_DPOP_NONCE_SECRET="e2e-resource-nonce-" + "s" * 32)
    with run_server(SERVERS[server], env, port=free_port()) as srv:
        key = DPoPKey.generate()
        pair = login(srv.url, DPoPAuth(key))
        # A client that has no nonce yet: 401 use_dpop_nonce, then one retry with it.
        device = DPoPAuth(key, pair["access_token"])
        with requests.Session() as session:
            session.auth = device.requests_auth()
            first = session.get(f"{srv.url}/me", timeout=TIMEOUT)
            assert first.status_code == 200, first.text
            assert [r.status_code for r in first.history] == [401]
            refused = first.history[0]
            assert refused.json()["error"] == "use_dpop_nonce"
            assert 'DPoP error="use_dpop_nonce"' in refused.headers["WWW-Authenticate"]
            assert refused.headers["DPoP-Nonce"]
            assert first.json()["subject"] == "alice"
            # The nonce is kept: the next calls need no retry, whichever worker answers.
            for _ in range(4):
                again = session.get(f"{srv.url}/me", timeout=TIMEOUT)
                assert again.status_code == 200, again.text
                assert again.history == []


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_a_stolen_bound_token_is_refused_end_to_end(server: str, tmp_path: Path) -> None:
    env = environment(tmp_path, f"sqlite:///{tmp_path}/tokens.db")
    with run_server(SERVERS[server], env, port=free_port()) as srv:
        key = DPoPKey.generate()
        pair = login(srv.url, DPoPAuth(key))
        me = f"{srv.url}/me"
        stolen = pair["access_token"]
        as_bearer = requests.get(me, headers={"Authorization": f"Bearer {stolen}"},
                                 timeout=TIMEOUT)
        assert as_bearer.status_code == 401
        assert as_bearer.json()["error"] == "invalid_token"
        challenge = as_bearer.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="api", error="invalid_token"')
        assert ', DPoP algs="ES256 EdDSA PS256 RS256"' in challenge
        thief = DPoPAuth(DPoPKey.generate(), stolen)
        with_other_key = requests.get(me, auth=thief.requests_auth(), timeout=TIMEOUT)
        assert with_other_key.status_code == 401
        assert with_other_key.json()["error"] == "invalid_dpop_proof"
        assert requests.get(me, auth=DPoPAuth(key, stolen).requests_auth(),
                            timeout=TIMEOUT).status_code == 200


@contextmanager
def two_servers(env: Mapping[str, str]) -> Iterator[tuple[Server, Server]]:
    argv = uvicorn_argv("examples.starlette_app:app")
    with ExitStack() as stack:
        first = stack.enter_context(run_server(argv, env, port=free_port()))
        second = stack.enter_context(run_server(argv, env, port=free_port()))
        yield first, second


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_a_proof_accepted_by_one_process_is_refused_by_the_other(
    store: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        if store == "redis":
            redis = RedisServer()
            stack.callback(redis.close)
            url = redis.url
        else:
            url = f"sqlite:///{tmp_path}/shared.db"
        first, second = stack.enter_context(two_servers(environment(tmp_path, url)))
        key = DPoPKey.generate()
        device = DPoPAuth(key)
        pair = login(first.url, device, host="api.test")
        public = "http://api.test/me"  # what both processes see with Host: api.test
        proof = {"Host": "api.test",
                 **device.proof_headers("GET", public, access_token=pair["access_token"])}
        accepted = requests.get(f"{first.url}/me", headers=proof, timeout=TIMEOUT)
        assert accepted.status_code == 200, accepted.text
        replayed = requests.get(f"{second.url}/me", headers=proof, timeout=TIMEOUT)
        assert replayed.status_code == 401, replayed.text
        assert replayed.json()["error"] == "invalid_dpop_proof"
        assert "already used" in replayed.json()["error_description"]
        assert requests.get(f"{first.url}/me", headers=proof, timeout=TIMEOUT).status_code == 401
        fresh = {"Host": "api.test",
                 **device.proof_headers("GET", public, access_token=pair["access_token"])}
        assert requests.get(f"{second.url}/me", headers=fresh, timeout=TIMEOUT).status_code == 200
