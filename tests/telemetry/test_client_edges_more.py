"""More edges of the delivery client and of large metrics: what the caller's event becomes when it
cannot be sent or is exactly HEC's size limit, what the log says when the spool cannot be written or
closed, that a submitted event is fsynced and sent without waiting for a poll, indexer
acknowledgement (a batch counts only once HEC acknowledged it), the growth of the pauses between
retries, the per-event size of large array events, the warning naming arrays too large to send, what
telemetry that is off says, and the time, host and source of every event."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from delivery_testing import FakeHec, dead_letters, messages

from dsdl_golden import telemetry_helper
from dsdl_golden._telemetry import metric_events
from dsdl_golden._telemetry.client import MAX_EVENT_BYTES, DeliveryClient, DeliveryOptions, encode, serialise
from dsdl_golden._telemetry.hec import HecTransport, Reply
from dsdl_golden._telemetry.metric_events import ARRAY_EVENT_BYTES, array_event_bodies
from dsdl_golden._telemetry.spool import MemorySpool
from dsdl_golden.config import load_settings
from dsdl_golden.telemetry_helper import Telemetry


def client_of(
    clients: list[DeliveryClient], hec: FakeHec, spool: MemorySpool, **options: Any
) -> DeliveryClient:
    client = DeliveryClient(cast(HecTransport, hec), spool, DeliveryOptions(compress=False, **options))
    clients.append(client)
    return client


# encode: the field that cannot be serialised ----------------------------------------------------------


class Unprintable:
    """A model object whose text fails (a broken ``__str__``)."""

    def __str__(self) -> str:
        raise ValueError("no text")


def test_an_event_body_that_cannot_be_serialised_itself_is_named_as_the_empty_field() -> None:
    with pytest.raises(TypeError) as raised:
        encode({"event": Unprintable()})
    assert str(raised.value) == (
        "telemetry event cannot be sent to HEC: field '' (Unprintable) cannot be serialised: "
        "ValueError: no text"
    )


# what submit does with the caller's event ----------------------------------------------------------


def test_an_event_that_cannot_be_serialised_is_dead_lettered_as_its_repr_naming_the_field(
    clients: list[DeliveryClient], tmp_path: Path
) -> None:
    client = client_of(clients, FakeHec(), MemorySpool(tmp_path))
    event = {"event": "fit", "fields": {(1, 2): "pair"}}
    client.submit(event)
    (letter,) = dead_letters(tmp_path)
    assert letter["event"] == repr(event)
    assert letter["reason"] == (
        "event cannot be serialised: telemetry event cannot be sent to HEC: "
        "field 'fields' has the key (1, 2) (a tuple): use str keys"
    )
    assert (client.stats.queued, client.stats.dead_lettered) == (0, 1)


def test_an_event_of_exactly_hecs_limit_is_spooled_and_one_byte_more_is_dead_lettered(
    clients: list[DeliveryClient], tmp_path: Path
) -> None:
    client = client_of(clients, FakeHec(), MemorySpool(tmp_path))
    largest = b'"' + b"x" * (MAX_EVENT_BYTES - 2) + b'"'
    client.submit(largest)
    client.submit(largest[:-1] + b'x"')
    assert (client.stats.queued, client.stats.spooled) == (1, 1)
    (letter,) = dead_letters(tmp_path)
    assert letter["reason"] == f"event of {MAX_EVENT_BYTES + 1} bytes exceeds HEC's limit"
    assert client.stats.dead_lettered == 1


class BrokenDisk(MemorySpool):
    """A spool whose writes fail (disk full) or whose close fails."""

    def __init__(
        self, root: Path, *, write_error: OSError | None = None, close_error: OSError | None = None
    ) -> None:
        super().__init__(root, fsync_interval=0.01)
        self.write_error = write_error
        self.close_error = close_error

    def append(self, payloads: Any) -> int:
        if self.write_error is not None:
            raise self.write_error
        return super().append(payloads)

    def close(self) -> None:
        if self.close_error is not None:
            raise self.close_error
        super().close()


def test_a_failing_spool_write_loses_the_event_counts_it_and_logs_the_1st_and_10th_loss(
    clients: list[DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    full = OSError(28, "No space left on device")
    client = client_of(clients, FakeHec(), BrokenDisk(tmp_path, write_error=full))
    for _ in range(11):
        client.submit(b'{"n":0}')  # never raises
    assert (client.stats.queued, client.stats.spooled, client.stats.dropped_write_error) == (11, 0, 11)
    assert messages(caplog, "telemetry spool write failed") == [
        (logging.ERROR, f"telemetry spool write failed ({full}): {count} events lost so far")
        for count in (1, 10)
    ]
    assert client.stats_dict()["dropped_write_error"] == 11
    assert not client.flush(1.0)  # a loss


def test_a_spool_that_fails_to_close_is_logged_and_the_transport_is_still_closed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    error = OSError(5, "Input/output error")
    hec = FakeHec()
    client = DeliveryClient(cast(HecTransport, hec), BrokenDisk(tmp_path, close_error=error))
    assert client.close(timeout=2)
    assert messages(caplog, "telemetry spool close failed") == [
        (logging.ERROR, f"telemetry spool close failed: {error}")
    ]
    assert hec.closed


# the syncer and the sender wake on a write ------------------------------------------------------------


class CountedSyncs(MemorySpool):
    """A spool that counts its fsyncs."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, fsync_interval=0.01)
        self.syncs = 0

    def sync(self) -> None:
        self.syncs += 1


