"""What the telemetry spool, the shaping of large metric arrays and the Telemetry object promise, at
the edges the other telemetry tests leave open.

Spool: the directories of dead processes are adopted whole, in order, once, past a live process and
an empty directory; nonsense cursors are counted and named in the log; torn ends right after a header
and one stray byte after the last record are skipped and counted, not delivered and not lost track of;
one-byte records are records; a segment already removed does not break a commit; no descriptor is
left open; the lock and segment files are the owner's only; a forked child writes into a directory
of its own and the at-fork hook reports no error. Dead directories are built byte for byte in the
documented layout (``<u32 length><u32 crc32><payload>``, then the zeros a killed process leaves).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import socket
import sys
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from spool_testing import HEADER, drain, payloads, record

from dsdl_golden._telemetry.client import DeliveryClient, serialise
from dsdl_golden._telemetry.metric_events import ARRAY_EVENT_BYTES, array_event_bodies
from dsdl_golden._telemetry.spool import Spool
from dsdl_golden.config import load_settings
from dsdl_golden.telemetry_helper import Telemetry

PREALLOCATED = bytes(4096)  # the zeros a killed process leaves after its records


def dead_process(
    root: Path, name: str, segments: dict[int, bytes], *, cursor: str | None = None, mtime: int | None = None
) -> Path:
    """The directory ``name`` of a killed process: ``segments`` (number -> bytes, then zeros)."""
    directory = root / name
    directory.mkdir(parents=True)
    for number, data in segments.items():
        (directory / f"seg-{number:012d}.log").write_bytes(data + PREALLOCATED)
    if cursor is not None:
        (directory / "cursor").write_text(cursor)
    if mtime is not None:
        os.utime(directory, (mtime, mtime))
    return directory


def open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


# --- adopting the spools of dead processes ------------------------------------------------------------


def test_every_dead_process_is_replayed_in_order_past_a_live_process_and_an_empty_directory(
    tmp_path: Path, spools: list[Spool]
) -> None:
    spools.append(live := Spool(tmp_path))
    assert live.append(payloads(2, start=100)) == 2
    os.utime(live.own_directory, (1000, 1000))  # the oldest directory: its process is alive
    empty = dead_process(tmp_path, "deadhost-1-00000001", {}, mtime=2000)
    dead_process(tmp_path, "deadhost-2-00000002", {1: b"".join(map(record, payloads(3)))}, mtime=3000)
    dead_process(
        tmp_path, "deadhost-3-00000003", {1: b"".join(map(record, payloads(2, start=3)))}, mtime=4000
    )

    spools.append(spool := Spool(tmp_path))
    assert drain(spool) == payloads(5)
    assert not empty.exists()
    assert live.own_directory.exists()
    assert drain(live) == payloads(2, start=100)


def test_each_nonsense_cursor_is_counted_and_named_in_an_error(
    tmp_path: Path, spools: list[Spool], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="dsdl_golden.telemetry")
    dead_process(tmp_path, "deadhost-1-0000000a", {1: record(b'{"n":0}')}, cursor="-1 0", mtime=1000)
    dead_process(tmp_path, "deadhost-2-0000000b", {1: record(b'{"n":1}')}, cursor="nonsense", mtime=2000)

    spools.append(spool := Spool(tmp_path))
    assert spool.bad_cursors == 2
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("spool cursor")] == [
        "spool cursor of deadhost-1-0000000a makes no sense ((-1, 0)): replaying all of it "
        "(duplicates are possible)",
        "spool cursor of deadhost-2-0000000b makes no sense (None): replaying all of it "
        "(duplicates are possible)",
    ]
    assert drain(spool) == payloads(2)


def test_adopting_a_dead_process_says_how_many_bytes_it_replays(
    tmp_path: Path, spools: list[Spool], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dsdl_golden.telemetry")
    data = b"".join(map(record, payloads(3)))
    dead_process(tmp_path, "deadhost-7-00000007", {1: data})

    spools.append(Spool(tmp_path))
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("replaying")] == [
        f"replaying {len(data)} spooled bytes left by deadhost-7-00000007"
    ]


def test_adopting_and_sending_dead_spools_leaves_no_descriptor_open(tmp_path: Path) -> None:
    before = open_descriptors()
    empty = dead_process(tmp_path, "deadhost-1-00000001", {}, mtime=1000)
    full = dead_process(tmp_path, "deadhost-2-00000002", {1: record(b'{"n":0}')}, mtime=2000)
    spool = Spool(tmp_path)
    assert drain(spool) == [b'{"n":0}']
    spool.close()
    assert not empty.exists()
    assert not full.exists()
    assert open_descriptors() == before


# --- damaged ends ------------------------------------------------------------------------------------


def test_a_torn_end_right_after_a_header_is_skipped_and_nothing_more_is_read(
    tmp_path: Path, spools: list[Spool]
) -> None:
    bare_header = HEADER.pack(5, 0x01020304)  # killed after the header, before its 5 bytes
    dead_process(tmp_path, "deadhost-1-00000001", {1: record(b'{"n":0}') + bare_header})

    spools.append(spool := Spool(tmp_path))
    first = spool.read_batch(1000, 1 << 20)
    assert first is not None
    assert first.payloads == [b'{"n":0}']
    spool.commit(first, 1)
    assert spool.read_batch(1000, 1 << 20) is None
    assert (spool.skipped_regions, spool.skipped_bytes) == (1, HEADER.size)
    assert not spool.pending()


def test_an_event_larger_than_a_batch_then_a_torn_header_is_sent_alone_and_the_header_skipped(
    tmp_path: Path, spools: list[Spool]
) -> None:
    big = b'{"text":"' + b"x" * 100 + b'"}'
    dead_process(tmp_path, "deadhost-1-00000001", {1: record(big) + HEADER.pack(5, 0x01020304)})

    spools.append(spool := Spool(tmp_path))
    first = spool.read_batch(2, 50)  # the event alone is over 50 bytes: it goes alone
    assert first is not None
    assert first.payloads == [big]
    spool.commit(first, 1)
    assert spool.read_batch(2, 50) is None
    assert (spool.skipped_regions, spool.skipped_bytes) == (1, HEADER.size)


def test_a_stray_byte_after_the_last_record_is_quarantined_when_events_are_sent_one_at_a_time(
    tmp_path: Path, spools: list[Spool]
) -> None:
    dead, first = "deadhost-1-00000001", record(b'{"n":0}')
    dead_process(tmp_path, dead, {1: first + b"\x01"})

    spools.append(spool := Spool(tmp_path))
    assert drain(spool, max_events=1) == [b'{"n":0}']
    assert (spool.skipped_regions, spool.skipped_bytes) == (1, 1)
    assert (tmp_path / f"quarantine-{dead}-1-{len(first)}.bin").read_bytes() == b"\x01"


def test_one_byte_records_are_delivered_not_taken_for_damage(tmp_path: Path, spools: list[Spool]) -> None:
    spools.append(spool := Spool(tmp_path))
    assert spool.append([b"1", b"2", b'{"n":3}']) == 3
    assert drain(spool) == [b"1", b"2", b'{"n":3}']
    assert spool.skipped_regions == 0


def test_a_sent_segment_already_removed_does_not_break_the_commit(
    tmp_path: Path, spools: list[Spool]
) -> None:
    dead = dead_process(tmp_path, "deadhost-1-00000001", {1: record(b'{"n":0}'), 2: record(b'{"n":1}')})
    spools.append(spool := Spool(tmp_path))
    batch = spool.read_batch(1000, 1 << 20)
    assert batch is not None
    assert batch.payloads == [b'{"n":0}', b'{"n":1}']
    (dead / "seg-000000000001.log").unlink()  # removed by hand meanwhile
    spool.commit(batch, 2)
    assert not dead.exists()
    assert not spool.pending()


# --- syncing -----------------------------------------------------------------------------------------


def test_sync_reaches_the_disk_only_for_records_written_since_the_last_sync(
    tmp_path: Path, spools: list[Spool], fsyncs: list[int]
) -> None:
    spools.append(spool := Spool(tmp_path, fsync_interval=0.5))
    spool.sync()
    assert fsyncs == []  # nothing written yet
    assert spool.append(payloads(2)) == 2
    spool.sync()
    spool.sync()
    assert len(fsyncs) == 1


# --- the spool directory -----------------------------------------------------------------------------


def test_a_spool_directory_whose_parents_are_missing_is_created(tmp_path: Path, spools: list[Spool]) -> None:
    root = tmp_path / "not" / "yet" / "spool"
    spools.append(spool := Spool(root))
    assert spool.own_directory.parent == root
    assert spool.append(payloads(1)) == 1
    assert drain(spool) == payloads(1)


def test_the_own_directory_is_named_host_pid_and_eight_hex_digits(
    tmp_path: Path, spools: list[Spool]
) -> None:
    spools.append(spool := Spool(tmp_path))
    pattern = f"{re.escape(socket.gethostname())}-{os.getpid()}-[0-9a-f]{{8}}"
    assert re.fullmatch(pattern, spool.own_directory.name)


def test_the_lock_and_segment_files_can_be_read_by_their_owner_only(
    tmp_path: Path, spools: list[Spool]
) -> None:
    umask = os.umask(0o022)
    try:
        spools.append(spool := Spool(tmp_path))
        assert spool.append(payloads(1)) == 1
    finally:
        os.umask(umask)
    modes = {path.name: path.stat().st_mode & 0o777 for path in spool.own_directory.iterdir()}
    assert modes == {"lock": 0o600, "seg-000000000001.log": 0o600}


# --- fork --------------------------------------------------------------------------------------------


def test_a_forked_child_writes_into_a_directory_of_its_own_and_the_fork_hooks_raise_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook_errors: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: hook_errors.append(repr(info.exc_value)))
    closed = Spool(tmp_path / "closed")
    closed.close()  # empty: its directory is gone
    forgotten = Spool(tmp_path / "forgotten")
    forgotten.close()
    del forgotten
    gc.collect()
    spool = Spool(tmp_path / "live")
    assert spool.append(payloads(1)) == 1
    parent_directory = spool.own_directory

    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and never returns
        try:
            report = {
                "directory": str(spool.own_directory),
                "appended": spool.append(payloads(1, start=1)),
                "pending": drain(spool),
                "closed": sorted(path.name for path in (tmp_path / "closed").iterdir()),
                "errors": hook_errors,
            }
            os.write(writing, json.dumps(report, default=bytes.decode).encode())
        finally:
            os._exit(0)
    os.close(writing)
    with os.fdopen(reading, "rb") as stream:
        text = stream.read()
    os.waitpid(child, 0)
    report = json.loads(text)
    assert report["directory"] != str(parent_directory)
    assert Path(report["directory"]).parent == tmp_path / "live"
    assert report["appended"] == 1
    assert report["pending"] == ['{"n":1}']  # the parent's record is the parent's to send
    assert report["closed"] == []  # a closed spool stays closed in the child
    assert report["errors"] == []
    assert drain(spool) == payloads(1)
    spool.close()


# --- large metric arrays -----------------------------------------------------------------------------


def test_an_array_whose_rows_are_too_large_is_sent_in_parts_of_as_many_cells_as_fit() -> None:
    array = np.zeros((2, 30_000))  # a row: 30,000 floats of up to 25 bytes, more than one event holds
    bodies = list(array_event_bodies("scores", array))
    per_event = ARRAY_EVENT_BYTES // len("-2.2250738585072014e-308,")
    assert [
        (body["start"], body["stop"], body["raveled"], body["part"], body["parts"]) for body in bodies
    ] == [
        (0, per_event, True, 1, 3),
        (per_event, 2 * per_event, True, 2, 3),
        (2 * per_event, 60_000, True, 3, 3),
    ]


def test_float32_array_cells_are_sent_as_their_shortest_decimal_text() -> None:
    array = np.full((2, 300), 0.1, dtype=np.float32)
    (body,) = array_event_bodies("scores", array)
    text = serialise(body["values"])
    assert text == b"[" + b",".join([b"[" + b",".join([b"0.1"] * 300) + b"]"] * 2) + b"]"


# --- the Telemetry object ----------------------------------------------------------------------------


class Captured:
    """A delivery client that keeps the events handed to it."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def submit(self, payload: bytes) -> None:
        self.events.append(json.loads(payload))


