"""Edges of send_results and of what splunkd says about indexes, each pinned by a test that a mutant
``./dev mutate splunk`` found surviving in dsdl_golden._splunk.send, .indexes, .empty, .errors or
splunk_connector.send_results: the time column's forms, batch boundaries and defaults, splits,
retries and their backoff, indexer acknowledgement, refused indexes, the text of SendReport, the
index and HEC-token checks of validate_splunk_config, and the empty-search message. Against the
Splunk emulator over loopback HTTPS (its faults stand in for the rarer answers of splunkd and HEC);
the clocks of the sender and of the acknowledgement wait are replaced where a test would otherwise
sleep through a backoff or a 60 s wait."""

from __future__ import annotations

import importlib
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from golden_testing import connector_settings

from dsdl_golden import splunk_connector as splunk
from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration

SEARCH_TOKEN = "search-token-send-edges-7a31"
HEC_TOKEN = "hec-token-send-edges-c05e"
ACK_TOKEN = "hec-token-send-edges-ack-91bd"
EVENT_PATH = "/services/collector/event"
BUSY = "HTTP 503 code=9 'Server is busy'"
BLANK = "HTTP 400 code=13 'Event field cannot be blank'"

send_module = importlib.import_module("dsdl_golden._splunk.send")
hec_module = importlib.import_module("dsdl_golden._telemetry.hec")


@pytest.fixture
def server(fresh_emulator: SplunkEmulator) -> SplunkEmulator:
    fresh_emulator.add_auth_token(SEARCH_TOKEN)
    fresh_emulator.add_index("ml_results")
    fresh_emulator.add_index("golden_metrics", metrics=True)
    fresh_emulator.add_hec_token(HEC_TOKEN, name="results", indexes=["main", "ml_results", "golden_metrics"])
    return fresh_emulator


@pytest.fixture
def settings(server: SplunkEmulator, tmp_path: Path) -> Callable[..., Settings]:
    return connector_settings(server, tmp_path, search_token=SEARCH_TOKEN, hec_token=HEC_TOKEN)


