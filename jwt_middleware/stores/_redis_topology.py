"""Which Redis the store talks to, from its URL: one server, a cluster, or a sentinel's master.

* ``redis://``, ``rediss://``, ``unix://``: one server (``redis.Redis.from_url``).
* ``redis+cluster://[user:password@]host:port[,host:port...][/0][?options]`` and
  ``rediss+cluster://`` (TLS): a Redis Cluster; the hosts are startup nodes (one is
  enough, more survive one being down at start-up), the port defaults to 6379.
* ``redis+sentinel://[user:password@]host:port[,host:port...]/service_name[/db][?options]``
  and ``rediss+sentinel://`` (TLS to the sentinels and the master): the master that the
  sentinels call ``service_name``, followed across a failover; the port defaults to 26379.
  The user and password are the master's; ``sentinel_username`` and ``sentinel_password``
  (query options) are for sentinels that require their own.

Query options are redis-py's (``socket_timeout``, ``socket_connect_timeout``, ``ssl_*``...)
and win over the store's keywords; one redis-py does not know (or that a cluster cannot
take) is refused when the store is built. Nothing here connects: a cluster's slot map is
fetched on the first call, so a store can be built while Redis is still down.

On a cluster, every key of a store carries one hash tag (:func:`key_prefix`), so that a
check (one ``MGET``), a rotation script and a revocation each touch one slot; a call that
meets a dead node refreshes the slot map and tries once more (:data:`CLUSTER_RETRIES`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.commands.core import Script
from redis.connection import Connection, SSLConnection, parse_url
from redis.exceptions import RedisClusterException
from redis.retry import Retry

from ._base import StoreError

__all__ = ["ERRORS", "SCHEMES", "UNREACHABLE", "Topology", "connect", "key_prefix",
           "split_options"]

# redis-py leaves these untyped: called through typed names.
_parse_url: Callable[[str], dict[str, Any]] = parse_url
_ClusterNode: Callable[[str, int], Any] = redis.cluster.ClusterNode
_Sentinel: Callable[..., Any] = redis.sentinel.Sentinel
_AsyncSentinel: Callable[..., Any] = redis.asyncio.sentinel.Sentinel

#: Every URL scheme the Redis store takes.
SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel",
           "rediss+sentinel")

#: Failures to reach Redis (the breaker counts them); a cluster client that finds no
#: reachable node, or no node for a slot, raises a RedisClusterException.
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError, RedisClusterException)
#: Every failure of a call that becomes a StoreError (an answer, or no answer).
ERRORS = (redis.RedisError, RedisClusterException)

#: On a cluster, a call that meets a dead or moved node refreshes the slot map and is sent
#: once more: after a failover the first call already reaches the new master.
CLUSTER_RETRIES = 1

#: Query options that are ours on a sentinel URL (removed before redis-py sees the URL).
_SENTINEL_OPTIONS: dict[str, Callable[[str], object]] = {
    "sentinel_username": str, "sentinel_password": str,
}

_DEFAULT_PORT = {"cluster": 6379, "sentinel": 26379}


def split_options(
    url: str, known: Mapping[str, Callable[[str], Any]]
) -> tuple[str, dict[str, Any]]:
    """The URL without the query options named in ``known``, and their parsed values."""
    base, sep, query = url.partition("?")
    if not sep:
        return url, {}
    kept: list[str] = []
    ours: dict[str, Any] = {}
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        parse = known.get(unquote(name))
        if parse is None:
            kept.append(pair)
            continue
        try:
            ours[unquote(name)] = parse(unquote(value))
        except ValueError:
            raise StoreError(f"the Redis URL option {unquote(name)} is not a number") from None
    return (f"{base}?{'&'.join(kept)}" if kept else base), ours


def check_seconds(name: str, value: object) -> None:
    if not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise StoreError(f"the Redis store's {name} must be a positive number of seconds")


def key_prefix(prefix: str, cluster: bool) -> str:
    """What every key starts with: the prefix, made a hash tag on a cluster.

    A prefix that already holds a tag (``{app}:``) is kept as it is. On one server and
    behind sentinels keys are untagged, as they always were (an upgrade keeps its data).
    """
    if not cluster:
        return prefix
    opening = prefix.find("{")
    if opening >= 0 and prefix.find("}", opening + 1) > opening + 1:
        return prefix
    return "{" + (prefix or "jwtmw") + "}"


class _LazyCluster:
    """A sync ``RedisCluster`` made on first use (its constructor fetches the slot map).

    Attribute access builds it; ``register_script`` and ``get_encoder`` do not, so the
    store's scripts are registered without a connection. Callers that waited while
    another one tried and failed fail at once too (a frozen cluster costs one attempt's
    timeouts, not one per waiting thread). ``close()`` drops the client (the next call
    builds a fresh one).
    """

    def __init__(self, make: Callable[[], redis.cluster.RedisCluster], encoder: Any) -> None:
        self._make = make
        self._encoder = encoder
        self._client: redis.cluster.RedisCluster | None = None
        self._attempts = 0
        self._lock = threading.Lock()

    def _get(self) -> redis.cluster.RedisCluster:
        client = self._client
        if client is not None:
            return client
        attempts = self._attempts  # finished attempts
        with self._lock:
            if self._client is not None:
                return self._client
            if self._attempts != attempts:  # one failed while this caller waited
                raise RedisClusterException("the cluster could not be reached just now")
            try:
                self._client = client = self._make()
            finally:
                self._attempts += 1
        return client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def get_encoder(self) -> Any:
        return self._encoder

    def register_script(self, script: str) -> Any:
        return Script(self, script)  # type: ignore[arg-type]

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


@dataclass(eq=False)
class Topology:
    """The sync and asyncio clients of one topology, and the options in force."""

    #: ``"single"``, ``"cluster"`` or ``"sentinel"``.
    kind: str
    sync: Any
    aio: Any
    options: dict[str, Any]
    _sentinels: list[Any] = field(default_factory=list)
    _asentinels: list[Any] = field(default_factory=list)

    def ping(self, probe_key: str) -> None:
        """``PING``; on a cluster, a look-up of a key in the store's own slot."""
        if self.kind == "cluster":
            self.sync.exists(probe_key)
        else:
            self.sync.ping()

    async def aping(self, probe_key: str) -> None:
        if self.kind == "cluster":
            await self.aio.exists(probe_key)
        else:
            await self.aio.ping()

    def close(self) -> None:
        self.sync.close()
        for client in self._sentinels:
            client.close()

    async def aclose(self) -> None:
        await self.aio.aclose()
        for client in self._asentinels:
            await client.aclose()
        self.close()


