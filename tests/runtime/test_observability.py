"""OpenTelemetry tracing of the model API when DSDL sets ``olly_enabled`` (splunk-opentelemetry 2)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from dsdl_golden._cli.dev import runtime_command
from dsdl_golden._runtime.observability import tracing_wanted
from dsdl_golden.workspace import lay_out

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.parametrize(
    ("value", "wanted"),
    [("1", True), ("true", True), ("True", True), ("yes", True), ("0", False), ("false", False), ("", False)],
)
def test_olly_enabled_is_read_as_dsdl_sends_it(value: str, wanted: bool) -> None:
    assert tracing_wanted({"olly_enabled": value}) is wanted
    assert tracing_wanted({}) is False


def serve_and_stop(tmp_path: Path, **environment: str) -> str:
    """Start the runtime with ``environment``, call it, stop it; returns everything it printed."""
    lay_out(tmp_path / "srv")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        runtime_command(port),
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "GOLDEN_SRV_DIR": str(tmp_path / "srv"),
            "api_token": "t",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
            **environment,
        },
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
                break
            except requests.ConnectionError:
                assert process.poll() is None, "the runtime exited"
                assert time.monotonic() < deadline, "the runtime did not start"
                time.sleep(0.2)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    return output


def test_requests_are_traced_when_olly_is_enabled(tmp_path: Path) -> None:
    output = serve_and_stop(
        tmp_path, olly_enabled="true", OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="golden"
    )
    assert '"name": "GET /healthz"' in output
    assert "OpenTelemetry tracing is on" in output


def test_no_tracing_without_olly(tmp_path: Path) -> None:
    output = serve_and_stop(tmp_path, OTEL_TRACES_EXPORTER="console")
    assert '"name": "GET /healthz"' not in output


def test_dsdls_jaeger_exporter_setting_is_replaced_with_a_warning(tmp_path: Path) -> None:
    output = serve_and_stop(
        tmp_path,
        olly_enabled="1",
        OTEL_TRACES_EXPORTER="jaeger-thrift-splunk",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        OTEL_BSP_EXPORT_TIMEOUT="500",
    )
    assert (
        "OTEL_TRACES_EXPORTER=jaeger-thrift-splunk (DSDL's default) is gone from splunk-opentelemetry 2"
        in output
    )
