"""The disk spool keeps every written event, in order, across restarts and crashes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from golden_testing import child_environ
from spool_testing import drain, payloads

from dsdl_golden._telemetry.spool import Spool


def test_records_come_back_in_order_and_commit_frees_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=200)
    for start in range(0, 50, 5):
        assert spool.append(payloads(5, start)) == 5
    assert spool.pending()
    assert len(list(spool.own_directory.glob("seg-*.log"))) > 3

    assert drain(spool, max_events=7) == payloads(50)

    assert not spool.pending()
    assert spool.bytes_on_disk == 0
    assert len(list(spool.own_directory.glob("seg-*.log"))) == 1  # the segment being written


def test_batches_respect_event_and_byte_limits(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(payloads(30))
    batch = spool.read_batch(10, 1 << 20)
    assert batch is not None
    assert len(batch.payloads) == 10
    by_bytes = spool.read_batch(1000, 3 * len(payloads(1)[0]))
    assert by_bytes is not None
    assert len(by_bytes.payloads) == 3


def test_a_record_larger_than_the_byte_limit_is_read_alone(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    big = b"x" * 5000
    spool.append([big, b"small"])
    batch = spool.read_batch(10, 100)
    assert batch is not None
    assert batch.payloads == [big]


def test_partial_commit_keeps_the_rest(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(payloads(10))
    batch = spool.read_batch(10, 1 << 20)
    assert batch is not None
    spool.commit(batch, 4)
    assert drain(spool) == payloads(6, start=4)


def test_a_full_spool_takes_what_fits_and_reports_the_rest(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=200)
    written = spool.append(payloads(100))
    assert 0 < written < 100
    assert spool.bytes_on_disk <= 200
    assert spool.append(payloads(1)) == 0
    assert drain(spool) == payloads(written)
    assert spool.append(payloads(1)) == 1


def crash_after_writing(root: Path, count: int, commit: int) -> None:
    """A child process writes ``count`` records, commits ``commit`` of them, and dies without closing."""
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from dsdl_golden._telemetry.spool import Spool
        spool = Spool(Path({str(root)!r}), segment_bytes=300)
        for n in range({count}):
            spool.append([b'{{"n":%d}}' % n])
        batch = spool.read_batch({commit} or 1, 1 << 20)
        spool.commit(batch, {commit})
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], env=child_environ(), check=True)


def test_a_crashed_process_is_replayed_from_its_cursor(tmp_path: Path) -> None:
    crash_after_writing(tmp_path, count=40, commit=15)
    spool = Spool(tmp_path)
    spool.append(payloads(3, start=100))

    assert drain(spool) == payloads(25, start=15) + payloads(3, start=100)
    assert [path.name for path in tmp_path.iterdir()] == [spool.own_directory.name]


def test_a_closed_spool_with_unsent_records_is_replayed_by_the_next_process(tmp_path: Path) -> None:
    first = Spool(tmp_path)
    first.append(payloads(5))
    first.close()

    assert drain(Spool(tmp_path)) == payloads(5)


def test_a_closed_empty_spool_leaves_nothing_behind(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(payloads(2))
    drain(spool)
    spool.close()
    assert list(tmp_path.iterdir()) == []


def test_a_torn_last_record_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    crash_after_writing(tmp_path, count=5, commit=0)
    (directory,) = tmp_path.iterdir()
    (segment,) = directory.glob("seg-*.log")
    data = segment.read_bytes()
    end = len(data.rstrip(b"\0"))  # the rest of the file is preallocated zeros
    segment.write_bytes(data[: end - 3] + bytes(len(data) - end + 3))  # a kill in the middle of a copy

    spool = Spool(tmp_path)
    assert drain(spool) == payloads(4)
    assert spool.torn_bytes > 0


def test_a_live_process_spool_is_not_adopted(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from dsdl_golden._telemetry.spool import Spool
        spool = Spool(Path({str(tmp_path)!r}))
        spool.append([b'{{"owner":"alive"}}'])
        print("ready", flush=True)
        sys.stdin.read()
        """
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_environ(),
    )
    try:
        assert owner.stdout is not None
        assert owner.stdout.readline().strip() == "ready"
        assert drain(Spool(tmp_path)) == []
    finally:
        owner.communicate("")
    assert drain(Spool(tmp_path)) == [b'{"owner":"alive"}']


@pytest.mark.parametrize("fsync_interval", [0.0, 3600.0])
def test_fsync_interval_does_not_change_what_is_read(tmp_path: Path, fsync_interval: float) -> None:
    spool = Spool(tmp_path, fsync_interval=fsync_interval)
    spool.append(payloads(3))
    spool.sync()
    assert drain(spool) == payloads(3)


