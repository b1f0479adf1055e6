"""Edges of the telemetry spool and the HEC transport that the other telemetry tests do not reach.

Spool: damaged data left on disk (stray bytes, zeroed or lying headers, torn ends in a preallocated
segment) is skipped exactly, counted once, quarantined and logged; cursor files are trusted when they
make sense and only then; a failed segment rotation (disk full) loses nothing; a forked child gets its
own directory; the in-memory fallback keeps its byte limit and commits what it is told. Damaged files
are built byte for byte in the documented format (``<u32 length><u32 crc32><payload>``, then the
preallocated zeros of a process that died).

HEC: health checks, posting (gzipped or not), indexer acknowledgement (``acknowledged`` and the
polling of ``wait_for_ack``), and how replies that are not HEC JSON and connection failures read.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery_testing import event
from spool_testing import HEADER, drain, payloads, record

from dsdl_golden._telemetry import hec as hec_module
from dsdl_golden._telemetry.hec import ACK_PATH, EVENT_PATH, HEALTH_PATH, HecTransport, Verdict
from dsdl_golden._telemetry.spool import MemorySpool, Spool
from dsdl_golden.config import Secret
from dsdl_golden.emulator import SplunkEmulator

DEAD = "deadhost-4242-0badc0de"  # the directory of a process that died
PREALLOCATED = bytes(4096)  # the zeros a killed process leaves after its records


def left_by_dead_process(
    root: Path, segments: dict[int, bytes], cursor: str | None = None, *, preallocated: bool = True
) -> Path:
    """The directory of a killed process: ``segments`` (number -> bytes, then preallocated zeros)."""
    directory = root / DEAD
    directory.mkdir(parents=True)
    for number, data in segments.items():
        (directory / f"seg-{number:012d}.log").write_bytes(data + (PREALLOCATED if preallocated else b""))
    if cursor is not None:
        (directory / "cursor").write_text(cursor)
    return directory


def quarantine_of(root: Path, segment: int, offset: int) -> Path:
    return root / f"quarantine-{DEAD}-{segment}-{offset}.bin"


def damage_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("spool segment ")]


# --- damaged records: resynchronising on the next intact one ------------------------------------


def test_stray_bytes_between_records_lose_no_record_and_each_region_is_counted_and_quarantined(
    tmp_path: Path, spools: list[Spool], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="dsdl_golden.telemetry")
    p0, p1, p2 = payloads(3)
    first_stray = len(record(p0))
    second_stray = first_stray + 1 + len(record(p1))
    # the last record follows the second damaged region directly and ends the segment's data
    left_by_dead_process(tmp_path, {1: record(p0) + b"\x01" + record(p1) + b"\x02\x03" + record(p2)})

    spools.append(spool := Spool(tmp_path))
    assert drain(spool) == [p0, p1, p2]
    assert (spool.skipped_regions, spool.skipped_bytes) == (2, 3)
    assert quarantine_of(tmp_path, 1, first_stray).read_bytes() == b"\x01"
    assert quarantine_of(tmp_path, 1, second_stray).read_bytes() == b"\x02\x03"
    assert damage_messages(caplog) == [
        f"spool segment {DEAD}/1 is damaged at offset {offset} (resynchronised on the next intact "
        f"record): {size} bytes skipped, kept in {quarantine_of(tmp_path, 1, offset)}"
        for offset, size in [(first_stray, 1), (second_stray, 2)]
    ]


def test_a_torn_end_in_a_preallocated_segment_skips_exactly_its_bytes_and_frees_the_space(
    tmp_path: Path, spools: list[Spool], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="dsdl_golden.telemetry")
    p0, p1, p2 = payloads(3)
    torn = record(p2)[:10]  # killed while copying: the header and two bytes of the payload
    start = len(record(p0) + record(p1))
    left_by_dead_process(tmp_path, {1: record(p0) + record(p1) + torn})

    spools.append(spool := Spool(tmp_path))
    assert spool.bytes_on_disk == start + len(torn)
    assert drain(spool) == [p0, p1]
    assert (spool.skipped_regions, spool.skipped_bytes) == (1, len(torn))  # not the zeros after it
    assert quarantine_of(tmp_path, 1, start).read_bytes() == torn
    assert spool.bytes_on_disk == 0
    assert not spool.pending()
    assert damage_messages(caplog) == [
        f"spool segment {DEAD}/1 is damaged at offset {start} (a torn end): {len(torn)} bytes skipped, "
        f"kept in {quarantine_of(tmp_path, 1, start)}"
    ]


def test_a_damaged_region_read_again_is_skipped_the_same_way_and_counted_once(
    tmp_path: Path, spools: list[Spool]
) -> None:
    p0, p1, p2 = payloads(3)
    left_by_dead_process(tmp_path, {1: record(p0) + b"\x01" + record(p1) + record(p2)})

    spools.append(spool := Spool(tmp_path))
    first = spool.read_batch(1000, 1 << 20)
    again = spool.read_batch(1000, 1 << 20)  # not committed (the send failed): read once more
    assert first is not None
    assert again is not None
    assert first.payloads == again.payloads == [p0, p1, p2]
    assert (spool.skipped_regions, spool.skipped_bytes) == (1, 1)
    assert len(list(tmp_path.glob("quarantine-*"))) == 1


def test_a_header_whose_crc_does_not_match_is_not_taken_for_the_next_record(
    tmp_path: Path, spools: list[Spool]
) -> None:
    p0, p1 = payloads(2)
    lying = HEADER.pack(5, zlib.crc32(b'{"x":') ^ 1) + b'{"x":'  # length fits, CRC does not
    damaged = b"\xff" + lying
    left_by_dead_process(tmp_path, {1: record(p0) + damaged + record(p1)})

    spools.append(spool := Spool(tmp_path))
    assert drain(spool) == [p0, p1]
    assert spool.skipped_regions == 1
    assert quarantine_of(tmp_path, 1, len(record(p0))).read_bytes() == damaged


def test_a_zeroed_header_is_not_taken_for_an_empty_record_when_resynchronising(
    tmp_path: Path, spools: list[Spool]
) -> None:
    p0, p1, p2 = payloads(3)
    damaged = b"\x01" + bytes(HEADER.size) + p1  # a stray byte, then a record whose header was lost
    left_by_dead_process(tmp_path, {1: record(p0) + damaged + record(p2)})

    spools.append(spool := Spool(tmp_path))
    assert drain(spool) == [p0, p2]
    assert (spool.skipped_regions, spool.skipped_bytes) == (1, len(damaged))


def test_zeroed_bytes_where_a_record_should_start_are_skipped_not_delivered_as_empty_events(
    tmp_path: Path, spools: list[Spool]
) -> None:
    p0, _, p2 = payloads(3)
    zeroed = bytes(15)  # a record zeroed on disk: an 8-byte header of zeros has the CRC of b""
    left_by_dead_process(tmp_path, {1: record(p0) + zeroed + record(p2)})

    spools.append(spool := Spool(tmp_path))
    assert drain(spool) == [p0, p2]
    assert (spool.skipped_regions, spool.skipped_bytes) == (1, len(zeroed))


def test_a_header_claiming_more_bytes_than_the_segment_holds_ends_it_as_one_torn_region(
    tmp_path: Path, spools: list[Spool]
) -> None:
    p0, cut = b'{"n":0}', b'{"n":9}'
    torn = b"\x01" + HEADER.pack(20, zlib.crc32(cut)) + cut  # 20 bytes announced, 7 present
    left_by_dead_process(tmp_path, {1: record(p0) + torn})

    spools.append(spool := Spool(tmp_path))
    assert drain(spool) == [p0]
    assert (spool.skipped_regions, spool.skipped_bytes) == (1, len(torn))


def test_quarantine_that_cannot_be_written_is_logged_and_the_records_after_it_still_delivered(
    tmp_path: Path, spools: list[Spool], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="dsdl_golden.telemetry")
    p0, p1 = payloads(2)
    left_by_dead_process(tmp_path, {1: record(p0) + b"\x01" + record(p1)})
    blocked = quarantine_of(tmp_path, 1, len(record(p0)))
    blocked.symlink_to(tmp_path / "gone" / "quarantine.bin")  # into a directory that is not there

    spools.append(spool := Spool(tmp_path))
    assert drain(spool) == [p0, p1]
    assert spool.skipped_regions == 1
    (message,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("could not")]
    assert message.startswith(f"could not quarantine damaged spool bytes to {blocked}: [Errno ")
    assert "No such file or directory" in message


# --- cursor files ------------------------------------------------------------------------------------

SEGMENT_2 = [record(p) for p in payloads(3)]
SEGMENT_3 = [record(p) for p in payloads(2, start=3)]
SIZE_2 = len(b"".join(SEGMENT_2))


@pytest.mark.parametrize(
    ("cursor", "replayed", "bad"),
    [
        ("0 0", payloads(5), 0),  # nothing sent yet
        ("2 0", payloads(5), 0),  # the start of the first segment left
        ("1 50", payloads(5), 0),  # segment 1 was sent and deleted just before the cursor was saved
        (f"2 {len(SEGMENT_2[0])}", payloads(4, start=1), 0),
        (f"2 {SIZE_2}", payloads(2, start=3), 0),  # segment 2 sent to its very end
        ("-1 0", payloads(5), 1),
        ("nonsense", payloads(5), 1),
    ],
)
def test_a_cursor_that_makes_sense_is_followed_and_only_a_nonsense_one_counts_as_bad(
    tmp_path: Path, spools: list[Spool], cursor: str, replayed: list[bytes], bad: int
) -> None:
    left_by_dead_process(tmp_path, {2: b"".join(SEGMENT_2), 3: b"".join(SEGMENT_3)}, cursor)

    spools.append(spool := Spool(tmp_path))
    assert spool.bad_cursors == bad
    assert drain(spool) == replayed
    assert spool.skipped_regions == 0


@pytest.mark.parametrize("cursor", [None, "4 20"])
def test_a_dead_process_directory_without_segments_is_removed_quietly(
    tmp_path: Path, spools: list[Spool], cursor: str | None
) -> None:
    directory = left_by_dead_process(tmp_path, {}, cursor)  # its removal was cut short by a kill

    spools.append(spool := Spool(tmp_path))
    assert not directory.exists()
    assert spool.bad_cursors == 0
    assert not spool.pending()


@pytest.mark.parametrize("preallocated", [True, False])
def test_a_cursor_inside_a_torn_header_at_the_end_of_a_segment_is_refused(
    tmp_path: Path, spools: list[Spool], preallocated: bool
) -> None:
    p0 = b'{"n":0}'
    segment = record(p0) + b"\x07\x01\x02\x03\x04"  # the file may end there (no zeros after it)
    left_by_dead_process(tmp_path, {1: segment}, f"1 {len(record(p0)) + 3}", preallocated=preallocated)

    spools.append(spool := Spool(tmp_path))
    assert spool.bad_cursors == 1
    assert drain(spool) == [p0]
    assert spool.skipped_regions == 1  # the five bytes of the torn header


def test_a_cursor_just_after_a_header_that_ends_a_segment_is_on_a_record_boundary(
    tmp_path: Path, spools: list[Spool]
) -> None:
    p0, p1 = payloads(2)
    bare_header = HEADER.pack(0, 0x04030201)  # a header of no payload, the last bytes of the segment
    segment_1 = record(p0) + bare_header
    left_by_dead_process(tmp_path, {1: segment_1, 2: record(p1)}, f"1 {len(segment_1)}")

    spools.append(spool := Spool(tmp_path))
    assert spool.bad_cursors == 0
    assert drain(spool) == [p1]


# --- rotation that fails: the disk is full -----------------------------------------------------------


def test_a_rotation_that_fails_for_a_full_disk_loses_nothing_and_the_next_append_works(
    tmp_path: Path, spools: list[Spool], monkeypatch: pytest.MonkeyPatch
) -> None:
    spools.append(spool := Spool(tmp_path, segment_bytes=64))
    assert spool.append(payloads(4)) == 4  # 60 bytes: the next record needs a new segment
    written = spool.bytes_on_disk

    def disk_full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("os.posix_fallocate", disk_full)
        with pytest.raises(OSError, match="No space left"):
            spool.append(payloads(1, start=4))

    assert spool.bytes_on_disk == written
    assert spool.pending()
    assert drain(spool) == payloads(4)
    assert not spool.pending()
    assert spool.skipped_regions == 0
    assert spool.append(payloads(1, start=4)) == 1
    # the documented layout: segments numbered one after another
    names = sorted(path.name for path in spool.own_directory.glob("seg-*.log"))
    assert names == ["seg-000000000001.log", "seg-000000000002.log"]
    assert drain(spool) == payloads(1, start=4)


# --- appending --------------------------------------------------------------------------------------


def test_a_record_that_exactly_fills_the_rest_of_a_segment_goes_into_it(
    tmp_path: Path, spools: list[Spool]
) -> None:
    records = payloads(4, start=10)  # 8 + 8 bytes each: four fill a segment of 64 bytes
    spools.append(spool := Spool(tmp_path, segment_bytes=64))
    assert spool.append(records[:3]) == 3
    assert spool.append(records[3:]) == 1
    assert [path.name for path in spool.own_directory.glob("seg-*.log")] == ["seg-000000000001.log"]
    assert drain(spool) == records


def test_appends_are_not_fsynced_one_by_one_when_an_fsync_interval_groups_them(
    tmp_path: Path, spools: list[Spool], fsyncs: list[int]
) -> None:
    spools.append(spool := Spool(tmp_path, fsync_interval=0.5))
    for payload in payloads(3):
        assert spool.append([payload]) == 1
    assert fsyncs == []  # the delivery client's syncer fsyncs them together
    spool.sync()
    assert len(fsyncs) == 1


def test_appending_to_a_closed_spool_fails_saying_so(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append(payloads(1))
    spool.close()
    with pytest.raises(OSError, match=r"^the telemetry spool is closed$"):
        spool.append(payloads(1, start=1))
    spool.close()  # still idempotent


# --- fork: the child lets go of the parent's segment -------------------------------------------------


def test_after_a_fork_the_child_writes_into_a_directory_of_its_own(
    tmp_path: Path, spools: list[Spool]
) -> None:
    spools.append(spool := Spool(tmp_path))
    assert spool.append(payloads(3)) == 3
    parent = spool.own_directory
    (parent_segment,) = parent.glob("seg-*.log")
    parents_bytes = parent_segment.read_bytes()

    spool.after_fork_in_child()  # what the at-fork hook runs in the child

    assert spool.own_directory != parent
    assert spool.own_directory.parent == tmp_path
    assert spool.bytes_on_disk == 0
    assert not spool.pending()  # the parent's records are the parent's to send
    assert spool.append(payloads(2, start=100)) == 2
    assert spool.bytes_on_disk == sum(len(record(p)) for p in payloads(2, start=100))
    spool.sync()
    assert parent_segment.read_bytes() == parents_bytes
    assert drain(spool) == payloads(2, start=100)


def test_a_child_forked_before_the_parent_wrote_anything_gets_its_own_directory(
    tmp_path: Path, spools: list[Spool]
) -> None:
    spools.append(spool := Spool(tmp_path))
    parent = spool.own_directory

    spool.after_fork_in_child()

    assert spool.own_directory != parent
    assert spool.append(payloads(1)) == 1
    assert drain(spool) == payloads(1)


# --- the in-memory fallback ----------------------------------------------------------------------------


def test_the_memory_spool_keeps_what_fits_its_byte_limit_exactly(tmp_path: Path) -> None:
    spool = MemorySpool(tmp_path, max_bytes=10)
    assert spool.append([b"abcd", b"efgh", b"ij", b"k"]) == 3  # 10 bytes exactly; one more does not fit
    assert spool.bytes_on_disk == 10
    assert spool.append([b"k"]) == 0
    assert drain(spool) == [b"abcd", b"efgh", b"ij"]
    assert spool.append([b"k"]) == 1


def test_the_memory_spool_forgets_exactly_the_committed_records(tmp_path: Path) -> None:
    spool = MemorySpool(tmp_path)
    spool.append(payloads(3))
    batch = spool.read_batch(10, 1 << 20)
    assert batch is not None
    spool.commit(batch, 0)
    assert spool.bytes_on_disk == sum(map(len, payloads(3)))
    spool.commit(batch, 1)
    assert spool.bytes_on_disk == sum(map(len, payloads(2, start=1)))
    assert drain(spool) == payloads(2, start=1)


def test_the_memory_spool_keeps_the_fsync_interval_the_syncer_paces_itself_by(
    tmp_path: Path, spools: list[Spool]
) -> None:
    spools.append(disk := Spool(tmp_path / "disk"))
    assert MemorySpool(tmp_path).fsync_interval == disk.fsync_interval == 0.05
    assert MemorySpool(tmp_path, fsync_interval=0.5).fsync_interval == 0.5


# --- HEC transport --------------------------------------------------------------------------------------


@pytest.fixture
def acked(splunk: SplunkEmulator, ack_token: str) -> Iterator[HecTransport]:
    """A transport for the token with indexer acknowledgement, on a channel."""
    assert splunk.ca_bundle is not None
    client = HecTransport(splunk.hec_url, Secret(ack_token), verify=splunk.ca_bundle, timeout=5.0)
    client.open_channel()
    yield client
    client.close()


def test_health_asks_the_collector_health_endpoint(splunk: SplunkEmulator, transport: HecTransport) -> None:
    healthy = transport.health()
    assert (healthy.status, healthy.code, healthy.verdict) == (200, 17, Verdict.ACCEPTED)
    splunk.configure(health_code=18)
    busy = transport.health()
    assert (busy.status, busy.code) == (503, 18)
    assert [(entry["method"], entry["path"]) for entry in splunk.requests_log("hec")] == [
        ("GET", HEALTH_PATH)
    ] * 2


def test_post_gzips_by_default_and_sends_plain_json_when_asked(
    splunk: SplunkEmulator, transport: HecTransport
) -> None:
    assert transport.post([event(1), event(2)]).verdict is Verdict.ACCEPTED
    assert transport.post([event(3)], compress=False).verdict is Verdict.ACCEPTED

    posts = [entry for entry in splunk.requests_log("hec") if entry["path"] == EVENT_PATH]
    assert [entry["status"] for entry in posts] == [200, 200]
    encodings = [
        {k.lower(): v for k, v in entry["headers"].items()}.get("content-encoding") for entry in posts
    ]
    assert encodings == ["gzip", None]
    assert [entry["gzip"] for entry in posts] == [True, False]
    assert sorted(e["event"]["number"] for e in splunk.events(index="main")) == [1, 2, 3]


def test_acknowledged_reports_the_ids_splunk_has_indexed(splunk: SplunkEmulator, acked: HecTransport) -> None:
    reply = acked.post([event(1)])
    assert reply.ack_id is not None
    assert acked.acknowledged([reply.ack_id]) == {reply.ack_id}
    splunk.configure(never_ack=True)
    pending = acked.post([event(2)])
    assert pending.ack_id is not None
    assert acked.acknowledged([pending.ack_id]) == set()
    assert any(entry["path"] == ACK_PATH and entry["status"] == 200 for entry in splunk.requests_log("hec"))


def test_wait_for_ack_returns_once_the_event_is_indexed(splunk: SplunkEmulator, acked: HecTransport) -> None:
    splunk.configure(ack_delay_ms=150)  # not acknowledged at the first poll
    reply = acked.post([event(1)])
    assert reply.ack_id is not None
    assert acked.wait_for_ack(reply.ack_id, timeout=10.0)


def test_wait_for_ack_gives_up_at_once_when_stopped(splunk: SplunkEmulator, acked: HecTransport) -> None:
    splunk.configure(never_ack=True)
    reply = acked.post([event(1)])
    assert reply.ack_id is not None
    stop = threading.Event()
    stop.set()  # the client is closing
    started = time.monotonic()
    assert not acked.wait_for_ack(reply.ack_id, timeout=60.0, stop=stop)
    assert time.monotonic() - started < 30.0  # not the 60 s timeout, however loaded the machine


class Clock:
    """A monotonic clock that moves only when the poller waits."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


