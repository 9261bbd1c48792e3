"""A private Redis Cluster and a private Sentinel setup for tests (127.0.0.1, temporary dirs).

* :class:`LocalCluster`: ``masters`` masters with ``replicas`` replicas each, every node a
  ``redis-server --cluster-enabled yes`` on a free port (its cluster bus on port + 10000),
  joined by ``redis-cli --cluster create``; ready once every node says
  ``cluster_state:ok``, knows every other node and every replica's link is up.
  ``cluster-node-timeout`` is low (1000 ms) so that a killed master fails over in a few
  seconds.
* :class:`LocalSentinel`: a master, one replica and one sentinel (``redis-server
  sentinel.conf --sentinel``: there is no ``redis-sentinel`` binary here) with a quorum of
  1 and a low ``down-after-milliseconds``, ready once the sentinel sees the replica.

Both persist nothing, as :class:`tests.redis_server.RedisServer` does, can stop a node
for a block (``with frozen(port):``, ``SIGSTOP``/``SIGCONT``; keep it under a second or
it fails over) and ``kill()`` one (``SIGKILL``); a killed node stays down for the rest of
the session (the cluster keeps three masters, the sentinel setup its promoted master,
which is all the contract suite needs). The same skip/fail rule applies: without
``redis-server`` (or ``redis-cli``) the tests skip, unless
``JWT_MIDDLEWARE_REQUIRE_REDIS=1``.

:func:`shared_cluster` and :func:`shared_sentinel` hand out one instance per test session
(the store contract suite and the failover tests share them); :func:`release` stops it
when its last user is done, and an ``atexit`` hook stops anything left.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.redis_server import RedisServer, free_port, redis_binary

SERVICE = "mymaster"
READY = 60.0  # generous bound on starting, failing over and rejoining


def redis_cli() -> str:
    redis_binary()  # the same skip/fail rule
    binary = shutil.which("redis-cli")
    if binary is None:
        if os.environ.get("JWT_MIDDLEWARE_REQUIRE_REDIS") == "1":
            pytest.fail("redis-cli is not installed but JWT_MIDDLEWARE_REQUIRE_REDIS=1")
        pytest.skip("redis-cli is not installed (set JWT_MIDDLEWARE_REQUIRE_REDIS=1 to fail)")
    return binary


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_port(taken: set[int]) -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        port = free_port()
        if port not in taken and port + 10000 <= 65535 and _bindable(port + 10000):
            return port


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_timeout=1.0, socket_connect_timeout=1.0,
                       decode_responses=True)


def _ask(port: int, *command: str) -> Any:
    client: Any = _client(port)
    try:
        return client.execute_command(*command)
    finally:
        client.close()


def _info(port: int, section: str) -> dict[str, Any]:
    client = _client(port)
    try:
        return dict(client.info(section))
    finally:
        client.close()


def replicated(masters: list[int]) -> bool:
    """Whether every replica of these masters has every write the master had (offsets)."""
    for port in masters:
        info = _info(port, "replication")
        offset = int(info["master_repl_offset"])
        for name, replica in info.items():
            if (name.startswith("slave") and isinstance(replica, dict)
                    and int(replica["offset"]) < offset):
                return False
    return True


class _Node:
    """One redis-server process of the cluster (restartable on the same port and files)."""

    def __init__(self, binary: str, port: int, folder: Path, node_timeout_ms: int) -> None:
        self.port = port
        self.folder = folder
        self.args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", str(folder),
                     "--logfile", str(folder / "redis.log"), "--protected-mode", "yes",
                     "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", str(node_timeout_ms),
                     "--repl-diskless-sync-delay", "0"]
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_until(lambda: _ask(self.port, "PING") is True, READY, f"node {self.port}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


class LocalCluster:
    """A Redis Cluster of ``masters`` masters with ``replicas`` replicas each."""

    def __init__(self, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 1000) -> None:
        binary = redis_binary()
        cli = redis_cli()
        self.replicas = replicas
        self._dir = tempfile.TemporaryDirectory(prefix="jwtmw-cluster-")
        self.nodes: dict[int, _Node] = {}
        try:
            for _ in range(masters * (1 + replicas)):
                port = _cluster_port(set(self.nodes))
                folder = Path(self._dir.name, str(port))
                folder.mkdir()
                self.nodes[port] = _Node(binary, port, folder, node_timeout_ms)
            subprocess.run(
                [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.nodes),
                 "--cluster-replicas", str(replicas), "--cluster-yes"],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=READY,
            )
            self.wait_healthy()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        """``redis+cluster://`` with every node as a startup node."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.nodes)

    def running(self) -> list[int]:
        return [p for p, node in self.nodes.items() if node.process is not None]

    def roles(self) -> dict[int, str]:
        """Each running node's own view of its role: ``master`` or ``slave``."""
        return {p: str(_info(p, "replication")["role"]) for p in self.running()}

    def master_of(self, key: str) -> int:
        """The port of the master that serves ``key``'s slot now."""
        for port in self.running():
            with contextlib.suppress(redis.RedisError):
                slot = int(_ask(port, "CLUSTER", "KEYSLOT", key))
                for start, end, master, *_ in _ask(port, "CLUSTER", "SLOTS"):
                    if start <= slot <= end:
                        return int(master[1])
        raise RuntimeError("no node answered CLUSTER SLOTS")

    def _healthy(self) -> bool:
        ports = self.running()
        for port in ports:
            info = _ask(port, "CLUSTER", "INFO")
            if "cluster_state:ok" not in info or "cluster_slots_ok:16384" not in info:
                return False
            if f"cluster_known_nodes:{len(self.nodes)}" not in info:
                return False
            for line in _ask(port, "CLUSTER", "NODES").splitlines():
                fields = line.split()
                if "fail" in fields[2] or "handshake" in fields[2]:
                    return False  # fail, fail? (pfail) or handshake, from some node's view
        roles = self.roles()
        for port, role in roles.items():
            if role == "slave" and _info(port, "replication").get("master_link_status") != "up":
                return False
        masters = [p for p, role in roles.items() if role == "master"]
        return all(int(_info(p, "replication")["connected_slaves"]) >= self.replicas
                   for p in masters if self._owns_slots(p))

    def _owns_slots(self, port: int) -> bool:
        return any(int(m[1]) == port for _s, _e, m, *_ in _ask(port, "CLUSTER", "SLOTS"))

    def wait_healthy(self, seconds: float = READY) -> None:
        wait_until(self._healthy, seconds, "a healthy cluster")

    def wait_replicated(self, seconds: float = READY) -> None:
        masters = [p for p, role in self.roles().items() if role == "master"]
        wait_until(lambda: replicated(masters), seconds, "the replicas to catch up")

    def kill(self, port: int) -> None:
        self.nodes[port].kill()

    @contextlib.contextmanager
    def frozen(self, port: int) -> Iterator[None]:
        """``SIGSTOP`` a node for the block (keep it short: a second fails it over)."""
        with _stopped(self.nodes[port].process):
            yield

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()
        self._dir.cleanup()


