"""Edges of the delivery client users meet when something goes wrong: the JSON of odd values in
events (the standard-library path orjson hands over to), the messages naming the field that cannot
be serialised, the cause and fix of each HEC rejection, and what the dead-letter file and the log
say when events are rejected for good or are too large for one request."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from delivery_testing import OK, FakeHec, dead_letters, messages

from dsdl_golden._telemetry.client import (
    DeadLetterCause,
    DeliveryClient,
    DeliveryOptions,
    encode,
    rejection_cause,
    serialise,
)
from dsdl_golden._telemetry.hec import HecTransport, Reply
from dsdl_golden._telemetry.metric_events import (
    array_event_bodies,
    descriptors,
    metric_fields,
    sendable_arrays,
)
from dsdl_golden._telemetry.spool import MemorySpool

BEYOND_64_BITS = 2**70  # orjson refuses it: the whole event goes through the standard library


class Unprintable:
    """A model object whose text fails (a broken ``__str__``)."""

    def __str__(self) -> str:
        raise ValueError("no text for you")


class Tagged:
    def __str__(self) -> str:
        return "Tagged(3)"


# serialise: the standard-library path -------------------------------------------------------------


def test_numpy_dates_sets_and_objects_become_json_also_next_to_an_integer_beyond_64_bits() -> None:
    event = {
        "big": BEYOND_64_BITS,
        "count": np.int64(7),
        "scores": np.array([1.5, 2.0]),
        "when": dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 26),
        "tags": {10, 2, "b"},  # mixed types: ordered by their text
        "model": Tagged(),
    }
    assert serialise(event) == (
        b'{"big":1180591620717411303424,"count":7,"scores":[1.5,2.0],'
        b'"when":"2026-11-26T08:30:00+00:00","day":"2026-11-26","tags":[10,2,"b"],"model":"Tagged(3)"}'
    )


def test_non_finite_floats_become_null_at_any_depth_next_to_an_integer_beyond_64_bits() -> None:
    event = {
        "big": BEYOND_64_BITS,
        "curve": [1.5, float("nan"), (float("inf"), 2.0)],
        "per_class": {"a": float("-inf"), "b": 0.25, "c": {"d": [float("nan")]}},
    }
    assert serialise(event) == (
        b'{"big":1180591620717411303424,"curve":[1.5,null,[null,2.0]],'
        b'"per_class":{"a":null,"b":0.25,"c":{"d":[null]}}}'
    )


# encode: the field that cannot be serialised -------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"event": {(1, 2): 3}}, "field '<event>' has the key (1, 2) (a tuple): use str keys"),
        ({"event": {"a": {"b": {(1,): 1}}}}, "field 'a.b' has the key (1,) (a tuple): use str keys"),
        (
            {"event": {"rows": [{"x": 1}, {frozenset(): 2}]}},
            "field 'rows.1' has the key frozenset() (a frozenset): use str keys",
        ),
        (
            {"event": {"a": [0, Unprintable()]}},
            "field 'a.1' (Unprintable) cannot be serialised: ValueError: no text for you",
        ),
        (
            {"event": "fit", "fields": {"model": Unprintable()}},
            "field 'fields.model' (Unprintable) cannot be serialised: ValueError: no text for you",
        ),
    ],
)
def test_an_event_that_cannot_be_encoded_names_the_field_and_why(event: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as raised:
        encode(event)
    assert str(raised.value) == f"telemetry event cannot be sent to HEC: {message}"


def test_a_descriptor_that_is_not_json_is_named_with_its_type_and_the_error() -> None:
    class Described(dict[str, Any]):
        descriptor_keys = frozenset({"labels"})

    with pytest.raises(TypeError) as raised:
        descriptors(Described(labels=[Unprintable()], accuracy=0.5))
    assert str(raised.value) == (
        "metrics descriptor 'labels' (list) cannot be sent as JSON: ValueError: no text for you"
    )


# rejection_cause: the reason and the fix of each rejection -------------------------------------------

_SETTINGS = {"golden_metrics": "GOLDEN_METRICS_INDEX", "ml_events": "GOLDEN_EVENTS_INDEX"}


def test_a_request_too_large_for_hec_says_to_send_less() -> None:
    reply = Reply(413, text="Content Too Large")
    assert rejection_cause(reply, b'{"event":"x"}', _SETTINGS) == DeadLetterCause(
        "HTTP 413 code=None 'Content Too Large'",
        "the event is over HEC's max_content_length: send less per event "
        "(log_metrics splits large arrays; shrink figures and messages)",
    )


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (6, "HEC could not parse the event: report it with the dead-letter file"),
        (13, "the event is empty: log a non-empty message or mapping"),
        (15, "HEC refused the indexed fields: give context values that are strings or numbers"),
        (99, "see the dead-letter file"),
        (None, "see the dead-letter file"),
    ],
)
def test_other_rejections_give_hecs_answer_and_the_fix_for_its_code(code: int | None, fix: str) -> None:
    reply = Reply(400, code=code, text="Invalid data format", invalid_event=0)
    assert rejection_cause(reply, b'{"event":"x"}', _SETTINGS) == DeadLetterCause(
        f"HTTP 400 code={code} 'Invalid data format'", fix
    )


def _incorrect_index_fix(payload: bytes, settings: dict[str, str] | None = None) -> str:
    reply = Reply(400, code=7, text="Incorrect index", invalid_event=1)
    cause = rejection_cause(reply, payload, _SETTINGS if settings is None else settings)
    assert cause.reason == "HTTP 400 code=7 'Incorrect index'"
    return cause.fix


def test_an_incorrect_metrics_index_names_the_setting_that_chose_it_and_asks_for_a_metrics_index() -> None:
    payload = b'{"index":"golden_metrics","event":"metric","fields":{"metric_name:loss":0.5}}'
    assert _incorrect_index_fix(payload) == (
        "index golden_metrics does not exist, is not a metrics index, or the token may not write to it: "
        "create it (a metrics index) and allow the token to write to it, or set GOLDEN_METRICS_INDEX"
    )


def test_an_incorrect_events_index_chosen_by_the_caller_points_at_the_index_argument() -> None:
    payload = b'{"index":"scratch","event":{"message":"metric"}}'
    assert _incorrect_index_fix(payload) == (
        "index scratch does not exist, is not an events index, or the token may not write to it: "
        "create it (an events index) and allow the token to write to it, or set the index= argument"
    )


@pytest.mark.parametrize(
    "payload",
    [b'{"event":"x"}', b'{"index":"","event":"x"}', b"not json {", b'["index","metric"]'],
    ids=["no index", "empty index", "not JSON", "not an object"],
)
def test_an_incorrect_index_that_the_event_does_not_name_is_shown_as_a_question_mark(payload: bytes) -> None:
    assert _incorrect_index_fix(payload) == (
        "index ? does not exist, is not an events index, or the token may not write to it: "
        "create it (an events index) and allow the token to write to it, or set the index= argument"
    )


# the delivery client: rejections, dead letters, requests too large ------------------------------------

TOO_LARGE = Reply(413, text="Content Too Large")
BAD_FORMAT = "HTTP 400 code=6 'Invalid data format'"


def reject_marked(marker: bytes) -> Callable[[list[bytes]], Reply]:
    """HEC that cannot parse the events containing ``marker`` (code 6 names the first one)."""

    def answer(events: list[bytes]) -> Reply:
        for position, event in enumerate(events):
            if marker in event:
                return Reply(400, code=6, text="Invalid data format", invalid_event=position)
        return OK

    return answer


@pytest.fixture
def start(
    tmp_path: Path,
) -> Iterator[Callable[[Callable[[list[bytes]], Reply], list[bytes]], DeliveryClient]]:
    """Start a client on a memory spool already holding some events (its first batch takes them all)."""
    clients: list[DeliveryClient] = []

    def make(answer: Callable[[list[bytes]], Reply], spooled: list[bytes], **options: Any) -> DeliveryClient:
        spool = MemorySpool(tmp_path, fsync_interval=0.01)
        assert spool.append(spooled) == len(spooled)
        hec = FakeHec(answer=answer)
        client = DeliveryClient(cast(HecTransport, hec), spool, DeliveryOptions(compress=False, **options))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close(timeout=2)


def hec_of(client: DeliveryClient) -> FakeHec:
    return cast(FakeHec, client.transport)


def idle_within(client: DeliveryClient, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not client.idle():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def undeliverable(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return messages(caplog, "telemetry event undeliverable")


def test_each_rejected_event_is_dead_lettered_with_time_reason_and_text_even_when_not_utf8(
    start: Callable[..., DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dsdl_golden.telemetry")
    spooled = [b'{"n":0}', b'{"n":1,"bad":"\xff"}', b'{"n":2,"bad":"\xfe"}', b'{"n":3}', b'{"n":4,"bad":"x"}']
    before = time.time()
    client = start(reject_marked(b'"bad"'), spooled)
    assert idle_within(client, 3.0)  # a rejection does not hold up the events after it
    letters = dead_letters(tmp_path)
    assert [sorted(letter) for letter in letters] == [["event", "reason", "time"]] * 3
    assert [letter["event"] for letter in letters] == [
        '{"n":1,"bad":"\ufffd"}',
        '{"n":2,"bad":"\ufffd"}',
        '{"n":4,"bad":"x"}',
    ]
    assert {letter["reason"] for letter in letters} == {BAD_FORMAT}
    assert all(before <= letter["time"] <= time.time() for letter in letters)
    assert (client.stats.sent, client.stats.dead_lettered) == (2, 3)
    fix = "HEC could not parse the event: report it with the dead-letter file"
    said = f"telemetry event undeliverable ({BAD_FORMAT}; {fix}): kept in {tmp_path / 'dead-letter.jsonl'}"
    assert undeliverable(caplog) == [(logging.ERROR, said), (logging.DEBUG, said), (logging.DEBUG, said)]


def test_events_hec_rejects_one_after_another_are_not_delayed(start: Callable[..., DeliveryClient]) -> None:
    spooled = [f'{{"n":{n},"bad":1}}'.encode() for n in range(6)] + [b'{"n":6}']
    client = start(reject_marked(b'"bad"'), spooled)
    assert idle_within(client, 2.0)  # no pause after a rejection (six pauses of a second would miss this)
    assert (client.stats.sent, client.stats.dead_lettered) == (1, 6)


def test_a_rejected_position_beyond_the_request_dead_letters_its_last_event(
    start: Callable[..., DeliveryClient], tmp_path: Path
) -> None:
    answers = iter([Reply(400, code=6, text="Invalid data format", invalid_event=10)])
    client = start(lambda events: next(answers, OK), [b'{"n":0}', b'{"n":1}', b'{"n":2}'])
    assert idle_within(client, 3.0)
    assert [letter["event"] for letter in dead_letters(tmp_path)] == ['{"n":2}']
    assert (client.stats.sent, client.stats.dead_lettered) == (2, 1)


def test_a_request_hec_finds_too_large_is_resent_in_halves_until_it_fits(
    start: Callable[..., DeliveryClient], tmp_path: Path
) -> None:
    spooled = [f'{{"n":{n}}}'.encode() for n in range(5)]
    client = start(lambda events: TOO_LARGE if len(events) > 1 else OK, spooled)
    assert idle_within(client, 2.0)  # no pause after a split (each would cost a second)
    requests = hec_of(client).requests
    assert [len(events) for events in requests[:3]] == [5, 2, 1]
    assert [events[0] for events in requests if len(events) == 1] == spooled  # each once, in order
    assert dead_letters(tmp_path) == []
    assert client.flush(1.0)


def test_a_single_event_too_large_for_a_request_is_dead_lettered_with_the_fix(
    start: Callable[..., DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spooled = [b'{"n":0}', b'{"n":1,"big":"xxxx"}', b'{"n":2}']
    client = start(lambda events: TOO_LARGE if any(b'"big"' in event for event in events) else OK, spooled)
    assert idle_within(client, 3.0)
    (letter,) = dead_letters(tmp_path)
    assert (letter["event"], letter["reason"]) == (
        '{"n":1,"big":"xxxx"}',
        "HTTP 413 code=None 'Content Too Large'",
    )
    assert (client.stats.sent, client.stats.dead_lettered) == (2, 1)
    assert "the event is over HEC's max_content_length" in undeliverable(caplog)[0][1]


def test_when_the_dead_letter_file_cannot_be_written_the_event_is_logged_with_the_error(
    start: Callable[..., DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "dead-letter.jsonl").mkdir()  # not a file: opening it fails
    big = b'{"bad":"' + b"y" * 3000 + b'"}'
    client = start(reject_marked(b'"bad"'), [big])
    assert idle_within(client, 3.0)
    assert client.stats.dead_lettered == 1
    error = IsADirectoryError(21, "Is a directory", str(tmp_path / "dead-letter.jsonl"))
    text = big.decode()[:2000]
    assert undeliverable(caplog) == [
        (logging.ERROR, f"telemetry event undeliverable ({BAD_FORMAT}), and {error}: {text}")
    ]


def test_flush_reports_only_the_dead_letters_since_the_last_flush(
    start: Callable[..., DeliveryClient], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = start(reject_marked(b'"bad"'), [b'{"bad":1}', b'{"bad":2}'])
    assert not client.flush(3.0)
    client.submit(b'{"bad":3}')
    assert not client.flush(3.0)
    fix = "HEC could not parse the event: report it with the dead-letter file"
    kept = tmp_path / "dead-letter.jsonl"
    assert [
        record.getMessage() for record in caplog.records if "events were not delivered" in record.getMessage()
    ] == [
        f"telemetry: {count} events were not delivered ({BAD_FORMAT}): {fix}; they are kept in {kept}"
        for count in (2, 1)
    ]


def test_a_token_that_needs_a_channel_gets_one_and_the_log_names_it(
    start: Callable[..., DeliveryClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dsdl_golden.telemetry")
    answers = iter([Reply(400, code=10, text="Data channel is missing")])
    client = start(lambda events: next(answers, OK), [b'{"n":0}'])
    hec = hec_of(client)
    assert client.flush(3.0)
    assert [len(events) for events in hec.requests] == [1, 1]  # the same event, again on the channel
    assert "HEC token uses indexer acknowledgement: sending on channel c0ffee-channel" in [
        record.getMessage() for record in caplog.records
    ]


def test_the_client_shows_its_transport_and_spool_directory(
    start: Callable[..., DeliveryClient], tmp_path: Path
) -> None:
    client = start(lambda events: OK, [])
    assert repr(client) == f"DeliveryClient({client.transport!r}, spool={str(tmp_path)!r})"


def test_a_full_spool_logs_its_drops_at_the_1st_10th_100th_1000th_and_every_10000th(
    start: Callable[..., DeliveryClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = start(lambda events: OK, [])
    client.spool.max_bytes = 0  # nothing fits any more
    for _ in range(10_001):
        client.submit(b'{"n":0}')
    assert client.stats.dropped_spool_full == 10_001
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.ERROR, f"telemetry spool full (0 bytes unsent): {count} events dropped so far")
        for count in (1, 10, 100, 1000, 10_000)
    ]


# sync ---------------------------------------------------------------------------------------------


class SlowDisk(MemorySpool):
    """A spool whose fsync takes a while (or, while ``stuck`` is clear, until it is set); counts them."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, fsync_interval=60.0)  # the syncer fsyncs only when asked
        self.syncs = 0
        self.stuck = threading.Event()
        self.stuck.set()

    def sync(self) -> None:
        self.stuck.wait()
        time.sleep(0.02)
        self.syncs += 1