IMAGE = {
    "GOLDEN_IMAGE_NAME": "golden-dsdl",
    "GOLDEN_IMAGE_VERSION": "5.2.1",
    "GOLDEN_IMAGE_REVISION": "0a1b2c3",
    "GOLDEN_IMAGE_DIGEST": "sha256:" + "e" * 64,
}


def test_the_run_context_names_the_model_and_the_image_and_events_carry_it() -> None:
    captured = Captured()
    telemetry = Telemetry(load_settings(IMAGE), cast(DeliveryClient, captured))
    assert list(telemetry.context) == [
        "project",
        "use_case",
        "model",
        "run_id",
        "image_name",
        "image_version",
        "image_revision",
        "image_digest",
    ]
    assert telemetry.context["model"] is None
    telemetry.log_event({"number": 1})
    telemetry.log_event({"number": 2})
    first, second = (event["fields"] for event in captured.events)
    assert {key: first[key] for key in ("image_name", "image_version", "image_revision", "image_digest")} == {
        "image_name": "golden-dsdl",
        "image_version": "5.2.1",
        "image_revision": "0a1b2c3",
        "image_digest": "sha256:" + "e" * 64,
    }
    assert re.fullmatch(r"[0-9a-f]{16}-0", first["event_id"])
    assert second["event_id"] == first["event_id"][:-1] + "1"


def test_a_telemetry_without_delivery_and_reason_says_disabled_and_closes_fine() -> None:
    telemetry = Telemetry(load_settings({}), None)
    assert repr(telemetry) == "Telemetry(disabled: )"
    assert telemetry.close() is True


def test_a_context_value_that_cannot_be_text_is_refused_naming_it() -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    telemetry = Telemetry(load_settings({}), None)
    with pytest.raises(TypeError) as raised:
        telemetry.set_context(dataset=Unprintable())
    assert str(raised.value) == (
        "telemetry field 'dataset' (Unprintable) cannot be shown as text: RuntimeError: no text"
    )