class LocalSentinel:
    """A master, a replica and one sentinel watching them as ``mymaster`` (quorum 1)."""

    def __init__(self, down_after_ms: int = 1000, failover_timeout_ms: int = 2000) -> None:
        binary = redis_binary()
        self._dir = tempfile.TemporaryDirectory(prefix="jwtmw-sentinel-")
        self.servers: dict[int, RedisServer] = {}
        self.sentinel: subprocess.Popen[bytes] | None = None
        try:
            master = RedisServer("--repl-diskless-sync-delay", "0")
            self.servers[master.port] = master
            replica = RedisServer("--repl-diskless-sync-delay", "0",
                                  "--replicaof", "127.0.0.1", str(master.port))
            self.servers[replica.port] = replica
            wait_until(lambda: self._link_up(replica.port), READY, "the replica's link")
            self.port = free_port()
            conf = Path(self._dir.name, "sentinel.conf")
            conf.write_text(
                f"port {self.port}\nbind 127.0.0.1\ndir {self._dir.name}\n"
                f"logfile {Path(self._dir.name, 'sentinel.log')}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {master.port} 1\n"
                f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}\n"
                f"sentinel failover-timeout {SERVICE} {failover_timeout_ms}\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self.sentinel = subprocess.Popen([binary, str(conf), "--sentinel"],
                                             stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
            self.wait_healthy()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.port}/{SERVICE}/0"

    @staticmethod
    def _link_up(port: int) -> bool:
        return _info(port, "replication").get("master_link_status") == "up"

    def master(self) -> int:
        """The port of the master, as the sentinel says."""
        _host, port = _ask(self.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return int(port)

    def _healthy(self) -> bool:
        master = _mapping(_ask(self.port, "SENTINEL", "MASTER", SERVICE))
        if master["flags"] != "master" or int(master["port"]) not in self.running():
            return False
        replicas = [_mapping(r) for r in _ask(self.port, "SENTINEL", "REPLICAS", SERVICE)]
        good = [r for r in replicas if r["flags"] == "slave"
                and r.get("master-link-status") == "ok" and int(r["port"]) in self.running()]
        return len(good) >= len(self.running()) - 1 >= 1 and all(
            self._link_up(p) for p in self.running() if p != int(master["port"]))

    def running(self) -> list[int]:
        return [p for p, server in self.servers.items() if server.process is not None]

    def wait_healthy(self, seconds: float = READY) -> None:
        wait_until(self._healthy, seconds, "a healthy sentinel setup")

    def wait_replicated(self, seconds: float = READY) -> None:
        wait_until(lambda: replicated([self.master()]), seconds, "the replica to catch up")

    def kill(self, port: int) -> None:
        self.servers[port].stop()

    @contextlib.contextmanager
    def frozen(self, port: int) -> Iterator[None]:
        """``SIGSTOP`` a server for the block (keep it short: a second fails it over)."""
        with _stopped(self.servers[port].process):
            yield

    def close(self) -> None:
        if self.sentinel is not None:
            self.sentinel.kill()
            self.sentinel.wait()
            self.sentinel = None
        for server in self.servers.values():
            server.close()
        self._dir.cleanup()


@contextlib.contextmanager
def _stopped(process: subprocess.Popen[bytes] | None) -> Iterator[None]:
    if process is None:
        raise RuntimeError("the process is not running")
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def _mapping(reply: Any) -> dict[str, Any]:
    """A sentinel reply as a dict (redis-py parses some, not others)."""
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2], strict=True))


# --- one instance per session, shared by the contract suite and the failover tests ------

_shared: dict[str, tuple[Any, int]] = {}


def _acquire(name: str, make: Callable[[], Any]) -> Any:
    if name in _shared:
        instance, users = _shared[name]
        _shared[name] = (instance, users + 1)
        return instance
    instance = make()
    _shared[name] = (instance, 1)
    return instance


def shared_cluster() -> LocalCluster:
    """The session's cluster (3 masters, 1 replica each); pair with ``release("cluster")``."""
    cluster: LocalCluster = _acquire("cluster", LocalCluster)
    return cluster


def shared_sentinel() -> LocalSentinel:
    """The session's sentinel setup; pair with ``release("sentinel")``."""
    sentinel: LocalSentinel = _acquire("sentinel", LocalSentinel)
    return sentinel


def release(name: str) -> None:
    instance, users = _shared[name]
    if users > 1:
        _shared[name] = (instance, users - 1)
        return
    del _shared[name]
    instance.close()


@atexit.register
def _close_everything() -> None:
    for instance, _users in list(_shared.values()):
        with contextlib.suppress(Exception):
            instance.close()
    _shared.clear()
