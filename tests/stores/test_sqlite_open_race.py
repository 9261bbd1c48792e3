"""Several processes opening one new SQLite file at the same moment all get a store.

Switching a new file to WAL takes a lock that SQLite does not wait for (no busy handler
there): before the retry in ``_sqlite_pool._wal``, about one round in ten of three
processes starting together failed with "database is locked" (the race of workers of
one server starting on a fresh database, and of the two-process replay-cache tests).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Forked from a child interpreter that has no threads (never from pytest's process).
_RACE = textwrap.dedent("""
    import multiprocessing, os, sys, tempfile, time
    from jwt_middleware.stores.sqlite import SQLiteStore

    def opener(path, barrier, results):
        barrier.wait()
        try:
            store = SQLiteStore(path)
            results.put(store.claim_once("dpop:k:j", time.time() + 60))
            store.close()
        except Exception as error:
            results.put(type(error).__name__)

    context = multiprocessing.get_context("fork")
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for n in range(int(sys.argv[1])):
            path = os.path.join(folder, f"{n}.db")
            barrier, results = context.Barrier(3), context.Queue()
            openers = [context.Process(target=opener, args=(path, barrier, results))
                       for _ in range(3)]
            for opener_ in openers:
                opener_.start()
            outcomes = [results.get(timeout=60) for _ in openers]
            for opener_ in openers:
                opener_.join()
            failed += sorted(outcomes, key=str) != [False, False, True]
    print(failed)
""")


def test_processes_opening_a_new_file_together_all_succeed_and_one_claims() -> None:
    done = subprocess.run([sys.executable, "-c", _RACE, "40"], capture_output=True,
                          cwd=ROOT, timeout=300, check=True)
    assert done.stdout.strip() == b"0", done.stderr.decode()[-2000:]
