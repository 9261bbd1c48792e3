"""Whether the Redis server keeps revocations across a restart (asked once per store).

A Redis that persists nothing (``appendonly no`` and no ``save`` points) forgets
every logout and every refresh family when it restarts: a revoked token is
accepted again. On the store's first answer this asks ``CONFIG GET appendonly``
and ``CONFIG GET save`` (one round trip) and logs one warning, on the Redis
store's logger (``jwt_middleware.stores.redis``), if the server keeps nothing.
Managed services often refuse ``CONFIG`` (renamed or forbidden by ACL): then
nothing is logged. A check that could not reach the server is asked again on
the next call; concurrent first calls ask once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
import redis.asyncio

__all__ = ["PersistenceCheck"]

logger = logging.getLogger("jwt_middleware.stores.redis")

WARNING = (
    "the Redis server persists nothing (appendonly no, no save points): a restart forgets "
    "every logout and refresh family; run it with appendonly yes"
)


def persists_nothing(answers: list[Any]) -> bool:
    """From the replies to ``CONFIG GET appendonly`` and ``CONFIG GET save``."""
    appendonly, save = answers
    return (
        str(appendonly.get("appendonly", "")).lower() == "no"
        and not str(save.get("save", "")).strip()
    )


class PersistenceCheck:
    """Run once (``pending`` is the only thing a call reads); warn if nothing persists."""

    __slots__ = ("_lock", "_running", "pending")

    def __init__(self) -> None:
        #: True until the server has answered the check (or refused CONFIG).
        self.pending = True
        self._running = False
        self._lock = threading.Lock()

    def _claim(self) -> bool:
        with self._lock:
            if not self.pending or self._running:
                return False
            self._running = True
            return True

    def _finish(self, answers: list[Any] | None) -> None:
        with self._lock:
            self._running = False
            self.pending = False
        if answers is not None and persists_nothing(answers):
            logger.warning(WARNING)

    def _release(self) -> None:
        with self._lock:
            self._running = False

    def run(self, client: redis.Redis) -> None:
        """The check, with the sync client; redis errors other than a refusal propagate."""
        if not self._claim():
            return
        pipe = client.pipeline(transaction=False)
        pipe.config_get("appendonly")
        pipe.config_get("save")
        try:
            answers = pipe.execute()
        except redis.ResponseError:  # CONFIG refused: managed Redis, renamed, ACL
            self._finish(None)
            return
        except BaseException:
            self._release()
            raise
        self._finish(answers)

    async def arun(self, client: redis.asyncio.Redis) -> None:
        """The same with the asyncio client (the lock is never held across the await)."""
        if not self._claim():
            return
        pipe = client.pipeline(transaction=False)
        pipe.config_get("appendonly")
        pipe.config_get("save")
        try:
            answers = await pipe.execute()
        except redis.ResponseError:
            self._finish(None)
            return
        except BaseException:
            self._release()
            raise
        self._finish(answers)
