"""The demo behind ``make demo``: the whole token life, end to end, on real HTTP.

On the embedded default (a SQLite store, an ES256 key generated into a
temporary directory) it starts the Flask example on 127.0.0.1, then: logs
in; calls ``/me`` and ``/admin`` (as an admin and as a plain user); refreshes;
replays the retired refresh token (the whole family is revoked); logs out
(the access token is refused); then shows sessions and devices: alice logs in
on a "laptop" and a "phone", lists her sessions, revokes the phone from the
laptop, and the phone's access and refresh tokens are refused; last, the
verification counters of ``GET /metrics`` (Prometheus text, no token:
``EXAMPLE_METRICS=prometheus``). It prints every request and its status as a
readable transcript, stops the server and removes its files at the end. With
``JWT_AUDIT_URL`` set (``sqlite:///audit.db``), the server records the run's audit
trail there (``jwt-middleware audit --store sqlite:///audit.db`` lists it).
Only the standard library talks HTTP here.
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from examples._http import free_port, send, service
from jwt_middleware import generate_key

ISSUER = "https://auth.demo.local"
AUDIENCE = "demo-api"


class Client:
    """Sends requests and prints each one with its status, like a transcript."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.step = 0

    def call(
        self, label: str, method: str, path: str, *, token: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        self.step += 1
        status, payload, headers = send(self.base + path, method, token=token, body=body)
        print(f"\n{self.step:>2}. {label}")
        print(f"    {method} {path}" + ("  (Authorization: Bearer …)" if token else ""))
        print(f"    -> {status}  {_summary(payload)}")
        challenge = headers.get("WWW-Authenticate")
        if challenge and status >= 400:
            print(f"       WWW-Authenticate: {challenge}")
        return status, payload


def _summary(payload: Mapping[str, Any]) -> str:
    shown = {k: (f"{v[:12]}…" if k.endswith("_token") and isinstance(v, str) else v)
             for k, v in payload.items()}
    if isinstance(shown.get("sessions"), list):  # one line per session, below
        shown["sessions"] = f"{len(shown['sessions'])} session(s)"
    for key in ("session", "kept"):
        if isinstance(shown.get(key), str):
            shown[key] = f"{shown[key][:8]}…"
    return json.dumps(shown, ensure_ascii=False)


def _session_lines(payload: Mapping[str, Any]) -> None:
    for found in payload.get("sessions", []):
        mark = "  <- this one (current)" if found["current"] else ""
        print(f"       - {found['device'] or '?':<7} id {found['id'][:8]}…  "
              f"user agent {found['user_agent']!r}{mark}")


def _expect(status: int, wanted: int, what: str) -> None:
    if status != wanted:
        raise SystemExit(f"demo failed: {what} answered {status}, expected {wanted}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="jwt-middleware-demo-") as tmp:
        key = generate_key("ES256", kid="demo-2026-11")
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
            "EXAMPLE_METRICS": "prometheus",  # GET /metrics, below
        }
        print("jwt_middleware demo")
        print(f"  key:    ES256, generated into {key_file}")
        print(f"  store:  SQLite at {tmp}/tokens.db")
        port = free_port()
        argv = [sys.executable, "-m", "examples.flask_app", "--port", str(port)]
        with service("flask_app", argv, port, env, Path(tmp), health="/public") as server:
            print(f"  server: examples.flask_app on {server.url}")
            run(Client(server.url))
            metrics(server.url)
    print("\nserver stopped, temporary files removed.")


def run(client: Client) -> None:
    status, _ = client.call("a public page needs no token", "GET", "/public")
    _expect(status, 200, "/public")
    status, _ = client.call("/me without a token is refused", "GET", "/me")
    _expect(status, 401, "/me without a token")
    status, _ = client.call("a wrong password is refused", "POST", "/auth/login",
                            body={"username": "alice", "password": "guess"})
    _expect(status, 401, "login with a wrong password")
    status, pair = client.call("alice (admin) logs in", "POST", "/auth/login",
                               body={"username": "alice", "password": "wonderland-42"})
    _expect(status, 200, "login")
    status, _ = client.call("alice calls /me", "GET", "/me", token=pair["access_token"])
    _expect(status, 200, "/me")
    status, _ = client.call("alice calls /admin", "GET", "/admin", token=pair["access_token"])
    _expect(status, 200, "/admin as alice")
    status, bob = client.call("bob (user) logs in", "POST", "/auth/login",
                              body={"username": "bob", "password": "builder-2026"})
    _expect(status, 200, "login as bob")
    status, _ = client.call("bob calls /admin: no admin role", "GET", "/admin",
                            token=bob["access_token"])
    _expect(status, 403, "/admin as bob")
    status, renewed = client.call("alice refreshes", "POST", "/auth/refresh",
                                  body={"refresh_token": pair["refresh_token"]})
    _expect(status, 200, "refresh")
    status, _ = client.call("the new access token works", "GET", "/me",
                            token=renewed["access_token"])
    _expect(status, 200, "/me after refresh")
    status, _ = client.call("the OLD refresh token is replayed (theft?)", "POST", "/auth/refresh",
                            body={"refresh_token": pair["refresh_token"]})
    _expect(status, 401, "replayed refresh token")
    status, _ = client.call("so the whole family is revoked: the new refresh token is dead",
                            "POST", "/auth/refresh",
                            body={"refresh_token": renewed["refresh_token"]})
    _expect(status, 401, "refresh after reuse")
    status, _ = client.call("and so is the family's access token", "GET", "/me",
                            token=renewed["access_token"])
    _expect(status, 401, "access after reuse")
    status, _ = client.call("bob logs out", "POST", "/auth/logout", token=bob["access_token"],
                            body={"refresh_token": bob["refresh_token"]})
    _expect(status, 200, "logout")
    status, _ = client.call("bob's access token is refused after logout", "GET", "/me",
                            token=bob["access_token"])
    _expect(status, 401, "access after logout")
    status, _ = client.call("and his refresh token too", "POST", "/auth/refresh",
                            body={"refresh_token": bob["refresh_token"]})
    _expect(status, 401, "refresh after logout")
    sessions(client)


def sessions(client: Client) -> None:
    """Sessions and devices: the phone is revoked from the laptop."""
    print("\n--- sessions and devices ---")
    alice = {"username": "alice", "password": "wonderland-42"}
    status, laptop = client.call("alice logs in on her laptop", "POST", "/auth/login",
                                 body={**alice, "device": "laptop"})
    _expect(status, 200, "login on the laptop")
    status, phone = client.call("and on her phone", "POST", "/auth/login",
                                body={**alice, "device": "phone"})
    _expect(status, 200, "login on the phone")
    status, listed = client.call("the laptop lists alice's sessions", "GET", "/auth/sessions",
                                 token=laptop["access_token"])
    _expect(status, 200, "the session list")
    _session_lines(listed)
    (phone_id,) = [s["id"] for s in listed["sessions"] if s["device"] == "phone"]
    status, _ = client.call("the laptop revokes the phone", "DELETE",
                            f"/auth/sessions/{phone_id}", token=laptop["access_token"])
    _expect(status, 200, "revoking the phone")
    status, _ = client.call("the phone's access token is refused", "GET", "/me",
                            token=phone["access_token"])
    _expect(status, 401, "the phone's access token")
    status, _ = client.call("and so is its refresh token", "POST", "/auth/refresh",
                            body={"refresh_token": phone["refresh_token"]})
    _expect(status, 401, "the phone's refresh token")
    status, listed = client.call("the laptop still works: one session left", "GET",
                                 "/auth/sessions", token=laptop["access_token"])
    _expect(status, 200, "the session list after")
    _session_lines(listed)
    if [s["device"] for s in listed["sessions"]] != ["laptop"]:
        raise SystemExit("demo failed: the phone is still listed")



def metrics(base: str) -> None:
    """The verification counters a Prometheus scraper reads (labels: fixed sets only)."""
    print("\n--- GET /metrics (no token; an excerpt) ---")
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    lines = [line for line in text.splitlines()
             if line.startswith("jwt_middleware_verifications_total{")]
    if not lines:
        raise SystemExit("demo failed: /metrics has no verification counters")
    for line in lines:
        print(f"    {line}")


if __name__ == "__main__":
    main()
