"""No event is lost: outages, busy answers, restarts and killed processes (at least once + dedup by id)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from golden_testing import stopped_at_exit

from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.telemetry_helper import Telemetry, build_telemetry

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def delivered_once(splunk: SplunkEmulator, expected: int) -> None:
    """Every number 0..expected-1 arrived, and de-duplication by event_id leaves each exactly once."""
    events = splunk.events(index="main")
    by_id = {event["fields"]["event_id"]: event["event"]["number"] for event in events}
    assert sorted(by_id.values()) == list(range(expected))
    assert len(by_id) == expected
    assert max(Counter(by_id.values()).values()) == 1


def log_numbers(telemetry: Telemetry, numbers: range) -> None:
    for number in numbers:
        telemetry.log_event({"number": number})


def test_refused_connections_then_recovery(splunk: SplunkEmulator, telemetry: Telemetry) -> None:
    splunk.refuse_connections(2.0)
    log_numbers(telemetry, range(500))
    assert telemetry.flush(30)
    delivered_once(splunk, 500)
    assert telemetry.stats()["retries"] >= 1


def test_busy_answers_are_retried(splunk: SplunkEmulator, telemetry: Telemetry) -> None:
    splunk.inject_fault(listener="hec", path="/services/collector/event", code=9, times=3)
    log_numbers(telemetry, range(300))
    assert telemetry.flush(30)
    delivered_once(splunk, 300)


def test_connection_dropped_mid_stream(splunk: SplunkEmulator, telemetry: Telemetry) -> None:
    splunk.drop_after_events(150)
    log_numbers(telemetry, range(1000))
    assert telemetry.flush(30)
    delivered_once(splunk, 1000)


# The restart cuts connections in every state, TLS handshakes included; often one of those sockets
# reaches the garbage collector unclosed (whether on urllib3's or the emulator's side is not found yet:
# under PYTHONTRACEMALLOC the race goes away). Delivery, which this test is about, is unaffected.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_emulator_restarted_mid_stream(splunk: SplunkEmulator, telemetry: Telemetry) -> None:
    log_numbers(telemetry, range(400))
    splunk.restart()
    log_numbers(telemetry, range(400, 800))
    assert telemetry.flush(30)
    delivered_once(splunk, 800)


CHILD = textwrap.dedent(
    """
    import sys, time
    from dsdl_golden.telemetry_helper import build_telemetry
    from dsdl_golden.config import load_settings
    telemetry = build_telemetry(load_settings())
    start, stop = int(sys.argv[1]), int(sys.argv[2])
    for number in range(start, stop):
        telemetry.log_event({"number": number})
    assert telemetry.sync(30)
    print("spooled", flush=True)
    if sys.argv[3] == "wait":
        time.sleep(600)
    assert telemetry.flush(60), telemetry.stats()
    telemetry.close()
    """
)


def child(settings_env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        env=settings_env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_killed_process_events_are_replayed_by_the_next_one(
    splunk: SplunkEmulator, tmp_path: Path, child_environment: dict[str, str]
) -> None:
    environ = child_environment
    splunk.drop_after_events(700)
    splunk.inject_fault(listener="hec", path="/services/collector/event", code=9, times=None)
    with stopped_at_exit(child(environ, "0", "3000", "wait")) as first:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "spooled"
        first.send_signal(signal.SIGKILL)
        first.wait()
    splunk.clear_faults()

    with stopped_at_exit(child(environ, "3000", "3100", "flush")) as second:
        assert second.wait(timeout=120) == 0

    delivered_once(splunk, 3100)
    assert [path for path in (tmp_path / "spool").iterdir() if path.is_dir()] == []


def test_a_full_spool_drops_and_counts_without_blocking(
    splunk: SplunkEmulator, settings_for: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    splunk.refuse_connections(60.0)
    telemetry = build_telemetry(settings_for(), spool_max_bytes=20_000)
    try:
        log_numbers(telemetry, range(2000))
        assert not telemetry.sync(10)  # events were dropped since the last sync
        stats = telemetry.stats()
        assert stats["dropped_spool_full"] > 0
        assert stats["spooled"] + stats["dropped_spool_full"] == 2000
        assert "telemetry spool full" in caplog.text
    finally:
        splunk.resume()
        telemetry.close(timeout=10)