@pytest.fixture
def slow_disk(tmp_path: Path) -> Iterator[tuple[DeliveryClient, SlowDisk]]:
    spool = SlowDisk(tmp_path)
    client = DeliveryClient(cast(HecTransport, FakeHec()), spool)
    yield client, spool
    spool.stuck.set()
    client.close(timeout=2)


def test_each_sync_returns_only_after_an_fsync_of_its_own(slow_disk: tuple[DeliveryClient, SlowDisk]) -> None:
    client, spool = slow_disk
    for number in (1, 2, 3):
        client.submit(b'{"n":0}')
        assert client.sync(5.0)
        assert spool.syncs >= number


def test_sync_is_false_when_the_fsync_does_not_finish_in_time(
    slow_disk: tuple[DeliveryClient, SlowDisk],
) -> None:
    client, spool = slow_disk
    spool.stuck.clear()
    client.submit(b'{"n":0}')
    assert not client.sync(0.2)


def test_sync_after_close_says_whether_anything_was_lost_since_the_last_sync(
    start: Callable[..., DeliveryClient],
) -> None:
    client = start(lambda events: OK, [b'{"n":0}'])
    client.close(timeout=2)
    assert client.sync() is True
    client.stats.dropped_write_error += 1  # as a write that failed after close would count it
    assert client.sync() is False
    assert client.sync() is True  # reported once


