"""What a data scientist meets in the first hour: honest flush, why telemetry is off, parameters,
figures, help() of the log handler, the notebook view, and metrics results that describe."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from golden_testing import child_environ

from dsdl_golden.config import Settings, load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.telemetry_helper import HecLogHandler, JsonFormatter, Telemetry, build_telemetry

matplotlib.use("Agg")
import matplotlib.pyplot as plt

pytestmark = pytest.mark.integration


def measurements(splunk: SplunkEmulator) -> dict[str, dict[str, Any]]:
    """The metric names Splunk stored, each with its dimensions."""
    return {
        record["metric_name"]: record["fields"]
        for record in splunk.events(index="golden_metrics", kind="metric")
    }


# 1. flush is True only when every event arrived ------------------------------------------------


def test_flush_stays_false_after_dead_letters_and_warns_once_per_reason_with_the_fix(
    splunk: SplunkEmulator, settings_for: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    telemetry = build_telemetry(settings_for(GOLDEN_METRICS_INDEX="missing_metrics"))
    try:
        with caplog.at_level(logging.WARNING, logger="dsdl_golden.telemetry"):
            for step in range(6):
                telemetry.log_training_step(step, loss=1.0 / (step + 1))
            telemetry.log_event("fit done")
            assert not telemetry.flush(10)
            assert not telemetry.flush(10)  # the six metric events stay lost
    finally:
        telemetry.close()

    assert telemetry.stats()["dead_lettered"] == 6
    assert [event["event"]["message"] for event in splunk.events(index="main")] == ["fit done"]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    (warning,) = [message for message in warnings if "not delivered" in message]
    assert warning.startswith("telemetry: 6 events were not delivered")
    assert "Incorrect index" in warning
    assert "index missing_metrics does not exist" in warning
    assert "GOLDEN_METRICS_INDEX" in warning
    assert "dead-letter.jsonl" in warning


# 2. telemetry that is off says so, once, at INFO -----------------------------------------------

OFF_CHILD = textwrap.dedent(
    """
    import logging
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    from dsdl_golden import telemetry_helper as telemetry
    from dsdl_golden.config import Settings
    for _ in range(3):
        telemetry.log_metrics({"accuracy": 0.9})
        telemetry.log_event("ignored")
    print("flushed", telemetry.flush(1), telemetry.get_telemetry().stats())
    half = telemetry.build_telemetry(  # load_settings refuses this; Settings(...) in code does not
        Settings(splunk_hec_enabled=True, splunk_hec_url="https://splunk.example:8088")
    )
    half.log_event("ignored")
    half.log_event("ignored")
    """
)


def test_telemetry_that_is_off_says_once_why_what_to_set_and_that_events_are_dropped(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", OFF_CHILD],
        env=child_environ(GOLDEN_SPOOL_DIR=str(tmp_path / "spool")),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "flushed True {}"
    off = [line for line in done.stderr.splitlines() if "telemetry is off" in line]
    assert len(off) == 2, done.stderr  # one per reason, however many calls
    unset, no_token = off
    assert unset.startswith("INFO telemetry is off (splunk_hec_enabled is false or unset)")
    assert no_token.startswith("INFO telemetry is off (splunk_hec_token not set)")
    for line in off:
        assert "dropped, not spooled" in line
        assert "splunk_hec_enabled=true, splunk_hec_url and splunk_hec_token" in line
    assert not (tmp_path / "spool").exists()


# 3. parameters ---------------------------------------------------------------------------------


def test_parameters_are_one_event_that_later_metrics_join_by_params_id(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    telemetry.set_context(run_id="run-7")
    params_id = telemetry.log_params(
        {"optimizer": {"name": "adam", "lr": 0.01}, "class_weight": {0: 1.0, 1: 5.0}},
        epochs=np.int64(20),
        layers=(64, 32),
    )
    telemetry.log_metrics({"accuracy": 0.9}, stage="test")
    telemetry.set_context(run_id="run-8")  # a new run has no parameters yet
    telemetry.log_metrics({"accuracy": 0.8}, stage="test")
    assert telemetry.flush(10)

    (event,) = splunk.events(index="main")
    assert event["event"]["type"] == "params"
    assert event["event"]["params"] == {
        "optimizer.name": "adam",
        "optimizer.lr": 0.01,
        "class_weight.0": 1.0,
        "class_weight.1": 5.0,
        "epochs": 20,
        "layers": [64, 32],
    }
    assert event["fields"]["params_id"] == event["fields"]["event_id"] == params_id
    assert event["fields"]["run_id"] == "run-7"
    first, second = splunk.events(index="golden_metrics", kind="metric")
    assert (first["fields"]["params_id"], first["fields"]["run_id"]) == (params_id, "run-7")
    assert "params_id" not in second["fields"]


def test_a_parameter_that_is_not_json_is_refused_naming_it(telemetry: Telemetry) -> None:
    with pytest.raises(TypeError, match=r"parameter 'model\.path' is a PosixPath: .*str\(value\)"):
        telemetry.log_params(model={"path": Path("/srv/model")})
    with pytest.raises(TypeError, match=r"parameter name \(1, 2\) is a tuple"):
        telemetry.log_params({(1, 2): "pair"})
    assert telemetry.stats()["queued"] == 0


# 4. figures ------------------------------------------------------------------------------------


def test_a_figure_is_sent_as_a_png_with_its_size_in_pixels(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    figure, axes = plt.subplots(figsize=(4, 3), dpi=50)
    axes.plot([0, 0.2, 1], [0, 0.8, 1])
    try:
        telemetry.log_figure(figure, "roc_curve", stage="test")
    finally:
        plt.close(figure)
    assert telemetry.flush(10)

    (event,) = splunk.events(index="main")
    body = event["event"]
    assert (body["type"], body["name"], body["format"]) == ("figure", "roc_curve", "png")
    assert (body["width"], body["height"]) == (200, 150)
    assert base64.b64decode(body["png_base64"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert event["fields"]["stage"] == "test"


def test_a_figure_too_large_for_one_event_is_refused_saying_how_to_shrink_it(telemetry: Telemetry) -> None:
    figure, axes = plt.subplots(figsize=(10, 10), dpi=100)
    axes.imshow(np.random.default_rng(1).random((1000, 1000)))  # noise: a PNG of megabytes
    try:
        with pytest.raises(ValueError, match=r"more than the 600000 .*dpi.*set_size_inches"):
            telemetry.log_figure(figure, "noise")
    finally:
        plt.close(figure)
    with pytest.raises(TypeError, match=r"matplotlib Figure.*got ndarray"):
        telemetry.log_figure(np.zeros((3, 3)), "not a figure")
    assert telemetry.stats()["queued"] == 0


# 5. help() of the handler and formatter ----------------------------------------------------------


@pytest.mark.parametrize(
    "method", [HecLogHandler.emit, HecLogHandler.__init__, JsonFormatter.format], ids=lambda m: m.__qualname__
)
def test_the_log_handler_methods_document_themselves(method: Callable[..., Any]) -> None:
    assert method.__doc__
    assert "NotImplementedError" not in method.__doc__
    assert method.__qualname__.startswith(("HecLogHandler", "JsonFormatter"))


# 6. the notebook view --------------------------------------------------------------------------


def test_the_notebook_view_shows_where_events_go_and_the_counters_escaped_and_without_the_token(
    splunk: SplunkEmulator, settings_for: Callable[..., Settings], hec_token: str, tmp_path: Path
) -> None:
    telemetry = build_telemetry(settings_for(GOLDEN_SPOOL_DIR=str(tmp_path / "<b>spool")))
    try:
        telemetry.log_event("shown")
        assert telemetry.flush(10)
        page = telemetry._repr_html_()
    finally:
        telemetry.close()

    assert hec_token not in page + repr(telemetry)
    assert "&lt;b&gt;spool" in page
    assert "<b>" not in page
    assert splunk.hec_url in page
    assert "golden_metrics" in page
    assert "<td>sent</td><td>1</td>" in page
    assert repr(telemetry) == f"Telemetry({splunk.hec_url})"
    off = build_telemetry(load_settings({}))._repr_html_()
    assert "no: splunk_hec_enabled is false or unset" in off


# 7. metrics results that describe ----------------------------------------------------------------


class Described(dict[str, Any]):
    """A metrics result that names its describing keys, as calculate_all_metrics does."""

    descriptor_keys = frozenset({"labels", "pos_label", "class_counts"})


def test_describing_keys_become_dimensions_not_measurements(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    result = Described(
        accuracy=0.9,
        labels=["cat", "dog"],
        pos_label="dog",
        class_counts={"cat": 3, "dog": 5},
        tags=["a", "b"],
    )
    telemetry.log_metrics(result, stage="test")
    assert telemetry.flush(10)

    stored = measurements(splunk)
    assert set(stored) == {"accuracy"}
    dimensions = stored["accuracy"]
    assert json.loads(dimensions["labels"]) == ["cat", "dog"]
    assert dimensions["pos_label"] == "dog"
    assert json.loads(dimensions["class_counts"]) == {"cat": 3, "dog": 5}
    assert (dimensions["tags.0"], dimensions["tags.1"]) == ("a", "b")  # plain strings: dimensions


def test_large_describing_values_go_to_events_linked_to_the_metrics(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    labels = [f"class-{index}" for index in range(1000)]
    counts = {label: index for index, label in enumerate(labels)}
    telemetry.log_metrics(Described(accuracy=0.9, labels=labels, class_counts=counts), stage="test")
    assert telemetry.flush(10)

    stored = measurements(splunk)
    assert set(stored) == {"accuracy"}
    metrics_id = stored["accuracy"]["metrics_id"]
    assert "labels" not in stored["accuracy"]
    array, descriptor = splunk.events(index="main")
    assert (array["event"]["type"], array["event"]["metric"]) == ("metric_array", "labels")
    assert array["event"]["values"] == labels
    assert descriptor["event"] == {
        "type": "metric_descriptor",
        "metric": "class_counts",
        "value": counts,
        "level": "INFO",
    }
    assert array["fields"]["metrics_id"] == descriptor["fields"]["metrics_id"] == metrics_id
