"""telemetry_helper against the Splunk emulator over loopback HTTPS."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dsdl_golden.config import Settings, load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.telemetry_helper import HecLogHandler, JsonFormatter, Telemetry, build_telemetry

pytestmark = pytest.mark.integration


def metric_events(splunk: SplunkEmulator) -> list[dict[str, Any]]:
    """Splunk stores one measurement per metric name: regroup them per sent event (by event_id)."""
    grouped: dict[str, dict[str, Any]] = {}
    for measurement in splunk.events(index="golden_metrics", kind="metric"):
        event = grouped.setdefault(measurement["fields"]["event_id"], dict(measurement["fields"]))
        event[measurement["metric_name"]] = measurement["value"]
    return list(grouped.values())


def test_metrics_reach_the_metrics_index_with_the_run_context(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    telemetry.set_context(model="churn_model", run_id="run-42")
    telemetry.log_metrics({"accuracy": 0.91, "loss": 0.25, "task": "binary"}, stage="validation", fold=2)
    telemetry.log_training_step(7, loss=0.5)
    assert telemetry.flush(10)

    first, second = metric_events(splunk)
    assert first["accuracy"] == 0.91
    assert first["loss"] == 0.25
    assert first["task"] == "binary"
    assert (first["stage"], first["fold"]) == ("validation", 2)
    assert (first["project"], first["use_case"]) == ("churn", "scoring")
    assert (first["model"], first["run_id"]) == ("churn_model", "run-42")
    assert (second["loss"], second["step"], second["stage"]) == (0.5, 7, "train")
    assert first["event_id"] != second["event_id"]


def test_nested_metrics_are_flattened_and_non_finite_values_named(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    telemetry.log_metrics(
        {"per_class": {"a": {"f1": 0.5}}, "confusion_matrix": [[3, 1], [0, 4]], "r2": float("nan")}
    )
    assert telemetry.flush(10)

    (event,) = metric_events(splunk)
    assert event["per_class.a.f1"] == 0.5
    assert event["confusion_matrix.0.1"] == 1.0
    assert event["non_finite"] == "r2"
    assert "r2" not in event


def test_bad_metric_values_raise_at_the_call(telemetry: Telemetry) -> None:
    with pytest.raises(TypeError, match="'model'"):
        telemetry.log_metrics({"model": object()})
    with pytest.raises(ValueError, match="metric name 'bad name'"):
        telemetry.log_metrics({"bad name": 1.0})


def test_events_and_errors_reach_the_events_index(splunk: SplunkEmulator, telemetry: Telemetry) -> None:
    telemetry.log_event({"action": "fit", "rows": 1200}, phase="fit")
    try:
        raise ValueError("bad column 'amount'")
    except ValueError as error:
        telemetry.log_error(error, phase="apply")
    assert telemetry.flush(10)

    fit, failure = splunk.events(index="main")
    assert fit["sourcetype"] == "dsdl:golden"
    assert fit["event"]["action"] == "fit"
    assert fit["fields"]["phase"] == "fit"
    assert failure["event"]["exception_type"] == "builtins.ValueError"
    assert "bad column 'amount'" in failure["event"]["traceback"]
    assert failure["event"]["level"] == "ERROR"
    assert failure["fields"]["event_id"] != fit["fields"]["event_id"]
    assert failure["host"] == fit["host"] != ""


def test_log_records_go_through_the_handler(splunk: SplunkEmulator, telemetry: Telemetry) -> None:
    log = logging.getLogger("tests.telemetry.handler")
    handler = HecLogHandler(telemetry=telemetry)
    log.addHandler(handler)
    try:
        log.warning("drift on %s", "amount", extra={"psi": 0.31})
    finally:
        log.removeHandler(handler)
    assert telemetry.flush(10)

    (event,) = splunk.events(index="main")
    assert event["event"]["message"] == "drift on amount"
    assert event["event"]["psi"] == 0.31
    assert event["event"]["logger"] == "tests.telemetry.handler"
    assert event["fields"]["level"] == "WARNING"


def test_json_formatter_writes_one_object_per_record() -> None:
    record = logging.LogRecord("golden", logging.INFO, __file__, 1, "fit %d rows", (10,), None)
    record.model = "churn"
    line = JsonFormatter().format(record)
    assert json.loads(line) | {"time": 0} == json.loads(line) | {"time": 0}
    assert json.loads(line)["message"] == "fit 10 rows"
    assert json.loads(line)["model"] == "churn"


def test_a_token_with_indexer_acknowledgement_gets_a_channel(
    splunk: SplunkEmulator, settings_for: Callable[..., Settings], ack_token: str
) -> None:
    telemetry = build_telemetry(settings_for(token=ack_token))
    try:
        telemetry.log_event("acknowledged")
        assert telemetry.flush(15)
    finally:
        telemetry.close()
    (event,) = splunk.events(index="main")
    assert event["channel"]


def test_an_event_rejected_for_good_is_dead_lettered_and_the_rest_delivered(
    splunk: SplunkEmulator, telemetry: Telemetry, tmp_path: Path
) -> None:
    telemetry.log_event("before")
    telemetry.log_event("forbidden", index="not_allowed")
    telemetry.log_event("after")
    assert not telemetry.flush(10)  # one event was dead-lettered
    assert not telemetry.flush(10)  # and stays lost: flush is True only when every event arrived

    assert [event["event"]["message"] for event in splunk.events(index="main")] == ["before", "after"]
    assert telemetry.stats()["dead_lettered"] == 1
    (letter,) = (tmp_path / "spool" / "dead-letter.jsonl").read_text().splitlines()
    assert '"forbidden"' in json.loads(letter)["event"]
    assert "code=7" in json.loads(letter)["reason"]


def test_an_event_beyond_hecs_size_limit_is_dead_lettered_before_it_is_spooled(
    splunk: SplunkEmulator, telemetry: Telemetry, tmp_path: Path
) -> None:
    telemetry.log_event("before")
    telemetry.log_event({"blob": "x" * 5_000_001})
    telemetry.log_event("after")
    assert not telemetry.flush(10)  # one event was dead-lettered since the last flush

    assert [event["event"]["message"] for event in splunk.events(index="main")] == ["before", "after"]
    stats = telemetry.stats()
    assert (stats["queued"], stats["spooled"], stats["dead_lettered"]) == (2, 2, 1)
    (letter,) = (tmp_path / "spool" / "dead-letter.jsonl").read_text().splitlines()
    assert "exceeds HEC's limit" in json.loads(letter)["reason"]


def test_oversized_batches_are_split(splunk: SplunkEmulator, telemetry: Telemetry) -> None:
    splunk.configure(max_content_length=20_000)
    for number in range(300):
        telemetry.log_event({"number": number, "padding": "x" * 200})
    assert telemetry.flush(20)
    assert [event["event"]["number"] for event in splunk.events(index="main")] == list(range(300))


def test_disabled_telemetry_is_a_no_op(caplog: pytest.LogCaptureFixture) -> None:
    telemetry = build_telemetry(load_settings({}))
    with caplog.at_level(logging.DEBUG, logger="dsdl_golden.telemetry"):
        telemetry.log_metrics({"accuracy": 1.0})
        telemetry.log_event("ignored")
    assert not telemetry.enabled
    assert telemetry.flush(0)
    assert telemetry.stats() == {}


def test_the_token_never_shows(
    splunk: SplunkEmulator,
    settings_for: Callable[..., Settings],
    hec_token: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    splunk.refuse_connections(1.0)
    with caplog.at_level(logging.DEBUG):
        telemetry = build_telemetry(settings_for())
        telemetry.log_event({"note": "while Splunk is away"})
        text = repr(telemetry) + repr(telemetry.delivery) + repr(telemetry.settings)
        assert telemetry.flush(15)
        telemetry.close()
    spooled = b"".join(path.read_bytes() for path in (tmp_path / "spool").rglob("*") if path.is_file())
    assert hec_token not in text
    assert hec_token not in caplog.text
    assert hec_token.encode() not in spooled
    assert all(hec_token not in json.dumps(event) for event in splunk.events())


def test_a_plain_http_hec_url_warns_once_to_use_https(
    settings_for: Callable[..., Settings], hec_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port of our own, so that no other test warned about it before
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
        with caplog.at_level(logging.WARNING, logger="dsdl_golden.telemetry"):
            for _ in range(2):
                telemetry = build_telemetry(settings_for(splunk_hec_url=url))
                telemetry.close(1)
    warned = [record.getMessage() for record in caplog.records if "clear text" in record.getMessage()]
    assert warned == [
        f"splunk_hec_url is {url}: the HEC token and every event travel in clear text; "
        "use an https:// URL (HEC's default)"
    ], caplog.text
    assert hec_token not in caplog.text
