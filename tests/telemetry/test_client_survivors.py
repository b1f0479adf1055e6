"""What users of the delivery client see that other tests leave open: the names of its background
threads (and that they never keep a finished program alive), the counters of ``stats_dict`` for a
disk and a memory spool, the warnings of losses since the last flush or sync (by how many, dead
letters once per cause at a flush), ``state`` while HEC fails, the pauses before retries starting
again from the base after a success, events sent uncompressed when compression is off, a failing
fsync, closing with a request still in flight, and the Retry-After seconds read from HEC's reply."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, cast

import pytest
from delivery_testing import OK, FakeHec, event, messages

from dsdl_golden._telemetry.client import DeliveryClient, DeliveryOptions, dead_letter_path
from dsdl_golden._telemetry.hec import EVENT_PATH, HecTransport, Reply
from dsdl_golden._telemetry.spool import MemorySpool, Spool
from dsdl_golden.emulator import SplunkEmulator

BUSY = Reply(503, text="busy")
SINCE_FLUSH = "telemetry flush: events not delivered since the last flush: "


class Unprintable:
    """A model object whose text fails: an event holding it cannot be serialised."""

    def __str__(self) -> str:
        raise ValueError("no text")


UNSERIALISABLE = {"event": {"model": Unprintable()}}


def started(
    clients: list[DeliveryClient], transport: Any, spool: Spool | MemorySpool, **options: Any
) -> DeliveryClient:
    client = DeliveryClient(cast(HecTransport, transport), spool, DeliveryOptions(**options))
    clients.append(client)
    return client


def memory_spool(root: Path, spooled: list[bytes] | None = None, **arguments: Any) -> MemorySpool:
    """A memory spool that fsyncs within 10 ms, already holding ``spooled``."""
    spool = MemorySpool(root, fsync_interval=0.01, **arguments)
    assert spool.append(spooled or []) == len(spooled or [])
    return spool


# the background threads ---------------------------------------------------------------------------


def test_the_threads_of_a_client_are_named_and_its_syncer_and_sender_never_keep_a_program_alive(
    clients: list[DeliveryClient], tmp_path: Path
) -> None:
    before = set(threading.enumerate())
    client = started(clients, FakeHec(), memory_spool(tmp_path))
    client.submit(b'{"n":0}')
    assert client.flush(5.0)
    threads = sorted((thread.name, thread.daemon) for thread in set(threading.enumerate()) - before)
    assert threads == [
        ("golden-telemetry-post_0", True),  # the sender's request thread, a daemon like the sender
        ("golden-telemetry-sender", True),
        ("golden-telemetry-syncer", True),
    ]


# stats_dict -----------------------------------------------------------------------------------------


def test_the_counters_of_a_client_on_a_disk_spool_say_it_is_not_in_memory(
    clients: list[DeliveryClient], tmp_path: Path
) -> None:
    client = started(clients, FakeHec(), Spool(tmp_path / "spool", fsync_interval=0.01))
    client.submit(b'{"n":0}')
    assert client.flush(5.0)
    assert client.stats_dict() == {
        "queued": 1,
        "spooled": 1,
        "sent": 1,
        "batches": 1,
        "retries": 0,
        "dropped_spool_full": 0,
        "dropped_write_error": 0,
        "dead_lettered": 0,
        "corrupt_bytes_skipped": 0,
        "corrupt_records_skipped": 0,
        "spool_in_memory": 0,
    }


def test_the_counters_of_a_client_on_a_memory_spool_say_it_is_in_memory(
    clients: list[DeliveryClient], tmp_path: Path
) -> None:
    client = started(clients, FakeHec(), memory_spool(tmp_path))
    assert client.stats_dict()["spool_in_memory"] == 1
    assert not client.lost()


# losses since the last flush or sync --------------------------------------------------------------------


def test_a_flush_warns_of_the_events_dropped_since_the_last_flush_by_how_many(
    clients: list[DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = started(clients, FakeHec(), memory_spool(tmp_path, max_bytes=0))  # nothing fits
    client.submit(b'{"n":0}')
    client.submit(b'{"n":1}')
    assert not client.flush(5.0)
    client.submit(b'{"n":2}')
    assert not client.flush(5.0)
    assert not client.flush(5.0)  # nothing new: no warning
    assert messages(caplog, "telemetry flush") == [
        (logging.WARNING, SINCE_FLUSH + "{'dropped_spool_full': 2}"),
        (logging.WARNING, SINCE_FLUSH + "{'dropped_spool_full': 1}"),
    ]


def test_a_flush_warns_of_dead_letters_once_per_cause_and_of_other_losses_together(
    clients: list[DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = started(clients, FakeHec(), memory_spool(tmp_path, max_bytes=0))
    client.submit(UNSERIALISABLE)
    client.submit(b'{"n":0}')
    assert not client.flush(5.0)
    kept = dead_letter_path(tmp_path)
    assert messages(caplog, "telemetry flush") == [
        (logging.WARNING, SINCE_FLUSH + "{'dropped_spool_full': 1}")
    ]
    assert messages(caplog, "telemetry: ") == [
        (
            logging.WARNING,
            "telemetry: 1 events were not delivered (event cannot be serialised): give str keys and values "
            f"that are numbers, strings or lists of them; they are kept in {kept}",
        )
    ]


def test_a_sync_warns_of_dead_letters_together_with_other_losses_not_per_cause(
    clients: list[DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = started(clients, FakeHec(), memory_spool(tmp_path))
    client.submit(UNSERIALISABLE)
    assert client.sync(5.0) is False
    assert client.sync(5.0) is True  # reported once
    assert messages(caplog, "telemetry sync") == [
        (logging.WARNING, "telemetry sync: events not delivered since the last sync: {'dead_lettered': 1}")
    ]
    assert messages(caplog, "telemetry: ") == []  # the causes are told at a flush


# state and retries ----------------------------------------------------------------------------------


def test_the_state_is_spooling_only_while_the_last_request_failed(
    clients: list[DeliveryClient], tmp_path: Path
) -> None:
    states: list[str] = []
    ready = threading.Event()
    started_clients: list[DeliveryClient] = []
    replies = iter([OK, Reply(503, text="busy", retry_after=0.01)])

    def answer(events: list[bytes]) -> Reply:
        assert ready.wait(5.0)
        states.append(started_clients[0].state)
        return next(replies, OK)

    spool = memory_spool(tmp_path, [b'{"n":0}', b'{"n":1}'])
    client = started(clients, FakeHec(answer=answer), spool, compress=False, batch_events=1)
    started_clients.append(client)
    ready.set()
    assert client.flush(5.0)
    assert states == ["delivering", "delivering", "spooling"]  # before the 1st, 2nd and 2nd again


def test_the_pause_before_a_retry_starts_again_from_the_base_after_a_success(
    clients: list[DeliveryClient], tmp_path: Path, ranges: list[tuple[float, float]]
) -> None:
    hec = FakeHec([BUSY, BUSY, OK, BUSY])
    client = started(clients, hec, memory_spool(tmp_path, [b'{"n":0}']), backoff_base=0.01, backoff_cap=1.0)
    assert client.flush(5.0)
    client.submit(b'{"n":1}')
    assert client.flush(5.0)
    bounds = [bound for pair in ranges for bound in pair]
    assert bounds == pytest.approx([0.005, 0.01, 0.01, 0.02, 0.005, 0.01])  # the base again after the OK
    assert hec.requests == [[b'{"n":0}']] * 3 + [[b'{"n":1}']] * 2


# compression off ---------------------------------------------------------------------------------------


def test_with_compression_off_every_request_is_plain_json_that_splunk_indexes(
    clients: list[DeliveryClient], tmp_path: Path, splunk: SplunkEmulator, transport: HecTransport
) -> None:
    spool = memory_spool(tmp_path, [event(1), event(2), event(3)])  # read ahead while one is in flight
    client = started(clients, transport, spool, compress=False, batch_events=1)
    assert client.flush(5.0)
    assert sorted(found["event"]["number"] for found in splunk.events(index="main")) == [1, 2, 3]
    posts = [entry for entry in splunk.requests_log("hec") if entry["path"] == EVENT_PATH]
    assert [entry["status"] for entry in posts] == [200, 200, 200]
    assert all("Content-Encoding" not in cast(dict[str, str], entry["headers"]) for entry in posts)
    assert client.stats.sent == 3


# fsync failures -----------------------------------------------------------------------------------------


class FailingFsync(MemorySpool):
    """A spool whose fsync fails (a disk error); the syncer fsyncs only when asked."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, fsync_interval=60.0)

    def sync(self) -> None:
        raise OSError(5, "Input/output error")


