"""The SQLite store under a thread-per-request server: no descriptor per dead thread.

Werkzeug with ``threaded=True`` (the Flask quickstart, ``make demo``) starts one
thread per request. A store that kept one connection per thread that ever used
it leaked two descriptors per request until the process hit its limit and every
request got 503. These tests churn real, short-lived threads (and event loops,
whose worker threads die with them) and count the process's open descriptors.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from jwt_middleware.stores.sqlite import SQLiteStore

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc/self/fd (Linux)"
)

THREADS = 2_000
AT_ONCE = 20  # threads alive together: a burst of concurrent requests
SLACK = 4  # descriptors the interpreter itself may open or close meanwhile


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _idle_bound(store: SQLiteStore) -> int:
    """What the store may hold open: its whole pool, two descriptors each."""
    return 2 * store.pool_size + SLACK


def test_pool_size_is_small() -> None:
    assert 1 <= SQLiteStore.DEFAULT_POOL_SIZE <= 8


def test_two_thousand_short_lived_threads_leave_the_fd_count_where_it_was(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "tokens.db")
    store.revoke_token("revoked-jti", time.time() + 3600)
    assert store.is_revoked("revoked-jti", None, None, None, time.time()) is True
    before = open_fds()
    answers: list[bool] = []
    failures: list[BaseException] = []
    peak = [0]  # descriptors seen by a thread right after its check, mid-burst
    lock = threading.Lock()

    def request(barrier: threading.Barrier) -> None:
        try:
            barrier.wait(timeout=30)
            revoked = store.is_revoked("revoked-jti", "alice", time.time(), None, time.time())
        except BaseException as exc:  # reported below, never swallowed
            with lock:
                failures.append(exc)
            return
        with lock:  # one listdir at a time: each holds a descriptor on /proc/self/fd
            answers.append(revoked)
            peak[0] = max(peak[0], open_fds())

    for _ in range(THREADS // AT_ONCE):
        barrier = threading.Barrier(AT_ONCE)
        burst = [threading.Thread(target=request, args=(barrier,)) for _ in range(AT_ONCE)]
        for thread in burst:
            thread.start()
        for thread in burst:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a check hung"
    grown = open_fds() - before
    assert not failures, failures[:3]
    assert len(answers) == THREADS
    assert all(answers), "every check saw the revocation"
    assert grown <= _idle_bound(store), f"{grown} descriptors more after {THREADS} threads"
    assert peak[0] - before <= _idle_bound(store), "the pool bounds connections during a burst"
    store.close()


def test_dead_event_loops_leave_no_connection_behind(tmp_path: Path) -> None:
    """``asyncio.run`` per call: each loop's worker thread ends with the loop."""
    store = SQLiteStore(tmp_path / "tokens.db")
    store.revoke_family("fam", time.time() + 3600)
    before = open_fds()
    for _ in range(200):
        revoked = asyncio.run(store.ais_revoked(None, None, None, "fam", time.time()))
        assert revoked is True
    grown = open_fds() - before
    assert grown <= _idle_bound(store), f"{grown} descriptors more after 200 event loops"
    asyncio.run(store.aclose())


def test_close_gives_every_descriptor_back(tmp_path: Path) -> None:
    before = open_fds()
    store = SQLiteStore(tmp_path / "tokens.db")
    barrier = threading.Barrier(AT_ONCE)

    def request() -> None:
        barrier.wait(timeout=30)
        store.revoke_token(f"jti-{threading.get_ident()}", time.time() + 60)

    burst = [threading.Thread(target=request) for _ in range(AT_ONCE)]
    for thread in burst:
        thread.start()
    for thread in burst:
        thread.join(timeout=60)
    assert open_fds() > before, "the pool keeps idle connections open"
    store.close()
    assert open_fds() - before <= SLACK
    # A closed store opens a fresh connection when used again (as before).
    assert store.is_revoked("nothing", None, None, None, time.time()) is False
    store.close()
