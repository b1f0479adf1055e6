"""SIGTERM (``podman stop``, a Kubernetes rollout) lets the request in flight finish, flushes the
telemetry it produced, and exits within the grace period: the model API as a process, over loopback."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests
from golden_testing import child_environ, contract_module, hec_environment, serve

from dsdl_golden import telemetry_helper
from dsdl_golden._cli.dev import runtime_command
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.runtime import create_app
from dsdl_golden.workspace import lay_out

TOKEN = "api-9e4d2c71-stop-token"
#: ``fit`` sleeps 2 s: the request in flight when SIGTERM arrives.
SLOW_MODULE = contract_module(fit="time.sleep(2); return {}", imports="import time")


def test_sigterm_lets_the_request_in_flight_finish_and_flushes_its_telemetry(
    tmp_path: Path, fresh_emulator: SplunkEmulator
) -> None:
    srv = tmp_path / "srv"
    lay_out(srv)
    (srv / "app" / "model" / "slow_model.py").write_text(SLOW_MODULE)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fresh_emulator.add_index("golden_metrics", metrics=True)
    fresh_emulator.add_hec_token("hec-stop-token", name="stop", indexes=["main", "golden_metrics"])
    hec = hec_environment(fresh_emulator, tmp_path / "spool", "hec-stop-token")
    environment = child_environ(api_token=TOKEN, GOLDEN_SRV_DIR=str(srv), **hec)
    process = subprocess.Popen(
        runtime_command(port), env=environment, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    answers: list[Any] = []
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, "the API exited"
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.1)
        body = {
            "data": "x\n1\n2\n",
            "meta": {"options": {"params": {"algo": "slow_model"}, "model_name": "m"}},
        }
        call = threading.Thread(
            target=lambda: answers.append(
                requests.post(f"{url}/fit", json=body, headers={"Authorization": TOKEN}, timeout=30)
            )
        )
        call.start()
        time.sleep(1)  # the fit sleeps 2 s: SIGTERM arrives while it runs
        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        call.join(30)
        # uvicorn shuts down gracefully, then re-raises the signal: the exit status says SIGTERM
        assert process.wait(timeout=10) == -signal.SIGTERM
        assert time.monotonic() - stopped < 10  # within podman's and Kubernetes' default grace period
    finally:
        if process.poll() is None:
            process.kill()
        output = process.communicate()[0].decode(errors="replace")
    (answer,) = answers
    assert answer.status_code == 200, output[-2000:]
    assert answer.json()["status"] == "success", answer.json()
    requests_seen = [
        record["event"]
        for record in fresh_emulator.events(index="main")
        if record["event"].get("type") == "request"
    ]
    assert [(event["path"], event["status"]) for event in requests_seen] == [("/fit", "success")], output[
        -2000:
    ]


def test_events_an_earlier_process_left_in_the_spool_go_out_when_the_api_starts(
    srv: Path, telemetry_to_emulator: SplunkEmulator
) -> None:
    splunk = telemetry_to_emulator
    splunk.inject_fault(listener="hec", path="/services/collector/event", status=503, times=None)
    telemetry_helper.log_event({"type": "left_behind"})
    assert not telemetry_helper.get_telemetry().close(timeout=1)  # as at a stop: the event stays spooled
    splunk.clear_faults()
    telemetry_helper._telemetry = None  # the API's process: it has not sent anything yet
    environment = {"api_token": TOKEN, "GOLDEN_SRV_DIR": str(srv)}
    with serve(create_app(load_settings(environment), environment)):
        deadline = time.monotonic() + 30
        while not [event for event in splunk.events(index="main") if event["event"]["type"] == "left_behind"]:
            assert time.monotonic() < deadline, "the spooled event was not sent at start"
            time.sleep(0.1)