class SenderClock:
    """Stands in for the ``time`` module of the sender: a sleep is recorded and moves the clock on
    at once, so that a test sees every backoff without waiting for it."""

    def __init__(self) -> None:
        self.now = 5000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class JumpingClock:
    """A monotonic clock that moves ``step`` seconds at each reading (a wait that never ends here)."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def sender_clock(monkeypatch: pytest.MonkeyPatch) -> SenderClock:
    clock = SenderClock()
    monkeypatch.setattr(send_module, "time", clock)
    return clock


def event_posts(server: SplunkEmulator) -> list[dict[str, Any]]:
    return [entry for entry in server.requests_log("hec") if entry["path"] == EVENT_PATH]


def events_per_request(server: SplunkEmulator) -> list[int | None]:
    """How many events HEC parsed from each event request (None: a fault answered it unread)."""
    return [entry.get("events") for entry in event_posts(server)]


def posted_lines(server: SplunkEmulator) -> list[dict[str, Any]]:
    """Every event HEC received, as sent, in order."""
    return [json.loads(line) for entry in event_posts(server) for line in entry["body"].split("\n")]


# --- the time column ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        pytest.param(
            [1_700_000_000.5, math.nan, 1_700_000_100, 1_700_000_000.1234567],
            [1_700_000_000.5, None, 1_700_000_100.0, 1_700_000_000.123457],  # to the microsecond
            id="epoch-seconds-with-a-gap",
        ),
        pytest.param(
            ["1700000000", "1700000000.25"], [1_700_000_000.0, 1_700_000_000.25], id="epoch-strings"
        ),
        pytest.param(
            [
                "2024-01-01",
                "2024-01-01T12:30:00Z",
                "2024-01-01T00:00:00+01:00",
                "2024-01-01T07:00:00-05:00",
                None,
            ],
            [1_704_067_200.0, 1_704_112_200.0, 1_704_063_600.0, 1_704_110_400.0, None],
            id="iso-strings-of-mixed-forms-and-offsets",
        ),
        pytest.param(
            pd.to_datetime(["2024-01-01T00:00:00.000000", "2024-01-01T00:00:01.250000"]),
            [1_704_067_200.0, 1_704_067_201.25],
            id="datetimes-without-a-zone-are-utc",
        ),
        pytest.param(
            pd.to_datetime(["2024-01-01T01:00:00"]).tz_localize("Europe/Paris"),
            [1_704_067_200.0],
            id="datetimes-with-a-zone",
        ),
    ],
)
def test_every_form_of_the_time_column_becomes_the_events_epoch_time(
    server: SplunkEmulator, settings: Callable[..., Settings], times: Any, expected: list[float | None]
) -> None:
    frame = pd.DataFrame({"_time": times, "n": range(len(expected))})

    report = splunk.send_results(frame, index="ml_results", settings=settings())

    assert report.ok, str(report)
    sent = posted_lines(server)
    assert [line.get("time") for line in sent] == expected
    assert [line["event"] for line in sent] == [{"n": n} for n in range(len(expected))]


# --- batches --------------------------------------------------------------------------------------


def test_a_row_longer_than_batch_bytes_is_sent_alone_not_dropped(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    frame = pd.DataFrame({"text": ["first", "second", "third"]})

    report = splunk.send_results(frame, index="ml_results", batch_bytes=10, settings=settings())

    assert report.ok, str(report)
    assert events_per_request(server) == [1, 1, 1]
    assert [event["event"]["text"] for event in server.events(index="ml_results")] == [
        "first",
        "second",
        "third",
    ]


def test_a_batch_may_fill_batch_bytes_to_the_last_byte(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    frame = pd.DataFrame({"text": ["aaaa", "bbbb", "cccc"]})  # three events of one length
    splunk.send_results(frame, index="ml_results", settings=settings())
    line = event_posts(server)[0]["body"].split("\n")[0]
    server.reset()

    # two events and their newlines: exactly the byte budget
    report = splunk.send_results(
        frame, index="ml_results", batch_bytes=2 * (len(line.encode()) + 1), settings=settings()
    )

    assert report.ok, str(report)
    assert events_per_request(server) == [2, 1]


def test_send_results_sends_at_most_1000_rows_per_request_by_default(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    report = splunk.send_results(pd.DataFrame({"n": range(1001)}), index="ml_results", settings=settings())

    assert report.ok, str(report)
    assert events_per_request(server) == [1000, 1]


@pytest.mark.timeout(60)
def test_send_results_sends_at_most_800_000_bytes_per_request_by_default(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    splunk.send_results(pd.DataFrame({"text": [""]}), index="ml_results", settings=settings())
    base = len(event_posts(server)[0]["body"].encode())  # an event whose text is empty
    server.reset()
    # 799 events of 1000 bytes with their newline, then one of 1001: 800_001 bytes in all
    texts = ["x" * (999 - base)] * 799 + ["y" * (1000 - base)]

    report = splunk.send_results(pd.DataFrame({"text": texts}), index="ml_results", settings=settings())

    assert report.ok, str(report)
    assert events_per_request(server) == [799, 1]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [pytest.param(2, [None, 1, 1], id="two-rows"), pytest.param(5, [None, 2, 3], id="five-rows")],
)
def test_a_batch_hec_finds_too_large_is_sent_in_halves(
    server: SplunkEmulator, settings: Callable[..., Settings], rows: int, expected: list[int | None]
) -> None:
    server.inject_fault(listener="hec", path=EVENT_PATH, status=413, times=1)

    report = splunk.send_results(
        pd.DataFrame({"n": range(rows)}), index="ml_results", batch_events=rows, settings=settings()
    )

    assert report.ok, str(report)
    assert events_per_request(server) == expected
    assert [event["event"]["n"] for event in server.events(index="ml_results")] == list(range(rows))


# --- rejected rows --------------------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_a_blank_last_row_of_a_batch_is_reported_by_its_own_number(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    report = splunk.send_results(
        pd.DataFrame({"score": [0.1, 0.2, None]}), index="ml_results", settings=settings()
    )

    assert report.failed == [(2, BLANK)]
    assert report.sent == 2
    assert [event["event"]["score"] for event in server.events(index="ml_results")] == [0.1, 0.2]


def test_a_rejected_event_number_past_the_batch_blames_its_last_row(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    body = {"text": "Invalid data format", "code": 6, "invalid-event-number": 9}
    server.inject_fault(listener="hec", path=EVENT_PATH, status=400, body=body, times=1)

    report = splunk.send_results(pd.DataFrame({"n": range(3)}), index="ml_results", settings=settings())

    assert report.failed == [(2, "HTTP 400 code=6 'Invalid data format'")]
    assert report.sent == 2


def test_rows_lost_after_others_were_sent_are_listed_with_the_earlier_rejected_row(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    frame = pd.DataFrame({"score": [0.0, None, 0.2, 0.3, 0.4, 0.5]})
    server.drop_after_events(3)  # row 0, rows 2 and 3, then the connection closes unanswered

    report = splunk.send_results(frame, index="ml_results", batch_events=2, retries=0, settings=settings())

    assert [row for row, _ in report.failed] == [1, 4, 5]
    assert report.failed[0] == (1, BLANK)
    assert report.failed[1][1].startswith("connection failed: ")
    assert report.sent == 3
    assert not report.ok


# --- retries --------------------------------------------------------------------------------------


def test_a_busy_hec_is_retried_5_times_with_a_doubling_jittered_backoff(
    server: SplunkEmulator, settings: Callable[..., Settings], sender_clock: SenderClock
) -> None:
    server.inject_fault(listener="hec", path=EVENT_PATH, code=9, times=None)

    report = splunk.send_results(pd.DataFrame({"n": range(3)}), index="ml_results", settings=settings())

    assert len(event_posts(server)) == 6
    assert report.failed == [(0, BUSY), (1, BUSY), (2, BUSY)]
    assert report.sent == 0
    assert len(sender_clock.sleeps) == 5
    for attempt, seconds in enumerate(sender_clock.sleeps, start=1):
        assert 0.25 * 2**attempt <= seconds <= 0.5 * 2**attempt, (attempt, sender_clock.sleeps)
    assert report.seconds == pytest.approx(sum(sender_clock.sleeps))
    assert str(report).startswith(f"sent 0 of 3 rows in {sum(sender_clock.sleeps):.2f} s\n")


@pytest.mark.parametrize("retries", [1, 2])
def test_retries_counts_the_retries_of_a_batch_and_each_batch_gets_them_all(
    server: SplunkEmulator, settings: Callable[..., Settings], sender_clock: SenderClock, retries: int
) -> None:
    # the first batch is busy `retries` times; the second loses its connection once
    server.inject_fault(listener="hec", path=EVENT_PATH, code=9, times=retries)
    server.drop_after_events(1)

    report = splunk.send_results(
        pd.DataFrame({"n": range(2)}),
        index="ml_results",
        batch_events=1,
        retries=retries,
        settings=settings(),
    )

    assert report.ok, str(report)
    assert len(sender_clock.sleeps) == retries + 1
    assert [event["event"]["n"] for event in server.events(index="ml_results")] == [0, 1]


def test_a_batch_still_busy_after_its_retries_fails(
    server: SplunkEmulator, settings: Callable[..., Settings], sender_clock: SenderClock
) -> None:
    server.inject_fault(listener="hec", path=EVENT_PATH, code=9, times=3)

    report = splunk.send_results(pd.DataFrame({"n": [7]}), index="ml_results", retries=2, settings=settings())

    assert report.failed == [(0, BUSY)]
    assert len(event_posts(server)) == 3
    assert not server.events(index="ml_results")


# --- indexer acknowledgement ----------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_token_with_indexer_acknowledgement_gets_every_row_acknowledged(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.add_hec_token(ACK_TOKEN, name="acked", indexes=["ml_results"], use_ack=True)

    report = splunk.send_results(
        pd.DataFrame({"n": range(3)}), index="ml_results", settings=settings(splunk_hec_token=ACK_TOKEN)
    )

    assert report.ok, str(report)
    assert report.sent == 3
    assert [event["event"]["n"] for event in server.events(index="ml_results")] == [0, 1, 2]
    assert any(entry["path"] == "/services/collector/ack" for entry in server.requests_log("hec"))


def test_rows_hec_does_not_acknowledge_within_60_seconds_are_reported_failed(
    server: SplunkEmulator,
    settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.add_hec_token(ACK_TOKEN, name="acked", indexes=["ml_results"], use_ack=True)
    server.configure(never_ack=True)
    monkeypatch.setattr(hec_module, "time", JumpingClock(61.0))  # the 60 s pass at the first look

    with caplog.at_level(logging.WARNING, logger="dsdl_golden.telemetry"):
        report = splunk.send_results(
            pd.DataFrame({"n": range(2)}), index="ml_results", settings=settings(splunk_hec_token=ACK_TOKEN)
        )

    assert [row for row, _ in report.failed] == [0, 1]
    assert report.sent == 0
    assert "HEC did not acknowledge ackId 0 within 60 s" in caplog.messages


# --- a refused index ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invalid_event", "sent"),
    [pytest.param(3, 2, id="after-two-events-it-took"), pytest.param(None, 0, id="without-an-event-number")],
)
def test_a_refused_index_says_which_rows_were_not_sent(
    server: SplunkEmulator, settings: Callable[..., Settings], invalid_event: int | None, sent: int
) -> None:
    body: dict[str, object] = {"text": "Incorrect index", "code": 7}
    if invalid_event is not None:
        body["invalid-event-number"] = invalid_event  # one past the position: HEC's count for code 7
    server.inject_fault(listener="hec", path=EVENT_PATH, status=400, body=body, times=1)

    with pytest.raises(splunk.SplunkIndexError) as raised:
        splunk.send_results(pd.DataFrame({"n": range(20)}), index="ml_results", settings=settings())

    assert str(raised.value) == (
        f"HEC refused index 'ml_results' (HTTP 400 code=7 'Incorrect index'): {20 - sent} of 20 rows were "
        f"not sent (rows {sent} to 19); create the index in Splunk, or add it to the HEC token's allowed "
        "indexes, or pass index= an index the token may write to"
    )
    assert raised.value.index == "ml_results"
    assert raised.value.rows_not_sent == 20 - sent


# --- send_results' arguments ----------------------------------------------------------------------


def test_token_overrides_the_configured_hec_token(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    report = splunk.send_results(
        pd.DataFrame({"n": [1]}),
        index="ml_results",
        token=HEC_TOKEN,
        settings=settings(splunk_hec_token="hec-token-that-splunk-does-not-know"),
    )

    assert report.ok, str(report)
    assert [event["token_name"] for event in server.events(index="ml_results")] == ["results"]


def test_send_results_without_an_hec_token_says_what_to_set(settings: Callable[..., Settings]) -> None:
    with pytest.raises(splunk.SplunkConfigError) as raised:
        splunk.send_results(
            pd.DataFrame({"n": [1]}), settings=settings(splunk_hec_enabled="false", splunk_hec_token="")
        )

    assert str(raised.value) == (
        "HEC is not configured: set splunk_hec_url and splunk_hec_token, or pass hec_url= and token="
    )


def test_send_results_of_something_else_than_a_dataframe_names_its_type(
    settings: Callable[..., Settings],
) -> None:
    with pytest.raises(TypeError) as raised:
        splunk.send_results([{"n": 1}], settings=settings())  # type: ignore[arg-type]

    assert str(raised.value) == "df is a list: give a pandas DataFrame"


def test_events_come_from_source_dsdl_golden_and_hecs_host_unless_told_otherwise(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    splunk.send_results(pd.DataFrame({"n": [0]}), index="ml_results", settings=settings())
    splunk.send_results(
        pd.DataFrame({"n": [1]}),
        index="ml_results",
        source="churn-model",
        host="scorer-1",
        settings=settings(),
    )

    sent = posted_lines(server)
    assert [line["source"] for line in sent] == ["dsdl-golden", "churn-model"]
    assert "host" not in sent[0]  # HEC sets it
    assert sent[1]["host"] == "scorer-1"
    stored = server.events(index="ml_results")
    assert [(event["source"], event["host"]) for event in stored] == [
        ("dsdl-golden", "splunk-emulator"),
        ("churn-model", "scorer-1"),
    ]


# --- SendReport -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "tail"),
    [
        pytest.param(20, [], id="twenty-failed-rows-all-listed"),
        pytest.param(21, ["  ... and 1 more failed rows"], id="twenty-one"),
        pytest.param(25, ["  ... and 5 more failed rows"], id="twenty-five"),
    ],
)
def test_a_send_report_lists_the_first_20_failed_rows_and_counts_the_rest(
    failures: int, tail: list[str]
) -> None:
    failed = [(row, f"reason {row}") for row in range(10, 10 + failures)]
    report = splunk.SendReport(rows=40, sent=40 - failures, failed=failed, seconds=1.234)

    assert str(report).split("\n") == [
        f"sent {40 - failures} of 40 rows in 1.23 s",
        *[f"  row {row}: reason {row}" for row in range(10, 30)],
        *tail,
    ]


def test_a_send_report_shows_in_a_notebook_as_escaped_preformatted_text() -> None:
    report = splunk.SendReport(rows=2, sent=1, failed=[(1, "HTTP 400 code=6 'a <b> & c'")], seconds=0.5)

    assert report._repr_html_() == (
        "<pre>sent 1 of 2 rows in 0.50 s\n  row 1: HTTP 400 code=6 &#x27;a &lt;b&gt; &amp; c&#x27;</pre>"
    )


# --- what splunkd says about indexes and HEC tokens (validate_splunk_config) ------------------------


def named_check(report: splunk.ValidationReport, name: str) -> tuple[bool | None, str]:
    (check,) = [check for check in report.checks if check.name == name]
    return check.ok, check.detail


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        pytest.param(
            403, "not checked: the token's user may not read data/indexes (HTTP 403)", id="forbidden"
        ),
        pytest.param(500, "not checked: splunkd answered HTTP 500 to data/indexes", id="server-error"),
    ],
)
def test_an_index_splunkd_will_not_describe_is_not_checked_and_the_check_says_why(
    server: SplunkEmulator, settings: Callable[..., Settings], status: int, detail: str
) -> None:
    server.inject_fault(listener="rest", path="/services/data/indexes/ml_results", status=status, times=None)

    report = splunk.validate_splunk_config(settings(GOLDEN_EVENTS_INDEX="ml_results"))

    assert named_check(report, "index.events_index") == (None, detail)
    assert named_check(report, "index.metrics_index") == (
        True,
        "index 'golden_metrics' (metrics_index) exists",
    )


def test_the_index_check_asks_splunkd_for_indexes_of_every_datatype(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    splunk.validate_splunk_config(settings())

    asked = [
        entry["query"]
        for entry in server.requests_log("rest")
        if entry["path"].startswith("/services/data/indexes/")
    ]
    assert (
        asked == [{"output_mode": "json", "datatype": "all"}] * 2
    )  # splunkd hides metrics indexes otherwise


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"entry": []}, id="no-entry"),
        pytest.param({"entry": [{"name": "ml_results"}]}, id="an-entry-without-content"),
        pytest.param({"entry": [{"name": "ml_results", "content": {}}]}, id="an-entry-without-datatype"),
    ],
)
def test_an_index_splunkd_answers_for_without_details_exists(
    server: SplunkEmulator, settings: Callable[..., Settings], body: dict[str, Any]
) -> None:
    server.inject_fault(
        listener="rest", path="/services/data/indexes/ml_results", status=200, body=body, times=None
    )

    report = splunk.validate_splunk_config(settings(GOLDEN_EVENTS_INDEX="ml_results"))

    assert named_check(report, "index.events_index") == (True, "index 'ml_results' (events_index) exists")


def test_hec_token_indexes_splunkd_will_not_list_are_not_checked_and_the_check_says_why(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(listener="rest", path="/services/data/inputs/http", status=403, times=None)

    report = splunk.validate_splunk_config(settings())

    assert named_check(report, "hec.indexes") == (
        None,
        "not checked: the token's user may not read data/inputs/http (HTTP 403)",
    )


@pytest.mark.parametrize(
    ("token", "body"),
    [
        pytest.param("hec-token-of-another-splunk", None, id="a-token-splunkd-does-not-have"),
        pytest.param(HEC_TOKEN, {"messages": []}, id="an-answer-without-entries"),
    ],
)
def test_an_hec_token_splunkd_does_not_list_is_not_checked_and_the_check_says_so(
    server: SplunkEmulator, settings: Callable[..., Settings], token: str, body: dict[str, Any] | None
) -> None:
    if body is not None:
        server.inject_fault(
            listener="rest", path="/services/data/inputs/http", status=200, body=body, times=None
        )

    report = splunk.validate_splunk_config(settings(splunk_hec_token=token))

    assert named_check(report, "hec.indexes") == (
        None,
        "not checked: data/inputs/http does not list splunk_hec_token (another Splunk?)",
    )


def test_an_hec_token_whose_one_index_splunkd_gives_as_a_string_may_write_to_that_index(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    entry = {"name": "http://results", "content": {"token": HEC_TOKEN, "indexes": "ml_results"}}
    server.inject_fault(
        listener="rest", path="/services/data/inputs/http", status=200, body={"entry": [entry]}, times=None
    )

    report = splunk.validate_splunk_config(settings(GOLDEN_EVENTS_INDEX="ml_results"))

    assert named_check(report, "hec.indexes") == (
        False,
        "splunk_hec_token may not write to 'golden_metrics' (it may write to ml_results)",
    )


# --- the message of an empty search ---------------------------------------------------------------


def empty_search_message(query: str, settings: Settings, **arguments: Any) -> str:
    with pytest.warns(splunk.SplunkEmptyResultWarning) as caught:
        frame = splunk.get_data(query, settings=settings, progress=False, **arguments)
    assert frame.empty
    (warning,) = caught
    return str(warning.message)


def test_an_empty_search_names_every_missing_and_every_metrics_index_and_how_to_widen_the_range(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.add_index("metrics_a", metrics=True)
    server.add_index("metrics_b", metrics=True)
    query = "index=nosuch_a index=nosuch_b index=metrics_a index=metrics_b"

    message = empty_search_message(query, settings(), earliest="-7d")

    assert message == (
        f"the search {query!r} returned no results between earliest='-7d' and latest='now'; "
        "Splunk has no index 'nosuch_a', 'nosuch_b' (or your role may not search it): check the index name "
        "(list yours with get_data('| eventcount summarize=false index=*', earliest='0')); "
        "'metrics_a', 'metrics_b' is a metrics index, which event searches do not read: "
        "use | mstats or | mcatalog; "
        "to search all time pass earliest='0' (or a wider range such as earliest='-30d')"
    )


def test_an_empty_search_quotes_the_first_200_characters_of_a_long_query(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    query = "index=main " + " ".join(f"term{number:03d}" for number in range(40))

    message = empty_search_message(query, settings(), earliest="0")

    assert len(query) > 200
    assert message == f"the search {query[:200]!r} returned no results between earliest='0' and latest='now'"


def test_an_index_check_that_loses_its_connection_leaves_the_index_out_of_the_message(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(
        listener="rest", path="/services/data/indexes/nosuch_a", drop_connection=True, times=None
    )

    message = empty_search_message("index=nosuch_a", settings(), earliest="0")

    assert message == "the search 'index=nosuch_a' returned no results between earliest='0' and latest='now'"


def test_get_data_records_the_search_it_ran_in_the_frames_attrs(settings: Callable[..., Settings]) -> None:
    frame = splunk.get_data(
        "| makeresults count=2",
        earliest="-1h",
        latest="now",
        max_rows=10,
        method="export",
        settings=settings(),
        progress=False,
    )

    assert frame.attrs["splunk_search"] == {
        "query": "| makeresults count=2 | head 11",
        "earliest": "-1h",
        "latest": "now",
        "sid": None,
        "rows": 2,
        "method": "export",
    }
