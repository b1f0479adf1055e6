"""The shape of large metrics: big arrays as events in parts of rows, many measurements split over
metric events, every event far under HEC's limits, and small inputs exactly as they always were."""

from __future__ import annotations

import itertools
import json
import logging
import math
import numbers
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pytest

from dsdl_golden._telemetry import metric_events as shaping
from dsdl_golden._telemetry.client import MAX_EVENT_BYTES
from dsdl_golden._telemetry.metric_events import ARRAY_EVENT_BYTES, MAX_MEASUREMENTS_PER_EVENT, metric_fields
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.metrics_calculator import calculate_all_metrics
from dsdl_golden.telemetry_helper import Telemetry

MEASUREMENT = "metric_name:"
ENVELOPE_BYTES = 4_000  # an array event's context, metadata and HEC envelope, generously


def classification(n_classes: int, n_samples: int = 20_000, seed: int = 10) -> dict[str, Any]:
    """calculate_all_metrics of ``n_classes`` labels, 70 % predicted right, as a plain dict (no
    ``descriptor_keys``: every array is shaped as metrics; test_first_hour covers descriptors)."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, n_classes, n_samples)
    y_pred = np.where(rng.random(n_samples) < 0.7, y_true, rng.integers(0, n_classes, n_samples))
    return dict(calculate_all_metrics(y_true, y_pred))


class Capture:
    """A delivery client that keeps the serialised events."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def submit(self, payload: bytes) -> None:
        self.payloads.append(payload)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for payload in self.payloads]

    def metric_events(self) -> list[dict[str, Any]]:
        return [event["fields"] for event in self.events if event["event"] == "metric"]

    def array_events(self) -> list[dict[str, Any]]:
        return [event for event in self.events if event["event"] != "metric"]


@pytest.fixture
def capture() -> Capture:
    return Capture()


@pytest.fixture
def offline(capture: Capture) -> Telemetry:
    """A Telemetry whose events land in ``capture`` (no HEC, no threads)."""
    return Telemetry(load_settings({}), capture)  # type: ignore[arg-type]


