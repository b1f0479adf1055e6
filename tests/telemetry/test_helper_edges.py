"""telemetry_helper at its edges: the module-level functions a notebook calls (what reaches Splunk),
the process-wide Telemetry (built on first use, replaced by configure), the notebook view, log records
as JSON lines and HEC events, error events, and the messages users read when a call is refused."""

from __future__ import annotations

import atexit
import base64
import gc
import html
import json
import logging
import re
import struct
import sys
import traceback
import weakref
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from golden_testing import hec_environment

from dsdl_golden import telemetry_helper
from dsdl_golden.config import Settings, load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.telemetry_helper import HecLogHandler, JsonFormatter, Telemetry, build_telemetry

matplotlib.use("Agg")
import matplotlib.pyplot as plt

pytestmark = pytest.mark.integration


def measurements(splunk: SplunkEmulator) -> list[tuple[str, float, dict[str, Any]]]:
    """Every measurement Splunk stored: (metric name, value, dimensions), in arrival order."""
    return [
        (record["metric_name"], record["value"], record["fields"])
        for record in splunk.events(index="golden_metrics", kind="metric")
    ]


def exactly(message: str) -> str:
    """A ``match`` pattern for exactly ``message``."""
    return f"^{re.escape(message)}$"


def events(splunk: SplunkEmulator) -> list[dict[str, Any]]:
    """The events in the events index, in arrival order."""
    found: list[dict[str, Any]] = splunk.events(index="main")
    return found


@pytest.fixture
def no_process_telemetry(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Telemetry]]:
    """A process that has not used telemetry yet; the Telemetry objects the test appends are closed
    (and their exit hooks removed) at its end, and the process-wide one of before is put back."""
    monkeypatch.setattr(telemetry_helper, "_telemetry", None)
    made: list[Telemetry] = []
    yield made
    for telemetry in made:
        telemetry.close(timeout=5)
        atexit.unregister(telemetry.close)


# the module-level functions -----------------------------------------------------------------------


def test_module_log_metrics_sends_step_stage_and_context_and_defaults_to_the_train_stage(
    telemetry_to_emulator: SplunkEmulator,
) -> None:
    telemetry_helper.log_metrics({"accuracy": 0.9})
    telemetry_helper.log_metrics({"loss": 0.25}, step=3, stage="validation", fold=2)
    assert telemetry_helper.flush(10)

    (first_name, first_value, first), (second_name, second_value, second) = measurements(
        telemetry_to_emulator
    )
    assert (first_name, first_value, first["stage"]) == ("accuracy", 0.9, "train")
    assert "step" not in first
    assert (second_name, second_value) == ("loss", 0.25)
    assert (second["step"], second["stage"], second["fold"]) == (3, "validation", 2)


def test_module_log_training_step_sends_the_step_and_its_values(
    telemetry_to_emulator: SplunkEmulator,
) -> None:
    telemetry_helper.log_training_step(5, loss=0.4)
    assert telemetry_helper.flush(10)

    ((name, value, dimensions),) = measurements(telemetry_to_emulator)
    assert (name, value, dimensions["step"], dimensions["stage"]) == ("loss", 0.4, 5, "train")


def test_module_log_params_sends_the_mapping_and_the_keywords_and_returns_the_params_id(
    telemetry_to_emulator: SplunkEmulator,
) -> None:
    params_id = telemetry_helper.log_params({"optimizer": {"lr": 0.01}}, epochs=3)
    assert telemetry_helper.flush(10)

    (event,) = events(telemetry_to_emulator)
    assert event["event"] == {
        "type": "params",
        "params": {"optimizer.lr": 0.01, "epochs": 3},
        "level": "INFO",
    }
    assert params_id is not None
    assert event["fields"]["params_id"] == params_id


