"""Third-party HEC clients, TLS verification with the generated CA, plain HTTP, the subprocess mode
and the ``golden emulator`` command."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import splunk_handler
from emulator_values import TOKEN

from dsdl_golden import cli
from dsdl_golden.emulator import EmulatorProcess, SplunkEmulator, start_subprocess

pytestmark = pytest.mark.integration

HEALTH = "/services/collector/health"


@pytest.fixture
def splunk_logger(emulator: SplunkEmulator, request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A logger with ``splunk_handler.SplunkHandler``; ``flush_interval`` from the test's parameter."""
    handler = splunk_handler.SplunkHandler(
        "127.0.0.1",
        emulator.hec_port,
        TOKEN,
        "web",
        protocol="https",
        verify=str(emulator.ca_bundle),
        flush_interval=request.param,
        sourcetype="app-log",
        hostname="notebook-1",
        retry_count=0,
    )
    logger = logging.getLogger(f"emulator-test-{request.param}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield logger
    logger.removeHandler(handler)
    handler.close()
    splunk_handler.instances.remove(handler)


@pytest.mark.parametrize("splunk_logger", [0], indirect=True)
def test_splunk_handler_synchronous(emulator: SplunkEmulator, splunk_logger: logging.Logger) -> None:
    splunk_logger.info("hello %s", "world")
    splunk_logger.warning("second")
    events = emulator.events("web")
    assert [event["event"] for event in events] == ["hello world", "second"]
    assert {(event["host"], event["sourcetype"], event["source"]) for event in events} == {
        ("notebook-1", "app-log", __file__)
    }
    assert [entry["status"] for entry in emulator.requests_log("hec")] == [200, 200]


@pytest.mark.parametrize("splunk_logger", [0.05], indirect=True)
def test_splunk_handler_batches(emulator: SplunkEmulator, splunk_logger: logging.Logger) -> None:
    for number in range(20):
        splunk_logger.info("record %d", number)
    splunk_handler.force_flush()
    assert [event["event"] for event in emulator.events("web")] == [f"record {n}" for n in range(20)]
    assert len(emulator.requests_log("hec")) < 20


def test_tls_verification_with_the_ca_bundle(emulator: SplunkEmulator) -> None:
    assert emulator.ca_bundle is not None
    assert emulator.ca_bundle.read_text().startswith("-----BEGIN CERTIFICATE-----")
    for base in (emulator.hec_url, emulator.hec_url.replace("127.0.0.1", "localhost")):
        assert requests.get(base + HEALTH, verify=str(emulator.ca_bundle), timeout=5).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emulator.hec_url + HEALTH, timeout=5)


def test_generated_files_are_removed_on_stop(tmp_path: Path) -> None:
    with SplunkEmulator() as splunk:
        generated = splunk.ca_bundle
        assert generated is not None
        assert generated.exists()
    assert not generated.exists()
    with SplunkEmulator(cert_dir=tmp_path) as splunk:
        assert splunk.ca_bundle == tmp_path / "ca.pem"
    assert (tmp_path / "ca.pem").exists()


def test_plain_http() -> None:
    with SplunkEmulator(tls=False) as splunk:
        splunk.add_hec_token(TOKEN)
        assert splunk.hec_url.startswith("http://")
        assert splunk.ca_bundle is None
        reply = requests.post(
            splunk.hec_url + "/services/collector/event",
            data='{"event":"plain"}',
            headers={"Authorization": f"Splunk {TOKEN}"},
            timeout=5,
        )
        assert reply.json() == {"text": "Success", "code": 0}


def oneshot(splunk: EmulatorProcess, query: str) -> requests.Response:
    """A oneshot search as admin, JSON output, verified against the emulator's CA."""
    return requests.post(
        splunk.rest_url + "/services/search/jobs",
        data={"search": query, "exec_mode": "oneshot", "output_mode": "json"},
        auth=("admin", "pw"),
        verify=str(splunk.ca_bundle),
        timeout=5,
    )


def test_subprocess_mode(tmp_path: Path) -> None:
    rows = tmp_path / "web.csv"
    rows.write_text("_time,status\n2024-01-01T00:00:00Z,500\n2024-01-01T00:01:00Z,200\n")
    with start_subprocess("--dataset", "web", str(rows), "--user", "admin:pw", tokens=[TOKEN]) as splunk:
        assert splunk.ca_bundle is not None
        reply = requests.post(
            splunk.hec_url + "/services/collector/event",
            data='{"event":"from parent"}',
            headers={"Authorization": f"Splunk {TOKEN}"},
            verify=str(splunk.ca_bundle),
            timeout=5,
        )
        assert reply.ok
        assert [event["event"] for event in splunk.control.events()] == ["from parent"]
        splunk.control.inject_fault(listener="hec", code=9)
        busy = requests.get(
            splunk.hec_url + "/services/collector/health", verify=str(splunk.ca_bundle), timeout=5
        )
        assert busy.status_code == 503
        search = oneshot(splunk, "search index=web status=500")
        assert [row["_time"] for row in search.json()["results"]] == ["2024-01-01T00:00:00.000+00:00"]
        splunk.control.fail_search("search index=web | head 1", "boom")
        failed = oneshot(splunk, "search index=web | head 1")
        assert failed.json() == {"messages": [{"type": "FATAL", "text": "boom"}]}
        splunk.control.add_hec_token("second", indexes=["web"], use_ack=False)
        assert "second" in [token["token"] for token in splunk.control.config(reveal=True)["hec_tokens"]]
        splunk.control.reset()
        assert splunk.control.info()["events"] == 0
    assert splunk.process.returncode == 0


def test_golden_emulator_command_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["emulator", "--help"])
    assert "--hec-port" in capsys.readouterr().out
