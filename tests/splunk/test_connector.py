"""splunk_connector against the Splunk emulator over loopback HTTPS, through the real splunk-sdk."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from golden_testing import connector_settings, loopback_splunkd

from dsdl_golden import splunk_connector as splunk
from dsdl_golden._replies import body_summary
from dsdl_golden.config import Settings, load_settings
from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration

SEARCH_TOKEN = "search-token-9c1f7e2a"
HEC_TOKEN = "hec-token-4b8d0e63"

WEB = pd.DataFrame(
    {
        "_time": [
            "2026-11-20T10:00:00.000+00:00",
            "2026-11-20T11:30:00.000+00:00",
            "2026-11-25T09:00:00.000+00:00",
        ],
        "status": ["200", "500", "503"],
        "bytes": ["512", "2048.5", "17"],
        "host": ["web-1", "web-2", "web-1"],
        "tags": [["a", "b"], "c", ["d"]],
    }
)


@pytest.fixture
def server(fresh_emulator: SplunkEmulator) -> SplunkEmulator:
    fresh_emulator.add_auth_token(SEARCH_TOKEN)
    fresh_emulator.add_user("analyst", "s3cret-pass")
    fresh_emulator.add_index("ml_results")
    fresh_emulator.add_index("golden_metrics", metrics=True)
    fresh_emulator.add_hec_token(HEC_TOKEN, name="results", indexes=["main", "ml_results", "golden_metrics"])
    fresh_emulator.add_dataset("index=web", WEB)
    return fresh_emulator


@pytest.fixture
def settings(server: SplunkEmulator, tmp_path: Path) -> Callable[..., Settings]:
    return connector_settings(server, tmp_path, search_token=SEARCH_TOKEN, hec_token=HEC_TOKEN)


@pytest.mark.parametrize("method", ["export", "job"])
def test_get_data_returns_typed_columns(settings: Callable[..., Settings], method: str) -> None:
    frame = splunk.get_data("index=web", earliest="0", method=method, settings=settings(), progress=False)

    # Splunk returns events newest first.
    assert list(frame["status"]) == [503, 500, 200]
    assert frame["status"].dtype == "int64"
    assert frame["bytes"].tolist() == [17.0, 2048.5, 512.0]
    assert str(frame["_time"].dt.tz) == "UTC"
    assert frame["_time"].iloc[1] == pd.Timestamp("2026-11-20T11:30:00Z")
    assert frame["tags"].tolist() == [["d"], ["c"], ["a", "b"]]
    assert frame["host"].tolist() == ["web-1", "web-2", "web-1"]


def test_get_data_applies_the_time_range(settings: Callable[..., Settings]) -> None:
    frame = splunk.get_data(
        "search index=web", earliest="2026-11-20T11:00:00", latest="2026-11-21T00:00:00", settings=settings()
    )
    assert frame["status"].tolist() == [500]


def test_get_data_selects_fields(settings: Callable[..., Settings]) -> None:
    frame = splunk.get_data("index=web", earliest="0", fields=["host", "status"], settings=settings())
    assert list(frame.columns) == ["host", "status"]


def test_row_cap_is_a_clear_error(settings: Callable[..., Settings]) -> None:
    with pytest.raises(splunk.SplunkRowLimitError, match="max_rows=2"):
        splunk.get_data("index=web", earliest="0", max_rows=2, settings=settings())
    assert len(splunk.get_data("index=web", earliest="0", max_rows=3, settings=settings())) == 3


def test_spl_errors_carry_splunks_message(settings: Callable[..., Settings]) -> None:
    with pytest.raises(splunk.SplunkSearchError, match="Unknown search command 'nosuchcommand'"):
        splunk.get_data("index=web | nosuchcommand", earliest="0", settings=settings())


def test_a_wrong_token_is_an_authentication_error(settings: Callable[..., Settings]) -> None:
    with pytest.raises(splunk.SplunkAuthenticationError, match="splunk_access_token") as raised:
        splunk.get_data("index=web", settings=settings(splunk_access_token="wrong-token-123"))
    assert "wrong-token-123" not in str(raised.value)


def test_username_and_password_login(settings: Callable[..., Settings]) -> None:
    frame = splunk.get_data(
        "| makeresults count=4", username="analyst", password="s3cret-pass", settings=settings()
    )
    assert len(frame) == 4


def test_access_off_is_a_config_error() -> None:
    with pytest.raises(splunk.SplunkConfigError, match="splunk_access_enabled"):
        splunk.get_data("index=web", settings=load_settings({}))


def test_slow_export_times_out(server: SplunkEmulator, settings: Callable[..., Settings]) -> None:
    server.inject_fault(listener="rest", path="/services/search/v2/jobs/export", delay_ms=3000, times=1)
    with pytest.raises(splunk.SplunkTimeoutError, match="timeout=1"):
        splunk.get_data("index=web", earliest="0", method="export", timeout=1, settings=settings())


def test_slow_job_is_cancelled(server: SplunkEmulator, settings: Callable[..., Settings]) -> None:
    server.configure(job_duration_ms=5000)
    with pytest.raises(splunk.SplunkTimeoutError, match="timeout=1"):
        splunk.get_data("index=web", earliest="0", method="job", timeout=1, settings=settings())
    assert any(entry["path"].endswith("/control") for entry in server.requests_log("rest"))


def test_unverifiable_tls_says_how_to_fix_it(settings: Callable[..., Settings]) -> None:
    with pytest.raises(splunk.SplunkConnectionError, match="GOLDEN_TLS_VERIFY"):
        splunk.get_data("index=web", settings=settings(GOLDEN_TLS_VERIFY="true"))


def test_send_results_delivers_every_row_in_order(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    frame = pd.DataFrame(
        {
            "_time": pd.to_datetime(["2026-11-26T08:00:00Z"] * 2500, utc=True)
            + pd.to_timedelta(range(2500), "s"),
            "score": [i / 2500 for i in range(2500)],
            "label": ["churn" if i % 3 else None for i in range(2500)],
        }
    )
    report = splunk.send_results(frame, index="ml_results", sourcetype="churn:scores", settings=settings())

    assert report.ok, str(report)
    events = server.events(index="ml_results")
    assert [event["event"]["score"] for event in events] == frame["score"].tolist()
    assert events[0]["sourcetype"] == "churn:scores"
    assert events[1]["time"] == pytest.approx(frame["_time"].iloc[1].timestamp())
    assert "label" not in events[0]["event"]
    assert events[1]["event"]["label"] == "churn"


def test_send_results_reports_rejected_rows_by_number(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.configure(max_content_length=5_000)
    frame = pd.DataFrame({"text": ["small", "x" * 10_000, "small again"]})
    report = splunk.send_results(frame, settings=settings())

    assert report.sent == 2
    assert [row for row, _ in report.failed] == [1]
    assert "413" in report.failed[0][1]
    assert [event["event"]["text"] for event in server.events(index="main")] == ["small", "small again"]


def test_send_results_with_a_bad_token_fails_every_row(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    report = splunk.send_results(
        pd.DataFrame({"a": [1, 2]}), settings=settings(splunk_hec_token="bad-hec-token")
    )
    assert not report.ok
    assert [row for row, _ in report.failed] == [0, 1]
    assert "code=4" in report.failed[0][1]


def test_validate_reports_a_healthy_setup(settings: Callable[..., Settings]) -> None:
    report = splunk.validate_splunk_config(settings())
    assert report.ok, str(report)
    assert [check.name for check in report.checks] == [
        "hec.enabled",
        "hec.configured",
        "hec.reachable",
        "hec.token",
        "rest.enabled",
        "rest.configured",
        "rest.token",
        "index.events_index",
        "index.metrics_index",
        "hec.indexes",
    ]
    assert "9.2.1" in str(report)
    assert "<table>" in report._repr_html_()


def test_validate_lists_every_problem(settings: Callable[..., Settings]) -> None:
    broken = settings(
        splunk_hec_token="bad-hec-token", splunk_access_token="bad-search-token", GOLDEN_TLS_VERIFY="1"
    )
    report = splunk.validate_splunk_config(broken)
    assert {check.name for check in report.problems} == {"hec.reachable", "rest.token"}
    with pytest.raises(splunk.SplunkConfigError) as raised:
        splunk.validate_splunk_config(broken, strict=True)
    assert "hec.reachable" in str(raised.value)
    assert "GOLDEN_TLS_VERIFY" in str(raised.value)
    assert "bad-hec-token" not in str(raised.value)


def test_validate_names_a_bad_hec_token(settings: Callable[..., Settings]) -> None:
    report = splunk.validate_splunk_config(settings(splunk_hec_token="bad-hec-token"))
    (problem,) = report.problems
    assert problem.name == "hec.token"
    assert "splunk_hec_token" in problem.fix


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A loopback server that accepts connections and never answers (a splunkd that hangs)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


@pytest.mark.timeout(20)
@pytest.mark.parametrize("method", ["export", "job"])
def test_a_stalled_splunkd_times_out_naming_the_timeout(stalled_port: int, method: str) -> None:
    stalled = load_settings(
        {
            "splunk_access_enabled": "1",
            "splunk_access_host": "127.0.0.1",
            "splunk_access_port": str(stalled_port),
            "splunk_access_token": SEARCH_TOKEN,
        }
    )
    with pytest.raises(splunk.SplunkTimeoutError, match=r"timeout=2 s"):
        splunk.get_data("index=web", method=method, timeout=2, settings=stalled, progress=False)


@pytest.mark.timeout(20)
def test_send_results_waits_for_a_stalled_hec_only_as_long_as_its_timeout(stalled_port: int) -> None:
    stalled = load_settings(
        {
            "splunk_hec_enabled": "1",
            "splunk_hec_url": f"https://127.0.0.1:{stalled_port}",
            "splunk_hec_token": "stalled-hec-token",
        }
    )
    rows = pd.DataFrame({"score": [0.1, 0.9]})
    report = splunk.send_results(rows, retries=0, timeout=0.5, settings=stalled)
    assert report.sent == 0
    assert [row for row, _ in report.failed] == [0, 1]
    for _, reason in report.failed:
        assert reason.startswith("connection failed: ")
        assert reason.endswith("(read timeout=0.5)")
        assert "stalled-hec-token" not in reason


@pytest.mark.timeout(20)
def test_validate_does_not_hang_on_a_stalled_splunkd(stalled_port: int) -> None:
    stalled = load_settings(
        {
            "splunk_access_enabled": "1",
            "splunk_access_host": "127.0.0.1",
            "splunk_access_port": str(stalled_port),
            "splunk_access_token": SEARCH_TOKEN,
        }
    )
    report = splunk.validate_splunk_config(stalled, timeout=1)
    (problem,) = [check for check in report.problems if check.name.startswith("rest.")]
    assert "timeout=1 s" in problem.detail


def dripping_splunkd(tmp_path: Path, prelude: bytes) -> contextlib.AbstractContextManager[Settings]:
    """Settings for a loopback HTTPS server that reads a request, sends ``prelude`` at once and then
    one more byte every half second, for ever (a splunkd or proxy trickling its answer)."""

    def drip(tls: ssl.SSLSocket, stop: threading.Event) -> None:
        tls.recv(65536)
        tls.sendall(prelude)
        while not stop.wait(0.5):
            tls.sendall(b"x")

    return loopback_splunkd(tmp_path, SEARCH_TOKEN, drip)


_HEADERS_THEN_BODY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("method", "prelude"),
    [
        ("job", b"HTTP/1.1 201 Created\r\nX-Slow: "),  # the status line and headers trickle in
        ("export", _HEADERS_THEN_BODY),  # the streamed results trickle in
    ],
)
# splunk-sdk does not close a response whose body read fails (client.Service.info, which it asks before the
# export, reads it in _load_atom): the timed-out socket is released by the garbage collection at the end of
# this test (tests/conftest.py), not by a close.
@pytest.mark.filterwarnings(r"ignore:unclosed <dsdl_golden\._splunk\.search\.:ResourceWarning")
def test_a_dripping_splunkd_cannot_stretch_the_deadline(tmp_path: Path, method: str, prelude: bytes) -> None:
    """The timeout bounds the whole request, not each read: a byte every half second resets any
    socket timeout, so without an overall deadline the search would never end."""
    with dripping_splunkd(tmp_path, prelude) as dripping:
        started = time.monotonic()
        with pytest.raises(splunk.SplunkTimeoutError, match=r"timeout=3 s") as raised:
            splunk.get_data("index=web", method=method, timeout=3, settings=dripping, progress=False)
        elapsed = time.monotonic() - started
    assert 2.9 < elapsed < 4.5
    assert "pass a larger timeout=" in str(raised.value)
    assert SEARCH_TOKEN not in str(raised.value)


@pytest.mark.timeout(30)
def test_validate_is_bounded_by_its_timeout_on_a_dripping_splunkd(tmp_path: Path) -> None:
    with dripping_splunkd(tmp_path, _HEADERS_THEN_BODY) as dripping:
        started = time.monotonic()
        report = splunk.validate_splunk_config(dripping, timeout=1)
        elapsed = time.monotonic() - started
    (problem,) = [check for check in report.problems if check.name.startswith("rest.")]
    assert "timeout=1 s" in problem.detail
    assert elapsed < 2.5


@pytest.mark.timeout(15)
def test_a_stalled_status_poll_is_bounded_by_the_deadline_and_cancels_the_job(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    # server/info and the job's creation answer at once; status polls stall far beyond timeout=2.
    server.configure(job_duration_ms=60_000)
    server.inject_fault(listener="rest", path="/services/server/info", method="GET", times=None)
    server.inject_fault(listener="rest", path=None, method="GET", delay_ms=30_000, times=None)
    with pytest.raises(splunk.SplunkTimeoutError, match="timeout=2 s"):
        splunk.get_data("index=web", earliest="0", method="job", timeout=2, settings=settings())
    assert any(entry["path"].endswith("/control") for entry in server.requests_log("rest"))


@pytest.mark.parametrize("method", ["export", "job"])
def test_a_search_failing_while_running_carries_splunks_message(
    server: SplunkEmulator, settings: Callable[..., Settings], method: str
) -> None:
    text = "Error in 'lookup' command: Could not find all of the specified lookup fields in the table."
    server.fail_search("search index=web | lookup users uid", text)
    with pytest.raises(splunk.SplunkSearchError) as raised:
        splunk.get_data("index=web | lookup users uid", earliest="0", method=method, settings=settings())
    assert text in str(raised.value)


def test_an_xml_error_from_splunkd_shows_the_message_text_not_xml(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(
        listener="rest",
        path="/services/search/v2/jobs/",
        method="POST",
        status=503,
        body='<?xml version="1.0" encoding="UTF-8"?>\n<response>\n  <messages>\n'
        '    <msg type="ERROR">Search not executed: The maximum number of concurrent historical '
        "searches on this instance has been reached.</msg>\n  </messages>\n</response>\n",
        headers={"Content-Type": "text/xml; charset=utf-8"},
    )
    with pytest.raises(splunk.SplunkSearchError) as raised:
        splunk.get_data("index=web", earliest="0", method="job", settings=settings())
    message = str(raised.value)
    assert "HTTP 503" in message
    assert (
        "The maximum number of concurrent historical searches on this instance has been reached." in message
    )
    assert "<" not in message


def proxy_page(secret: str) -> str:
    """An nginx-style HTML error page of a proxy that echoes the request's Authorization header."""
    return (
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title>\n<style>body { width: 35em; }</style>"
        "<script>var retry = 1;</script></head>\n<body>\n<center><h1>502   Bad\tGateway</h1></center>\n"
        f"<pre>Authorization: Splunk {secret}</pre>\n<hr><center>nginx/1.25.3 &amp; co</center>\n"
        + "<p>padding</p>\n" * 100
        + "</body></html>\n"
    )