def test_module_log_figure_sends_the_figure_under_its_name_with_the_context(
    telemetry_to_emulator: SplunkEmulator,
) -> None:
    figure, axes = plt.subplots(figsize=(2, 1), dpi=40)
    axes.plot([0, 1], [0, 1])
    try:
        telemetry_helper.log_figure(figure, "roc_curve", fold=1)
    finally:
        plt.close(figure)
    assert telemetry_helper.flush(10)

    (event,) = events(telemetry_to_emulator)
    assert (event["event"]["type"], event["event"]["name"]) == ("figure", "roc_curve")
    assert (event["event"]["width"], event["event"]["height"]) == (80, 40)
    assert event["fields"]["fold"] == 1


def test_module_log_event_passes_level_and_context(telemetry_to_emulator: SplunkEmulator) -> None:
    telemetry_helper.log_event("drift", level="WARNING", phase="apply")
    assert telemetry_helper.flush(10)

    (event,) = events(telemetry_to_emulator)
    assert event["event"] == {"message": "drift", "level": "WARNING"}
    assert (event["fields"]["level"], event["fields"]["phase"]) == ("WARNING", "apply")


def test_module_log_error_sends_the_exception_with_its_context(telemetry_to_emulator: SplunkEmulator) -> None:
    try:
        json.loads("{broken")
    except json.JSONDecodeError as error:
        telemetry_helper.log_error(error, phase="load")
        expected_traceback = "".join(traceback.format_exception(error))
    assert telemetry_helper.flush(10)

    (event,) = events(telemetry_to_emulator)
    assert event["event"]["exception_type"] == "json.decoder.JSONDecodeError"
    assert event["event"]["traceback"] == expected_traceback
    assert event["fields"]["phase"] == "load"


