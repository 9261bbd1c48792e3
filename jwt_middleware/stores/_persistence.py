"""Whether the Redis server keeps revocations across a restart (asked once per store).

A Redis that persists nothing (``appendonly no`` and no ``save`` points) forgets
every logout and every refresh family when it restarts: a revoked token is
accepted again. On the store's first answer this asks ``CONFIG GET appendonly``
and ``CONFIG GET save`` (one round trip) and logs one warning, on the Redis
store's logger (``jwt_middleware.stores.redis``), if the server keeps nothing.
Managed services often refuse ``CONFIG`` (renamed or forbidden by ACL): then
nothing is logged. A check that could not reach the server is asked again on
the next call; concurrent first calls ask once.

On a Redis Cluster the store's keys live in one slot (one hash tag), so the
nodes that matter are the ones serving that slot: its master is asked (as one
server would be) and so are its replicas, any of which a failover may promote;
a replica that cannot be reached or refuses is left out. Other shards hold
none of the store's keys and are not asked. Behind sentinels, the master is
asked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from redis.exceptions import RedisClusterException

__all__ = ["PersistenceCheck"]

logger = logging.getLogger("jwt_middleware.stores.redis")

WARNING = (
    "the Redis server persists nothing (appendonly no, no save points): a restart forgets "
    "every logout and refresh family; run it with appendonly yes"
)
CLUSTER_WARNING = (
    "a node of the Redis Cluster shard that holds the store's keys persists nothing "
    "(appendonly no, no save points): a restart forgets every logout and refresh family; "
    "run every node with appendonly yes"
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

    __slots__ = ("_lock", "_running", "_shard_key", "pending")

    def __init__(self, shard_key: str | None = None) -> None:
        #: True until the server has answered the check (or refused CONFIG).
        self.pending = True
        #: On a cluster, a key of the store's slot: the nodes serving it are asked.
        self._shard_key = shard_key
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
            logger.warning(WARNING if self._shard_key is None else CLUSTER_WARNING)

    def _release(self) -> None:
        with self._lock:
            self._running = False

    def run(self, client: Any) -> None:
        """The check, with the sync client; redis errors other than a refusal propagate."""
        if not self._claim():
            return
        try:
            if self._shard_key is not None:
                answers = _shard(client.nodes_manager.slots_cache[client.keyslot(self._shard_key)],
                                 lambda node, name: client.config_get(name, target_nodes=node))
            else:
                pipe = client.pipeline(transaction=False)
                pipe.config_get("appendonly")
                pipe.config_get("save")
                answers = pipe.execute()
        except redis.ResponseError:  # CONFIG refused: managed Redis, renamed, ACL
            self._finish(None)
            return
        except BaseException:
            self._release()
            raise
        self._finish(answers)

    async def arun(self, client: Any) -> None:
        """The same with the asyncio client (the lock is never held across the await)."""
        if not self._claim():
            return
        try:
            if self._shard_key is not None:
                await client.initialize()
                nodes = client.nodes_manager.slots_cache[client.keyslot(self._shard_key)]
                answers = await _ashard(
                    nodes, lambda node, name: client.config_get(name, target_nodes=node))
            else:
                pipe = client.pipeline(transaction=False)
                pipe.config_get("appendonly")
                pipe.config_get("save")
                answers = await pipe.execute()
        except redis.ResponseError:
            self._finish(None)
            return
        except BaseException:
            self._release()
            raise
        self._finish(answers)


def _worst(per_node: list[list[Any]]) -> list[Any] | None:
    """The answers of a node that persists nothing, else any node's; ``None`` if none."""
    for answers in per_node:
        if persists_nothing(answers):
            return answers
    return per_node[0] if per_node else None


def _shard(nodes: list[Any], ask: Callable[[Any, str], Any]) -> list[Any] | None:
    """Ask the slot's master (errors propagate) and its replicas (errors leave one out)."""
    per_node = [[ask(nodes[0], "appendonly"), ask(nodes[0], "save")]]
    for node in nodes[1:]:
        try:
            per_node.append([ask(node, "appendonly"), ask(node, "save")])
        except (redis.RedisError, RedisClusterException):
            continue
    return _worst(per_node)


async def _ashard(
    nodes: list[Any], ask: Callable[[Any, str], Awaitable[Any]]
) -> list[Any] | None:
    per_node = [[await ask(nodes[0], "appendonly"), await ask(nodes[0], "save")]]
    for node in nodes[1:]:
        try:
            per_node.append([await ask(node, "appendonly"), await ask(node, "save")])
        except (redis.RedisError, RedisClusterException):
            continue
    return _worst(per_node)
