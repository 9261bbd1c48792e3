"""The Redis audit log: one stream, appended with ``XADD ... MAXLEN ~ max_entries``.

The stream is ``<prefix>audit`` (``jwtmw:audit``); on a Redis Cluster the prefix is one
hash tag (``{jwtmw}audit``), as for the store's keys, so the log is one key on one slot.
Every URL the Redis store takes works here (one server, ``redis+cluster://``,
``redis+sentinel://``), with the same timeouts (``timeout``, 2 s, or the URL's options).

``MAXLEN ~`` bounds the stream (100,000 entries by default): Redis trims whole nodes
from the old end, so the stream holds at least ``max_entries`` and a little more. That
is the retention: copy the stream out (``XRANGE``) before it is trimmed if the records
must be kept longer. Entries are never changed.

A query reads the stream newest first (``XREVRANGE``, 500 entries a call) and filters
here: by subject and kind, and by the record's own time; it stops once entries are
older than ``since`` by more than five minutes (stream ids carry the server's clock, a
record the issuing host's), or when ``limit`` records matched.

The Redis client is imported when a log is built, not when this module is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._audit_base import FIELDS, AuditLog, AuditRecord, check_query, matches
from ._base import StoreError

__all__ = ["RedisAuditLog"]

#: Entries read per ``XREVRANGE``.
_BATCH = 500
#: How far the server's clock (stream ids) may be from the record's before a query stops.
_SLACK_MS = 300_000


def _parsed(fields: Mapping[str, str]) -> AuditRecord:
    record: AuditRecord = {name: fields.get(name) for name in FIELDS}
    try:
        record["time"] = float(fields.get("time", "nan"))
        count = fields.get("count")
        record["count"] = None if count is None else int(count)
    except ValueError:
        record["time"] = None  # not one of ours: matches no query
    return record


class RedisAuditLog(AuditLog):
    """Audit records in a Redis stream (see the module docstring)."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "jwtmw:",
        max_entries: int = 100_000,
        timeout: float = 2.0,
    ) -> None:
        from ._redis_topology import check_seconds, connect, key_prefix

        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise StoreError("the Redis audit log's max_entries must be a positive whole number")
        check_seconds("timeout", timeout)
        options = {
            "socket_timeout": timeout, "socket_connect_timeout": timeout,
            "decode_responses": True,
        }
        self._topology = connect(url, options)
        self._client = self._topology.sync
        self.max_entries = max_entries
        #: The stream's key.
        self.key = key_prefix(prefix, cluster=self._topology.kind == "cluster") + "audit"

    def __repr__(self) -> str:
        return f"RedisAuditLog(key={self.key!r})"

    def _call(self, work: Any) -> Any:
        from ._redis_topology import ERRORS

        try:
            return work()
        except ERRORS as exc:
            raise StoreError(f"the Redis audit log failed: {type(exc).__name__}") from None

    def append(self, records: Sequence[Mapping[str, Any]]) -> None:
        if not records:
            return
        entries = [
            {name: repr(v) if isinstance(v, float) else str(v)
             for name in FIELDS if (v := record.get(name)) is not None}
            for record in records
        ]

        def work() -> None:
            pipe = self._client.pipeline(transaction=False)
            for fields in entries:
                pipe.xadd(self.key, fields, maxlen=self.max_entries, approximate=True)
            pipe.execute()

        self._call(work)

    def query(
        self,
        *,
        subject: str | None = None,
        kind: Iterable[str] | str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[AuditRecord]:
        kinds = check_query(limit, kind)
        floor = None if since is None else since * 1000 - _SLACK_MS
        found: list[AuditRecord] = []
        upper = "+"
        while len(found) < limit:
            batch = self._call(
                lambda upper=upper: self._client.xrevrange(self.key, upper, "-", count=_BATCH)
            )
            for _id, fields in batch:
                record = _parsed(fields)
                if matches(record, subject, kinds, since, until):
                    found.append(record)
                    if len(found) == limit:
                        break
            if len(batch) < _BATCH or len(found) == limit:
                break
            last = batch[-1][0]
            if floor is not None and int(last.split("-")[0]) < floor:
                break
            upper = "(" + last
        found.reverse()
        return found

    def close(self) -> None:
        self._topology.close()