def test_module_flush_and_sync_wait_the_documented_ten_seconds_by_default(
    telemetry_to_emulator: SplunkEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    telemetry = telemetry_helper.get_telemetry()
    waited: list[tuple[str, float]] = []

    def waiting(name: str) -> Callable[[float], bool]:
        def wait(timeout: float) -> bool:
            waited.append((name, timeout))
            return True

        return wait

    monkeypatch.setattr(telemetry, "flush", waiting("flush"))
    monkeypatch.setattr(telemetry, "sync", waiting("sync"))
    assert telemetry_helper.flush()
    assert telemetry_helper.sync()
    assert waited == [("flush", 10.0), ("sync", 10.0)]


# the process-wide Telemetry ---------------------------------------------------------------------------


def test_the_first_use_builds_telemetry_from_the_environment_and_keeps_it(
    no_process_telemetry: list[Telemetry],
    splunk: SplunkEmulator,
    hec_token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in hec_environment(splunk, tmp_path / "spool", hec_token).items():
        monkeypatch.setenv(name, value)
    telemetry = telemetry_helper.get_telemetry()
    no_process_telemetry.append(telemetry)

    assert telemetry.enabled
    assert telemetry_helper.get_telemetry() is telemetry
    telemetry_helper.log_event("from the environment")
    assert telemetry_helper.flush(10)
    assert [event["event"]["message"] for event in events(splunk)] == ["from the environment"]


def test_configure_works_in_a_process_that_has_not_used_telemetry_yet(
    no_process_telemetry: list[Telemetry], settings_for: Callable[..., Settings]
) -> None:
    telemetry = telemetry_helper.configure(settings_for())
    no_process_telemetry.append(telemetry)
    assert telemetry_helper.get_telemetry() is telemetry
    assert telemetry.enabled


def test_configure_passes_its_options_to_the_new_telemetry(
    no_process_telemetry: list[Telemetry], settings_for: Callable[..., Settings]
) -> None:
    telemetry = telemetry_helper.configure(settings_for(), spool_max_bytes=64)
    no_process_telemetry.append(telemetry)
    telemetry_helper.log_event({"padding": "x" * 200})  # larger than the 64-byte spool
    assert not telemetry_helper.flush(5)
    assert telemetry.stats()["dropped_spool_full"] == 1


def test_configure_lets_the_replaced_telemetry_go(
    no_process_telemetry: list[Telemetry], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    """A notebook that configures telemetry again and again does not keep every old pipeline alive
    until the interpreter exits."""
    first = telemetry_helper.configure(settings_for(GOLDEN_SPOOL_DIR=str(tmp_path / "first")))
    replaced = weakref.ref(first)
    del first
    no_process_telemetry.append(
        telemetry_helper.configure(settings_for(GOLDEN_SPOOL_DIR=str(tmp_path / "b")))
    )
    gc.collect()
    assert replaced() is None


def test_state_is_off_without_hec_and_delivering_with_it(telemetry: Telemetry) -> None:
    assert build_telemetry(load_settings({})).state() == "off"
    assert telemetry.state() == "delivering"


# the notebook view ------------------------------------------------------------------------------------


def row(name: str, value: str) -> str:
    return f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"


def test_the_notebook_view_of_telemetry_that_is_off_names_every_setting() -> None:
    settings = load_settings({})
    page = build_telemetry(settings)._repr_html_()
    assert page == (
        "<table><caption>dsdl_golden telemetry</caption><thead><tr><th></th><th></th></tr></thead><tbody>"
        + row("enabled", "no: splunk_hec_enabled is false or unset")
        + row("HEC URL", "not set")
        + row("events index", "main")
        + row("metrics index", "golden_metrics")
        + row("spool directory", str(settings.spool_dir))
        + "</tbody></table>"
    )


def test_the_notebook_view_of_delivering_telemetry_says_yes_and_where(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    page = telemetry._repr_html_()
    assert row("enabled", "yes") + row("HEC URL", splunk.hec_url) in page
    assert "<td>queued</td><td>0</td>" in page


# log records --------------------------------------------------------------------------------------------


def test_a_log_record_becomes_one_compact_json_line_with_its_origin_and_extras() -> None:
    record = logging.LogRecord("golden.fit", logging.WARNING, "/src/fit.py", 42, "fit %d rows", (10,), None)
    record.model_path = Path("/srv/model")  # not JSON: shown as text
    line = JsonFormatter().format(record)

    assert line == json.dumps(
        {
            "time": record.created,
            "level": "WARNING",
            "logger": "golden.fit",
            "message": "fit 10 rows",
            "module": "fit",
            "line": 42,
            "model_path": "/srv/model",
        },
        separators=(",", ":"),
    )


def test_a_log_record_with_an_exception_carries_its_type_and_traceback() -> None:
    try:
        raise KeyError("amount")
    except KeyError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("golden", logging.ERROR, "/src/fit.py", 7, "failed", None, exc_info)

    data = json.loads(JsonFormatter().format(record))
    assert data["exception_type"] == "KeyError"
    assert data["traceback"] == "".join(traceback.format_exception(*exc_info))


def test_an_exception_logged_without_a_traceback_still_names_its_type() -> None:
    error = ValueError("bad column")  # never raised: no traceback
    record = logging.LogRecord("golden", logging.ERROR, "/src/fit.py", 7, "failed", None, None)
    record.exc_info = (ValueError, error, None)

    data = json.loads(JsonFormatter().format(record))
    assert data["exception_type"] == "ValueError"
    assert data["traceback"] == "ValueError: bad column\n"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")

    __repr__ = __str__


def test_a_record_the_handler_cannot_send_is_reported_with_its_message_and_arguments(
    telemetry: Telemetry, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging, "raiseExceptions", True)
    log = logging.getLogger("tests.telemetry.unsendable")
    handler = HecLogHandler(telemetry=telemetry)
    log.addHandler(handler)
    try:
        log.warning("drift on %s", "amount", extra={"detail": Unprintable()})  # must not raise
    finally:
        log.removeHandler(handler)

    stderr = capsys.readouterr().err
    assert "--- Logging error ---" in stderr
    assert "Message: 'drift on %s'" in stderr
    assert "Arguments: ('amount',)" in stderr


# error events and refused calls ------------------------------------------------------------------------


def test_an_error_event_holds_type_module_message_and_traceback_and_the_call_context(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    try:
        json.loads("[1,")
    except json.JSONDecodeError as error:
        telemetry.log_error(error, phase="score")
        expected = {
            "type": "error",
            "exception_type": "json.decoder.JSONDecodeError",
            "message": str(error),
            "traceback": "".join(traceback.format_exception(error)),
            "level": "ERROR",
        }
    assert telemetry.flush(10)

    (event,) = events(splunk)
    assert event["event"] == expected
    assert (event["fields"]["phase"], event["fields"]["level"]) == ("score", "ERROR")


def test_log_params_without_parameters_warns_how_to_pass_them(
    telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.telemetry"):
        assert telemetry.log_params() is None
        assert telemetry.log_params({}) is None
    assert [record.getMessage() for record in caplog.records] == [
        "log_params got no parameters: pass a mapping or keyword arguments"
    ] * 2
    assert telemetry.stats()["queued"] == 0


def test_a_list_parameter_that_is_not_json_is_refused_naming_its_position(telemetry: Telemetry) -> None:
    with pytest.raises(TypeError, match=r"parameter 'layers\.1' is a PosixPath"):
        telemetry.log_params(layers=[64, Path("/srv/layer")])


def png_of_size(width: int, height: int, total: int | None = None) -> bytes:
    """A valid black-and-white PNG of ``width`` x ``height`` pixels (1 bit per pixel, all zero), padded
    with a comment to ``total`` bytes when given."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" + bytes((width + 7) // 8)) * height
    head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
    body = head + chunk(b"IDAT", zlib.compress(rows, 9))
    if total is not None:
        comment = b"Comment\x00"
        body += chunk(b"tEXt", comment + b"x" * (total - len(body) - 12 - 12 - len(comment)))
    png = body + chunk(b"IEND", b"")
    assert total is None or len(png) == total
    return png


class Picture:
    """Not matplotlib, but with its savefig (which log_figure documents as enough): writes a PNG when
    asked for ``format="png"``, as log_figure documents it asks."""

    def __init__(self, width: int, height: int, total: int | None = None) -> None:
        self.png = png_of_size(width, height, total)

    def savefig(self, buffer: Any, format: str) -> None:
        if format != "png":
            raise ValueError(f"Picture writes only png, not {format!r}")
        buffer.write(self.png)


@pytest.mark.parametrize("size", [(2**24 + 3, 1), (1, 2**24 + 5)], ids=["wide", "tall"])
def test_a_figures_size_is_read_in_full_from_its_png(
    splunk: SplunkEmulator, telemetry: Telemetry, size: tuple[int, int]
) -> None:
    telemetry.log_figure(Picture(*size), "strip")
    assert telemetry.flush(10)

    (event,) = events(splunk)
    assert (event["event"]["width"], event["event"]["height"]) == size


def test_a_png_of_exactly_the_limit_is_sent_and_one_byte_more_is_refused_saying_how_to_shrink_it(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    limit = telemetry_helper.MAX_FIGURE_PNG_BYTES
    telemetry.log_figure(Picture(4, 3, total=limit), "largest")
    refusal = (
        "log_figure: the figure's PNG has 600001 bytes, more than the 600000 one HEC event may carry: "
        "lower its dpi (figure.set_dpi(72)) or its size (figure.set_size_inches(6, 4)), or plot fewer points"
    )
    with pytest.raises(ValueError, match=exactly(refusal)):
        telemetry.log_figure(Picture(4, 3, total=limit + 1), "too_large")
    assert telemetry.flush(10)

    (event,) = events(splunk)
    assert event["event"]["name"] == "largest"
    assert len(base64.b64decode(event["event"]["png_base64"])) == limit


def test_a_figure_is_sent_as_png_even_when_matplotlib_saves_svg_by_default(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    with plt.rc_context({"savefig.format": "svg"}):
        figure, axes = plt.subplots(figsize=(2, 1), dpi=40)
        axes.plot([0, 1], [0, 1])
        try:
            telemetry.log_figure(figure, "roc_curve")
        finally:
            plt.close(figure)
    assert telemetry.flush(10)

    (event,) = events(splunk)
    assert event["event"]["format"] == "png"
    assert base64.b64decode(event["event"]["png_base64"]).startswith(b"\x89PNG\r\n\x1a\n")


class Sketch:
    """An object with a savefig that writes something other than a PNG."""

    def savefig(self, buffer: Any, format: str) -> None:
        buffer.write(b"<svg/>")


def test_a_figure_whose_savefig_writes_no_png_or_that_has_no_name_is_refused_saying_so(
    telemetry: Telemetry,
) -> None:
    with pytest.raises(
        ValueError, match=exactly("log_figure: Sketch.savefig(format='png') did not write a PNG")
    ):
        telemetry.log_figure(Sketch(), "sketch")
    for name in ("", "  "):
        refusal = f"log_figure needs a non-empty name for the figure, got {name!r}"
        with pytest.raises(ValueError, match=exactly(refusal)):
            telemetry.log_figure(Picture(4, 3), name)
    assert telemetry.stats()["queued"] == 0


# context ------------------------------------------------------------------------------------------------


def test_context_without_a_new_run_id_keeps_the_params_id(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    params_id = telemetry.log_params(lr=0.1)
    telemetry.set_context(model="churn_model")
    telemetry.log_metrics({"accuracy": 0.9})
    assert telemetry.flush(10)

    ((_, _, dimensions),) = measurements(splunk)
    assert (dimensions["params_id"], dimensions["model"]) == (params_id, "churn_model")


def test_the_repr_of_telemetry_that_is_off_says_why() -> None:
    assert (
        repr(build_telemetry(load_settings({})))
        == "Telemetry(disabled: splunk_hec_enabled is false or unset)"
    )


# defaults and messages of log_event and log_metrics ------------------------------------------------------


def test_an_event_is_at_info_level_by_default_and_takes_the_sourcetype_given(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    telemetry.log_event("plain")
    telemetry.log_event("typed", sourcetype="churn:audit")
    assert telemetry.flush(10)

    plain, typed = events(splunk)
    assert (plain["event"]["level"], plain["fields"]["level"]) == ("INFO", "INFO")
    assert (plain["sourcetype"], typed["sourcetype"]) == ("dsdl:golden", "churn:audit")


def test_metrics_are_of_the_train_stage_by_default_and_name_every_non_finite_value(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    telemetry.log_metrics({"accuracy": 0.9, "r2": float("nan"), "rmse": float("inf")})
    assert telemetry.flush(10)

    ((name, _, dimensions),) = measurements(splunk)
    assert (name, dimensions["stage"], dimensions["non_finite"]) == ("accuracy", "train", "r2,rmse")


def test_metrics_without_a_finite_number_are_not_sent_and_a_warning_names_them(
    telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.telemetry"):
        telemetry.log_metrics({"r2": float("nan"), "auc": None})
    assert [record.getMessage() for record in caplog.records] == [
        "log_metrics got no finite number to send: ['auc', 'r2']"
    ]
    assert telemetry.stats()["queued"] == 0


def test_a_large_array_goes_to_info_events_and_its_single_metric_event_is_not_numbered_as_a_part(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    telemetry.log_metrics({"accuracy": 0.5, "confusion_matrix": [[1] * 21] * 21})
    assert telemetry.flush(10)

    dimensions = {name: fields for name, _, fields in measurements(splunk)}["accuracy"]
    assert "metrics_part" not in dimensions
    assert "metrics_parts" not in dimensions
    (array,) = events(splunk)
    assert array["event"]["type"] == "metric_array"
    assert array["fields"]["level"] == "INFO"
    assert array["fields"]["metrics_id"] == dimensions["metrics_id"]
