"""The token policy's costs: the session check at refresh, and a rotation check.

Run: ``python -m benchmarks.bench_policy`` (from the project root, in its venv).

* **refresh**: ``Issuer.refresh`` on the memory store (HS256), without a policy and with
  ``TokenPolicy(session_max_age=..., session_idle_timeout=...)``: what the absolute and
  idle checks add to a rotation (each call rotates the latest refresh token of its own
  session, so every call is a real rotation);
* **rotation check** on a ring of two ES256 keys in a temporary directory:
  ``ring.rotation_due()`` (in memory) against ``ring.rotate_if_due()`` when not due (the
  ring's ``flock``, a re-read of the directory, the same answer): what one scheduler or
  cron check costs.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable

from benchmarks import _harness
from jwt_middleware import Config, Issuer, Key, KeyRing, TokenPolicy

DAY = 86400
POLICY = TokenPolicy(session_max_age=30 * DAY, session_idle_timeout=7 * DAY)


def _refresher(policy: TokenPolicy | None) -> Callable[[], object]:
    config = Config(keys=Key.from_secret("s" * 48, "HS256"), issuer="https://issuer.test",
                    audience="api", store="memory://", cache_size=0)  # fmt: skip
    issuer = Issuer(config, policy=policy)
    latest = [issuer.issue("alice").refresh_token]

    def refresh() -> object:
        latest[0] = issuer.refresh(latest[0]).refresh_token
        return latest[0]

    return refresh


def refresh_variants() -> dict[str, Callable[[], object]]:
    return {"no policy": _refresher(None), "session limits": _refresher(POLICY)}


def check_variants(directory: str) -> dict[str, Callable[[], object]]:
    ring = KeyRing.load(directory)
    ring.rotate()
    ring.rotate(activate_after=0)
    return {
        "rotation_due": lambda: ring.rotation_due(period=90 * DAY),
        "rotate_if_due (not due)": lambda: ring.rotate_if_due(period=90 * DAY),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    args = parser.parse_args()
    samples = _harness.run(refresh_variants(), rounds=args.rounds, batch=100)
    print(_harness.table("Refresh (memory store)", samples, "no policy",
                         ["no policy", "session limits"]))  # fmt: skip
    print()
    with tempfile.TemporaryDirectory() as directory:
        samples = _harness.run(check_variants(directory), rounds=args.rounds, batch=100)
    print(_harness.table("Rotation check (two-key ring)", samples, "rotation_due",
                         ["rotation_due", "rotate_if_due (not due)"]))  # fmt: skip


if __name__ == "__main__":
    main()
