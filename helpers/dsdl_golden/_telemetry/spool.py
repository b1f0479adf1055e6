"""Crash-safe, bounded, ordered disk spool of serialised telemetry events.

Every event is written here before it is sent (write-ahead), so events survive Splunk outages,
process exits and crashes. Writes reach the page cache at once (enough when the process dies) and
stable storage within ``fsync_interval`` or on :meth:`Spool.sync` (a machine crash). Layout::

    <root>/<owner>/lock                 held with flock while the owning process lives
    <root>/<owner>/seg-<n>.log          records: <u32 length><u32 crc32><payload>
    <root>/<owner>/cursor               "<segment> <offset>" of the first unsent record

A process owns one directory. On start it adopts the directories of processes that died (their
lock is free) and replays them, oldest first, before its own events. A torn record at the end of a
segment (a crash during a write) ends that segment; everything before it is kept.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import logging
import os
import socket
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger("dsdl_golden.telemetry")

_HEADER = struct.Struct("<II")
_SEGMENT_GLOB = "seg-*.log"


def _segment_name(number: int) -> str:
    return f"seg-{number:012d}.log"


def _segment_number(path: Path) -> int:
    return int(path.stem.removeprefix("seg-"))


@dataclass(eq=False)  # identity: a source is one directory being replayed
class _Source:
    """One owner directory being replayed: its segments and read position."""

    directory: Path
    segment: int
    offset: int
    lock: int | None = None  # fd of an adopted directory's lock
    sizes: dict[int, int] = field(default_factory=dict)
    skips: dict[tuple[int, int], int] = field(
        default_factory=dict
    )  # damaged (segment, offset) -> next record

    def save_cursor(self) -> None:
        temporary = self.directory / "cursor.tmp"
        temporary.write_text(f"{self.segment} {self.offset}")
        temporary.replace(self.directory / "cursor")


@dataclass
class Batch:
    """Records read from the spool; ``commit(batch, n)`` marks the first ``n`` as sent."""

    payloads: list[bytes]
    ends: list[tuple[Any, int, int]]  # (source, segment, offset after each record)
    body: bytes | None = None  # the encoded request body, once a sender made it


def _read_cursor(directory: Path) -> tuple[int, int] | None:
    """The saved cursor; (0, 0) when there is none, None when it is not two numbers."""
    try:
        text = (directory / "cursor").read_text()
    except FileNotFoundError:
        return 0, 0
    except (OSError, UnicodeError):
        return None
    with contextlib.suppress(ValueError):
        segment, offset = text.split()
        return int(segment), int(offset)
    return None


def _on_record_boundary(path: Path, offset: int, size: int) -> bool:
    """True when walking the record headers of a segment from its start reaches ``offset``."""
    with path.open("rb") as stream:
        position = 0
        while position < offset and position + _HEADER.size <= size:
            stream.seek(position)
            length, _ = _HEADER.unpack(stream.read(_HEADER.size))
            position += _HEADER.size + length
    return position == offset


def _next_record(data: bytes, start: int) -> int | None:
    """The first position after ``start`` where an intact record of a JSON object begins, or None."""
    brace = start + _HEADER.size
    while (brace := data.find(b"{", brace + 1)) != -1:
        position = brace - _HEADER.size
        length, crc = _HEADER.unpack_from(data, position)
        if 0 < length <= len(data) - brace and zlib.crc32(data[brace : brace + length]) == crc:
            return position
    return None


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class Spool:
    """Append-only segments with a persisted read cursor, shared by a writer and a reader thread."""

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int = 256 * 1024 * 1024,
        segment_bytes: int = 4 * 1024 * 1024,
        fsync_interval: float = 0.05,
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync_interval = fsync_interval
        self._last_fsync = 0.0
        self._unsynced = False
        self._lock = threading.Lock()
        self.skipped_bytes = 0  # damaged bytes moved to quarantine files
        self.skipped_regions = 0  # damaged regions (each one or more records, or a torn end)
        self.bad_cursors = 0  # cursor files that made no sense (their directory was replayed whole)
        root.mkdir(parents=True, exist_ok=True)
        own = root / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        own.mkdir()
        self._own_lock = _try_lock(own / "lock")
        self._sources = [*self._adopt_orphans(exclude=own), _Source(own, 1, 0)]
        self._write_segment = 1
        self._write_file = (own / _segment_name(1)).open("ab", buffering=0)
        self._closed = False
        self._sources[-1].sizes[1] = 0
        self.bytes_on_disk = sum(sum(source.sizes.values()) for source in self._sources)

    @property
    def torn_bytes(self) -> int:
        """Damaged bytes skipped (the former name of :attr:`skipped_bytes`)."""
        return self.skipped_bytes

    @property
    def own_directory(self) -> Path:
        return self._sources[-1].directory

    def _adopt_orphans(self, exclude: Path) -> list[_Source]:
        adopted = []
        candidates = [path for path in self.root.iterdir() if path.is_dir() and path != exclude]
        for directory in sorted(candidates, key=lambda path: path.stat().st_mtime):
            fd = _try_lock(directory / "lock")
            if fd is None:
                continue  # its process is alive
            cursor = _read_cursor(directory)
            all_sizes = {
                _segment_number(path): path.stat().st_size for path in sorted(directory.glob(_SEGMENT_GLOB))
            }
            segment, offset = cursor or (0, 0)
            sizes = {number: size for number, size in all_sizes.items() if number >= segment}
            if not self._cursor_is_sane(directory, cursor, sizes, all_sizes):
                self.bad_cursors += 1
                logger.error(
                    "spool cursor of %s makes no sense (%r): replaying all of it (duplicates are possible)",
                    directory.name,
                    cursor,
                )
                segment, offset, sizes = 0, 0, all_sizes
            if not sizes:
                _remove_directory(directory, fd)
                continue
            start = min(sizes)
            adopted.append(_Source(directory, start, offset if start == segment else 0, fd, sizes))
            logger.info("replaying %d spooled bytes left by %s", sum(sizes.values()), directory.name)
        return adopted

    @staticmethod
    def _cursor_is_sane(
        directory: Path, cursor: tuple[int, int] | None, sizes: dict[int, int], all_sizes: dict[int, int]
    ) -> bool:
        if cursor is None:
            return False
        segment, offset = cursor
        if segment < 0 or offset < 0 or (all_sizes and not sizes):
            return False  # negative, or beyond the last segment: nothing would be sent
        if segment not in sizes:
            return offset == 0 or not sizes or segment < min(sizes)
        return offset <= sizes[segment] and _on_record_boundary(
            directory / _segment_name(segment), offset, sizes[segment]
        )

    def append(self, payloads: Iterable[bytes]) -> int:
        """Write records durably; returns how many fit under ``max_bytes``.

        ``payloads`` is read up to the first record that does not fit; that one and the rest are not
        written. A generator is framed as it goes, so no list of payloads needs to stay in memory.
        """
        chunks: list[bytes] = []
        size = 0
        with self._lock:
            room = self.max_bytes - self.bytes_on_disk
            for payload in payloads:
                record = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
                if size + len(record) > room:
                    break
                chunks.append(record)
                size += len(record)
            if not chunks:
                return 0
            self._write(b"".join(chunks))  # in the page cache: survives a crash of this process
            self._unsynced = True
            if time.monotonic() - self._last_fsync >= self.fsync_interval:
                self._fsync()
            own = self._sources[-1]
            own.sizes[self._write_segment] += size
            self.bytes_on_disk += size
            if own.sizes[self._write_segment] >= self.segment_bytes:
                self._rotate()
        return len(chunks)

    def _write(self, data: bytes) -> None:
        """Write all of ``data`` or nothing: a failed write (disk full) is cut off and raises OSError."""
        before = self._sources[-1].sizes[self._write_segment]
        view = memoryview(data)
        try:
            while view:
                written = self._write_file.write(view)
                if not written:
                    raise OSError(f"no byte of {len(view)} could be written to the spool")
                view = view[written:]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._write_file.fileno(), before)
            raise

    def _fsync(self) -> None:
        if self._unsynced:
            os.fsync(self._write_file.fileno())
            self._unsynced = False
        self._last_fsync = time.monotonic()

    def sync(self) -> None:
        """Force written records to stable storage (survives a machine crash)."""
        with self._lock:
            self._fsync()

    def _rotate(self) -> None:
        self._fsync()
        self._write_file.close()
        self._write_segment += 1
        own = self._sources[-1]
        self._write_file = (own.directory / _segment_name(self._write_segment)).open("ab", buffering=0)
        own.sizes[self._write_segment] = 0

    def pending(self) -> bool:
        """True while some written record has not been committed as sent."""
        with self._lock:
            return any(self._unread(source) for source in self._sources)

    @staticmethod
    def _unread(source: _Source) -> bool:
        return any(
            size > (source.offset if number == source.segment else 0)
            for number, size in source.sizes.items()
            if number >= source.segment
        )

    def read_batch(self, max_events: int, max_bytes: int, *, after: Batch | None = None) -> Batch | None:
        """The oldest unsent records (at least one, at most ``max_events``/``max_bytes``), or None.

        With ``after``, the records that follow that (not yet committed) batch: read-ahead.
        """
        with self._lock:
            sources = self._sources
            resume: dict[int, tuple[int, int]] = {}
            if after is not None and (last := after.ends[-1])[0] in sources:
                sources = sources[sources.index(last[0]) :]
                resume[id(last[0])] = (last[1], last[2])
            for source in sources:
                start_at = resume.get(id(source), (source.segment, source.offset))
                batch = self._read_source(source, max_events, max_bytes, start_at)
                if batch is not None:
                    return batch
        return None

    def _read_source(
        self, source: _Source, max_events: int, max_bytes: int, start_at: tuple[int, int]
    ) -> Batch | None:
        batch = Batch([], [])
        total = 0
        first_segment, first_offset = start_at
        limit = max_bytes + max_events * _HEADER.size
        for segment in sorted(number for number in source.sizes if number >= first_segment):
            offset = first_offset if segment == first_segment else 0
            with (source.directory / _segment_name(segment)).open("rb") as stream:
                while len(batch.payloads) < max_events and offset < source.sizes[segment]:
                    remaining = source.sizes[segment] - offset
                    stream.seek(offset)
                    data = stream.read(min(remaining, limit))
                    position = 0
                    while position < remaining and len(batch.payloads) < max_events:
                        body = position + _HEADER.size
                        if body > len(data) and body <= remaining:
                            return batch  # the read limit cut this header: the batch is full
                        length, crc = _HEADER.unpack_from(data, position) if body <= remaining else (0, 0)
                        end = body + length
                        intact = body <= remaining and end <= remaining
                        if intact and batch.payloads and total + length > max_bytes:
                            return batch
                        if intact and end > len(data):  # a single record larger than the read limit
                            data += stream.read(end - len(data))
                        payload = data[body:end]
                        if not intact or zlib.crc32(payload) != crc:
                            offset = self._skip_damaged(source, segment, offset + position)
                            break  # read again from the next intact record
                        position, total = end, total + length
                        batch.payloads.append(payload)
                        batch.ends.append((source, segment, offset + position))
                    else:
                        offset += position
            if len(batch.payloads) >= max_events:
                break
        return batch if batch.payloads else None

    def _skip_damaged(self, source: _Source, segment: int, offset: int) -> int:
        """Resynchronise after a damaged record at ``offset``: the offset of the next intact record.

        The damaged bytes are copied to ``<root>/quarantine-<directory>-<segment>-<offset>.bin`` and
        counted. Without an intact record after them (a torn end: a crash during a write), the
        segment ends at ``offset``.
        """
        if (known := source.skips.get((segment, offset))) is not None:
            return known
        with (source.directory / _segment_name(segment)).open("rb") as stream:
            stream.seek(offset)
            data = stream.read(source.sizes[segment] - offset)
        found = _next_record(data, 0)
        damaged = data[:found] if found is not None else data
        quarantine = self.root / f"quarantine-{source.directory.name}-{segment}-{offset}.bin"
        try:
            quarantine.write_bytes(damaged)
        except OSError as error:
            logger.error("could not quarantine damaged spool bytes to %s: %s", quarantine, error)
        self.skipped_bytes += len(damaged)
        self.skipped_regions += 1
        logger.error(
            "spool segment %s/%d is damaged at offset %d (%s): %d bytes skipped, kept in %s",
            source.directory.name,
            segment,
            offset,
            "a torn end" if found is None else "resynchronised on the next intact record",
            len(damaged),
            quarantine,
        )
        if found is None:
            source.sizes[segment] = offset
            self.bytes_on_disk -= len(damaged)
            return offset
        source.skips[(segment, offset)] = offset + found
        return offset + found

    def commit(self, batch: Batch, count: int) -> None:
        """Mark the first ``count`` records of ``batch`` as sent, and free fully sent segments."""
        if count <= 0:
            return
        source, segment, offset = batch.ends[count - 1]
        with self._lock:
            source.segment, source.offset = segment, offset
            for number in [n for n in source.sizes if n < segment]:
                self._delete_segment(source, number)
            is_own = source is self._sources[-1]
            if is_own and segment == self._write_segment and offset == source.sizes[segment]:
                self._empty_write_segment(source)
            elif not is_own and not self._unread(source):
                for number in list(source.sizes):
                    self._delete_segment(source, number)
                _remove_directory(source.directory, source.lock)
                self._sources.remove(source)
            else:
                source.save_cursor()

    def _empty_write_segment(self, own: _Source) -> None:
        """Everything written was sent: start the segment being written over (cursor saved first)."""
        own.offset = 0
        own.save_cursor()
        self._write_file.truncate(0)
        self.bytes_on_disk -= own.sizes[self._write_segment]
        own.sizes[self._write_segment] = 0

    def _delete_segment(self, source: _Source, number: int) -> None:
        self.bytes_on_disk -= source.sizes.pop(number)
        with contextlib.suppress(FileNotFoundError):
            (source.directory / _segment_name(number)).unlink()

    def close(self) -> None:
        """Close files and release the directory; an empty own directory is removed. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._fsync()
            finally:
                self._write_file.close()
                own_lock, self._own_lock = self._own_lock, None
                own = self._sources[-1]
                if not self._unread(own):
                    _remove_directory(own.directory, own_lock)
                elif own_lock is not None:
                    with contextlib.suppress(OSError):
                        own.save_cursor()
                    os.close(own_lock)
                for source in self._sources[:-1]:
                    with contextlib.suppress(OSError):
                        source.save_cursor()
                    if source.lock is not None:
                        os.close(source.lock)
                        source.lock = None