def test_nothing_is_pending_when_the_last_full_segment_was_sent(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=100)
    spool.append(payloads(20))  # fills the first segment; the next one starts empty
    assert drain(spool) == payloads(20)
    assert not spool.pending()
    spool.append(payloads(2, start=20))
    assert drain(spool) == payloads(2, start=20)


def test_read_ahead_returns_the_records_after_an_uncommitted_batch(tmp_path: Path) -> None:
    crash_after_writing(tmp_path, count=6, commit=0)
    spool = Spool(tmp_path, segment_bytes=60)
    for start in range(100, 112, 3):
        spool.append(payloads(3, start))
    first = spool.read_batch(4, 1 << 20)
    assert first is not None
    ahead = spool.read_batch(4, 1 << 20, after=first)  # the rest of the adopted spool
    assert ahead is not None
    beyond = spool.read_batch(4, 1 << 20, after=ahead)  # then this process's own records
    assert beyond is not None
    assert first.payloads + ahead.payloads + beyond.payloads == payloads(6) + payloads(4, start=100)
    for batch in (first, ahead, beyond):
        spool.commit(batch, len(batch.payloads))
    assert drain(spool) == payloads(8, start=104)


# corruption on disk: resynchronise on the framing, keep the rest, quarantine the damaged bytes -------


def record_offsets(segment: Path) -> list[int]:
    """Where each record of an intact segment starts."""
    data, offsets, position = segment.read_bytes().rstrip(b"\0"), [], 0
    while position < len(data):
        offsets.append(position)
        position += 8 + int.from_bytes(data[position : position + 4], "little")
    return offsets


def one_segment_of_200(tmp_path: Path) -> tuple[Path, list[int]]:
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from dsdl_golden._telemetry.spool import Spool
        spool = Spool(Path({str(tmp_path)!r}))
        spool.append([b'{{"n":%d}}' % n for n in range(200)])
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", script], env=child_environ(), check=True)
    (directory,) = tmp_path.iterdir()
    (segment,) = directory.glob("seg-*.log")
    return segment, record_offsets(segment)


def corrupt(segment: Path, offset: int, value: bytes) -> None:
    data = bytearray(segment.read_bytes())
    data[offset : offset + len(value)] = value
    segment.write_bytes(bytes(data))


def quarantined(root: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(root.glob("quarantine-*")))


def test_a_flipped_byte_mid_segment_skips_only_its_record(tmp_path: Path) -> None:
    segment, offsets = one_segment_of_200(tmp_path)
    original = segment.read_bytes()[offsets[100] : offsets[101]]
    corrupt(segment, offsets[100] + 10, b"#")

    spool = Spool(tmp_path)
    assert drain(spool) == [p for n, p in enumerate(payloads(200)) if n != 100]
    assert (spool.skipped_regions, spool.skipped_bytes) == (1, len(original))
    assert quarantined(tmp_path) == original[:10] + b"#" + original[11:]


def test_a_corrupted_length_header_loses_only_its_record(tmp_path: Path) -> None:
    segment, offsets = one_segment_of_200(tmp_path)
    corrupt(segment, offsets[3], (1 << 30).to_bytes(4, "little"))

    spool = Spool(tmp_path)
    assert drain(spool) == [p for n, p in enumerate(payloads(200)) if n != 3]
    assert spool.skipped_regions == 1
    assert len(quarantined(tmp_path)) == offsets[4] - offsets[3]


def test_a_length_header_pointing_inside_the_next_record_loses_only_its_record(tmp_path: Path) -> None:
    segment, offsets = one_segment_of_200(tmp_path)
    length = int.from_bytes(segment.read_bytes()[offsets[50] : offsets[50] + 4], "little")
    corrupt(segment, offsets[50], (length + 5).to_bytes(4, "little"))

    assert drain(Spool(tmp_path)) == [p for n, p in enumerate(payloads(200)) if n != 50]


@pytest.mark.parametrize("cursor", ["99 12345", "1 99999999", "1 5", "nonsense", "-3 -7"])
def test_a_nonsense_cursor_replays_the_whole_spool(tmp_path: Path, cursor: str) -> None:
    segment, _ = one_segment_of_200(tmp_path)
    (segment.parent / "cursor").write_text(cursor)

    spool = Spool(tmp_path)
    assert drain(spool) == payloads(200)  # at least once: duplicates are removed by event_id
    assert spool.skipped_regions == 0
