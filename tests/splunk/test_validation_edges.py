"""validate_splunk_config word for word: the detail and fix of every check a user reads (HEC that
cannot be reached, speaks no TLS or is unhealthy, a refused or disabled HEC token, settings missing,
indexes splunkd will not show or the HEC token may not write to) and the report's text, HTML and
exception. Against the Splunk emulator and small loopback servers that misbehave on purpose.

These tests kill mutants of ``_splunk/validation.py`` that ``./dev mutate splunk`` found surviving.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from golden_testing import connector_settings

from dsdl_golden import splunk_connector as splunk
from dsdl_golden.config import Secret, Settings, load_settings
from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration

SEARCH_TOKEN = "search-token-validation-edges"
HEC_TOKEN = "hec-token-validation-edges"
CA_FIX = "set GOLDEN_TLS_VERIFY to the CA bundle that signed Splunk's certificate"
UNREACHABLE_FIX = "check splunk_hec_url (host and port, usually 8088) and that the container can reach Splunk"
HEC_PORT_HINT = "HEC usually listens on 8088: set splunk_hec_url to https://SPLUNK_HOST:8088"
NOT_CHECKED_INDEXES = [
    ("index.events_index", None),
    ("index.metrics_index", None),
    ("hec.indexes", None),
]


@pytest.fixture
def server(fresh_emulator: SplunkEmulator) -> SplunkEmulator:
    fresh_emulator.add_auth_token(SEARCH_TOKEN)
    fresh_emulator.add_index("golden_metrics", metrics=True)
    fresh_emulator.add_hec_token(HEC_TOKEN, name="results", indexes=["main", "golden_metrics"])
    return fresh_emulator


@pytest.fixture
def settings(server: SplunkEmulator, tmp_path: Path) -> Callable[..., Settings]:
    return connector_settings(server, tmp_path, search_token=SEARCH_TOKEN, hec_token=HEC_TOKEN)


def check(report: splunk.ValidationReport, name: str) -> tuple[bool | None, str, str]:
    """The result, detail and fix of the one check called ``name``."""
    (found,) = [check for check in report.checks if check.name == name]
    return found.ok, found.detail, found.fix


def hec_only(url: str, tmp_path: Path) -> Settings:
    """Settings with only HEC, at ``url`` (Splunk access off)."""
    return load_settings(
        {
            "splunk_hec_enabled": "true",
            "splunk_hec_url": url,
            "splunk_hec_token": HEC_TOKEN,
            "GOLDEN_SPOOL_DIR": str(tmp_path),
        }
    )


# --- loopback servers that are not HEC -------------------------------------------------------------


@contextlib.contextmanager
def loopback_server(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """The port of a loopback TCP server that reads each request and then calls ``answer`` on it
    (which closes the connection)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    served: list[threading.Thread] = []

    def serve(connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            connection.recv(65536)
            answer(connection)
        connection.close()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                thread = threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True)
                served.append(thread)
                thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        acceptor.join()
        for thread in served:
            thread.join()
        listener.close()