def test_a_submitted_event_is_fsynced_within_the_interval_without_a_call_to_sync(
    clients: list[DeliveryClient], tmp_path: Path
) -> None:
    spool = CountedSyncs(tmp_path)
    client = client_of(clients, FakeHec(), spool)
    time.sleep(0.05)
    assert spool.syncs == 0  # nothing written: nothing to fsync
    client.submit(b'{"n":0}')
    deadline = time.monotonic() + 3.0
    while spool.syncs == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert spool.syncs >= 1


def test_each_submitted_event_flushed_alone_is_sent_in_a_request_of_its_own(
    clients: list[DeliveryClient], tmp_path: Path
) -> None:
    hec = FakeHec()
    client = client_of(clients, hec, MemorySpool(tmp_path, fsync_interval=0.01))
    assert client.flush(2.0)
    rounds = 15
    for number in range(rounds):
        client.submit(f'{{"n":{number}}}'.encode())
        assert client.flush(2.0)
    assert hec.requests == [[f'{{"n":{number}}}'.encode()] for number in range(rounds)]
    assert (client.stats.sent, client.stats.batches) == (rounds, rounds)  # a batch per request


# indexer acknowledgement and retries ----------------------------------------------------------------


def test_an_acknowledged_batch_counts_only_once_hec_acknowledges_it_and_is_sent_again_until_then(
    tmp_path: Path,
) -> None:
    spool = MemorySpool(tmp_path, fsync_interval=0.01)
    assert spool.append([b'{"n":0}'])
    replies = [Reply(200, code=0, text="Success", ack_id=11), Reply(200, code=0, text="Success", ack_id=12)]
    hec = FakeHec(replies, acks=[False, True])  # the first request is never acknowledged
    options = DeliveryOptions(compress=False, ack_timeout=7.5, backoff_base=0.01)
    client = DeliveryClient(cast(HecTransport, hec), spool, options)
    try:
        assert client.flush(3.0)
        assert hec.requests == [[b'{"n":0}'], [b'{"n":0}']]
        assert [(ack_id, timeout) for ack_id, timeout, _ in hec.ack_waits] == [(11, 7.5), (12, 7.5)]
        stops = [stop for _, _, stop in hec.ack_waits]
        assert all(isinstance(stop, threading.Event) and not stop.is_set() for stop in stops)
        assert (client.stats.sent, client.stats.batches) == (1, 1)
    finally:
        client.close(timeout=2)
    assert all(stop.is_set() for stop in stops)  # closing interrupts a wait for an acknowledgement