def test_a_failing_fsync_makes_sync_false_and_is_logged_with_the_error(
    clients: list[DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = started(clients, FakeHec(), FailingFsync(tmp_path))
    client.submit(b'{"n":0}')
    assert client.sync(5.0) is False
    assert messages(caplog, "telemetry spool sync failed") == [(logging.ERROR, "telemetry spool sync failed")]
    (record,) = [record for record in caplog.records if record.getMessage() == "telemetry spool sync failed"]
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "[Errno 5] Input/output error"


# closing with a request in flight ------------------------------------------------------------------------


class StalledHec(FakeHec):
    """HEC that holds each request until ``release`` is set; ``entered`` is set by the first one."""

    def __init__(self) -> None:
        super().__init__(answer=self._stall)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.closed_event = threading.Event()

    def _stall(self, events: list[bytes]) -> Reply:
        self.entered.set()
        assert self.release.wait(10.0)
        return OK

    def close(self) -> None:
        super().close()
        self.closed_event.set()


def test_closing_with_a_request_in_flight_warns_and_the_request_still_delivers_its_events_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hec = StalledHec()
    client = DeliveryClient(cast(HecTransport, hec), memory_spool(tmp_path), DeliveryOptions(compress=False))
    try:
        client.submit(b'{"n":0}')
        assert hec.entered.wait(5.0)
        assert client.close(timeout=0) is False
        assert messages(caplog, "telemetry stopped") == [
            (
                logging.WARNING,
                "telemetry stopped with a request to HEC still in flight: its events stay in the "
                "spool, sent again by the next start if that request fails",
            )
        ]
    finally:
        hec.release.set()
    assert hec.closed_event.wait(5.0)  # the sender closed the spool and the transport after its request
    assert hec.requests == [[b'{"n":0}']]
    assert (client.stats.sent, client.stats.batches) == (1, 1)
    assert client.idle()
    assert client.flush() is False  # still the result of close
    assert client.close() is False


# Retry-After --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "seconds"), [("0", 0.0), ("-3", 0.0), ("0.25", 0.25), ("soon", None)])
def test_the_retry_after_seconds_of_a_busy_hec_are_read_never_below_zero(
    splunk: SplunkEmulator, transport: HecTransport, header: str, seconds: float | None
) -> None:
    splunk.inject_fault(listener="hec", path=EVENT_PATH, status=503, headers={"Retry-After": header}, times=1)
    reply = transport.post([event(1)])
    assert reply.status == 503
    assert reply.retry_after == seconds
