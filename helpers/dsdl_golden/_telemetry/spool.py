"""Crash-safe, bounded, ordered disk spool of serialised telemetry events.

Every event is written here before it is sent (write-ahead), so events survive Splunk outages,
process exits and crashes. :meth:`Spool.append` copies the record into a memory-mapped segment
file: the bytes are in the page cache when it returns, so they survive the death of the process
(SIGKILL included), without a system call and without releasing the interpreter lock. They reach
stable storage (a machine crash) on :meth:`Spool.sync`, which the delivery client calls within
``fsync_interval`` of a write. Segment files are preallocated on disk (``posix_fallocate``) before
they are mapped, so a full disk or a file size limit fails the append with ``OSError`` instead of
killing the process with SIGBUS. Layout::

    <root>/<owner>/lock                 held with flock while the owning process lives
    <root>/<owner>/seg-<n>.log          records: <u32 length><u32 crc32><payload>, then zeros
    <root>/<owner>/cursor               "<segment> <offset>" of the first unsent record

A payload is JSON and so never ends with a zero byte: the data of a segment ends at its last
non-zero byte (a process that died leaves its preallocated tail of zeros behind).

A process owns one directory (a forked child opens its own on its first append). On start it
adopts the directories of processes that died (their lock is free) and replays them, oldest first,
before its own events. A damaged record is skipped by resynchronising on the next intact one and
its bytes are quarantined; a torn record at the end of a segment (a kill during a write) ends it.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import logging
import mmap
import os
import socket
import struct
import threading
import uuid
import weakref
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


def _data_size(path: Path) -> int:
    """Bytes of records in a segment: up to its last non-zero byte (the rest is preallocated)."""
    return len(path.read_bytes().rstrip(b"\0"))


_GROWTH = 256 * 1024  # a write segment's first preallocation; it doubles up to segment_bytes


class _WriteSegment:
    """The segment a process appends to: a file mapped into memory, preallocated ahead of the data."""

    def __init__(self, path: Path, number: int) -> None:
        self.number = number
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.map: mmap.mmap | None = None
        self.capacity = 0
        self.size = 0

    def reserve(self, needed: int, segment_bytes: int) -> None:
        """Make room for ``needed`` more bytes, allocated on disk; OSError (disk full, EFBIG) if not."""
        want = self.size + needed
        if want <= self.capacity:
            return
        generous = max(min(max(2 * self.capacity, _GROWTH), segment_bytes), want)
        for target in dict.fromkeys((generous, want)):  # when the generous size fails, just enough
            try:
                os.posix_fallocate(self.fd, self.capacity, target - self.capacity)
                break
            except OSError:
                if target == want:
                    raise
        if self.map is None:
            self.map = mmap.mmap(self.fd, target)
        else:
            self.map.resize(target)
        self.capacity = target

    def write(self, data: bytes) -> None:
        """Copy ``data`` after the records (room reserved first): in the page cache on return."""
        assert self.map is not None
        end = self.size + len(data)
        self.map[self.size : end] = data
        self.size = end

    def finish(self) -> int:
        """Unmap, cut the file to its records, and return the descriptor (still open, to fsync)."""
        if self.map is not None:
            self.map.close()
            self.map = None
        os.ftruncate(self.fd, self.size)
        return self.fd

    def abandon(self) -> None:
        """In a forked child: let go of the parent's segment without changing it."""
        if self.map is not None:
            self.map.close()
            self.map = None
        with contextlib.suppress(OSError):
            os.close(self.fd)