# the summaries of large confusion matrices ----------------------------------------------------------


def test_a_nested_confusion_matrix_is_summarised_by_its_total_and_trace() -> None:
    fields, _ = metric_fields({"eval": {"confusion_matrix": np.eye(21, dtype=int) * 3}})
    assert fields == {
        "metric_name:eval.confusion_matrix.shape.0": 21.0,
        "metric_name:eval.confusion_matrix.shape.1": 21.0,
        "metric_name:eval.confusion_matrix.total": 63.0,
        "metric_name:eval.confusion_matrix.trace": 63.0,
    }


def test_a_confusion_matrix_that_is_not_square_or_not_finite_keeps_only_its_shape() -> None:
    infinite = np.zeros((21, 21))
    infinite[0, 1] = np.inf  # the total is infinite, the trace finite
    fields, _ = metric_fields({"confusion_matrix": np.ones((21, 25)), "run": {"confusion_matrix": infinite}})
    assert fields == {
        "metric_name:confusion_matrix.shape.0": 21.0,
        "metric_name:confusion_matrix.shape.1": 25.0,
        "metric_name:run.confusion_matrix.shape.0": 21.0,
        "metric_name:run.confusion_matrix.shape.1": 21.0,
    }


def test_a_large_nested_list_of_one_row_is_summarised_not_flattened() -> None:
    assert metric_fields({"scores": [[0.5] * 500]}) == (
        {"metric_name:scores.shape.0": 1.0, "metric_name:scores.shape.1": 500.0},
        [],
    )