def test_a_batch_accepted_with_a_warning_is_sent_and_the_warning_logged(
    clients: list[DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = MemorySpool(tmp_path, fsync_interval=0.01)
    assert spool.append([b'{"n":0}'])
    client = client_of(clients, FakeHec([Reply(200, code=17, text="Fields were dropped")]), spool)
    assert client.flush(3.0)
    assert messages(caplog, "HEC accepted") == [
        (logging.WARNING, "HEC accepted a batch with a warning: HTTP 200 code=17 'Fields were dropped'")
    ]


def test_the_pause_before_each_retry_doubles_from_the_base_up_to_the_cap_with_jitter_down_to_half(
    clients: list[DeliveryClient], tmp_path: Path, ranges: list[tuple[float, float]]
) -> None:
    spool = MemorySpool(tmp_path, fsync_interval=0.01)
    assert spool.append([b'{"n":0}'])
    busy = [Reply(503, text="busy")] * 4
    client = client_of(clients, FakeHec(busy), spool, backoff_base=0.01, backoff_cap=0.03)
    assert client.flush(3.0)
    expected = [(0.005, 0.01), (0.01, 0.02), (0.015, 0.03), (0.015, 0.03)]
    assert [bound for pair in ranges for bound in pair] == pytest.approx(
        [b for pair in expected for b in pair]
    )


# large arrays: how many rows one event holds ---------------------------------------------------------


def test_an_array_whose_row_takes_exactly_the_event_limit_is_sent_a_whole_row_per_event() -> None:
    array = np.zeros((2, 1, 255_997), dtype=np.int8)  # a row: [[0,0,...]] and a comma, 512,000 bytes at most
    bodies = list(array_event_bodies("embedding", array))
    assert [(body["start"], body["stop"], body["raveled"], body["parts"]) for body in bodies] == [
        (0, 1, False, 2),
        (1, 2, False, 2),
    ]
    assert all(len(serialise(body["values"])) <= ARRAY_EVENT_BYTES for body in bodies)


def test_rows_of_nested_lists_count_their_brackets_and_fill_each_event() -> None:
    array = np.zeros((10_000, 10, 1), dtype=np.int8)  # a row: 10 cells of "0," and 11 lists, 53 bytes
    bodies = list(array_event_bodies("scores", array))
    assert [(body["start"], body["stop"]) for body in bodies] == [(0, 9660), (9660, 10_000)]
    assert len(serialise(bodies[0]["values"])) <= ARRAY_EVENT_BYTES


# log_metrics: arrays too large to send --------------------------------------------------------------


class Captured:
    """A delivery client that keeps the serialised events."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def submit(self, payload: bytes) -> None:
        self.payloads.append(payload)


def test_arrays_too_large_to_send_are_all_named_in_the_warning_and_in_the_metric_event(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(metric_events, "ARRAY_MAX_BYTES", 100_000)
    captured = Captured()
    offline = Telemetry(load_settings({}), captured)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.telemetry"):
        offline.log_metrics(
            {"accuracy": 0.5, "confusion_matrix": np.ones((200, 200)), "embedding": np.zeros((300, 300))}
        )
    assert messages(caplog, "log_metrics") == [
        (
            logging.WARNING,
            "log_metrics: arrays confusion_matrix, embedding are larger than 100000 bytes of JSON: "
            "only their shape is sent",
        )
    ]
    events = [json.loads(payload) for payload in captured.payloads]
    assert [event["event"] for event in events] == ["metric"]  # no array events
    assert events[0]["fields"]["arrays_not_sent"] == "confusion_matrix,embedding"


# telemetry that is off, and the envelope of every event ------------------------------------------------


def test_telemetry_that_is_off_says_why_once_per_process_and_reason(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(telemetry_helper, "_said_disabled", set())
    unset = "splunk_hec_enabled is false or unset"
    off = [
        Telemetry(load_settings({}), None, disabled_reason=reason) for reason in (unset, unset, "no token")
    ]
    with caplog.at_level(logging.INFO, logger="dsdl_golden.telemetry"):
        for telemetry in [*off, *off]:
            telemetry.log_event("dropped")
            assert telemetry.flush()
    assert messages(caplog, "telemetry is off") == [
        (
            logging.INFO,
            f"telemetry is off ({reason}): events are dropped, not spooled; to send them to Splunk set "
            "splunk_hec_enabled=true, splunk_hec_url and splunk_hec_token",
        )
        for reason in (unset, "no token")
    ]


def test_every_event_carries_its_time_host_and_source() -> None:
    captured = Captured()
    telemetry = Telemetry(load_settings({}), captured)  # type: ignore[arg-type]
    before = time.time()
    telemetry.log_event("started")
    telemetry.log_metrics({"accuracy": 0.5})
    for event in (json.loads(payload) for payload in captured.payloads):
        assert before <= event["time"] <= time.time()
        assert (event["host"], event["source"]) == (socket.gethostname(), "dsdl-golden")
