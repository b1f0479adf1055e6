"""Edges of a search users see: the exact text of Splunk's error bodies (JSON, XML, anything else
summarised with the credentials masked), failed jobs and export error messages, searching through an
HTTP proxy (the same request as a direct one, a stalled proxy, a refused token), export preview rows
and time ranges, empty results, the timeout message, ``_time`` and the progress bar in a kernel.

Each test kills mutants that ``./dev mutate splunk`` found surviving in ``_splunk/search.py``,
``query.py``, ``frames.py`` and ``progress.py``. Against the Splunk emulator (or a raw loopback HTTPS
server, or a loopback proxy) through the real splunk-sdk."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from golden_testing import ConnectProxy, connector_settings, loopback_splunkd

from dsdl_golden import splunk_connector as splunk
from dsdl_golden._splunk.frames import rows_to_frame
from dsdl_golden._splunk.search import Deadline
from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration

SEARCH_TOKEN = "search-token-edges-7c3e"
HEC_TOKEN = "hec-token-edges-1b94"
PASSWORD = "an4lyst-pa55"
EXPORT = "/services/search/v2/jobs/export"
JOBS = "/services/search/v2/jobs/"

WEB = [
    {"_time": "2026-11-20T10:00:00.000+00:00", "status": "200"},
    {"_time": "2026-11-20T11:30:00.000+00:00", "status": "500"},
    {"_time": "2026-11-25T09:00:00.000+00:00", "status": "503"},
]


@pytest.fixture
def server(fresh_emulator: SplunkEmulator) -> SplunkEmulator:
    fresh_emulator.add_auth_token(SEARCH_TOKEN)
    fresh_emulator.add_user("analyst", PASSWORD)
    fresh_emulator.add_dataset("index=web", WEB)
    return fresh_emulator


@pytest.fixture
def settings(server: SplunkEmulator, tmp_path: Path) -> Callable[..., Settings]:
    return connector_settings(server, tmp_path, search_token=SEARCH_TOKEN, hec_token=HEC_TOKEN)


def search_error(settings: Settings, **arguments: object) -> str:
    """The message of the SplunkSearchError a search of index=web raises."""
    with pytest.raises(splunk.SplunkSearchError) as raised:
        splunk.get_data("index=web", earliest="0", settings=settings, progress=False, **arguments)  # type: ignore[arg-type]
    return str(raised.value)


# Splunk's error bodies: the texts of JSON and XML messages, anything else summarised.


@pytest.mark.parametrize(
    ("body", "headers", "shown"),
    [
        (
            '{"messages": [{"type": "ERROR", "text": "Search not executed: disk quota reached"}, '
            '{"type": "WARN", "text": "The minimum free disk space has been reached."}]}',
            {"Content-Type": "application/json"},
            "Search not executed: disk quota reached; The minimum free disk space has been reached.",
        ),
        (
            '\n  <?xml version="1.0" encoding="UTF-8"?>\n<response><messages>'
            '<msg type="ERROR">Search not executed:\n  the <b>quota</b> &amp; the limit</msg>'
            '<msg type="INFO">   </msg><msg type="WARN">Try again later.</msg></messages></response>',
            {"Content-Type": "text/xml"},
            "Search not executed: the quota & the limit; Try again later.",
        ),
        (
            "proxy said: <msg>no route</msg> to splunkd",
            {"Content-Type": "text/plain"},
            "text/plain reply: proxy said: no route to splunkd",
        ),
        (
            '["not", "splunk"]',
            {"Content-Type": "application/json"},
            'application/json reply: ["not", "splunk"]',
        ),
        ('{"messages": 5}', {"Content-Type": "application/json"}, 'application/json reply: {"messages": 5}'),
        (
            f"session for {SEARCH_TOKEN} expired",
            {"Content-Type": "text/plain"},
            "text/plain reply: session for **** expired",
        ),
        (None, {}, "untyped reply: (no text)"),
    ],
    ids=["json", "xml", "text-with-msg", "json-list", "json-odd-messages", "echoed-token", "empty"],
)
def test_an_error_body_is_shown_as_splunks_texts_or_a_masked_summary(
    server: SplunkEmulator,
    settings: Callable[..., Settings],
    body: str | None,
    headers: dict[str, str],
    shown: str,
) -> None:
    server.inject_fault(listener="rest", status=502, body=body, headers=headers, times=None)
    assert search_error(settings()) == f"Splunk answered HTTP 502: {shown}"


def test_an_error_body_echoing_the_password_of_a_login_is_masked(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(
        listener="rest",
        status=502,
        body=f"login of analyst with password {PASSWORD} refused",
        headers={"Content-Type": "text/plain"},
        times=None,
    )
    message = search_error(settings(), username="analyst", password=PASSWORD)
    assert message == (
        "Splunk answered HTTP 502: text/plain reply: login of analyst with password **** refused"
    )


def raw_splunkd(tmp_path: Path, response: bytes) -> contextlib.AbstractContextManager[Settings]:
    """Settings for a loopback HTTPS server that answers every request with ``response`` as is."""

    def answer(tls: ssl.SSLSocket, stop: threading.Event) -> None:
        tls.settimeout(10)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = tls.recv(65536)
            if not chunk:
                return
            received += chunk
        tls.sendall(response)

    return loopback_splunkd(tmp_path, SEARCH_TOKEN, answer)


@pytest.mark.timeout(30)
def test_an_error_body_that_is_not_utf8_is_summarised_with_replacement_characters(tmp_path: Path) -> None:
    body = b"gateway error \xff\xfe at the edge"
    response = (
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with raw_splunkd(tmp_path, response) as raw:
        message = search_error(raw)
    assert message == "Splunk answered HTTP 502: text/plain reply: gateway error \ufffd\ufffd at the edge"


# Failed jobs and export messages: Splunk's texts, joined, and nothing else.


def failed_job(messages: str) -> str:
    """The atom entry of a failed search job whose ``messages`` dict holds ``messages``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<entry xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:s="http://dev.splunk.com/ns/rest"><title>search index=web</title>'
        "<id>https://127.0.0.1/services/search/jobs/failed</id><updated>2026-12-01T00:00:00.000+00:00</updated>"
        '<link href="/services/search/jobs/failed" rel="alternate"/><author><name>admin</name></author>'
        '<content type="text/xml"><s:dict><s:key name="dispatchState">FAILED</s:key>'
        '<s:key name="isDone">1</s:key><s:key name="isFailed">1</s:key><s:key name="resultCount">0</s:key>'
        f'<s:key name="messages"><s:dict>{messages}</s:dict></s:key></s:dict></content></entry>'
    )