def assert_clean_summary(message: str, secret: str) -> None:
    """A short single line with the content type and the page's text, without markup or credentials."""
    assert "text/html" in message
    assert "502 Bad Gateway" in message
    assert "nginx/1.25.3 & co" in message
    for leaked in ("<", "\n", "\\n", "width", "retry", secret, "Splunk " + secret[:4]):
        assert leaked not in message, leaked
    assert len(message) < 300


@pytest.mark.parametrize(
    ("content_type", "body", "summary"),
    [
        (None, b"", "untyped reply: (no text)"),
        ("text/plain; charset=utf-8", b"  Bad\r\n  request \xff ", "text/plain reply: Bad request \ufffd"),
        (
            "text/html",
            b"<p>authorization = Bearer eyJ.x.y</p><!-- s3cret -->",
            "text/html reply: authorization = ****",
        ),
        ("text/html", b"<b>token s3cret-value and a2</b", "text/html reply: token **** and a2"),
        ("text/html", b"<h1>401 Authorization Required</h1>", "text/html reply: 401 Authorization Required"),
        (
            "application/json",
            b'{"Authorization": "Basic dTpw"}',
            'application/json reply: {"Authorization": "****"}',
        ),
        ("text/html", b"<h1>" + b"word " * 100, "text/html reply: " + " ".join(["word"] * 32) + " …"),
    ],
)
def test_body_summary_is_one_short_clean_line(content_type: str | None, body: bytes, summary: str) -> None:
    assert body_summary(content_type, body, ["", "s3cret-value"]) == summary


