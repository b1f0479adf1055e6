"""More telemetry than one batch, one spool segment or one metric event: every event arrives exactly once.

The delivery client posts the spooled events in batches of at most ``batch_events`` (2,500) events
and ``batch_bytes`` (800,000 bytes of JSON); the disk spool keeps them in segment files of 4 MiB and
is read ahead of the batch in flight; the memory spool (for an unusable spool directory) is read the
same way; ``log_metrics`` splits more than ``MAX_MEASUREMENTS_PER_EVENT`` (1,000) measurements over
metric events. Each test crosses one of these limits and checks, against the Splunk emulator or an
independent computation, that nothing is lost, repeated or reordered at the edge.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dsdl_golden._telemetry.client import DeliveryOptions, encode
from dsdl_golden._telemetry.hec import EVENT_PATH
from dsdl_golden._telemetry.metric_events import MAX_MEASUREMENTS_PER_EVENT
from dsdl_golden._telemetry.spool import Batch, MemorySpool, Spool
from dsdl_golden.config import Settings, load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.telemetry_helper import Telemetry, build_telemetry

OPTIONS = DeliveryOptions()
BATCH_EVENTS, BATCH_BYTES = 2500, 800_000  # the delivery client's defaults
SEGMENT_BYTES = 4 * 1024 * 1024  # the disk spool's default segment size
HEADER_BYTES = 8  # each spooled record: u32 length, u32 CRC, then the payload
MEASUREMENT = "metric_name:"


def test_the_limits_are_the_ones_these_inputs_cross() -> None:
    assert (OPTIONS.batch_events, OPTIONS.batch_bytes) == (BATCH_EVENTS, BATCH_BYTES)
    assert MAX_MEASUREMENTS_PER_EVENT == 1000


def expected_batches(sizes: list[int], max_events: int, max_bytes: int) -> list[int]:
    """Events per batch: filled in order while under both limits (a first event larger than
    ``max_bytes`` goes alone), computed independently of the spool."""
    batches: list[int] = []
    count = total = 0
    for size in sizes:
        if count and (count == max_events or total + size > max_bytes):
            batches.append(count)
            count = total = 0
        count, total = count + 1, total + size
    return [*batches, count] if count else batches


def numbered_event(number: int, size: int | None = None) -> bytes:
    """An HEC event for index main carrying ``number``, padded to exactly ``size`` bytes of JSON."""
    event: dict[str, Any] = {"event": {"number": number, "pad": ""}, "index": "main", "sourcetype": "large"}
    if size is not None:
        event["event"]["pad"] = "p" * (size - len(encode(event)))
    payload = encode(event)
    assert size is None or len(payload) == size
    return payload


def numbers_in_arrival_order(splunk: SplunkEmulator) -> list[int]:
    return [event["event"]["number"] for event in splunk.events(index="main") if "number" in event["event"]]


def events_per_post(splunk: SplunkEmulator) -> list[int]:
    """Events in each HEC request that was accepted, in order."""
    posts = [entry for entry in splunk.requests_log("hec") if entry["path"] == EVENT_PATH]
    assert all(entry["status"] == 200 for entry in posts), [entry["status"] for entry in posts]
    return [entry["events"] for entry in posts]


def assert_every_number_once_in_order(splunk: SplunkEmulator, count: int) -> None:
    assert numbers_in_arrival_order(splunk) == list(range(count))


# --- the delivery client's batches, against the emulator -----------------------------------------


def left_behind(root: Path, payloads: list[bytes]) -> None:
    """The spool of a process that wrote ``payloads``, sent none of them and ended."""
    spool = Spool(root)
    assert spool.append(payloads) == len(payloads)
    spool.close()


@pytest.mark.integration
@pytest.mark.parametrize(
    ("count", "size"),
    [
        pytest.param(BATCH_EVENTS + 1, None, id="one-event-past-the-event-limit"),
        pytest.param(2 * (BATCH_BYTES // 1000) + 1, 1000, id="one-event-past-two-byte-limits"),
    ],
)
def test_a_spool_of_more_than_one_batch_is_sent_in_full_batches_every_event_once_in_order(
    splunk: SplunkEmulator,
    settings_for: Callable[..., Settings],
    tmp_path: Path,
    count: int,
    size: int | None,
) -> None:
    payloads = [numbered_event(number, size) for number in range(count)]
    left_behind(tmp_path / "spool", payloads)  # all there before the client starts: batches are full

    telemetry = build_telemetry(settings_for())
    try:
        assert telemetry.flush(30), telemetry.stats()
    finally:
        telemetry.close()

    assert_every_number_once_in_order(splunk, count)
    expected = expected_batches(list(map(len, payloads)), BATCH_EVENTS, BATCH_BYTES)
    assert len(expected) > 1
    assert events_per_post(splunk) == expected


@pytest.fixture
def telemetry_in_memory(settings_for: Callable[..., Settings], tmp_path: Path) -> Iterator[Telemetry]:
    """Telemetry whose spool directory cannot be made (a file is in the way): events wait in memory."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the spool directory should be")
    telemetry = build_telemetry(settings_for(GOLDEN_SPOOL_DIR=str(blocker / "spool")))
    assert telemetry.stats()["spool_in_memory"] == 1
    yield telemetry
    telemetry.close()