@pytest.mark.parametrize(
    ("messages", "shown"),
    [
        (
            "<s:key name=\"fatal\">Error in 'bogus' command: no such field</s:key>",
            "Error in 'bogus' command: no such field",
        ),
        (
            '<s:key name="error"><s:list><s:item>First problem.</s:item>'
            '<s:item>Second problem.</s:item></s:list></s:key><s:key name="info">Not shown.</s:key>',
            "First problem.; Second problem.",
        ),
    ],
    ids=["one-fatal-text", "two-error-texts"],
)
def test_a_failed_job_shows_exactly_splunks_error_texts(
    server: SplunkEmulator, settings: Callable[..., Settings], messages: str, shown: str
) -> None:
    # server/info and the job's creation answer as usual; the job's status is the failed entry.
    server.inject_fault(listener="rest", path="/services/server/info", method="GET", times=None)
    server.inject_fault(
        listener="rest",
        method="GET",
        status=200,
        body=failed_job(messages),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        times=None,
    )
    assert search_error(settings(), method="job") == shown


@pytest.mark.parametrize("method", ["export", "job"])
def test_a_search_failing_while_running_shows_only_splunks_message(
    server: SplunkEmulator, settings: Callable[..., Settings], method: str
) -> None:
    text = "Error in 'lookup' command: Could not find all of the specified lookup fields in the table."
    server.fail_search("search index=web | lookup users uid", text)
    with pytest.raises(splunk.SplunkSearchError) as raised:
        splunk.get_data("index=web | lookup users uid", earliest="0", method=method, settings=settings())
    assert str(raised.value) == text


def created_sid(server: SplunkEmulator) -> str:
    """The sid of the search job the emulator created last."""
    created = [
        entry for entry in server.requests_log("rest") if entry["path"] == JOBS and entry["method"] == "POST"
    ]
    found = re.search(r"<sid>([^<]+)</sid>", created[-1]["response"])
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("messages", "shown"),
    [
        (
            '<s:key name="warn">Disk usage is high.</s:key>'
            '<s:key name="info">The search was cancelled.</s:key>',
            ": Disk usage is high.; The search was cancelled.",
        ),
        ("", ""),
    ],
    ids=["no-error-texts", "no-messages"],
)
def test_a_failed_job_without_error_texts_names_the_job_and_its_other_texts(
    server: SplunkEmulator, settings: Callable[..., Settings], messages: str, shown: str
) -> None:
    server.inject_fault(listener="rest", path="/services/server/info", method="GET", times=None)
    server.inject_fault(
        listener="rest",
        method="GET",
        status=200,
        body=failed_job(messages),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        times=None,
    )
    message = search_error(settings(), method="job")
    assert message == f"search job {created_sid(server)} failed{shown}"


