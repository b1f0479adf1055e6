"""``GET /readyz``: what a load balancer or Kubernetes probe needs, without a token and without secrets."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from golden_testing import serve

from dsdl_golden import telemetry_helper
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.runtime import create_app

TOKEN = "api-5c0f8e1a-readyz-token"
EVENT_PATH = "/services/collector/event"


@pytest.fixture
def api(srv: Path) -> Iterator[str]:
    environment = {"api_token": TOKEN, "GOLDEN_SRV_DIR": str(srv)}
    with serve(create_app(load_settings(environment), environment)) as url:
        yield url


def readiness(api: str) -> tuple[int, dict[str, object]]:
    response = requests.get(api + "/readyz", timeout=10)
    return response.status_code, response.json()


def test_a_fresh_volume_is_ready_and_the_answer_holds_no_path_or_version(api: str, srv: Path) -> None:
    status, answer = readiness(api)
    assert (status, answer) == (
        200,
        {"status": "ready", "checks": {"model_directory": "ok", "model_package": "ok", "telemetry": "off"}},
    )
    assert str(srv) not in str(answer)


def test_a_model_directory_that_refuses_files_makes_the_api_unready(api: str, srv: Path) -> None:
    data = srv / "app" / "model" / "data"
    shutil.rmtree(data)
    data.symlink_to("/proc")  # a directory in which nobody, root included, can create a file
    status, answer = readiness(api)
    assert status == 503
    assert answer == {
        "status": "unready",
        "checks": {"model_directory": "not writable", "model_package": "ok", "telemetry": "off"},
    }


def test_a_volume_without_the_model_package_is_unready(api: str, srv: Path) -> None:
    shutil.rmtree(srv / "app")
    status, answer = readiness(api)
    assert status == 503
    assert answer["checks"] == {"model_directory": "missing", "model_package": "missing", "telemetry": "off"}


def wait_for_state(api: str, state: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while True:
        status, answer = readiness(api)
        checks = answer["checks"]
        assert isinstance(checks, dict)
        if checks["telemetry"] == state or time.monotonic() > deadline:
            assert status == 200  # telemetry never makes the API unready: nothing is lost while it spools
            return checks
        time.sleep(0.05)


def test_telemetry_says_spooling_while_hec_fails_and_delivering_again_after(
    api: str, telemetry_to_emulator: SplunkEmulator
) -> None:
    splunk = telemetry_to_emulator
    splunk.inject_fault(listener="hec", path=EVENT_PATH, status=503, times=None)
    telemetry_helper.log_event({"type": "probe"})
    assert wait_for_state(api, "spooling")["telemetry"] == "spooling"
    splunk.clear_faults()
    assert wait_for_state(api, "delivering")["telemetry"] == "delivering"
    assert telemetry_helper.flush(30)
    assert [event["event"]["type"] for event in splunk.events(index="main")] == ["probe"]
