"""The model registry against an MLflow tracking server on loopback, and against one that does not answer."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from golden_testing import child_environ
from sklearn.linear_model import LinearRegression, Ridge

from dsdl_golden import model_registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]

X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
Y = np.array([1.0, 2.1, 5.2, 7.1])
SECRET = "s3cret-registry-pw"
STARTUP_S = 180.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    pytest.fail(f"mlflow server did not answer /health in {STARTUP_S:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def stopped_group(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """``process`` (leader of its own session: mlflow server starts uvicorn as a child) for the block,
    then its process group terminated (killed if it lingers) and waited for."""
    with process:
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def server_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlflow-server")


@pytest.fixture(scope="module")
def mlflow_server(server_root: Path) -> Iterator[str]:
    """``mlflow server`` on a free loopback port with a SQLite store; its artifacts are served over HTTP."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{server_root / 'server.db'}",
        "--artifacts-destination",
        str(server_root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = server_root / "server.log"
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=server_root,
            env=child_environ(MLFLOW_DISABLE_TELEMETRY="true"),
            start_new_session=True,
        )
        with stopped_group(process):
            wait_for_health(url, process, log)
            yield url


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GOLDEN_SRV_DIR", str(tmp_path / "srv"))
    return tmp_path / "srv"


def test_versions_are_logged_compared_promoted_and_loaded_over_http(
    mlflow_server: str, server_root: Path, srv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    good, poor = LinearRegression().fit(X, Y), Ridge(alpha=100.0).fit(X, Y)
    for model in (poor, good):
        mae = float(np.mean(np.abs(model.predict(X) - Y)))
        model_registry.log_model(model, "remote_reg", metrics={"mae": mae}, input_example=X[:2])

    table = model_registry.compare_models("remote_reg", metric="mae")
    assert list(table["version"]) == [2, 1]
    model_registry.promote("remote_reg", int(table["version"].iloc[0]))
    champion = model_registry.load_model_version("remote_reg", "@champion")

    np.testing.assert_array_equal(champion.predict(X), good.predict(X))
    assert any(path.name == "MLmodel" for path in (server_root / "artifacts").rglob("*"))
    assert not (srv / "app" / "model" / "registry").exists()


def test_credentials_in_the_tracking_uri_never_show(
    mlflow_server: str, srv: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with_credentials = mlflow_server.replace("http://", f"http://golden:{SECRET}@")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", with_credentials)
    with pytest.raises(model_registry.ModelNotRegisteredError) as raised:
        model_registry.load_model_version("never_logged")

    shown = "".join(traceback.format_exception(raised.value))
    assert mlflow_server.replace("http://", "http://***@") in str(raised.value)
    assert SECRET not in shown
    assert SECRET not in caplog.text


def test_a_server_that_does_not_answer_fails_at_once_without_credentials(
    srv: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    closed = free_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"https://golden:{SECRET}@127.0.0.1:{closed}")
    for call in (
        lambda: model_registry.log_model(LinearRegression().fit(X, Y), "unreachable"),
        lambda: model_registry.load_model_version("unreachable", "@champion"),
    ):
        started = time.monotonic()
        with pytest.raises(model_registry.RegistryUnavailableError) as raised:
            call()
        assert time.monotonic() - started < 15
        message = str(raised.value)
        assert f"https://***@127.0.0.1:{closed} does not answer: check MLFLOW_TRACKING_URI" in message
        assert raised.value.__cause__ is None
        assert raised.value.__suppress_context__
        assert SECRET not in "".join(traceback.format_exception(raised.value))
    assert SECRET not in caplog.text
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
