"""Testing the telemetry delivery client without a network: a stand-in for the HEC transport, the
dead-letter file read back, and the log messages a test looks for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dsdl_golden._telemetry.hec import Reply

OK = Reply(200, code=0, text="Success")


def event(number: int) -> bytes:
    """A serialised HEC event for the index ``main``, numbered ``number``."""
    return f'{{"event":{{"number":{number}}},"index":"main"}}'.encode()


class FakeHec:
    """Stands in for HEC: ``answer`` gives the reply to the events of each request (by default the
    scripted ``replies`` in turn, then ``OK``); indexer acknowledgements are answered from ``acks``
    (then True). Requests, ack waits and close are recorded."""

    channel: str | None = None

    def __init__(
        self,
        replies: list[Reply] | None = None,
        acks: list[bool] | None = None,
        *,
        answer: Callable[[list[bytes]], Reply] | None = None,
    ) -> None:
        scripted = iter(replies or [])
        self.answer = answer or (lambda events: next(scripted, OK))
        self.acks = iter(acks or [])
        self.requests: list[list[bytes]] = []
        self.ack_waits: list[tuple[Any, Any, Any]] = []
        self.closed = False

    @staticmethod
    def encode(events: list[bytes], *, compress: bool = True) -> bytes:
        return b"\n".join(events)

    def send(self, body: bytes, *, compressed: bool = True) -> Reply:
        events = body.split(b"\n")
        self.requests.append(events)
        return self.answer(events)

    def wait_for_ack(self, ack_id: Any, timeout: Any, stop: Any = None) -> bool:
        self.ack_waits.append((ack_id, timeout, stop))
        return next(self.acks, True)

    def open_channel(self) -> None:
        self.channel = "c0ffee-channel"

    def close(self) -> None:
        self.closed = True


def dead_letters(root: Path) -> list[dict[str, Any]]:
    """The records of the dead-letter file in the spool directory ``root`` (none if it is absent)."""
    path = root / "dead-letter.jsonl"
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    )


def messages(caplog: pytest.LogCaptureFixture, start: str) -> list[tuple[int, str]]:
    """Level and text of the captured log records whose text starts with ``start``."""
    return [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.getMessage().startswith(start)
    ]
