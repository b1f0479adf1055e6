"""The data scientist's first hour: empty searches, setup checks, progress, splunk-sdk names, a
missing results index; against the Splunk emulator over loopback HTTPS."""

from __future__ import annotations

import doctest
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from golden_testing import connector_settings

from dsdl_golden import splunk_connector as splunk
from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration

SEARCH_TOKEN = "search-token-first-hour"
HEC_TOKEN = "hec-token-first-hour"

OLD_CHURN = pd.DataFrame(
    {
        "_time": ["2020-01-01T00:00:00+00:00", "2020-01-02T00:00:00+00:00"],
        "customer": ["c1", "c2"],
        "churned": ["1", "0"],
    }
)


@pytest.fixture
def server(fresh_emulator: SplunkEmulator) -> SplunkEmulator:
    fresh_emulator.add_auth_token(SEARCH_TOKEN)
    fresh_emulator.add_index("golden_metrics", metrics=True)
    fresh_emulator.add_hec_token(HEC_TOKEN, name="results", indexes=["main", "golden_metrics"])
    fresh_emulator.add_dataset("index=churn", OLD_CHURN)
    return fresh_emulator


@pytest.fixture
def settings(server: SplunkEmulator, tmp_path: Path) -> Callable[..., Settings]:
    return connector_settings(server, tmp_path, search_token=SEARCH_TOKEN, hec_token=HEC_TOKEN)


def empty_search_warning(query: str, settings: Settings, **arguments: object) -> tuple[pd.DataFrame, str]:
    with pytest.warns(splunk.SplunkEmptyResultWarning) as caught:
        frame = splunk.get_data(query, settings=settings, progress=False, **arguments)  # type: ignore[arg-type]
    assert frame.empty
    (warning,) = caught
    return frame, str(warning.message)


# 1. An empty result says why.


def test_data_outside_the_default_time_range_warns_how_to_widen_it(settings: Callable[..., Settings]) -> None:
    _, message = empty_search_warning("index=churn", settings())
    assert "earliest='-24h@h'" in message
    assert "latest='now'" in message
    assert "earliest='0'" in message
    assert "no index" not in message  # churn exists
    assert len(splunk.get_data("index=churn", earliest="0", settings=settings(), progress=False)) == 2


def test_an_unknown_index_is_named(settings: Callable[..., Settings]) -> None:
    _, message = empty_search_warning("index=nosuch", settings(), earliest="0")
    assert "no index 'nosuch'" in message