def reset(connection: socket.socket) -> None:
    """Close with a TCP reset ("connection reset by peer")."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def plain_http(connection: socket.socket) -> None:
    """Answer in clear-text HTTP, whatever was asked (a TLS handshake, say)."""
    connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def hang_up(connection: socket.socket) -> None:
    """Close without a word (in the middle of a TLS handshake, for an HTTPS client)."""


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port nothing listens on (held, so that no other server takes it meanwhile)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


# --- HEC cannot be reached ---------------------------------------------------------------------------


def test_an_http_url_to_a_server_that_resets_the_connection_asks_whether_it_is_https(tmp_path: Path) -> None:
    with loopback_server(reset) as port:
        report = splunk.validate_splunk_config(hec_only(f"http://127.0.0.1:{port}", tmp_path))
    assert check(report, "hec.reachable") == (
        False,
        "the server closed the connection",
        "is it HTTPS? use https:// in splunk_hec_url",
    )


def test_an_https_url_to_a_server_that_resets_the_connection_says_to_check_the_url(tmp_path: Path) -> None:
    with loopback_server(reset) as port:
        report = splunk.validate_splunk_config(hec_only(f"https://127.0.0.1:{port}", tmp_path))
    ok, detail, fix = check(report, "hec.reachable")
    assert (ok, fix) == (False, UNREACHABLE_FIX)
    assert detail.startswith("connection failed: ProtocolError: ")
    assert "reset by peer" in detail


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_refused_connection_says_to_check_the_url_and_that_splunk_is_reachable(
    tmp_path: Path, scheme: str
) -> None:
    with refused_port() as port:
        report = splunk.validate_splunk_config(hec_only(f"{scheme}://127.0.0.1:{port}", tmp_path))
    ok, detail, fix = check(report, "hec.reachable")
    assert (ok, fix) == (False, UNREACHABLE_FIX)
    assert detail.startswith("connection failed: NewConnectionError: ")
    assert "Connection refused" in detail


def test_an_https_url_to_a_clear_text_server_says_it_does_not_speak_tls(tmp_path: Path) -> None:
    with loopback_server(plain_http) as port:
        report = splunk.validate_splunk_config(hec_only(f"https://127.0.0.1:{port}", tmp_path))
    assert check(report, "hec.reachable") == (
        False,
        "the server does not speak TLS",
        "use http:// in splunk_hec_url, or HEC's TLS port",
    )


def test_a_tls_handshake_cut_short_points_to_the_ca_bundle(tmp_path: Path) -> None:
    with loopback_server(hang_up) as port:
        report = splunk.validate_splunk_config(hec_only(f"https://127.0.0.1:{port}", tmp_path))
    ok, detail, fix = check(report, "hec.reachable")
    assert (ok, fix) == (False, CA_FIX)
    assert detail.startswith("connection failed: SSLError: ")
    assert "certificate" not in detail


def test_hec_with_a_certificate_of_an_unknown_ca_points_to_the_ca_bundle(
    settings: Callable[..., Settings],
) -> None:
    report = splunk.validate_splunk_config(settings(GOLDEN_TLS_VERIFY="1"))  # the system's CAs only
    ok, detail, fix = check(report, "hec.reachable")
    assert (ok, fix) == (False, CA_FIX)
    assert detail.startswith("connection failed: SSLError: ")
    assert "certificate verify failed" in detail


# --- HEC answers, but not as a healthy HEC -----------------------------------------------------------


def test_the_splunkd_port_as_hec_url_is_recognised(server: SplunkEmulator, tmp_path: Path) -> None:
    report = splunk.validate_splunk_config(
        load_settings(
            {
                "splunk_hec_enabled": "true",
                "splunk_hec_url": server.rest_url,
                "splunk_hec_token": HEC_TOKEN,
                "GOLDEN_TLS_VERIFY": str(server.ca_bundle),
                "GOLDEN_SPOOL_DIR": str(tmp_path),
            }
        )
    )
    assert check(report, "hec.reachable") == (
        False,
        "this looks like the splunkd management port, not HEC",
        HEC_PORT_HINT,
    )


@pytest.mark.parametrize(
    ("code", "text", "cause"),
    [
        (18, "HEC is unhealthy, queues are full", "HEC's queues are full (Splunk is overloaded)"),
        (19, "HEC is unhealthy, ack service unavailable", "HEC's indexer acknowledgement is unavailable"),
        (
            20,
            "HEC is unhealthy, queues are full, ack service unavailable",
            "HEC's queues are full and its indexer acknowledgement is unavailable",
        ),
    ],
)
def test_an_overloaded_hec_fails_reachable_naming_the_cause_and_says_to_try_again_later(
    server: SplunkEmulator, settings: Callable[..., Settings], code: int, text: str, cause: str
) -> None:
    server.configure(health_code=code)
    report = splunk.validate_splunk_config(settings())
    ok, detail, fix = check(report, "hec.reachable")
    assert (ok, detail) == (False, f"HTTP 503 code={code} {text!r}")
    assert fix == f"{cause}: try again later or ask your Splunk admin"
    assert [check.name for check in report.checks if check.name.startswith("hec.")] == [
        "hec.enabled",
        "hec.configured",
        "hec.reachable",
        "hec.indexes",  # the token is not tried
    ]


def test_a_health_answer_that_is_not_hecs_says_the_url_does_not_answer_like_hec(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(
        listener="hec", path="/services/collector/health", status=502, body="Bad Gateway", times=None
    )
    report = splunk.validate_splunk_config(settings())
    assert check(report, "hec.reachable") == (
        False,
        "HTTP 502 code=None 'text/plain reply: Bad Gateway'",
        f"splunk_hec_url does not answer like HEC: {HEC_PORT_HINT}",
    )


@pytest.mark.timeout(30)
def test_an_hec_that_does_not_answer_is_given_the_validation_timeout(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(listener="hec", path="/services/collector/health", delay_ms=3000)
    report = splunk.validate_splunk_config(settings(), timeout=1)
    ok, detail, fix = check(report, "hec.reachable")
    assert (ok, fix) == (False, UNREACHABLE_FIX)
    assert detail.startswith("connection failed: ReadTimeoutError: ")
    assert detail.endswith("Read timed out. (read timeout=1)")


def test_a_user_name_and_password_in_the_hec_url_fail_configured_without_showing_them(tmp_path: Path) -> None:
    # load_settings refuses this; Settings(...) in code does not.
    report = splunk.validate_splunk_config(
        Settings(
            splunk_hec_enabled=True,
            splunk_hec_url="https://admin:changeme@127.0.0.1:9",
            splunk_hec_token=Secret(HEC_TOKEN),
            spool_dir=tmp_path,
        )
    )
    assert [(check.name, check.ok, check.detail, check.fix) for check in report.checks][:2] == [
        ("hec.enabled", True, "splunk_hec_enabled is on", ""),
        (
            "hec.configured",
            False,
            "the HEC URL 'https://***@127.0.0.1:9' contains a user name or password: remove them "
            "(HEC authenticates with the token in splunk_hec_token)",
            "remove them from splunk_hec_url",
        ),
    ]
    assert report.checks[2].name == "rest.enabled"


# --- the HEC token ---------------------------------------------------------------------------------


def test_an_accepted_token_is_reported_as_such(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    report = splunk.validate_splunk_config(settings())
    assert check(report, "hec.token") == (True, "token accepted", "")
    (post,) = [entry for entry in server.requests_log("hec") if entry["method"] == "POST"]
    # An empty, uncompressed body: HEC answers "No data" only after it accepted the token.
    assert (post["body_bytes"], post["gzip"]) == (0, False)
    assert "Content-Encoding" not in post["headers"]


def test_an_accepted_token_with_indexer_acknowledgement_says_so(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.add_hec_token(
        "hec-token-acked-edges", name="acked", indexes=["main", "golden_metrics"], use_ack=True
    )
    report = splunk.validate_splunk_config(settings(splunk_hec_token="hec-token-acked-edges"))
    assert check(report, "hec.token") == (True, "token accepted (indexer acknowledgement on)", "")


def test_an_unknown_token_says_to_set_a_valid_one(settings: Callable[..., Settings]) -> None:
    report = splunk.validate_splunk_config(settings(splunk_hec_token="hec-token-nobody-knows"))
    assert check(report, "hec.token") == (
        False,
        "HTTP 403 code=4 'Invalid token'",
        "Splunk does not know this token: set splunk_hec_token to a valid HEC token",
    )


def test_a_disabled_token_says_to_enable_it(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.add_hec_token("hec-token-disabled-edges", name="off", indexes=["main"], disabled=True)
    report = splunk.validate_splunk_config(settings(splunk_hec_token="hec-token-disabled-edges"))
    assert check(report, "hec.token") == (
        False,
        "HTTP 403 code=1 'Token disabled'",
        "the HEC token is disabled: enable it in Splunk (Settings > Data inputs > HTTP Event Collector)",
    )


def test_a_token_answer_without_an_hec_code_says_to_check_the_token(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(listener="hec", path="/services/collector/event", status=500, body="Internal error")
    report = splunk.validate_splunk_config(settings())
    assert check(report, "hec.token") == (
        False,
        "HTTP 500 code=None 'text/plain reply: Internal error'",
        "check splunk_hec_token",
    )


# --- settings missing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "missing"),
    [
        ({}, "splunk_hec_url and splunk_hec_token"),
        ({"splunk_hec_url": "https://127.0.0.1:9"}, "splunk_hec_token"),
        ({"splunk_hec_token": Secret(HEC_TOKEN)}, "splunk_hec_url"),
    ],
)
def test_hec_on_without_its_url_or_token_names_what_to_set(
    tmp_path: Path, configured: dict[str, object], missing: str
) -> None:
    # load_settings refuses this; Settings(...) in code does not.
    half = Settings(splunk_hec_enabled=True, spool_dir=tmp_path, **configured)  # type: ignore[arg-type]
    report = splunk.validate_splunk_config(half)
    assert [(check.name, check.ok) for check in report.checks] == [
        ("hec.enabled", True),
        ("hec.configured", False),
        ("rest.enabled", False),
        *NOT_CHECKED_INDEXES,
    ]
    assert check(report, "hec.configured") == (
        False,
        f"{missing} not set",
        f"set {missing} in DSDL's setup page",
    )


@pytest.mark.parametrize(
    ("configured", "error"),
    [
        (
            {"splunk_access_token": Secret(SEARCH_TOKEN)},
            "no Splunk host: set splunk_access_host or pass host=",
        ),
        (
            {"splunk_access_host": "splunk.example"},
            "no Splunk credentials: set splunk_access_token or pass token= (or username/password)",
        ),
    ],
)
def test_splunk_access_on_without_its_host_or_token_names_what_to_set(
    tmp_path: Path, configured: dict[str, object], error: str
) -> None:
    half = Settings(splunk_access_enabled=True, spool_dir=tmp_path, **configured)  # type: ignore[arg-type]
    report = splunk.validate_splunk_config(half)
    assert [(check.name, check.ok) for check in report.checks] == [
        ("hec.enabled", False),
        ("rest.enabled", True),
        ("rest.configured", False),
        *NOT_CHECKED_INDEXES,
    ]
    assert check(report, "hec.enabled") == (
        False,
        "splunk_hec_enabled is off",
        "enable HEC in DSDL's setup page",
    )
    assert check(report, "rest.configured") == (
        False,
        error,
        "set splunk_access_host and splunk_access_token",
    )
    assert {check.detail for check in report.checks if check.name.startswith("index.")} == {
        "not checked: Splunk access is not configured (see rest.configured)"
    }


# --- splunkd refuses the REST check ------------------------------------------------------------------


def test_a_wrong_search_token_says_to_set_one_of_a_user_who_may_search(
    settings: Callable[..., Settings],
) -> None:
    report = splunk.validate_splunk_config(settings(splunk_access_token="search-token-nobody-knows"))
    ok, _, fix = check(report, "rest.token")
    assert (ok, fix) == (
        False,
        "set splunk_access_token to a valid Splunk authentication token of a user who may search",
    )


def test_splunkd_with_a_certificate_of_an_unknown_ca_points_to_the_ca_bundle(
    settings: Callable[..., Settings],
) -> None:
    report = splunk.validate_splunk_config(settings(GOLDEN_TLS_VERIFY="1"))
    ok, detail, fix = check(report, "rest.token")
    assert (ok, fix) == (False, CA_FIX)
    assert "GOLDEN_TLS_VERIFY" in detail


def test_a_splunkd_that_refuses_connections_says_to_check_host_and_port(tmp_path: Path) -> None:
    with refused_port() as port:
        report = splunk.validate_splunk_config(
            load_settings(
                {
                    "splunk_access_enabled": "1",
                    "splunk_access_host": "127.0.0.1",
                    "splunk_access_port": str(port),
                    "splunk_access_token": SEARCH_TOKEN,
                    "GOLDEN_SPOOL_DIR": str(tmp_path),
                }
            )
        )
    ok, _, fix = check(report, "rest.token")
    assert (ok, fix) == (
        False,
        "splunkd's management port is usually 8089: check splunk_access_host and splunk_access_port, "
        "and that the container can reach Splunk",
    )
    assert [(check.name, check.ok, check.detail) for check in report.checks[-3:]] == [
        (name, None, "not checked: splunkd did not answer (see rest.token)")
        for name in ("index.events_index", "index.metrics_index", "hec.indexes")
    ]


@pytest.mark.timeout(30)
def test_a_splunkd_that_does_not_answer_is_named_as_the_rest_check_that_timed_out(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(listener="rest", path="/services/server/info", delay_ms=3000)
    report = splunk.validate_splunk_config(settings(), timeout=1)
    ok, detail, fix = check(report, "rest.token")
    assert ok is False
    assert detail.startswith("the REST check did not finish within timeout=1 s")
    assert fix == (
        "splunkd's management port is usually 8089: check splunk_access_host and splunk_access_port, "
        "and that the container can reach Splunk"
    )


# server/info as splunkd answers it, without the server's name.
_NAMELESS_SERVER_INFO = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest">'
    "<title>server-info</title><id>/services/server/info</id>"
    "<updated>1970-01-01T00:00:00.000+00:00</updated><author><name>Splunk</name></author>"
    "<entry><title>server-info</title><id>/services/server/info/server-info</id>"
    "<updated>1970-01-01T00:00:00.000+00:00</updated><author><name>system</name></author>"
    '<content type="text/xml"><s:dict><s:key name="version">9.2.1</s:key>'
    '<s:key name="build">emulator</s:key></s:dict></content></entry></feed>'
)


def test_a_splunkd_that_does_not_say_its_name_is_shown_with_a_question_mark(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(
        listener="rest",
        path="/services/server/info",
        status=200,
        body=_NAMELESS_SERVER_INFO,
        headers={"Content-Type": "text/xml; charset=utf-8"},
        times=None,
    )
    report = splunk.validate_splunk_config(settings())
    assert check(report, "rest.token") == (True, "Splunk 9.2.1 (?) accepted the token", "")


# --- indexes -----------------------------------------------------------------------------------------


def test_a_healthy_setup_passes_every_check_with_its_detail(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    report = splunk.validate_splunk_config(settings())
    config = server.config
    assert [(check.name, check.ok, check.detail, check.fix) for check in report.checks] == [
        ("hec.enabled", True, "splunk_hec_enabled is on", ""),
        ("hec.configured", True, server.hec_url, ""),
        ("hec.reachable", True, "HTTP 200 code=17 'HEC is healthy'", ""),
        ("hec.token", True, "token accepted", ""),
        ("rest.enabled", True, "splunk_access_enabled is on", ""),
        ("rest.configured", True, f"https://127.0.0.1:{server.rest_port}", ""),
        ("rest.token", True, f"Splunk {config.splunk_version} ({config.server_name}) accepted the token", ""),
        ("index.events_index", True, "index 'main' (events_index) exists", ""),
        ("index.metrics_index", True, "index 'golden_metrics' (metrics_index) exists", ""),
        ("hec.indexes", True, "splunk_hec_token may write to 'main', 'golden_metrics'", ""),
    ]


def test_with_hec_off_the_indexes_are_checked_but_not_the_hec_tokens_rights(
    settings: Callable[..., Settings],
) -> None:
    report = splunk.validate_splunk_config(settings(splunk_hec_enabled="false"))
    assert [(check.name, check.ok, check.detail) for check in report.checks[-3:]] == [
        ("index.events_index", True, "index 'main' (events_index) exists"),
        ("index.metrics_index", True, "index 'golden_metrics' (metrics_index) exists"),
        ("hec.indexes", None, "not checked: HEC is not configured"),
    ]


def test_indexes_splunkd_will_not_show_are_not_checked_and_say_why(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.inject_fault(listener="rest", path="/services/data/indexes/main", status=403, times=None)
    report = splunk.validate_splunk_config(settings())
    assert report.ok, str(report)
    assert check(report, "index.events_index") == (
        None,
        "not checked: the token's user may not read data/indexes (HTTP 403)",
        "",
    )
    assert check(report, "index.metrics_index")[0] is True


def test_indexes_the_hec_token_may_not_write_to_are_listed_with_those_it_may(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    server.add_index("ml_events")
    server.add_index("ml_metrics", metrics=True)
    report = splunk.validate_splunk_config(
        settings(GOLDEN_EVENTS_INDEX="ml_events", GOLDEN_METRICS_INDEX="ml_metrics")
    )
    assert [check.name for check in report.problems] == ["hec.indexes"]
    assert check(report, "hec.indexes") == (
        False,
        "splunk_hec_token may not write to 'ml_events', 'ml_metrics' (it may write to main, golden_metrics)",
        "add them to the token's indexes in Splunk (Settings > Data inputs > HTTP Event Collector), "
        "or set GOLDEN_EVENTS_INDEX/GOLDEN_METRICS_INDEX to allowed ones",
    )


# --- the report as text, HTML and exception ----------------------------------------------------------


def half_configured_report(tmp_path: Path) -> splunk.ValidationReport:
    """HEC on without its URL or token, Splunk access off: a pass, two failures and three skips."""
    return splunk.validate_splunk_config(Settings(splunk_hec_enabled=True, spool_dir=tmp_path))


def test_the_report_prints_one_aligned_line_per_check_and_its_fix_below(tmp_path: Path) -> None:
    assert str(half_configured_report(tmp_path)).splitlines() == [
        "ok   hec.enabled          splunk_hec_enabled is on",
        "FAIL hec.configured       splunk_hec_url and splunk_hec_token not set",
        "                          fix: set splunk_hec_url and splunk_hec_token in DSDL's setup page",
        "FAIL rest.enabled         splunk_access_enabled is off",
        "                          fix: enable Splunk access in DSDL's setup page",
        "skip index.events_index   not checked: needs Splunk access (splunk_access_enabled) to ask splunkd",
        "skip index.metrics_index  not checked: needs Splunk access (splunk_access_enabled) to ask splunkd",
        "skip hec.indexes          not checked: needs Splunk access (splunk_access_enabled) to ask splunkd",
    ]


def test_a_report_without_checks_prints_and_renders_empty() -> None:
    report = splunk.ValidationReport()
    assert report.ok
    assert str(report) == ""
    assert (
        report._repr_html_() == "<table><tr><th></th><th>check</th><th>result</th><th>fix</th></tr></table>"
    )


def test_the_report_renders_as_an_html_table_coloured_by_result(tmp_path: Path) -> None:
    needs = "not checked: needs Splunk access (splunk_access_enabled) to ask splunkd"
    skipped = "".join(
        f"<tr><td style='color:#757575'>skip</td><td>{name}</td><td>{needs}</td><td></td></tr>"
        for name in ("index.events_index", "index.metrics_index", "hec.indexes")
    )
    assert half_configured_report(tmp_path)._repr_html_() == (
        "<table><tr><th></th><th>check</th><th>result</th><th>fix</th></tr>"
        "<tr><td style='color:#2e7d32'>ok</td><td>hec.enabled</td>"
        "<td>splunk_hec_enabled is on</td><td></td></tr>"
        "<tr><td style='color:#c62828'>FAIL</td><td>hec.configured</td>"
        "<td>splunk_hec_url and splunk_hec_token not set</td>"
        "<td>set splunk_hec_url and splunk_hec_token in DSDL&#x27;s setup page</td></tr>"
        "<tr><td style='color:#c62828'>FAIL</td><td>rest.enabled</td><td>splunk_access_enabled is off</td>"
        "<td>enable Splunk access in DSDL&#x27;s setup page</td></tr>" + skipped + "</table>"
    )


def test_strict_validation_raises_listing_each_failed_check_on_its_own_line(tmp_path: Path) -> None:
    with pytest.raises(splunk.SplunkConfigError) as raised:
        splunk.validate_splunk_config(Settings(splunk_hec_enabled=True, spool_dir=tmp_path), strict=True)
    assert str(raised.value) == (
        "Splunk configuration problems:\n"
        "  hec.configured: splunk_hec_url and splunk_hec_token not set; "
        "fix: set splunk_hec_url and splunk_hec_token in DSDL's setup page\n"
        "  rest.enabled: splunk_access_enabled is off; fix: enable Splunk access in DSDL's setup page"
    )
