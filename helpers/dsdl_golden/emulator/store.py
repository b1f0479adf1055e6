"""In-memory stores: events received over HEC, indexer acknowledgements and the request log."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

__all__ = ["AckTracker", "EventStore", "RequestLog"]

Record = dict[str, Any]


class EventStore:
    """Accepted HEC events in arrival order, overall and per index (one lock per request)."""

    def __init__(self) -> None:
        self._all: list[Record] = []
        self._by_index: dict[str, list[Record]] = {}
        self._lock = threading.Lock()

    def extend(self, records: list[Record]) -> None:
        """Store ``records`` (each has an ``index`` key)."""
        with self._lock:
            self._all.extend(records)
            by_index = self._by_index
            for record in records:
                index = record["index"]
                bucket = by_index.get(index)
                if bucket is None:
                    bucket = by_index[index] = []
                bucket.append(record)

    def records(self, index: str | None = None) -> list[Record]:
        """The stored records of ``index`` (every index when ``None``); the records are shared."""
        with self._lock:
            return list(self._all if index is None else self._by_index.get(index, ()))

    def indexes(self) -> list[str]:
        """The indexes holding records."""
        with self._lock:
            return list(self._by_index)

    def count(self) -> int:
        """How many records are stored."""
        with self._lock:
            return len(self._all)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._all.clear()
            self._by_index.clear()


class AckTracker:
    """Indexer acknowledgement: ack IDs per (token, channel), from 0, released after a delay."""

    def __init__(self) -> None:
        self._next: dict[tuple[str, str], int] = {}
        self._pending: dict[tuple[str, str], dict[int, float]] = {}
        self._lock = threading.Lock()

    def issue(self, token: str, channel: str, delay_s: float) -> int:
        """A new ack ID, acknowledged ``delay_s`` seconds from now (``inf``: never)."""
        key = (token, channel)
        with self._lock:
            ack_id = self._next.get(key, 0)
            self._next[key] = ack_id + 1
            self._pending.setdefault(key, {})[ack_id] = time.monotonic() + delay_s
            return ack_id

    def query(self, token: str, channel: str, ack_ids: Iterable[int]) -> dict[str, bool]:
        """Status of each ID; an acknowledged ID answers ``true`` once and is then forgotten."""
        now = time.monotonic()
        answer: dict[str, bool] = {}
        with self._lock:
            pending = self._pending.get((token, channel), {})
            for ack_id in ack_ids:
                ready_at = pending.get(ack_id)
                answer[str(ack_id)] = ready_at is not None and ready_at <= now
                if answer[str(ack_id)]:
                    del pending[ack_id]
        return answer

    def clear(self) -> None:
        """Forget every channel and ID."""
        with self._lock:
            self._next.clear()
            self._pending.clear()


class RequestLog:
    """The most recent requests (bounded), each a JSON-ready dict with an increasing ``id``."""

    def __init__(self, size: int = 10_000) -> None:
        self._entries: deque[Record] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def next_id(self) -> int:
        """A fresh request ID."""
        return next(self._ids)

    def append(self, entry: Record) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)

    def entries(self, listener: str | None = None) -> list[Record]:
        """The logged requests, oldest first, optionally of one listener."""
        with self._lock:
            return [entry for entry in self._entries if listener in (None, entry["listener"])]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