def connect(url: str, options: dict[str, Any]) -> Topology:
    """The clients for ``url``; ``options`` are the store's defaults (the URL's win)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme.endswith("+cluster"):
        return _cluster(url, options)
    if scheme.endswith("+sentinel"):
        return _sentinel(url, options)
    return _single(url, options)


def _single(url: str, options: dict[str, Any]) -> Topology:
    try:
        sync = redis.Redis.from_url(url, **options)
        aio = redis.asyncio.Redis.from_url(url, **options)
        for pool in (sync.connection_pool, aio.connection_pool):
            pool.connection_class(**pool.connection_kwargs)  # unknown options: now, not later
    except ValueError:
        raise StoreError("the Redis URL is not valid") from None
    except TypeError:
        raise StoreError("the Redis URL has a query option redis-py does not know") from None
    return Topology("single", sync, aio, dict(sync.connection_pool.connection_kwargs))


def _parse(url: str, kind: str) -> tuple[bool, list[tuple[str, int]], list[str], dict[str, Any]]:
    """TLS or not, the hosts, the path's segments, and redis-py's options from the URL."""
    parts = urlsplit(url)
    tls = parts.scheme.lower().startswith("rediss")
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    hosts: list[tuple[str, int]] = []
    for item in hostlist.split(","):
        try:
            host = urlsplit("//" + item)
            port = host.port or _DEFAULT_PORT[kind]
        except ValueError:
            raise StoreError("the Redis URL is not valid") from None
        if not host.hostname:
            raise StoreError(f"the Redis {kind} URL names no host")
        hosts.append((unquote(host.hostname), port))
    segments = [unquote(s) for s in parts.path.split("/") if s]
    auth = f"{userinfo}@" if userinfo else ""
    try:
        parsed = _parse_url(f"redis://{auth}localhost/?{parts.query}")
    except ValueError:
        raise StoreError("the Redis URL is not valid") from None
    parsed.pop("host", None)
    if tls:
        parsed.setdefault("ssl", True)
    return tls, hosts, segments, parsed


def _merged(options: dict[str, Any], parsed: dict[str, Any], tls: bool) -> dict[str, Any]:
    merged = {**options, **parsed}
    probe = {k: v for k, v in merged.items() if k != "ssl"}
    try:
        (SSLConnection if tls else Connection)(**probe)
    except TypeError:
        raise StoreError("the Redis URL has a query option redis-py does not know") from None
    return merged


def _cluster(url: str, options: dict[str, Any]) -> Topology:
    tls, hosts, segments, parsed = _parse(url, "cluster")
    if segments not in ([], ["0"]) or parsed.pop("db", 0) != 0:
        raise StoreError("a Redis Cluster has one database: leave the URL's path empty or /0")
    merged = _merged(options, parsed, tls)
    unknown = sorted(set(merged) - set(redis.cluster.REDIS_ALLOWED_KEYS))
    if unknown:
        raise StoreError(f"a Redis Cluster URL cannot take the option {unknown[0]}")
    merged.pop("ssl", None)
    tls_options: dict[str, Any] = {"ssl": True} if tls else {}

    def make() -> redis.cluster.RedisCluster:
        return redis.cluster.RedisCluster(
            startup_nodes=[_ClusterNode(h, p) for h, p in hosts],
            retry=Retry(ExponentialWithJitterBackoff(cap=0.1, base=0.01), CLUSTER_RETRIES),
            **tls_options, **merged,
        )

    try:
        aio = redis.asyncio.RedisCluster(
            startup_nodes=[redis.asyncio.cluster.ClusterNode(h, p) for h, p in hosts],
            retry=redis.asyncio.retry.Retry(
                ExponentialWithJitterBackoff(cap=0.1, base=0.01), CLUSTER_RETRIES),
            **tls_options, **merged,
        )
    except TypeError:
        raise StoreError("a Redis Cluster URL has an option the cluster client refuses") from None
    return Topology("cluster", _LazyCluster(make, aio.get_encoder()), aio, merged)


def _sentinel(url: str, options: dict[str, Any]) -> Topology:
    url, ours = split_options(url, _SENTINEL_OPTIONS)
    tls, hosts, segments, parsed = _parse(url, "sentinel")
    if not 1 <= len(segments) <= 2:
        raise StoreError("a Redis Sentinel URL names its master: "
                         "redis+sentinel://host:26379/service_name[/db]")
    service = segments[0]
    if len(segments) == 2 and "db" not in parsed:
        try:
            parsed["db"] = int(segments[1])
        except ValueError:
            raise StoreError("the database of a Redis Sentinel URL is a number") from None
    merged = _merged(options, parsed, tls)
    to_sentinels: dict[str, Any] = {
        k: v for k, v in merged.items() if k.startswith(("socket_", "ssl"))
    }
    to_sentinels.update(
        {k.removeprefix("sentinel_"): v for k, v in ours.items()}, decode_responses=True
    )
    sentinel = _Sentinel(
        hosts, sentinel_kwargs={**to_sentinels, "retry": Retry(NoBackoff(), 0)}
    )
    asentinel = _AsyncSentinel(
        hosts, sentinel_kwargs={**to_sentinels,
                                "retry": redis.asyncio.retry.Retry(NoBackoff(), 0)}
    )
    sync = sentinel.master_for(service, redis_class=redis.Redis, **merged)
    aio = asentinel.master_for(service, redis_class=redis.asyncio.Redis, **merged)
    return Topology("sentinel", sync, aio, merged, list(sentinel.sentinels),
                    list(asentinel.sentinels))