class Spool:
    """Append-only segments with a persisted read cursor, shared by writers and one reader thread.

    Writers (:meth:`append`) and the reader (:meth:`read_batch`, :meth:`commit`) share one lock,
    held by the reader only to look at or change positions, never during file I/O.
    """

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
        self._lock = threading.Lock()
        self._unsynced = False
        self._retired: list[int] = []  # descriptors of finished segments, to fsync and close
        self.skipped_bytes = 0  # damaged bytes moved to quarantine files
        self.skipped_regions = 0  # damaged regions (each one or more records, or a torn end)
        self.bad_cursors = 0  # cursor files that made no sense (their directory was replayed whole)
        self._closed = False
        root.mkdir(parents=True, exist_ok=True)
        self._sources = self._adopt_orphans()
        self._own, self._own_lock, self._write = self._open_own_directory()
        self._sources.append(self._own)
        self.bytes_on_disk = sum(map(_pending_bytes, self._sources))  # of records not yet sent
        _forget_parent_after_fork(self)

    def _open_own_directory(self) -> tuple[_Source, int | None, _WriteSegment]:
        own = self.root / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        own.mkdir()
        lock = _try_lock(own / "lock")
        return _Source(own, 1, 0, sizes={1: 0}), lock, _WriteSegment(own / _segment_name(1), 1)

    def after_fork_in_child(self) -> None:
        """The parent's files stay the parent's: this process gets its own directory and lock."""
        self._lock = threading.Lock()  # another thread of the parent may have held it
        self._write.abandon()
        self._retired = []
        self._own, self._own_lock, self._write = self._open_own_directory()
        self._sources = [self._own]  # the parent replays its own and its adopted directories
        self.bytes_on_disk = 0

    @property
    def torn_bytes(self) -> int:
        """Damaged bytes skipped (the former name of :attr:`skipped_bytes`)."""
        return self.skipped_bytes

    @property
    def own_directory(self) -> Path:
        return self._own.directory

    def _adopt_orphans(self) -> list[_Source]:
        adopted = []
        candidates = [path for path in self.root.iterdir() if path.is_dir()]
        for directory in sorted(candidates, key=lambda path: path.stat().st_mtime):
            fd = _try_lock(directory / "lock")
            if fd is None:
                continue  # its process is alive
            cursor = _read_cursor(directory)
            all_sizes = {
                _segment_number(path): _data_size(path) for path in sorted(directory.glob(_SEGMENT_GLOB))
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
        """Write records; returns how many fit under ``max_bytes``.

        ``payloads`` is read up to the first record that does not fit; that one and the rest are not
        written. On return the records survive the death of this process; :meth:`sync` makes them
        survive a machine crash (at once when ``fsync_interval`` is 0). Raises OSError, with
        nothing written, when the disk is full or the file size limit is reached.
        """
        chunks: list[bytes] = []
        size = 0
        with self._lock:
            if self._closed:
                raise OSError("the telemetry spool is closed")
            room = self.max_bytes - self.bytes_on_disk
            for payload in payloads:
                record = _HEADER.pack(len(payload), zlib.crc32(payload)) + payload
                if size + len(record) > room:
                    break
                chunks.append(record)
                size += len(record)
            if not chunks:
                return 0
            segment = self._write
            if segment.size and segment.size + size > self.segment_bytes:
                segment = self._rotate()
            segment.reserve(size, self.segment_bytes)
            segment.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
            self._own.sizes[segment.number] = segment.size
            self.bytes_on_disk += size
            self._unsynced = True
        if self.fsync_interval <= 0:
            self.sync()
        return len(chunks)

    def _rotate(self) -> _WriteSegment:
        """Finish the write segment (the next :meth:`sync` fsyncs it) and start the next one."""
        self._retired.append(self._write.finish())
        number = self._write.number + 1
        self._write = _WriteSegment(self._own.directory / _segment_name(number), number)
        self._own.sizes[number] = 0
        return self._write

    def sync(self) -> None:
        """Force written records to stable storage (survives a machine crash). Raises OSError."""
        with self._lock:
            if not self._unsynced or self._closed:
                return
            descriptors, self._retired = [*self._retired, os.dup(self._write.fd)], []
            self._unsynced = False
        try:
            for fd in descriptors:
                os.fsync(fd)  # the data of a mapped file is fsynced through any of its descriptors
        except OSError:
            self._unsynced = True
            raise
        finally:
            for fd in descriptors:
                os.close(fd)

    def pending(self) -> bool:
        """True while some written record has not been committed as sent."""
        with self._lock:
            return any(self._unread(source) for source in self._sources)

    @staticmethod
    def _unread(source: _Source) -> bool:
        return _pending_bytes(source) > 0

    def read_batch(self, max_events: int, max_bytes: int, *, after: Batch | None = None) -> Batch | None:
        """The oldest unsent records (at least one, at most ``max_events``/``max_bytes``), or None.

        With ``after``, the records that follow that (not yet committed) batch: read-ahead.
        """
        with self._lock:
            sources = list(self._sources)
            plan = [(source, dict(source.sizes), (source.segment, source.offset)) for source in sources]
        if after is not None and (last := after.ends[-1])[0] in sources:
            plan = plan[sources.index(last[0]) :]
            plan[0] = (plan[0][0], plan[0][1], (last[1], last[2]))
        for source, sizes, start_at in plan:
            batch = self._read_source(source, sizes, max_events, max_bytes, start_at)
            if batch is not None:
                return batch
        return None

    def _read_source(
        self,
        source: _Source,
        sizes: dict[int, int],
        max_events: int,
        max_bytes: int,
        start_at: tuple[int, int],
    ) -> Batch | None:
        batch = Batch([], [])
        total = 0
        first_segment, first_offset = start_at
        limit = max_bytes + max_events * _HEADER.size
        for segment in sorted(number for number in sizes if number >= first_segment):
            offset = first_offset if segment == first_segment else 0
            with (source.directory / _segment_name(segment)).open("rb") as stream:
                while len(batch.payloads) < max_events and offset < sizes[segment]:
                    remaining = sizes[segment] - offset
                    stream.seek(offset)
                    data = stream.read(min(remaining, limit))
                    position = 0
                    while position < remaining and len(batch.payloads) < max_events:
                        body = position + _HEADER.size
                        if body > len(data) and body <= remaining:
                            return batch  # the read limit cut this header: the batch is full
                        length, crc = _HEADER.unpack_from(data, position) if body <= remaining else (0, 0)
                        end = body + length
                        # length 0: zeroed bytes (a page lost in a crash), as crc32(b"") is 0 too
                        intact = body <= remaining and length > 0 and end <= remaining
                        if intact and batch.payloads and total + length > max_bytes:
                            return batch
                        if intact and end > len(data):  # a single record larger than the read limit
                            data += stream.read(end - len(data))
                        payload = data[body:end]
                        if not intact or zlib.crc32(payload) != crc:
                            offset = self._skip_damaged(source, sizes, segment, offset + position)
                            break  # read again from the next intact record
                        position, total = end, total + length
                        batch.payloads.append(payload)
                        batch.ends.append((source, segment, offset + position))
                    else:
                        offset += position
            if len(batch.payloads) >= max_events:
                break
        return batch if batch.payloads else None

    def _skip_damaged(self, source: _Source, sizes: dict[int, int], segment: int, offset: int) -> int:
        """Resynchronise after a damaged record at ``offset``: the offset of the next intact record.

        The damaged bytes are copied to ``<root>/quarantine-<directory>-<segment>-<offset>.bin`` and
        counted. Without an intact record after them (a torn end: a kill during a write), the
        segment ends at ``offset``.
        """
        if (known := source.skips.get((segment, offset))) is not None:
            return known
        with (source.directory / _segment_name(segment)).open("rb") as stream:
            stream.seek(offset)
            data = stream.read(sizes[segment] - offset)
        found = _next_record(data, 0)
        damaged = data[:found] if found is not None else data
        quarantine = self.root / f"quarantine-{source.directory.name}-{segment}-{offset}.bin"
        try:
            quarantine.write_bytes(damaged)
        except OSError as error:
            logger.error("could not quarantine damaged spool bytes to %s: %s", quarantine, error)
        logger.error(
            "spool segment %s/%d is damaged at offset %d (%s): %d bytes skipped, kept in %s",
            source.directory.name,
            segment,
            offset,
            "a torn end" if found is None else "resynchronised on the next intact record",
            len(damaged),
            quarantine,
        )
        with self._lock:
            self.skipped_bytes += len(damaged)
            self.skipped_regions += 1
            if found is None:
                sizes[segment] = source.sizes[segment] = offset
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
            before = _pending_bytes(source)
            source.segment, source.offset = segment, offset
            sent_segments = [number for number in source.sizes if number < segment]
            for number in sent_segments:
                del source.sizes[number]
            self.bytes_on_disk -= before - _pending_bytes(source)
            finished = source is not self._own and not self._unread(source)
            if finished:
                self._sources.remove(source)
        for number in sent_segments:
            with contextlib.suppress(FileNotFoundError):
                (source.directory / _segment_name(number)).unlink()
        if finished:
            _remove_directory(source.directory, source.lock)
        else:
            source.save_cursor()

    def close(self) -> None:
        """Sync, close files and release the directory; an empty own directory is removed. Idempotent."""
        self.sync()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            descriptors = [*self._retired, self._write.finish()]
            self._retired = []
            own_lock, self._own_lock = self._own_lock, None
            for fd in descriptors:
                os.close(fd)
            if not self._unread(self._own):
                _remove_directory(self._own.directory, own_lock)
            elif own_lock is not None:
                with contextlib.suppress(OSError):
                    self._own.save_cursor()
                os.close(own_lock)
            for source in self._sources[:-1]:
                with contextlib.suppress(OSError):
                    source.save_cursor()
                if source.lock is not None:
                    os.close(source.lock)
                    source.lock = None


def _pending_bytes(source: _Source) -> int:
    """Bytes of the records of ``source`` not yet committed as sent."""
    return sum(size for number, size in source.sizes.items() if number >= source.segment) - source.offset


def _forget_parent_after_fork(spool: Spool) -> None:
    """Give a forked child its own directory, so that it never writes into its parent's segment."""
    reference = weakref.ref(spool)

    def in_child() -> None:
        if (alive := reference()) is not None and not alive._closed:
            alive.after_fork_in_child()

    os.register_at_fork(after_in_child=in_child)


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