@pytest.mark.integration
@pytest.mark.parametrize("spool", ["disk", "memory"])
def test_logging_more_events_than_one_batch_delivers_each_once_in_order(
    splunk: SplunkEmulator, request: pytest.FixtureRequest, spool: str
) -> None:
    telemetry: Telemetry = request.getfixturevalue("telemetry" if spool == "disk" else "telemetry_in_memory")
    count = BATCH_EVENTS + 100
    for number in range(count):
        telemetry.log_event({"number": number})
    assert telemetry.flush(30), telemetry.stats()

    assert_every_number_once_in_order(splunk, count)
    ids = Counter(event["fields"]["event_id"] for event in splunk.events(index="main"))
    assert len(ids) == count
    assert max(ids.values()) == 1
    posts = events_per_post(splunk)
    assert sum(posts) == count
    assert max(posts) <= BATCH_EVENTS


# --- the spools, read as the client reads them --------------------------------------------------


def read_as_the_client_does(spool: Spool | MemorySpool, max_events: int, max_bytes: int) -> list[list[bytes]]:
    """Every batch, each read ahead while the one before it is still uncommitted (in flight)."""
    batches: list[list[bytes]] = []
    batch: Batch | None = spool.read_batch(max_events, max_bytes)
    while batch is not None:
        ahead = spool.read_batch(max_events, max_bytes, after=batch)
        spool.commit(batch, len(batch.payloads))
        batches.append(batch.payloads)
        batch = ahead
    return batches


def test_a_disk_spool_of_two_segments_is_read_back_whole_in_batches_across_the_segment_edge(
    tmp_path: Path,
) -> None:
    payloads = [numbered_event(number, 1000) for number in range(5000)]  # 5 MB: two segments of 4 MiB
    per_segment = SEGMENT_BYTES // (HEADER_BYTES + 1000)
    assert per_segment % (BATCH_BYTES // 1000) != 0  # the segment edge falls inside a batch
    spool = Spool(tmp_path)
    try:
        for start in range(0, len(payloads), 100):
            assert spool.append(payloads[start : start + 100]) == 100
        segments = sorted(spool.own_directory.glob("seg-*.log"))
        assert len(segments) == 2

        batches = read_as_the_client_does(spool, BATCH_EVENTS, BATCH_BYTES)

        assert [payload for batch in batches for payload in batch] == payloads
        assert list(map(len, batches)) == expected_batches([1000] * 5000, BATCH_EVENTS, BATCH_BYTES)
        assert not spool.pending()
        assert spool.bytes_on_disk == 0
        assert not segments[0].exists()  # the first segment, all sent, is freed
    finally:
        spool.close()


def test_a_memory_spool_of_more_than_one_batch_is_read_back_whole_in_batches(tmp_path: Path) -> None:
    sizes = [1000] * (BATCH_BYTES // 1000 + 1) + [100] * (BATCH_EVENTS + 1)
    payloads = [numbered_event(number, size) for number, size in enumerate(sizes)]
    spool = MemorySpool(tmp_path)
    assert spool.append(payloads) == len(payloads)

    batches = read_as_the_client_does(spool, BATCH_EVENTS, BATCH_BYTES)

    assert [payload for batch in batches for payload in batch] == payloads
    assert list(map(len, batches)) == expected_batches(sizes, BATCH_EVENTS, BATCH_BYTES)
    assert len(batches) > 2
    assert not spool.pending()
    assert spool.bytes_on_disk == 0


# --- measurements split over metric events ----------------------------------------------------------


class Capture:
    """A delivery client that keeps the serialised events."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def submit(self, payload: bytes) -> None:
        self.payloads.append(payload)

    def metric_fields(self) -> list[dict[str, Any]]:
        return [event["fields"] for event in map(json.loads, self.payloads) if event["event"] == "metric"]


def measurements(count: int) -> dict[str, float]:
    return {f"m{index:04d}": index / 8 for index in range(count)}


def test_a_thousand_measurements_make_one_metric_event_and_one_more_makes_two() -> None:
    for count, parts in [(MAX_MEASUREMENTS_PER_EVENT, 1), (MAX_MEASUREMENTS_PER_EVENT + 1, 2)]:
        capture = Capture()
        Telemetry(load_settings({}), capture).log_metrics(measurements(count), stage="test")  # type: ignore[arg-type]

        events = capture.metric_fields()
        assert len(events) == parts
        sent = [
            (key.removeprefix(MEASUREMENT), value)
            for event in events
            for key, value in event.items()
            if key.startswith(MEASUREMENT)
        ]
        assert sent == list(measurements(count).items())  # each once, in order
        per_event = [sum(key.startswith(MEASUREMENT) for key in event) for event in events]
        assert per_event == ([count] if parts == 1 else [MAX_MEASUREMENTS_PER_EVENT, 1])
        if parts == 1:
            assert not {"metrics_id", "metrics_part", "metrics_parts"} & set(events[0])
        else:
            assert [event["metrics_part"] for event in events] == [1, 2]
            assert {event["metrics_id"] for event in events} == {events[0]["event_id"]}


@pytest.mark.integration
def test_every_measurement_of_more_than_two_metric_events_arrives_once(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    count = 2 * MAX_MEASUREMENTS_PER_EVENT + 1
    telemetry.log_metrics(measurements(count), stage="test", fold=2)
    assert telemetry.flush(30), telemetry.stats()

    points = splunk.events(index="golden_metrics", kind="metric")
    assert sorted((point["metric_name"], point["value"]) for point in points) == sorted(
        measurements(count).items()
    )
    per_event = Counter(point["fields"]["metrics_part"] for point in points)
    assert per_event == {1: MAX_MEASUREMENTS_PER_EVENT, 2: MAX_MEASUREMENTS_PER_EVENT, 3: 1}
    assert {(point["fields"]["stage"], point["fields"]["fold"]) for point in points} == {("test", 2)}
