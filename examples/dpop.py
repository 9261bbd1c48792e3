"""The DPoP walkthrough behind ``python -m examples.dpop``: sender-constrained tokens, live.

It generates an ES256 signing key into a temporary directory, starts an example app
(``--app starlette``, the default, under uvicorn; ``fastapi`` under uvicorn; ``flask``
under its own server) on a free 127.0.0.1 port with ``JWT_DPOP=allowed``, and then, as
a readable transcript:

1. a device logs in with a DPoP proof: the answer says ``token_type: DPoP`` and the
   access token carries ``cnf.jkt``, the thumbprint of the device's key;
2. a bound call: ``Authorization: DPoP <token>`` and a fresh proof: 200;
3. the same proof replayed: 401 ``invalid_dpop_proof`` (each proof is used once);
4. the access token stolen and sent as a bearer token: 401 ``invalid_token`` (a bound
   token is never taken as a bearer token);
5. the stolen token with the thief's own key and a proof by it: 401
   ``invalid_dpop_proof`` (the key is not the one the token is bound to);
6. the stolen refresh token, refreshed with the thief's key: 401 ``invalid_dpop_proof``,
   and nothing is written: it does not count as reuse;
7. the device's own refresh, with its key: a new pair, bound to the same key;
8. the new access token, with a proof: 200.

The settings the examples read for DPoP (documented in their docstrings and in
``docs/configuration.md``): ``JWT_DPOP`` (``off``, ``allowed``, ``required``),
``JWT_DPOP_ALGORITHMS``, ``JWT_DPOP_IAT_WINDOW``, ``JWT_DPOP_NONCE`` with
``JWT_DPOP_NONCE_SECRET``, and ``JWT_TRUSTED_PROXIES`` (whose forwarding headers give the
public URL a proof's ``htu`` is checked against). Proofs are signed with
``jwt_middleware.client.DPoPKey``; the standard library talks HTTP.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from examples._http import free_port, send, service, uvicorn
from jwt_middleware import generate_key
from jwt_middleware.client import DPoPAuth, DPoPKey

ISSUER = "https://auth.dpop-demo.local"
AUDIENCE = "dpop-demo-api"
ALICE = {"username": "alice", "password": "wonderland-42"}
APPS = {
    "starlette": "examples.starlette_app:app",
    "fastapi": "examples.fastapi_app:app",
    "flask": "examples.flask_app",
}


def claims_of(token: str) -> dict[str, Any]:
    """A token's claims, read without checking (to show ``cnf``; the server checks)."""
    payload = token.split(".")[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


class Walk:
    """Sends requests and prints each one with its status, like a transcript."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.step = 0

    def call(
        self, label: str, method: str, path: str, *, headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None, note: str = "",
    ) -> tuple[int, dict[str, Any], Any]:
        self.step += 1
        status, payload, answer = send(self.base + path, method, body=body,
                                       extra_headers=headers)
        print(f"\n{self.step:>2}. {label}")
        print(f"    {method} {path}" + (f"  ({note})" if note else ""))
        print(f"    -> {status}  {_summary(payload)}")
        challenge = answer.get("WWW-Authenticate")
        if challenge and status >= 400:
            print(f"       WWW-Authenticate: {challenge}")
        return status, payload, answer


def _summary(payload: Mapping[str, Any]) -> str:
    shown = {k: (f"{v[:12]}…" if k.endswith("_token") and isinstance(v, str) else v)
             for k, v in payload.items()}
    return json.dumps(shown, ensure_ascii=False)


def _expect(status: int, payload: Mapping[str, Any], wanted: int, what: str,
            error: str | None = None) -> None:
    if status != wanted or (error is not None and payload.get("error") != error):
        raise SystemExit(f"walkthrough failed: {what} answered {status} {payload}, "
                         f"expected {wanted} {error or ''}")


def _bound(pair: Mapping[str, Any], key: DPoPKey, what: str) -> None:
    jkt = claims_of(str(pair["access_token"])).get("cnf", {}).get("jkt")
    print(f"       token_type: {pair.get('token_type')}, cnf.jkt: {jkt}")
    if pair.get("token_type") != "DPoP" or jkt != key.thumbprint:
        raise SystemExit(f"walkthrough failed: {what} is not bound to the device's key")
    print("       (cnf.jkt is the RFC 7638 thumbprint of the device's public key)")


def run(walk: Walk) -> None:
    device, thief = DPoPKey.generate(), DPoPKey.generate()
    phone = DPoPAuth(device)
    print(f"  device key: ES256, thumbprint {device.thumbprint}")
    print(f"  thief key:  ES256, thumbprint {thief.thumbprint}")
    login = f"{walk.base}/auth/login"
    status, pair, _ = walk.call("the device logs in with a DPoP proof", "POST", "/auth/login",
                                headers=phone.proof_headers("POST", login), body=ALICE,
                                note="DPoP: a proof by the device key, no access token")
    _expect(status, pair, 200, "the DPoP login")
    _bound(pair, device, "the login's access token")
    access = str(pair["access_token"])

    me = f"{walk.base}/me"
    call = phone.proof_headers("GET", me, access_token=access)
    status, body, _ = walk.call("a bound call: the token and a fresh proof", "GET", "/me",
                                headers=call, note="Authorization: DPoP …, DPoP: proof")
    _expect(status, body, 200, "the bound call")
    status, body, _ = walk.call("the same proof replayed", "GET", "/me", headers=call,
                                note="the very same DPoP header again")
    _expect(status, body, 401, "the replayed proof", "invalid_dpop_proof")

    status, body, _ = walk.call("the access token stolen, sent as a bearer token", "GET", "/me",
                                headers={"Authorization": f"Bearer {access}"},
                                note="Authorization: Bearer …")
    _expect(status, body, 401, "the stolen token as Bearer", "invalid_token")
    stolen = DPoPAuth(thief).proof_headers("GET", me, access_token=access)
    status, body, _ = walk.call("the stolen token with the thief's own key", "GET", "/me",
                                headers=stolen, note="a valid proof, by the wrong key")
    _expect(status, body, 401, "the stolen token with another key", "invalid_dpop_proof")

    refresh = f"{walk.base}/auth/refresh"
    grant = {"refresh_token": pair["refresh_token"]}
    status, body, _ = walk.call("the stolen refresh token, refreshed with the thief's key",
                                "POST", "/auth/refresh", body=grant,
                                headers=DPoPAuth(thief).proof_headers("POST", refresh),
                                note="not counted as reuse: nothing is written")
    _expect(status, body, 401, "a refresh with another key", "invalid_dpop_proof")
    status, renewed, _ = walk.call("the device refreshes with its own key", "POST",
                                   "/auth/refresh", body=grant,
                                   headers=phone.proof_headers("POST", refresh),
                                   note="a proof by the device key")
    _expect(status, renewed, 200, "the bound refresh")
    _bound(renewed, device, "the refreshed access token")
    fresh = phone.proof_headers("GET", me, access_token=str(renewed["access_token"]))
    status, body, _ = walk.call("the new access token, with a fresh proof", "GET", "/me",
                                headers=fresh, note="Authorization: DPoP …, DPoP: proof")
    _expect(status, body, 200, "the new bound token")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=sorted(APPS), default="starlette")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jwt-middleware-dpop-") as tmp:
        key = generate_key("ES256", kid="dpop-demo-2026-12")
        key_file = Path(tmp, "signing-key.pem")
        key_file.write_bytes(key.private_pem())
        key_file.chmod(0o600)
        env = {
            "JWT_ALGORITHMS": "ES256",
            "JWT_PRIVATE_KEY_FILE": str(key_file),
            "JWT_KID": key.kid or "",
            "JWT_ISSUER": ISSUER,
            "JWT_AUDIENCE": AUDIENCE,
            "JWT_STORE_URL": f"sqlite:///{tmp}/tokens.db",
            "JWT_DPOP": "allowed",
        }
        print("jwt_middleware DPoP walkthrough")
        print(f"  store:  SQLite at {tmp}/tokens.db (refresh families and the proofs' replay "
              "cache)")
        port = free_port()
        if args.app == "flask":
            argv_ = [sys.executable, "-m", APPS["flask"], "--port", str(port)]
        else:
            argv_ = uvicorn(APPS[args.app], port)
        with service(args.app, argv_, port, env, Path(tmp), health="/public") as server:
            print(f"  server: {APPS[args.app]} on {server.url}, JWT_DPOP=allowed")
            run(Walk(server.url))
    print("\nserver stopped, temporary files removed.")


if __name__ == "__main__":
    main()