def test_a_job_search_records_its_sid_and_reads_its_results_in_one_request(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.add_dataset("index=many", [{"n": n} for n in range(250)])
    frame = splunk.get_data("index=many", earliest="0", method="job", settings=settings(), progress=False)
    assert frame["n"].tolist() == list(range(250))
    assert frame.attrs["splunk_search"]["sid"] == created_sid(server)
    reads = [entry for entry in server.requests_log("rest") if entry["path"].endswith("/results")]
    assert len(reads) == 1
    assert "count=50000&offset=0" in reads[0]["body"]


@pytest.mark.parametrize(
    ("kind", "raised"),
    [("ERROR", "Results are incomplete: a search peer is down."), ("WARN", None)],
)
def test_an_error_message_among_a_jobs_results_fails_the_search(
    server: SplunkEmulator, settings: Callable[..., Settings], kind: str, raised: str | None
) -> None:
    server.inject_fault(listener="rest", path=JOBS, method="POST", times=None)  # the job's creation
    server.inject_fault(
        listener="rest",
        method="POST",  # the results
        status=200,
        body={
            "preview": False,
            "init_offset": 0,
            "messages": [{"type": kind, "text": "Results are incomplete: a search peer is down."}],
            "fields": [{"name": "n"}],
            "results": [{"n": "7"}, {"n": "8"}, {"n": "9"}],  # as many as index=web has
        },
        times=None,
    )
    if raised is None:
        frame = splunk.get_data("index=web", earliest="0", method="job", settings=settings(), progress=False)
        assert frame["n"].tolist() == [7, 8, 9]
    else:
        assert search_error(settings(), method="job") == raised


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "refusal",
    [{"status": 500, "body": "cancel failed"}, {"drop_connection": True}],
    ids=["http-500", "dropped"],
)
def test_a_job_that_times_out_is_a_timeout_even_when_its_cancel_fails(
    server: SplunkEmulator, settings: Callable[..., Settings], refusal: dict[str, Any]
) -> None:
    server.configure(job_duration_ms=60_000)
    server.inject_fault(listener="rest", path=JOBS, method="POST", times=None)  # the job's creation
    server.inject_fault(listener="rest", method="POST", times=None, **refusal)  # the cancel
    with pytest.raises(splunk.SplunkTimeoutError, match=r"^search did not finish within timeout=1 s"):
        splunk.get_data(
            "index=web", earliest="0", method="job", timeout=1, settings=settings(), progress=False
        )
    assert [entry["path"] for entry in server.requests_log("rest") if entry["path"].endswith("/control")]


