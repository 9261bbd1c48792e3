"""What sessions cost at login, at refresh and in a listing, per store.

Run: ``python -m benchmarks.bench_sessions`` (project root, in its venv; it starts its own
redis-server on a free 127.0.0.1 port).

For each store (memory, SQLite, Redis), two issuers on the same store: one whose store
keeps sessions (the package's own), one whose store is the same backend seen through a
wrapper that has only the abstract methods, so the issuer records no session (as with a
custom store written before sessions existed). Interleaved rounds, medians, paired ratios
with sessions against without:

* login: ``Issuer.issue`` (a new family, and its session in the same store call);
* refresh: ``Issuer.refresh`` (verify, rotate, sign; with sessions the rotation also keeps
  the subject's index alive: the same one call);
* listing: ``issuer.sessions.list`` of a subject with 1 and with 10 sessions, against one
  revocation look-up (``store.is_revoked``) on the same store.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks import _harness
from jwt_middleware import Config, Issuer, generate_key
from jwt_middleware.stores import Store
from jwt_middleware.stores.memory import MemoryStore
from jwt_middleware.stores.redis import RedisStore
from jwt_middleware.stores.sqlite import SQLiteStore
from tests.redis_server import RedisServer
from tests.stores.without_sessions import WithoutSessions

ISS = "https://auth.bench"


def _issuer(store: Store, pem: bytes) -> Issuer:
    config = Config.from_env(environ={"JWT_ALGORITHMS": "ES256", "JWT_PRIVATE_KEY": pem.decode(),
                                      "JWT_ISSUER": ISS, "JWT_AUDIENCE": "bench"})
    return Issuer(dataclasses.replace(config, store=store))


def _refresher(issuer: Issuer, subject: str) -> Callable[[], object]:
    state = {"token": issuer.issue(subject).refresh_token}

    def refresh() -> object:
        state["token"] = issuer.refresh(state["token"]).refresh_token
        return None

    return refresh


def measure(name: str, store: Store, pem: bytes, rounds: int, batch: int) -> list[str]:
    on, off = _issuer(store, pem), _issuer(WithoutSessions(store), pem)
    assert on.sessions.enabled
    assert not off.sessions.enabled
    rows = []
    login = _harness.run({"with sessions": lambda: on.issue("alice"),
                          "without": lambda: off.issue("bob")}, rounds=rounds, batch=batch)
    rows.append(("login (issue)", login))
    refresh = _harness.run({"with sessions": _refresher(on, "carol"),
                            "without": _refresher(off, "dave")}, rounds=rounds, batch=batch)
    rows.append(("refresh", refresh))
    on.issue("frank")
    for _ in range(10):
        on.issue("erin")
    one = _harness.run({
        "list, 1 session": lambda: on.sessions.list("frank"),
        "list, 10 sessions": lambda: on.sessions.list("erin"),
        "one is_revoked": lambda: store.is_revoked("j", "s", 0.0, "f", 0.0),
    }, rounds=rounds, batch=batch)
    lines = [f"| {name} | {label} | {_harness.paired_ratio(s, 'with sessions', 'without'):.2f}× |"
             for label, s in rows]
    listing = [
        f"| {name} | {label} | {_harness.paired_ratio(one, label, 'one is_revoked'):.2f}× |"
        for label in ("list, 1 session", "list, 10 sessions")
    ]
    return lines + listing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    pem = generate_key("ES256").private_pem()
    server = RedisServer()
    with tempfile.TemporaryDirectory() as tmp:
        stores: dict[str, Store] = {
            "memory": MemoryStore(),
            "SQLite": SQLiteStore(Path(tmp) / "bench.db"),
            "Redis": RedisStore(server.url, prefix="bench-sessions:", near_cache=False),
        }
        print("| store | operation | with sessions × without (paired) / listing × one "
              "is_revoked |")
        print("|---|---|---:|")
        for name, store in stores.items():
            for line in measure(name, store, pem, args.rounds, args.batch):
                print(line)
            store.close()
    server.close()


if __name__ == "__main__":
    main()
