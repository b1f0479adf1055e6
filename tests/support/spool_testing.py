"""Building and reading telemetry spools in tests: payloads, records as the spool frames them on disk,
and draining a spool of everything pending."""

from __future__ import annotations

import struct
import zlib

from dsdl_golden._telemetry.spool import MemorySpool, Spool

#: A record's header on disk: the payload's length and CRC-32, little-endian (spool.py's framing).
HEADER = struct.Struct("<II")


def payloads(count: int, start: int = 0) -> list[bytes]:
    """``count`` small JSON payloads numbered from ``start``."""
    return [f'{{"n":{n}}}'.encode() for n in range(start, start + count)]


def record(payload: bytes) -> bytes:
    """A record as the spool writes it."""
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def drain(spool: Spool | MemorySpool, max_events: int = 1000) -> list[bytes]:
    """Read and commit everything pending, ``max_events`` at a time."""
    received = []
    while (batch := spool.read_batch(max_events, 1 << 20)) is not None:
        received += batch.payloads
        spool.commit(batch, len(batch.payloads))
    return received