def test_failed_requests_are_retried_counted_and_logged_with_hecs_answer(
    start: Callable[..., DeliveryClient], caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter(
        [Reply(503, text="busy"), Reply(503, text="busy"), Reply(403, code=4, text="Invalid token")]
    )
    client = start(lambda events: next(answers, OK), [b'{"n":0}'], backoff_base=0.01, configuration_pause=0.2)
    assert client.flush(5.0)
    assert client.stats.retries == 3
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.WARNING, "HEC delivery failed (HTTP 503 code=None 'busy'); retrying"),
        (logging.WARNING, "HEC delivery failed (HTTP 503 code=None 'busy'); retrying"),
        (
            logging.ERROR,
            "HEC refused the events (HTTP 403 code=4 'Invalid token'): check splunk_hec_url, "
            "splunk_hec_token and the indexes; events stay spooled and are retried in 0 s",
        ),
    ]


# metrics: values, descriptors and large arrays ------------------------------------------------------------


def test_metric_values_that_convert_to_float_are_measured_and_others_are_named() -> None:
    assert metric_fields({"lr": decimal.Decimal("0.5"), "f1": np.array([0.5, 0.25])}) == (
        {"metric_name:lr": 0.5, "metric_name:f1.0": 0.5, "metric_name:f1.1": 0.25},
        [],
    )
    with pytest.raises(TypeError) as raised:
        metric_fields({"model": object()})
    assert str(raised.value) == "metric 'model' is a object: give a number, a string or None"


