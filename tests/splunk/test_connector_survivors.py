"""splunk_connector behaviour users notice, each pinned by a test that a hand-made mutant survived:
paging of large job searches, retried 503s from HEC, ack-enabled HEC tokens, and the number of a
rejected row. Against the Splunk emulator over loopback HTTPS, through the real splunk-sdk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from golden_testing import connector_settings

from dsdl_golden import splunk_connector as splunk
from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration

SEARCH_TOKEN = "search-token-survivors-51d3"
HEC_TOKEN = "hec-token-survivors-8e27"
ACK_TOKEN = "hec-token-with-ack-2f90"
JOB_PAGE_ROWS = 50_000  # splunkd's default maxresultrows: one results page of a search job


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


@pytest.mark.timeout(60)
def test_a_job_search_of_more_than_one_page_returns_every_row(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    rows = JOB_PAGE_ROWS + 1  # one row past the first results page
    server.add_dataset("index=big", [{"n": n} for n in range(rows)])

    frame = splunk.get_data("index=big", earliest="0", method="job", settings=settings(), progress=False)

    assert len(frame) == rows
    assert sorted(frame["n"]) == list(range(rows))


def test_a_job_search_returns_every_row_when_splunkd_serves_shorter_pages(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.configure(max_result_rows=100)  # an admin lowered maxresultrows in limits.conf
    server.add_dataset("index=paged", [{"n": n} for n in range(250)])

    frame = splunk.get_data("index=paged", earliest="0", method="job", settings=settings(), progress=False)

    assert sorted(frame["n"].astype(int)) == list(range(250))


@pytest.mark.timeout(30)
def test_send_results_retries_a_transient_503_and_delivers_every_row(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(listener="hec", path="/services/collector/event", code=9, times=1)  # 503 busy
    frame = pd.DataFrame({"score": [0.25, 0.5, 0.75]})

    report = splunk.send_results(frame, index="ml_results", settings=settings())

    assert report.ok, str(report)
    assert report.sent == 3
    assert [event["event"]["score"] for event in server.events(index="ml_results")] == [0.25, 0.5, 0.75]


def test_validate_accepts_an_hec_token_with_indexer_acknowledgement(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.add_hec_token(ACK_TOKEN, name="acked", indexes=["main", "golden_metrics"], use_ack=True)

    report = splunk.validate_splunk_config(settings(splunk_hec_token=ACK_TOKEN))

    assert report.ok, str(report)
    (token,) = [check for check in report.checks if check.name == "hec.token"]
    assert token.ok is True
    assert "acknowledgement" in token.detail


def test_a_row_rejected_in_the_middle_of_a_batch_is_reported_by_its_own_number(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    # Row 2 has only missing values: its event is empty, which HEC rejects ("cannot be blank").
    frame = pd.DataFrame({"score": [0.1, 0.2, None, 0.4, 0.5]})

    report = splunk.send_results(frame, index="ml_results", settings=settings())

    assert [row for row, _ in report.failed] == [2]
    assert "blank" in report.failed[0][1]
    assert report.sent == 4
    assert [event["event"]["score"] for event in server.events(index="ml_results")] == [0.1, 0.2, 0.4, 0.5]


def test_validate_finds_the_hec_token_past_splunkds_first_page_of_tokens(
    fresh_emulator: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    # splunkd lists 30 inputs unless asked for all; the results token comes after 40 others.
    for number in range(40):
        fresh_emulator.add_hec_token(f"hec-token-other-{number:02d}", name=f"other-{number:02d}")
    fresh_emulator.add_hec_token(ACK_TOKEN, name="zz-last", indexes=["main", "golden_metrics"])

    report = splunk.validate_splunk_config(settings(splunk_hec_token=ACK_TOKEN))

    (indexes,) = [check for check in report.checks if check.name == "hec.indexes"]
    assert indexes.ok is True, str(report)
    assert indexes.detail == "splunk_hec_token may write to 'main', 'golden_metrics'"
