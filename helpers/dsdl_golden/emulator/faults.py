"""Injected faults: canned errors, delays, dropped connections and "drop after N events"."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["Fault", "FaultSet"]


@dataclass(slots=True)
class Fault:
    """A fault for requests matching ``listener``/``path``/``method`` (``None`` matches anything).

    ``times`` is how many requests it hits (``None``: until cleared). ``delay_ms`` waits before
    answering; ``status`` (with ``body``/``headers``) replaces the answer; ``drop_connection``
    closes without answering; ``after_events`` lets that many HEC events through (over as many
    requests as needed), then stores only the rest of the budget and closes without answering.
    """

    listener: str | None = None
    path: str | None = None
    method: str | None = None
    times: int | None = 1
    status: int | None = None
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_ms: int = 0
    drop_connection: bool = False
    after_events: int | None = None

    def matches(self, listener: str, path: str, method: str) -> bool:
        """Whether a request is subject to this fault."""
        return (
            (self.times is None or self.times > 0)
            and self.listener in (None, listener)
            and self.path in (None, path)
            and self.method in (None, method)
        )

    def to_json(self) -> dict[str, object]:
        """The control-API form."""
        return {
            "match": {"listener": self.listener, "path": self.path, "method": self.method},
            "times": self.times,
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "delay_ms": self.delay_ms,
            "drop_connection": self.drop_connection,
            "after_events": self.after_events,
        }


class FaultSet:
    """The active faults; the first matching one applies, and using it counts down ``times``."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        """Activate ``fault`` after those already active."""
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        """The faults that still apply."""
        with self._lock:
            return [fault for fault in self._faults if fault.times is None or fault.times > 0]

    def take(self, listener: str, path: str, method: str) -> Fault | None:
        """The fault for this request, if any; counts one use unless it is an ``after_events`` fault."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(listener, path, method):
                    if fault.after_events is None and fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def spend_events(self, fault: Fault, count: int) -> int:
        """Let up to ``count`` events through ``fault``; returns how many may be stored.

        When the budget runs out the fault is used up (one of its ``times``) and the caller drops the
        connection after storing the returned number of events.
        """
        with self._lock:
            budget = fault.after_events or 0
            if count <= budget:
                fault.after_events = budget - count
                return count
            fault.after_events = 0
            if fault.times is not None:
                fault.times -= 1
            return budget
