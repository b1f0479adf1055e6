"""The SPL subset, time modifiers, datasets and HEC batch parsing, without a network."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsdl_golden.emulator.config import HecToken, Settings
from dsdl_golden.emulator.datasets import Datasets
from dsdl_golden.emulator.faults import FaultSet
from dsdl_golden.emulator.hec import HecService, expand
from dsdl_golden.emulator.http import Request
from dsdl_golden.emulator.kvstore import matches
from dsdl_golden.emulator.results import output_row
from dsdl_golden.emulator.search import SearchEngine, SearchError
from dsdl_golden.emulator.store import AckTracker, EventStore
from dsdl_golden.emulator.times import format_time, parse_time

NOW = datetime.datetime(2024, 5, 15, 13, 47, 21, 500000, tzinfo=datetime.UTC).timestamp()  # a Wednesday


def at(text: str) -> float:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC).timestamp()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("now", NOW),
        ("0", 0.0),
        ("1700000000.5", 1700000000.5),
        ("-15m", NOW - 900),
        ("-24h@h", at("2024-05-14T13:00:00")),
        ("@d", at("2024-05-15T00:00:00")),
        ("-1d@d", at("2024-05-14T00:00:00")),
        ("-7d@w0", at("2024-05-05T00:00:00")),
        ("@w1", at("2024-05-13T00:00:00")),
        ("-1mon@mon", at("2024-04-01T00:00:00")),
        ("@q", at("2024-04-01T00:00:00")),
        ("-1y@y", at("2023-01-01T00:00:00")),
        ("+2h", NOW + 7200),
        ("-h", NOW - 3600),
        ("2024-01-02T03:04:05Z", at("2024-01-02T03:04:05")),
        ("2024-01-02T03:04:05+01:00", at("2024-01-02T02:04:05")),
        ("01/02/2024:03:04:05", at("2024-01-02T03:04:05")),
    ],
)
def test_time_modifiers(spec: str, expected: float) -> None:
    assert parse_time(spec, NOW) == expected


@pytest.mark.parametrize("spec", ["yesterday", "-5parsecs", "@x", "-1h@", "1h"])
def test_bad_time_modifiers(spec: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_time(spec, NOW)


def test_time_output_format() -> None:
    assert format_time(at("2024-01-02T03:04:05.25")) == "2024-01-02T03:04:05.250+00:00"


@pytest.fixture
def engine() -> SearchEngine:
    datasets = Datasets()
    datasets.add(
        "web",
        [
            {
                "_time": NOW - 60 * minute,
                "status": [500, 200][minute % 2],
                "host": f"h{minute % 3}",
                "bytes": minute * 10,
            }
            for minute in range(6)
        ],
    )
    return SearchEngine(datasets, EventStore())


def run(engine: SearchEngine, query: str, earliest: str = "", latest: str = "") -> list[dict[str, Any]]:
    return [output_row(row) for row in engine.prepare(query, earliest, latest, NOW).run().results]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("search index=web status=500 | head 2 | table host", [{"host": "h0"}, {"host": "h2"}]),
        ("search index=web | stats count", [{"count": "6"}]),
        ("search index=nothing | stats count", [{"count": "0"}]),
        (
            "search index=web | stats count, sum(bytes) as total, avg(bytes) by status",
            [
                {"status": "200", "count": "3", "total": "90", "avg(bytes)": "30"},
                {"status": "500", "count": "3", "total": "60", "avg(bytes)": "20"},
            ],
        ),
        ("search index=web host=h1 OR_NOT_USED=1 | stats count", [{"count": "0"}]),
        (
            "search index=web NOT host=h1 | stats dc(host) min(bytes) max(bytes)",
            [{"dc(host)": "2", "min(bytes)": "0", "max(bytes)": "50"}],
        ),
        ("search index=web bytes>=30 | table bytes", [{"bytes": "30"}, {"bytes": "40"}, {"bytes": "50"}]),
        ("search index=w* host=H* status!=500 | stats count", [{"count": "3"}]),
        (
            "| makeresults count=3 | streamstats c as i | eval i=i-1, sq=i*i | table i sq",
            [{"i": "0", "sq": "0"}, {"i": "1", "sq": "1"}, {"i": "2", "sq": "4"}],
        ),
        ('| makeresults | eval x=7/2, y="a" + "b", z=1/0 | table x y z', [{"x": "3.5", "y": "ab"}]),
        (
            "search index=web | head 1 | fields - bytes, host",
            [{"_time": format_time(NOW), "index": "web", "status": "500"}],
        ),
    ],
)
def test_spl_subset(engine: SearchEngine, query: str, expected: list[dict[str, Any]]) -> None:
    assert run(engine, query) == expected


def test_time_bounds_and_inline_terms(engine: SearchEngine) -> None:
    assert len(run(engine, "search index=web", "-150s", "+1s")) == 3
    assert len(run(engine, "search index=web", "-150s", "now")) == 2  # latest is exclusive
    assert len(run(engine, "search index=web earliest=-150s latest=-30s")) == 2
    assert len(run(engine, "search index=web", "0", "")) == 6


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("index=web", "Unknown search command 'index'."),
        ("search index=web | sort bytes", "Unknown search command 'sort'."),
        (
            "search index=web | makeresults",
            "Error in 'makeresults' command: This command must be the first command of a search.",
        ),
        ("search a OR b", "Error in 'search' command: the emulator does not support 'OR' in searches."),
        (
            "search index=web | stats median(bytes)",
            "Error in 'stats' command: The argument 'median(bytes)' is invalid.",
        ),
        (
            "| makeresults | eval x=round(1)",
            "Error in 'eval' command: The expression 'round(1)' is not supported by the emulator.",
        ),
        ("search index=web earliest=tomorrow", "Invalid value \"tomorrow\" for time term 'earliest'"),
        ("", "Search query is empty."),
    ],
)
def test_unsupported_spl_is_rejected_with_splunk_messages(
    engine: SearchEngine, query: str, message: str
) -> None:
    with pytest.raises(SearchError) as error:
        engine.prepare(query)
    assert str(error.value) == message


def test_exact_query_datasets_win(engine: SearchEngine) -> None:
    engine.datasets.add("| inputlookup   models.csv", [{"name": "m1"}])
    assert run(engine, "| inputlookup models.csv") == [{"name": "m1"}]


def test_datasets_from_files_and_dataframes(tmp_path: Path) -> None:
    datasets = Datasets()
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text("_time,a,b\n2024-01-01T00:00:00Z,1,\n")
    json_path = tmp_path / "rows.json"
    json_path.write_text(json.dumps([{"_time": 1700000000, "tags": ["x", "y"], "nested": {"k": 1}}]))
    frame = pd.DataFrame(
        {"_time": pd.to_datetime(["2024-01-01T00:00:00Z"]), "value": [1.5], "missing": [float("nan")]}
    )
    assert (
        datasets.add("csv", csv_path) == datasets.add("json", json_path) == datasets.add("frame", frame) == 1
    )
    rows = {name: output_row(datasets.for_indexes([name])[0]) for name in ("csv", "json", "frame")}
    assert rows["csv"] == {"_time": "2024-01-01T00:00:00.000+00:00", "index": "csv", "a": "1"}
    assert rows["json"] == {
        "_time": "2023-11-14T22:13:20.000+00:00",
        "index": "json",
        "tags": ["x", "y"],
        "nested": '{"k":1}',
    }
    assert rows["frame"] == {"_time": "2024-01-01T00:00:00.000+00:00", "index": "frame", "value": "1.5"}
    with pytest.raises(ValueError, match=r"expected a \.csv"):
        datasets.add("bad", tmp_path / "rows.txt")


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("nan.json", '[{"a": 1},\n {"a": NaN}]', r"line 2 column 8: NaN is not valid JSON"),
        ("inf.json", '[{"a": -Infinity}]', r"line 1 column 8: -Infinity is not valid JSON"),
        (
            "big.jsonl",
            '{"a": 1}\n\n{"a": 2e400}\n',
            r"line 3 column 7: 2e400 is beyond the range of a double",
        ),
        ("deep.json", "[" * 100_000 + "]" * 100_000, r"JSON nested more than 512 levels deep"),
        ("deep.ndjson", '{"a": 1}\n' + '{"a":' + "[" * 600 + "]" * 600 + "}", r"line 2: JSON nested more"),
        ("broken.jsonl", '{"a": 1}\n{"a": }', r"line 2 column 7: Expecting value"),
        ("scalar.json", "[1]", r"item 0 is not a JSON object"),
        ("list.jsonl", '{"a": 1}\n[]', r"line 2 is not a JSON object"),
        ("when.csv", "a,_time\n1,2024-01-01\n2,soon\n", r"row 1: unreadable _time 'soon'"),
        ("latin1.csv", b"a\n\xe9t\xe9\n", r"byte 2 is not UTF-8 \(invalid continuation byte\)"),
    ],
)
def test_dataset_files_are_read_as_strict_json(
    tmp_path: Path, name: str, text: str | bytes, problem: str
) -> None:
    """Dataset files follow the rules of HEC bodies; the error names the file and where it breaks."""
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(ValueError, match=rf"^dataset file {path}: {problem}") as raised:
        Datasets().add("web", path)
    assert "\n" not in str(raised.value)


def test_kvstore_query_language() -> None:
    document = {"name": "a", "score": 5, "tags": "x"}
    assert matches(document, {"name": "a", "score": {"$gte": 5, "$lt": 6}})
    assert matches(document, {"$or": [{"name": "b"}, {"score": {"$in": [4, 5]}}]})
    assert not matches(document, {"score": {"$gt": "4"}})
    assert matches(document, {"missing": {"$exists": False}, "name": {"$ne": "b"}})
    with pytest.raises(ValueError, match="unsupported"):
        matches(document, {"score": {"$regex": "."}})


def ingest(body: str, settings: Settings | None = None) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    settings = settings or Settings()
    settings.add_token(HecToken("T", name="t"))
    events = EventStore()
    service = HecService(settings, events, AckTracker(), FaultSet())
    request = Request(
        "hec", "POST", "/services/collector/event", [("Authorization", "Splunk T")], body.encode()
    )
    response = service.handle(request, 1, {})
    assert isinstance(response.body, bytes)
    return response.status, json.loads(response.body), [expand(record) for record in events.records()]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
events_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "event": st.text(min_size=1, max_size=20).filter(lambda text: not text.isspace())
            | st.dictionaries(st.text(max_size=5), json_values, min_size=1, max_size=3)
        },
        optional={
            "time": st.floats(0, 2e9),
            "host": st.text(min_size=1, max_size=10),
            "fields": st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=3),
        },
    ),
    min_size=1,
    max_size=8,
)


@given(
    events=events_strategy,
    separators=st.lists(st.sampled_from(["", " ", "\n", "\r\n", "\t "]), min_size=9, max_size=9),
)
def test_any_concatenation_of_valid_events_is_stored_in_order(
    events: list[dict[str, Any]], separators: list[str]
) -> None:
    body = separators[0] + "".join(
        json.dumps(event) + separator for event, separator in zip(events, separators[1:], strict=False)
    )
    status, reply, stored = ingest(body)
    assert (status, reply) == (200, {"text": "Success", "code": 0})
    assert [record["event"] for record in stored] == [event["event"] for event in events]
    assert [record["fields"] for record in stored] == [event.get("fields", {}) for event in events]


@given(events=events_strategy, bad=st.integers(min_value=0, max_value=7))
def test_partial_accept_stores_exactly_the_events_before_the_invalid_one(
    events: list[dict[str, Any]], bad: int
) -> None:
    bad = min(bad, len(events) - 1)
    body = "".join(json.dumps(event if number != bad else {"time": 1}) for number, event in enumerate(events))
    status, reply, stored = ingest(body)
    assert (status, reply) == (
        400,
        {"text": "Event field is required", "code": 12, "invalid-event-number": bad},
    )
    assert len(stored) == bad