def test_a_descriptor_of_exactly_the_limit_of_json_text_is_still_a_dimension() -> None:
    class Described(dict[str, Any]):
        descriptor_keys = frozenset({"labels"})

    labels = ["a" * 3996]  # ["aaa...a"]: 4000 characters of JSON
    found = descriptors(Described(labels=labels))
    assert found.dimensions == {"labels": json.dumps(labels)}
    assert len(found.dimensions["labels"]) == 4000


def test_an_array_whose_json_could_take_exactly_the_limit_is_still_sent() -> None:
    digits = np.zeros(16_000_000, dtype=np.int8)  # "0," at most per cell: 32,000,000 bytes
    sent, not_sent = sendable_arrays([("digits", digits)])
    assert ([name for name, _ in sent], not_sent) == (["digits"], [])


@pytest.mark.parametrize(
    ("array", "cell_bytes"),
    [
        (np.zeros((300, 1000), dtype=bool), len("false,")),
        (np.full((300, 1000), 99, dtype=np.int64), len("99,")),
        (np.full((300, 100), "abcde"), 6 * 5 + 3),  # a \u escape per character, quotes, comma
    ],
    ids=["bool", "int", "text"],
)
def test_array_events_hold_as_many_rows_as_fit_in_the_worst_case(array: np.ndarray, cell_bytes: int) -> None:
    row_bytes = array.shape[1] * cell_bytes + 3  # the row's brackets and comma
    per_event = 512_000 // row_bytes
    bodies = list(array_event_bodies("m", array))
    assert [(body["start"], body["stop"]) for body in bodies] == [
        (start, min(start + per_event, len(array))) for start in range(0, len(array), per_event)
    ]
    first = json.loads(serialise(bodies[0]))
    assert {key: value for key, value in first.items() if key != "values"} == {
        "type": "metric_array",
        "metric": "m",
        "shape": list(array.shape),
        "dtype": array.dtype.name,
        "start": 0,
        "stop": per_event,
        "raveled": False,
        "part": 1,
        "parts": len(bodies),
        "level": "INFO",
    }
    assert first["values"] == array[:per_event].tolist()