class RecordingStop(threading.Event):
    """A stop event that is never set: records each wait and moves ``clock`` half a second."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        self.clock.now += 0.5
        return False


def test_wait_for_ack_polls_at_doubling_intervals_up_to_a_second_until_the_timeout(
    splunk: SplunkEmulator,
    acked: HecTransport,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="dsdl_golden.telemetry")
    splunk.configure(never_ack=True)
    reply = acked.post([event(1)])
    assert reply.ack_id is not None
    clock = Clock()
    monkeypatch.setattr(hec_module, "time", clock)
    stop = RecordingStop(clock)

    assert not acked.wait_for_ack(reply.ack_id, timeout=4.0, stop=stop)

    # polls at 0, 0.5, ... 3.5 s of the clock: none at the 4 s deadline
    assert stop.waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert sum(entry["path"] == ACK_PATH for entry in splunk.requests_log("hec")) == 8
    assert f"HEC did not acknowledge ackId {reply.ack_id} within 4 s" in [
        r.getMessage() for r in caplog.records
    ]


def test_a_reply_that_is_not_hec_json_reads_as_a_masked_one_line_summary(
    splunk: SplunkEmulator, transport: HecTransport, hec_token: str
) -> None:
    splunk.inject_fault(
        listener="hec",
        path=EVENT_PATH,
        status=502,
        body=f"<html><body><h1>502 Bad Gateway</h1><p>request from {hec_token}</p></body></html>",
    )
    reply = transport.post([event(1)])
    assert reply.status == 502
    assert reply.text.startswith("text/plain reply: 502 Bad Gateway request from ****")
    assert hec_token not in reply.text
    assert reply.describe() == f"HTTP 502 code=None {reply.text!r}"


def test_a_reply_without_a_body_has_no_text(splunk: SplunkEmulator, transport: HecTransport) -> None:
    splunk.inject_fault(listener="hec", path=EVENT_PATH, status=503)
    reply = transport.post([event(1)])
    assert (reply.status, reply.text, reply.verdict) == (503, "", Verdict.RETRY)
    assert reply.describe() == "HTTP 503 code=None ''"


def test_a_refused_connection_is_described_as_a_connection_failure(
    splunk: SplunkEmulator, transport: HecTransport
) -> None:
    splunk.pause("hec")
    try:
        reply = transport.post([event(1)])
    finally:
        splunk.resume("hec")
    assert (reply.status, reply.verdict) == (0, Verdict.RETRY)
    assert reply.describe().startswith("connection failed: ")
    assert reply.describe() == f"connection failed: {reply.text}"
    assert "Error" in reply.text
    assert "refused" in reply.text.lower()  # the reason, not only the exception's type