def reference_fields(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The metric fields of ``metrics`` as log_metrics built them before large inputs had a shape."""

    def flatten(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
        for key, value in values.items():
            name = f"{prefix}{key}"
            items = value.tolist() if getattr(value, "ndim", 0) > 0 else value
            if isinstance(items, Mapping):
                yield from flatten(items, f"{name}.")
            elif isinstance(items, list | tuple):
                yield from flatten({str(index): item for index, item in enumerate(items)}, f"{name}.")
            else:
                yield name, items

    fields: dict[str, Any] = {}
    non_finite = []
    for name, value in flatten(metrics):
        if value is None:
            continue
        if isinstance(value, str):
            fields[name] = value
        elif isinstance(value, numbers.Real) or hasattr(value, "__float__"):
            if math.isfinite(float(value)):
                fields[f"{MEASUREMENT}{name}"] = float(value)
            else:
                non_finite.append(name)
    if non_finite:
        fields["non_finite"] = ",".join(non_finite)
    return fields


def reassemble(bodies: list[dict[str, Any]], name: str, dtype: Any = None) -> np.ndarray:
    """The array ``name`` from its events (any order), checking that the parts fit together."""
    parts = sorted((body for body in bodies if body["metric"] == name), key=lambda body: body["part"])
    assert parts, f"no events for {name}"
    assert [body["part"] for body in parts] == list(range(1, parts[0]["parts"] + 1))
    assert parts[0]["start"] == 0
    assert all(before["stop"] == after["start"] for before, after in itertools.pairwise(parts))
    assert all(len(body["values"]) == body["stop"] - body["start"] for body in parts)
    values = np.concatenate([np.asarray(body["values"], dtype=dtype) for body in parts])
    assert parts[-1]["stop"] == len(values)
    return values.reshape(parts[0]["shape"])


def metric_events(splunk: SplunkEmulator) -> dict[str, dict[str, Any]]:
    """The metric events the emulator stored (one record per measurement), regrouped by event_id."""
    grouped: dict[str, dict[str, Any]] = {}
    for measurement in splunk.events(index="golden_metrics", kind="metric"):
        event = grouped.setdefault(measurement["fields"]["event_id"], dict(measurement["fields"]))
        event[MEASUREMENT + measurement["metric_name"]] = measurement["value"]
    return grouped


# --- against the emulator ---------------------------------------------------------------------


@pytest.mark.integration
def test_a_thousand_class_result_is_delivered_whole_in_events_under_hecs_limits(
    splunk: SplunkEmulator, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = classification(1000)
    assert telemetry.delivery is not None
    sizes: list[int] = []
    submit = telemetry.delivery.submit

    def measured(payload: bytes) -> None:
        sizes.append(len(payload))
        submit(payload)

    monkeypatch.setattr(telemetry.delivery, "submit", measured)
    telemetry.set_context(model="catalogue", run_id="run-1000")

    telemetry.log_metrics(metrics, stage="test", fold=3)
    assert telemetry.flush(60), telemetry.stats()

    assert telemetry.stats()["dead_lettered"] == 0
    assert max(sizes) < ARRAY_EVENT_BYTES + ENVELOPE_BYTES < MAX_EVENT_BYTES
    records = splunk.events(index="main", sourcetype="dsdl:golden")
    assert len(records) + len(metric_events(splunk)) == len(sizes)  # every event arrived

    # the metric events: at most 1,000 measurements each, the same dimensions, linked
    events = metric_events(splunk)
    first = next(event for event in events.values() if event.get("metrics_part") == 1)
    metrics_id = first["event_id"]
    assert sorted(event["metrics_part"] for event in events.values()) == list(range(1, len(events) + 1))
    for event in events.values():
        assert sum(key.startswith(MEASUREMENT) for key in event) <= MAX_MEASUREMENTS_PER_EVENT
        assert event["metrics_parts"] == len(events)
        assert event["metrics_id"] == metrics_id
        assert (event["task"], event["stage"], event["fold"]) == ("multiclass", "test", 3)
        assert (event["model"], event["run_id"]) == ("catalogue", "run-1000")
    measured_values = {
        key[len(MEASUREMENT) :]: value for event in events.values() for key, value in event.items()
    }
    assert measured_values["accuracy"] == metrics["accuracy"]
    for index, record in enumerate(metrics["per_class"]):
        for key in ("precision", "recall", "f1", "support"):
            assert measured_values[f"per_class.{index}.{key}"] == pytest.approx(record[key], rel=1e-12)
    matrix = np.asarray(metrics["confusion_matrix"])
    assert measured_values["confusion_matrix.shape.0"] == measured_values["confusion_matrix.shape.1"] == 1000
    assert measured_values["confusion_matrix.total"] == 20_000 == matrix.sum()
    assert measured_values["confusion_matrix.trace"] == np.trace(matrix)
    assert "confusion_matrix.0.0" not in measured_values

    # the arrays: ordinary events, linked to the metric events, that give the arrays back exactly
    bodies = [record["event"] for record in records]
    assert {body["type"] for body in bodies} == {"metric_array"}
    for record in records:
        fields = record["fields"]
        assert fields["metrics_id"] == metrics_id
        assert (fields["stage"], fields["fold"], fields["run_id"]) == ("test", 3, "run-1000")
    assert len({record["fields"]["event_id"] for record in records}) == len(records)
    rebuilt = reassemble(bodies, "confusion_matrix")
    assert rebuilt.dtype.kind == "i"
    np.testing.assert_array_equal(rebuilt, matrix)
    assert len([body for body in bodies if body["metric"] == "confusion_matrix"]) > 1
    np.testing.assert_array_equal(reassemble(bodies, "labels"), metrics["labels"])
    for which in ("y_true", "y_pred"):
        counts = reassemble(bodies, f"class_counts.{which}")
        np.testing.assert_array_equal(counts, metrics["class_counts"][which])


@pytest.mark.integration
def test_a_twenty_class_result_is_still_one_metric_event(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    metrics = classification(20, n_samples=2_000)
    telemetry.log_metrics(metrics, stage="validation")
    assert telemetry.flush(10)

    (event,) = metric_events(splunk).values()
    assert event[f"{MEASUREMENT}confusion_matrix.19.19"] == metrics["confusion_matrix"][19][19]
    assert event[f"{MEASUREMENT}per_class.19.f1"] == metrics["per_class"][19]["f1"]
    assert not {"metrics_id", "metrics_part", "metrics_parts"} & set(event)
    assert splunk.events(index="main") == []


# --- the shape, event by event ------------------------------------------------------------------


@pytest.mark.parametrize(
    "metrics",
    [
        pytest.param({"accuracy": 0.91, "loss": 0.25, "task": "binary"}, id="scalars"),
        pytest.param(
            {"per_class": {"a": {"f1": 0.5}}, "confusion_matrix": [[3, 1], [0, 4]], "r2": float("nan")},
            id="nested",
        ),
        pytest.param({"matrix": np.arange(400).reshape(20, 20), "n": np.int64(3)}, id="numpy-400-cells"),
        pytest.param({"labels": [f"class-{index}" for index in range(400)], "n": 400}, id="400-strings"),
        pytest.param(classification(3, n_samples=300), id="3-classes"),
        pytest.param(classification(20, n_samples=2_000), id="20-classes"),
    ],
)
def test_small_inputs_make_the_same_single_event_as_before(
    offline: Telemetry, capture: Capture, metrics: dict[str, Any]
) -> None:
    offline.log_metrics(metrics, step=4, stage="validation", fold=1)

    (payload,) = capture.payloads
    fields = json.loads(payload)["fields"]
    expected = reference_fields(metrics)
    assert list(fields.items())[: len(expected)] == list(expected.items())  # same fields, same order
    dimensions = set(fields) - set(expected)
    assert dimensions == {"project", "use_case", "run_id", "stage", "step", "fold", "event_id"}
    assert metric_fields(metrics)[0] == {key: value for key, value in expected.items() if key != "non_finite"}


def test_a_confusion_matrix_of_21_classes_is_summarised_and_sent_as_events(
    offline: Telemetry, capture: Capture
) -> None:
    metrics = classification(21, n_samples=3_000)
    offline.log_metrics(metrics)

    (fields,) = capture.metric_events()
    assert f"{MEASUREMENT}confusion_matrix.0.0" not in fields
    matrix = np.asarray(metrics["confusion_matrix"])
    assert fields[f"{MEASUREMENT}confusion_matrix.shape.0"] == 21.0
    assert fields[f"{MEASUREMENT}confusion_matrix.shape.1"] == 21.0
    assert fields[f"{MEASUREMENT}confusion_matrix.total"] == 3_000.0
    assert fields[f"{MEASUREMENT}confusion_matrix.trace"] == float(np.trace(matrix))
    assert f"{MEASUREMENT}per_class.20.recall" in fields  # per-class metrics stay measurements
    assert f"{MEASUREMENT}labels.20" in fields  # 21 labels: a small array
    (array_event,) = capture.array_events()
    assert array_event["index"] == "main"
    assert array_event["sourcetype"] == "dsdl:golden"
    assert array_event["fields"]["metrics_id"] == fields["metrics_id"] == fields["event_id"]
    assert array_event["fields"]["event_id"] != fields["event_id"]
    np.testing.assert_array_equal(reassemble([array_event["event"]], "confusion_matrix"), matrix)


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        pytest.param(np.arange(1000) - 500, None, id="1-d-int"),
        pytest.param(
            np.where(np.eye(30, dtype=bool), np.nan, np.linspace(-1e300, 1e-300, 900).reshape(30, 30)),
            float,
            id="2-d-float-nan",
        ),
        pytest.param(
            np.random.default_rng(1).random((5, 10, 20), dtype=np.float32), np.float32, id="3-d-f32"
        ),
        pytest.param(np.eye(25, dtype=bool), None, id="bool"),
        pytest.param(
            [[row * 50 + column for column in range(50)] for row in range(50)], None, id="nested-list"
        ),
        pytest.param([f"label-{index}-é\n" for index in range(500)], None, id="strings"),
        pytest.param(np.random.default_rng(2).normal(size=(300, 2000)), float, id="many-parts"),
        pytest.param(np.random.default_rng(3).normal(size=(2, 30_000)), float, id="raveled"),
    ],
)
def test_large_arrays_are_sent_in_parts_that_give_them_back_exactly(
    offline: Telemetry, capture: Capture, values: Any, dtype: Any
) -> None:
    offline.log_metrics({"scores": values, "accuracy": 0.5}, stage="test", step=2, fold="a")

    (fields,) = capture.metric_events()
    original = np.asarray(values)
    for axis, length in enumerate(original.shape):
        assert fields[f"{MEASUREMENT}scores.shape.{axis}"] == length
    assert f"{MEASUREMENT}scores.total" not in fields  # only a confusion matrix gets total and trace
    assert fields[f"{MEASUREMENT}accuracy"] == 0.5
    events = capture.array_events()
    rebuilt = reassemble([event["event"] for event in events], "scores", dtype)
    np.testing.assert_array_equal(rebuilt, original)  # NaN where NaN was
    assert max(map(len, capture.payloads)) < ARRAY_EVENT_BYTES + ENVELOPE_BYTES
    assert {event["event"]["raveled"] for event in events} == {original.shape == (2, 30_000)}
    for event in events:
        assert event["fields"]["metrics_id"] == fields["event_id"]
        assert (event["fields"]["stage"], event["fields"]["step"], event["fields"]["fold"]) == (
            "test",
            2,
            "a",
        )


@pytest.mark.parametrize(
    "as_given",
    [np.asarray, lambda array: array.tolist()],
    ids=["numpy", "nested-list"],
)
def test_a_20_class_confusion_matrix_stays_measurements_and_one_cell_more_is_an_array(
    offline: Telemetry, capture: Capture, as_given: Any
) -> None:
    assert shaping.ARRAY_MEASUREMENT_CELLS == 400  # a 20 x 20 confusion matrix, as documented
    matrix = np.arange(400).reshape(20, 20)
    offline.log_metrics({"confusion_matrix": as_given(matrix)})
    assert capture.array_events() == []
    (fields,) = capture.metric_events()
    assert fields[f"{MEASUREMENT}confusion_matrix.19.18"] == 398

    capture.payloads.clear()
    offline.log_metrics({"scores": as_given(np.arange(401))})
    (fields,) = capture.metric_events()
    assert fields[f"{MEASUREMENT}scores.shape.0"] == 401
    assert f"{MEASUREMENT}scores.0" not in fields
    np.testing.assert_array_equal(
        reassemble([event["event"] for event in capture.array_events()], "scores", None), np.arange(401)
    )


def test_more_than_a_thousand_measurements_are_split_over_metric_events(
    offline: Telemetry, capture: Capture
) -> None:
    per_class = {f"c{index}": {"f1": index / 2500, "support": index} for index in range(1250)}
    offline.log_metrics({"accuracy": 0.7, "per_class": per_class, "task": "multiclass"}, stage="test")

    events = capture.metric_events()
    assert capture.array_events() == []
    assert [event["metrics_part"] for event in events] == [1, 2, 3]
    sent: dict[str, Any] = {}
    for event in events:
        measurements = {key: value for key, value in event.items() if key.startswith(MEASUREMENT)}
        assert len(measurements) <= MAX_MEASUREMENTS_PER_EVENT
        assert not set(measurements) & set(sent)
        sent.update(measurements)
        assert (event["metrics_parts"], event["metrics_id"]) == (3, events[0]["event_id"])
        assert (event["task"], event["stage"]) == ("multiclass", "test")
    assert len({event["event_id"] for event in events}) == 3
    assert sent == reference_fields({"accuracy": 0.7, "per_class": per_class})


def test_text_mixed_with_numbers_is_not_an_array(offline: Telemetry, capture: Capture) -> None:
    rows = [[f"class-{index}", index / 10] for index in range(300)]  # 600 cells, but records
    offline.log_metrics({"rows": rows})

    assert capture.array_events() == []
    fields = capture.metric_events()[0]
    assert fields["rows.7.0"] == "class-7"
    assert fields[f"{MEASUREMENT}rows.7.1"] == 0.7


def test_an_array_beyond_the_byte_limit_is_summarised_named_and_not_sent(
    offline: Telemetry, capture: Capture, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(shaping, "ARRAY_MAX_BYTES", 100_000)
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.telemetry"):
        offline.log_metrics({"confusion_matrix": np.ones((200, 200)), "small": np.ones(500)})

    (fields,) = capture.metric_events()
    assert fields["arrays_not_sent"] == "confusion_matrix"
    assert fields[f"{MEASUREMENT}confusion_matrix.total"] == 40_000.0
    assert [event["event"]["metric"] for event in capture.array_events()] == ["small"]
    assert "confusion_matrix" in caplog.text
