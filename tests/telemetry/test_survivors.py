"""What users of the spool and the delivery client would notice: durability, damaged data, replay order,
the spool's size limit, and how delivery waits (backoff, Retry-After, indexer acknowledgement)."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from spool_testing import drain, payloads

from dsdl_golden._telemetry.client import DeliveryOptions
from dsdl_golden._telemetry.hec import ACK_PATH, EVENT_PATH
from dsdl_golden._telemetry.spool import Spool
from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.telemetry_helper import Telemetry, build_telemetry


def left_behind(root: Path, records: list[bytes]) -> Path:
    """The spool directory of a process that wrote ``records``, sent none and ended (lock released)."""
    spool = Spool(root)
    assert spool.append(records) == len(records)
    directory = spool.own_directory
    spool.close()
    return directory


# spool ------------------------------------------------------------------------------------------


def test_with_fsync_interval_zero_every_append_reaches_stable_storage_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []  # inode of each file fsynced
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    spool = Spool(tmp_path, fsync_interval=0)
    try:
        (segment,) = spool.own_directory.glob("seg-*.log")
        for number, record in enumerate(payloads(3), start=1):
            assert spool.append([record]) == 1
            assert synced.count(segment.stat().st_ino) == number  # this append's data, fsynced
    finally:
        spool.close()


def test_a_record_whose_payload_was_damaged_on_disk_is_quarantined_not_delivered(tmp_path: Path) -> None:
    directory = left_behind(tmp_path, payloads(10, start=100))
    (segment,) = directory.glob("seg-*.log")
    data = bytearray(segment.read_bytes())
    position = data.index(b'{"n":105}')
    data[position + 5] = ord("9")  # {"n":905}: still valid JSON, but not what was written
    segment.write_bytes(bytes(data))

    spool = Spool(tmp_path)
    try:
        received = drain(spool)
        assert b'{"n":905}' not in received
        assert received == [p for p in payloads(10, start=100) if p != b'{"n":105}']
        assert spool.skipped_regions == 1
        (quarantine,) = tmp_path.glob("quarantine-*")
        assert quarantine.read_bytes().endswith(b'{"n":905}')
    finally:
        spool.close()


def test_spools_of_dead_processes_are_replayed_oldest_first(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    root.mkdir()
    now = time.time()
    ages = {"oldest": 300, "middle": 200, "newest": 100}  # seconds since each process last wrote
    for order, (name, age) in enumerate(ages.items()):
        directory = left_behind(tmp_path / name, payloads(3, start=10 * order))
        moved = directory.rename(root / directory.name)
        os.utime(moved, (now - age, now - age))

    spool = Spool(root)
    try:
        assert drain(spool) == payloads(3) + payloads(3, start=10) + payloads(3, start=20)
    finally:
        spool.close()


def test_a_record_that_exactly_fills_the_spool_is_kept_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    record = b'{"n":1}'
    on_disk = 8 + len(record)  # length and CRC header, then the payload
    exact = Spool(tmp_path / "exact", max_bytes=2 * on_disk)
    short = Spool(tmp_path / "short", max_bytes=2 * on_disk - 1)
    try:
        assert exact.append([record, record, record]) == 2
        assert exact.bytes_on_disk == exact.max_bytes
        assert exact.append([record]) == 0
        assert short.append([record, record]) == 1
        assert drain(exact) == [record, record]
        assert exact.append([record]) == 1  # room again once sent
    finally:
        exact.close()
        short.close()


# delivery client ------------------------------------------------------------------------------------


@pytest.fixture
def client_with(settings_for: Callable[..., Settings]) -> Iterator[Callable[..., Telemetry]]:
    """Telemetry with delivery options of the test's choosing, closed at the end."""
    made: list[Telemetry] = []

    def make(options: DeliveryOptions, token: str | None = None) -> Telemetry:
        settings = settings_for() if token is None else settings_for(token=token)
        made.append(build_telemetry(settings, options=options))
        return made[-1]

    yield make
    for telemetry in made:
        telemetry.close(timeout=5)


def event_posts(splunk: SplunkEmulator) -> list[dict[str, Any]]:
    return [entry for entry in splunk.requests_log("hec") if entry["path"] == EVENT_PATH]


def gaps(entries: list[dict[str, Any]]) -> list[float]:
    """Seconds between the starts of successive requests."""
    return [later["time"] - earlier["time"] for earlier, later in itertools.pairwise(entries)]


@pytest.mark.timeout(30)
def test_retries_after_failures_wait_twice_as_long_each_time_up_to_the_cap(
    splunk: SplunkEmulator, client_with: Callable[..., Telemetry]
) -> None:
    splunk.inject_fault(listener="hec", path=EVENT_PATH, status=503, times=6)
    telemetry = client_with(DeliveryOptions(backoff_base=0.05, backoff_cap=0.2))
    telemetry.log_event({"number": 1})
    assert telemetry.flush(15)

    posts = event_posts(splunk)
    assert [entry["status"] for entry in posts] == [503] * 6 + [200]
    waits = gaps(posts)
    # the wait before retry n is drawn from [ceiling/2, ceiling], ceiling = min(0.2, 0.05 * 2**n)
    for wait, ceiling in zip(waits, [0.05, 0.1, 0.2, 0.2, 0.2, 0.2], strict=True):
        assert wait >= ceiling / 2, waits
    assert waits[5] < 0.8, waits  # capped at 0.2 s: without the cap the sixth wait would be 0.8 s or more


@pytest.mark.timeout(30)
def test_a_busy_answer_with_retry_after_delays_the_next_attempt_that_long(
    splunk: SplunkEmulator, client_with: Callable[..., Telemetry]
) -> None:
    splunk.inject_fault(listener="hec", path=EVENT_PATH, status=503, headers={"Retry-After": "1"}, times=1)
    telemetry = client_with(DeliveryOptions(backoff_base=0.05, backoff_cap=30.0))
    telemetry.log_event({"number": 1})
    assert telemetry.flush(15)

    posts = event_posts(splunk)
    assert [entry["status"] for entry in posts] == [503, 200]
    (wait,) = gaps(posts)
    assert 1.0 <= wait < 10.0  # Retry-After's 1 s, not the 0.05 s backoff (nor the 30 s cap)
    (event,) = splunk.events(index="main")
    assert event["event"]["number"] == 1


@pytest.mark.timeout(30)
def test_with_indexer_acknowledgement_events_count_as_sent_only_once_acknowledged_and_are_resent_otherwise(
    splunk: SplunkEmulator, client_with: Callable[..., Telemetry], ack_token: str
) -> None:
    splunk.configure(never_ack=True)
    telemetry = client_with(
        DeliveryOptions(ack_timeout=0.3, backoff_base=0.05, backoff_cap=0.1), token=ack_token
    )
    telemetry.log_event({"number": 1})

    assert not telemetry.flush(1.5)  # indexed but never acknowledged: not sent yet
    on_channel = [entry for entry in event_posts(splunk) if entry["status"] == 200]
    assert len(on_channel) >= 2  # resent after each acknowledgement timeout
    assert min(gaps(on_channel)) >= 0.3
    assert any(entry["path"] == ACK_PATH for entry in splunk.requests_log("hec"))

    splunk.configure(never_ack=False)
    assert telemetry.flush(10)
    numbers = {event["event"]["number"] for event in splunk.events(index="main")}
    assert numbers == {1}  # at least once: the resent copies carry the same event_id