def test_an_all_time_search_of_a_metrics_index_points_to_mstats_and_not_to_the_time_range(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.add_index("quickstart_metrics", metrics=True)
    _, message = empty_search_warning("index=quickstart_metrics", settings(), earliest="0")
    assert "'quickstart_metrics' is a metrics index" in message
    assert "| mstats" in message
    assert "to search all time" not in message


def test_an_index_check_splunkd_refuses_does_not_claim_the_index_is_missing(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(listener="rest", path="/services/data/indexes/nosuch", status=403, times=None)
    _, message = empty_search_warning("index=nosuch", settings(), earliest="0")
    assert "nosuch" in message  # the query is quoted
    assert "no index" not in message


@pytest.mark.parametrize(
    ("query", "arguments", "columns"),
    [
        ("index=nosuch | table host, status", {}, ["host", "status"]),
        ("index=nosuch | fields host status | head 5", {}, ["host", "status"]),
        ("index=nosuch", {"fields": ["customer", "churned"]}, ["customer", "churned"]),
    ],
)
def test_an_empty_result_keeps_the_requested_columns(
    settings: Callable[..., Settings], query: str, arguments: dict[str, object], columns: list[str]
) -> None:
    frame, _ = empty_search_warning(query, settings(), **arguments)
    assert list(frame.columns) == columns


def test_results_bring_no_warning(settings: Callable[..., Settings]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", splunk.SplunkEmptyResultWarning)
        splunk.get_data("| makeresults count=2", settings=settings(), progress=False)


# 2. validate_splunk_config checks the indexes and says what to change.


def problem(report: splunk.ValidationReport, name: str) -> tuple[str, str]:
    (check,) = [check for check in report.problems if check.name == name]
    assert "\n" not in check.detail + check.fix
    assert "<" not in check.detail + check.fix
    return check.detail, check.fix


def test_missing_indexes_fail_the_validation_naming_the_setting(settings: Callable[..., Settings]) -> None:
    report = splunk.validate_splunk_config(
        settings(GOLDEN_EVENTS_INDEX="ml_nosuch", GOLDEN_METRICS_INDEX="metrics_nosuch")
    )
    detail, fix = problem(report, "index.events_index")
    assert "'ml_nosuch'" in detail
    assert "GOLDEN_EVENTS_INDEX" in fix
    detail, fix = problem(report, "index.metrics_index")
    assert "'metrics_nosuch'" in detail
    assert "GOLDEN_METRICS_INDEX" in fix


def test_an_index_the_hec_token_may_not_write_to_fails(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.add_index("ml_results")
    report = splunk.validate_splunk_config(settings(GOLDEN_EVENTS_INDEX="ml_results"))
    assert [check.name for check in report.problems] == ["hec.indexes"]
    detail, fix = problem(report, "hec.indexes")
    assert "'ml_results'" in detail
    assert "GOLDEN_EVENTS_INDEX" in fix
    assert not server.events()  # nothing was written to check it


def test_indexes_splunkd_will_not_list_are_not_checked(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(listener="rest", path="/services/data/inputs/http", status=403, times=None)
    report = splunk.validate_splunk_config(settings())
    assert report.ok, str(report)
    (skipped,) = [check for check in report.checks if check.name == "hec.indexes"]
    assert skipped.ok is None
    assert skipped.detail.startswith("not checked: ")
    assert "403" in skipped.detail


def test_swapped_ports_are_recognised(server: SplunkEmulator, settings: Callable[..., Settings]) -> None:
    swapped = settings(splunk_hec_url=server.rest_url, splunk_access_port=str(server.hec_port))
    report = splunk.validate_splunk_config(swapped)
    detail, fix = problem(report, "hec.reachable")
    assert "splunkd management port" in detail
    assert "8088" in fix
    detail, fix = problem(report, "rest.token")
    assert "HEC's port" in detail
    assert "8089" in fix


def test_http_on_an_https_port_says_to_use_https(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    report = splunk.validate_splunk_config(settings(splunk_hec_url=server.hec_url.replace("https", "http")))
    detail, fix = problem(report, "hec.reachable")
    assert detail == "the server closed the connection"
    assert "use https:// in splunk_hec_url" in fix


def test_no_failed_check_says_see_the_message(settings: Callable[..., Settings]) -> None:
    report = splunk.validate_splunk_config(settings(splunk_access_token="wrong-token"))
    _, fix = problem(report, "rest.token")
    assert "see the message" not in fix
    assert "splunk_access_token" in fix


# 3. The progress bar counts rows and stays.


@pytest.mark.parametrize("method", ["job", "export"])
def test_progress_ends_with_the_row_count(
    server: SplunkEmulator, settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str], method: str
) -> None:
    server.add_dataset("index=big", pd.DataFrame({"n": [str(i) for i in range(5000)]}))
    frame = splunk.get_data("index=big", earliest="0", method=method, settings=settings(), progress=True)
    assert len(frame) == 5000
    final = capsys.readouterr().err.rstrip().rsplit("\r", 1)[-1]
    assert final.startswith("Splunk search: 5000 rows [")
    assert "page" in final


# 4. splunk-sdk's argument names.


def test_splunk_sdk_argument_names_are_accepted(settings: Callable[..., Settings]) -> None:
    frame = splunk.get_data(
        "index=churn",
        earliest_time="2020-01-01T12:00:00",
        latest_time="2020-01-03T00:00:00",
        settings=settings(),
        progress=False,
    )
    assert frame["customer"].tolist() == ["c2"]
    with pytest.raises(splunk.SplunkRowLimitError, match="max_rows=1"):
        splunk.get_data("index=churn", earliest="0", count=1, settings=settings(), progress=False)
    assert (
        len(splunk.get_data("index=churn", earliest="0", count=0, settings=settings(), progress=False)) == 2
    )


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        ({"earliest": "0", "earliest_time": "-1h"}, "earliest='0' and earliest_time='-1h'"),
        ({"latest": "now", "latest_time": "-1h"}, "latest='now' and latest_time='-1h'"),
        ({"max_rows": 5, "count": 10}, "max_rows=5 and count=10"),
    ],
)
def test_two_names_for_one_setting_with_different_values_is_an_error(
    settings: Callable[..., Settings], arguments: dict[str, object], names: str
) -> None:
    with pytest.raises(ValueError, match="keep one of them") as raised:
        splunk.get_data("index=churn", settings=settings(), **arguments)  # type: ignore[arg-type]
    assert names in str(raised.value)


# 5. A missing results index fails fast, saying how many rows were not sent.


def test_a_refused_index_fails_at_once_with_the_rows_not_sent(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    frame = pd.DataFrame({"score": [i / 2000 for i in range(2000)]})
    started = time.monotonic()
    with pytest.raises(splunk.SplunkIndexError) as raised:
        splunk.send_results(frame, index="ml_nosuch", settings=settings())
    assert time.monotonic() - started < 1.0
    message = str(raised.value)
    assert "'ml_nosuch'" in message
    assert "2000 of 2000 rows were not sent" in message
    assert "create the index" in message
    assert raised.value.rows_not_sent == 2000
    assert isinstance(raised.value, splunk.SplunkConfigError)
    assert len(server.requests_log("hec")) == 1
    assert HEC_TOKEN not in message


def test_the_connector_examples_run() -> None:
    result = doctest.testmod(splunk, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