def test_send_results_summarises_a_reply_that_is_not_json(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(
        listener="hec",
        status=502,
        body=proxy_page(HEC_TOKEN),
        headers={"Content-Type": "text/html"},
        times=None,
    )
    report = splunk.send_results(pd.DataFrame({"a": [1, 2]}), retries=0, settings=settings())
    assert [row for row, _ in report.failed] == [0, 1]
    reason = report.failed[0][1]
    assert reason.startswith("HTTP 502 ")
    assert_clean_summary(reason, HEC_TOKEN)
    checks = splunk.validate_splunk_config(settings()).checks
    (reachable,) = [check for check in checks if check.name == "hec.reachable"]
    assert_clean_summary(reachable.detail, HEC_TOKEN)


def test_an_html_error_from_a_proxy_before_splunkd_is_summarised(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(
        listener="rest", status=502, body=proxy_page(SEARCH_TOKEN), headers={"Content-Type": "text/html"}
    )
    with pytest.raises(splunk.SplunkSearchError, match=r"^Splunk answered HTTP 502: ") as raised:
        splunk.get_data("index=web", earliest="0", settings=settings())
    assert_clean_summary(str(raised.value), SEARCH_TOKEN)


def test_send_results_refuses_credentials_in_the_hec_url(settings: Callable[..., Settings]) -> None:
    with pytest.raises(splunk.SplunkConfigError, match="hec_url") as raised:
        splunk.send_results(
            pd.DataFrame({"a": [1]}), settings=settings(), hec_url="https://user:hunter2-pw@127.0.0.1:8088"
        )
    assert "hunter2-pw" not in str(raised.value)