def export_body(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


def test_export_error_messages_are_joined_and_warnings_left_out(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(
        listener="rest",
        path=EXPORT,
        status=200,
        headers={"Content-Type": "application/json"},
        body=export_body(
            '{"preview":false,"offset":0,"result":{"n":"1"}}',
            '{"preview":false,"messages":[{"type":"ERROR","text":"Streamed search failed."},'
            '{"type":"WARN","text":"Not an error."},{"type":"FATAL","text":"Search aborted."}]}',
        ),
    )
    assert search_error(settings(), method="export") == "Streamed search failed.; Search aborted."


def test_export_returns_only_final_rows_not_previews(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    # A reporting search streams preview results before its final ones; a line without "preview" is final.
    server.inject_fault(
        listener="rest",
        path=EXPORT,
        status=200,
        headers={"Content-Type": "application/json"},
        body=export_body(
            '{"preview":true,"offset":0,"result":{"n":"100"}}',
            '{"preview":true,"offset":0,"result":{"n":"200"},"messages":[{"type":"INFO","text":"Preview."}]}',
            '{"preview":false,"offset":0,"result":{"n":"1"}}',
            '{"offset":1,"result":{"n":"2"},"lastrow":true}',
        ),
    )
    frame = splunk.get_data("index=web", earliest="0", method="export", settings=settings(), progress=False)
    assert frame["n"].tolist() == [1, 2]


def test_export_applies_the_time_range(settings: Callable[..., Settings]) -> None:
    frame = splunk.get_data(
        "index=web",
        earliest="2026-11-20T11:00:00",
        latest="2026-11-21T00:00:00",
        method="export",
        settings=settings(),
        progress=False,
    )
    assert frame["status"].tolist() == [500]


@pytest.mark.timeout(120)
def test_a_large_export_is_read_in_blocks_each_counted_as_a_page(
    server: SplunkEmulator, settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = 12_000  # about 2.5 MB of NDJSON: more than one 1 MiB block
    server.add_dataset("index=wide", [{"n": n, "text": "x" * 150} for n in range(rows)])
    frame = splunk.get_data("index=wide", earliest="0", method="export", settings=settings(), progress=True)
    assert len(frame) == rows
    final = capsys.readouterr().err.rstrip().rsplit("\r", 1)[-1]
    pages = re.search(r"(\d+) pages?\]", final)
    assert pages is not None, final
    assert int(pages.group(1)) > 1


# The query as run, and the arguments refused.


def test_the_query_run_adds_the_fields_and_one_row_past_max_rows(settings: Callable[..., Settings]) -> None:
    frame = splunk.get_data(
        "index=web", earliest="0", fields=["status", "_time"], max_rows=5, settings=settings(), progress=False
    )
    assert frame.attrs["splunk_search"]["query"] == "search index=web | fields status, _time | head 6"
    assert list(frame.columns) == ["status", "_time"]


@pytest.mark.parametrize(
    ("query", "arguments", "message"),
    [
        ("  \n ", {}, "query is empty: give an SPL search such as 'index=main | head 10'"),
        ("index=web", {"fields": ["host", "bad name"]}, "fields ['bad name']: give plain Splunk field names"),
        ("index=web", {"max_rows": 0}, "max_rows=0: give a positive number of rows, or None for no cap"),
    ],
    ids=["empty-query", "bad-field", "no-rows"],
)
def test_bad_search_arguments_say_what_to_give(
    settings: Callable[..., Settings], query: str, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        splunk.get_data(query, settings=settings(), progress=False, **arguments)  # type: ignore[arg-type]


# Empty results.


def test_an_empty_export_warns_and_returns_no_rows(settings: Callable[..., Settings]) -> None:
    with pytest.warns(splunk.SplunkEmptyResultWarning):
        frame = splunk.get_data("index=web status=999", earliest="0", method="export", settings=settings())
    assert frame.empty


def test_the_empty_result_warning_does_not_call_a_wildcard_a_missing_index(
    settings: Callable[..., Settings],
) -> None:
    with pytest.warns(splunk.SplunkEmptyResultWarning) as warned:
        splunk.get_data("index=nosuch* status=500", earliest="0", settings=settings(), progress=False)
    (warning,) = warned
    assert str(warning.message) == (
        "the search 'index=nosuch* status=500' returned no results between earliest='0' and latest='now'"
    )


def test_an_empty_result_of_a_table_with_wildcards_has_no_columns(settings: Callable[..., Settings]) -> None:
    with pytest.warns(splunk.SplunkEmptyResultWarning):
        frame = splunk.get_data("index=web status=999 | table stat*", earliest="0", settings=settings())
    assert list(frame.columns) == []
    with pytest.warns(splunk.SplunkEmptyResultWarning):
        frame = splunk.get_data(
            "index=web status=999 | table status _time", earliest="0", settings=settings()
        )
    assert list(frame.columns) == ["status", "_time"]


# Through an HTTP proxy (CONNECT).


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectProxy]:
    with ConnectProxy() as running:
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        yield running


def logged_requests(server: SplunkEmulator) -> list[tuple[str, str, dict[str, str], str]]:
    """Method, path, headers (names in lower case) and body of each REST request since the last reset."""
    return [
        (
            entry["method"],
            entry["path"],
            {name.lower(): value for name, value in entry["headers"].items()},
            entry["body"],
        )
        for entry in server.requests_log("rest")
    ]


def test_a_search_through_the_proxy_sends_splunk_the_same_requests_as_a_direct_one(
    server: SplunkEmulator,
    settings: Callable[..., Settings],
    proxy: ConnectProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    splunk.get_data("index=web", earliest="0", method="export", settings=settings(), progress=False)
    direct = logged_requests(server)
    server.reset()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    splunk.get_data("index=web", earliest="0", method="export", settings=settings(), progress=False)
    proxied = logged_requests(server)
    assert proxy.tunnels, "the search did not go through the proxy"
    assert [method for method, *_ in direct] == ["GET", "GET", "POST"]
    assert proxied == direct
    assert direct[0][2]["host"] == "127.0.0.1"


def test_a_refused_token_through_the_proxy_is_an_authentication_error(
    settings: Callable[..., Settings], proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    with pytest.raises(splunk.SplunkAuthenticationError) as raised:
        splunk.get_data("index=web", settings=settings(splunk_access_token="wrong-token-5"), progress=False)
    port = settings().splunk_access_port
    assert str(raised.value) == (
        f"Splunk at https://127.0.0.1:{port} refused the credentials (HTTP 401): check splunk_access_token "
        "(a Splunk authentication token) or the username and password"
    )
    assert proxy.tunnels


@pytest.fixture
def silent_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A proxy that accepts connections and never answers, not even the CONNECT."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setenv("HTTPS_PROXY", url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        yield url
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@pytest.mark.timeout(20)
def test_a_proxy_that_never_answers_the_connect_times_out_naming_the_timeout(
    settings: Callable[..., Settings], silent_proxy: str
) -> None:
    with pytest.raises(splunk.SplunkTimeoutError) as raised:
        splunk.get_data("index=web", timeout=2, settings=settings(), progress=False)
    port = settings().splunk_access_port
    assert str(raised.value) == (
        "search did not finish within timeout=2 s: 'search index=web' (Splunk at "
        f"https://127.0.0.1:{port} stopped answering or answered too slowly); "
        "pass a larger timeout= to wait longer"
    )


# The timeout.


@pytest.mark.parametrize("method", ["export", "job"])
def test_a_quick_search_succeeds_within_a_short_timeout(
    settings: Callable[..., Settings], method: str
) -> None:
    frame = splunk.get_data(
        "index=web", earliest="0", method=method, timeout=1, settings=settings(), progress=False
    )
    assert len(frame) == 3


@pytest.mark.parametrize(
    ("deadline", "cause", "message"),
    [
        (
            Deadline(2.5, "search", "'search index=web'"),
            None,
            "search did not finish within timeout=2.5 s: 'search index=web'; "
            "pass a larger timeout= to wait longer",
        ),
        (
            Deadline(1, "the REST check"),
            None,
            "the REST check did not finish within timeout=1 s; pass a larger timeout= to wait longer",
        ),
        (
            Deadline(1, "the index check"),
            "Splunk at https://splunk:8089 stopped answering",
            "the index check did not finish within timeout=1 s "
            "(Splunk at https://splunk:8089 stopped answering); pass a larger timeout= to wait longer",
        ),
    ],
    ids=["search", "check", "check-with-cause"],
)
def test_the_timeout_message_names_the_timeout_and_how_to_wait_longer(
    deadline: Deadline, cause: str | None, message: str
) -> None:
    error = deadline.error() if cause is None else deadline.error(cause)
    assert isinstance(error, splunk.SplunkTimeoutError)
    assert str(error) == message


# Columns: _time, multivalue fields, and the progress bar.


def test_epoch_times_become_utc_datetimes() -> None:
    frame = rows_to_frame([{"_time": "1700000000"}, {"_time": "1700000060.5"}, {"n": "1"}])
    assert str(frame["_time"].dt.tz) == "UTC"
    assert frame["_time"].tolist()[:2] == [
        pd.Timestamp("2023-11-14T22:13:20Z"),
        pd.Timestamp("2023-11-14T22:14:20.5Z"),
    ]
    assert pd.isna(frame["_time"].iloc[2])


def test_iso_times_of_mixed_precision_and_offsets_become_utc_datetimes() -> None:
    frame = rows_to_frame(
        [
            {"_time": "2026-11-20T12:00:00.000+02:00"},
            {"_time": "2026-11-20T11:30:00+02:00"},
            {"_time": "2026-11-20T09:15:00.250+00:00"},
        ]
    )
    assert str(frame["_time"].dt.tz) == "UTC"
    assert frame["_time"].tolist() == [
        pd.Timestamp("2026-11-20T10:00:00Z"),
        pd.Timestamp("2026-11-20T09:30:00Z"),
        pd.Timestamp("2026-11-20T09:15:00.250Z"),
    ]


def test_a_missing_value_of_a_multivalue_field_stays_missing() -> None:
    frame = rows_to_frame([{"tags": ["a", "b"], "n": "1"}, {"n": "2"}, {"tags": "c", "n": "3"}])
    assert frame["tags"].tolist() == [["a", "b"], None, ["c"]]


def test_in_a_kernel_without_ipywidgets_the_progress_shows_by_default_as_the_text_bar(
    settings: Callable[..., Settings], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not importable, wherever the tests run
    frame = splunk.get_data("index=web", earliest="0", settings=settings())  # progress=None: the default
    assert len(frame) == 3
    final = capsys.readouterr().err.rstrip().rsplit("\r", 1)[-1]
    assert final.startswith("Splunk search: 3 rows [")
    assert final.endswith(", 1 page]")