def _remove_directory(directory: Path, lock_fd: int | None) -> None:
    for path in directory.iterdir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    with contextlib.suppress(OSError):
        directory.rmdir()
    if lock_fd is not None:
        os.close(lock_fd)


class MemorySpool:
    """A bounded in-memory queue with the interface of :class:`Spool`, for a spool directory that
    cannot be used: events survive network outages but not the death of the process.
    """

    in_memory = True
    skipped_bytes = 0
    skipped_regions = 0

    def __init__(
        self, root: Path, *, max_bytes: int = 64 * 1024 * 1024, fsync_interval: float = 0.05
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.fsync_interval = fsync_interval
        self.bytes_on_disk = 0  # bytes held in memory (the name of Spool's counter)
        self._records: collections.deque[bytes] = collections.deque()
        self._first = 0  # sequence number of self._records[0]
        self._lock = threading.Lock()

    def append(self, payloads: Iterable[bytes]) -> int:
        """Keep records while they fit under ``max_bytes``; returns how many were kept."""
        count = 0
        with self._lock:
            for payload in payloads:
                if self.bytes_on_disk + len(payload) > self.max_bytes:
                    break
                self._records.append(payload)
                self.bytes_on_disk += len(payload)
                count += 1
        return count

    def sync(self) -> None:
        """Nothing to do: memory is all there is."""

    def pending(self) -> bool:
        """True while some record has not been committed as sent."""
        return bool(self._records)

    def read_batch(self, max_events: int, max_bytes: int, *, after: Batch | None = None) -> Batch | None:
        """The oldest unsent records (or those after ``after``), as :meth:`Spool.read_batch`."""
        with self._lock:
            start = max(after.ends[-1][1] + 1 if after is not None else 0, self._first)
            batch = Batch([], [])
            total = 0
            for sequence in range(start, self._first + len(self._records)):
                payload = self._records[sequence - self._first]
                if len(batch.payloads) >= max_events or (batch.payloads and total + len(payload) > max_bytes):
                    break
                batch.payloads.append(payload)
                batch.ends.append((self, sequence, 0))
                total += len(payload)
        return batch if batch.payloads else None

    def commit(self, batch: Batch, count: int) -> None:
        """Forget the first ``count`` records of ``batch``: they were sent."""
        if count <= 0:
            return
        last = batch.ends[count - 1][1]
        with self._lock:
            while self._records and self._first <= last:
                self.bytes_on_disk -= len(self._records.popleft())
                self._first += 1

    def close(self) -> None:
        """Unsent records are lost with the process (there is no disk to keep them)."""
