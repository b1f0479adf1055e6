"""``golden dev``: the workspace, the emulator, the model API and JupyterLab, started and stopped."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_testing import CHURN_CSV, ROOT, TEMPLATE_NOTEBOOK, good_module, module_notebook
from golden_testing import child_environ, stopped_at_exit

from dsdl_golden import cli
from dsdl_golden._cli import dev
from dsdl_golden.emulator import ControlClient

Capture = pytest.CaptureFixture[str]
READY = "golden dev: ready; Ctrl-C stops everything"


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# How long to wait for what takes seconds on an idle machine: generous, because CI machines may be
# busy (the bound is a guard against a hang, not a speed requirement; each wait ends when its
# condition holds).
PATIENCE = 300.0


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class DevProcess:
    """``python -m dsdl_golden dev`` in a subprocess with a clean environment; its printed summary."""

    def __init__(self, tmp_path: Path, *arguments: str) -> None:
        self.workspace = tmp_path / "ws"
        home = tmp_path / "dev-home"
        home.mkdir(exist_ok=True)
        environment = child_environ(HOME=str(home), PYTHONPATH=str(ROOT / "helpers"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dsdl_golden", "dev", "--workspace", str(self.workspace), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=tmp_path,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self.readers:
            reader.start()
        self.pids: dict[str, int] = {}

    def _read(self, stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            if lines is self.out:
                self.lines.put(line.rstrip("\n"))

    def wait_ready(self, timeout: float = 90) -> dict[str, str]:
        """The summary's values once the ready line is printed. If golden dev exits first, or is not
        ready within ``timeout`` (under the tests' 120 s limit), its output is the failure's message."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is None and time.monotonic() < deadline:
                    continue
                for reader in self.readers:
                    reader.join(5)
                raise AssertionError(
                    f"golden dev not ready (exit status {self.process.returncode}): {self.out} {self.err}"
                ) from None
            if line == READY:
                break
        text = "\n".join(self.out)
        found = {
            "api": re.search(r"^  API +(http://127\.0\.0\.1:\d+) +pid (\d+)", text, re.M),
            "hec": re.search(r"^  HEC +(https://127\.0\.0\.1:\d+) +Splunk emulator pid (\d+)", text, re.M),
            "jupyter": re.search(
                r"^  Jupyter +(http://127\.0\.0\.1:\d+)/lab\?token=(\w+) +pid (\d+)", text, re.M
            ),
        }
        values = {name: match.group(1) for name, match in found.items() if match}
        self.pids = {name: int(match.groups()[-1]) for name, match in found.items() if match}
        if found["jupyter"]:
            values["jupyter_token"] = found["jupyter"].group(2)
        values["rest"] = re.search(r"^  REST +(\S+)", text, re.M).group(1)  # type: ignore[union-attr]
        values["ca"] = re.search(r"^  CA +(\S+)", text, re.M).group(1)  # type: ignore[union-attr]
        control = re.search(r"^  control +\S+ +token (\S+)", text, re.M)
        values["control_token"] = control.group(1)  # type: ignore[union-attr]
        values["token"] = re.search(r"^  api token +(\S+)", text, re.M).group(1)  # type: ignore[union-attr]
        values.update(re.findall(r"^export (\w+)=(\S+)$", text, re.M))
        return values

    def stop(self) -> None:
        """SIGINT if still running; if golden dev had to be killed, kill the children it left. Then its
        pipes are closed, once read to their end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                for pid in self.pids.values():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        for reader in self.readers:
            reader.join(60)
        if not any(reader.is_alive() for reader in self.readers):  # else a close would wait for the read
            assert self.process.stdout is not None
            assert self.process.stderr is not None
            self.process.stdout.close()
            self.process.stderr.close()


@pytest.fixture
def start_dev(tmp_path: Path) -> Iterator[Callable[..., DevProcess]]:
    started: list[DevProcess] = []

    def start(*arguments: str) -> DevProcess:
        started.append(DevProcess(tmp_path, *arguments))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def request_events(control: ControlClient) -> list[dict[str, Any]]:
    return [
        record["event"]
        for record in control.events(index="main")
        if isinstance(record.get("event"), dict) and record["event"].get("type") == "request"
    ]


def jupyter_call(base: str, token: str, method: str, path: str, body: object = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        return json.load(response)


@pytest.mark.slow
@pytest.mark.integration
def test_dev_runs_everything_and_stops_on_ctrl_c(
    start_dev: Callable[..., DevProcess], capsys: Capture
) -> None:
    started = time.monotonic()
    golden_dev = start_dev("--api-port", "0", "--jupyter-port", "0")
    values = golden_dev.wait_ready()
    ready_after = time.monotonic() - started
    workspace = golden_dev.workspace
    assert set(golden_dev.pids) == {"api", "hec", "jupyter"}
    assert (workspace / "app" / "main.py").is_file()
    assert (workspace / "notebooks" / "template_empresa_base.ipynb").is_file()
    assert (workspace / "notebooks" / "data" / "churn_sample.csv").is_file()
    assert (workspace / "app" / "model" / "template_empresa_base.py").is_file()
    assert values["GOLDEN_SRV_DIR"] == str(workspace)
    assert values["GOLDEN_TLS_VERIFY"] == values["ca"]
    assert values["splunk_hec_url"] == values["hec"]
    assert values["api_token"] == values["token"]
    example = next(line.strip() for line in golden_dev.out if line.strip().startswith("golden call fit "))
    assert f"--url {values['api']} --token={values['token']}" in example

    # The printed golden call works (the template, fewer trees to be quick).
    argv = [*shlex.split(example)[1:], "--param", "n_estimators=10"]
    assert argv[2] == str(workspace / "notebooks" / "data" / "churn_sample.csv")
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.startswith("status: success\nmessage: /fit done successfully\n")

    # The runtime's telemetry reached the emulator: the request event and the fit's metrics.
    control = ControlClient(values["rest"], values["ca"], token=values["control_token"])
    events = wait_for(lambda: request_events(control), PATIENCE, "the /fit request event")
    assert {"path": "/fit", "status": "success", "model_name": "churn"}.items() <= events[0].items()
    metrics = wait_for(lambda: control.events(index="golden_metrics"), PATIENCE, "metrics in golden_metrics")
    assert any(record["fields"].get("model") == "template_empresa_base_churn" for record in metrics)

    # Saving a notebook in Jupyter exports it to <workspace>/app/model.
    jupyter, token = values["jupyter"], values["jupyter_token"]
    notebook = json.loads(TEMPLATE_NOTEBOOK.read_text())
    saved = jupyter_call(
        jupyter, token, "PUT", "/api/contents/mi_modelo.ipynb", {"type": "notebook", "content": notebook}
    )
    assert saved["path"] == "mi_modelo.ipynb"
    assert (workspace / "notebooks" / "mi_modelo.ipynb").is_file()
    module = workspace / "app" / "model" / "mi_modelo.py"
    wait_for(module.is_file, PATIENCE, "the post-save export")
    assert "def fit(model, df, param):" in module.read_text()

    golden_dev.process.send_signal(signal.SIGINT)
    assert golden_dev.process.wait(60) == 0
    assert "golden dev: stopped" in golden_dev.err
    for name, pid in golden_dev.pids.items():
        assert wait_for(lambda pid=pid: pid_gone(pid), PATIENCE, f"{name} to end"), name
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", int(values["api"].rsplit(":", 1)[1])), 2),
    ):
        pass
    print(f"golden dev with Jupyter ready after {ready_after:.1f} s")


@pytest.mark.slow
@pytest.mark.integration
def test_dev_reports_a_child_that_dies_and_stops_the_others(start_dev: Callable[..., DevProcess]) -> None:
    golden_dev = start_dev("--no-jupyter", "--api-port", "0")
    values = golden_dev.wait_ready()
    assert set(golden_dev.pids) == {"api", "hec"}
    assert "Jupyter" not in "\n".join(golden_dev.out)
    assert values["MODE_DEV_PROD"] == "DEV"
    os.kill(golden_dev.pids["api"], signal.SIGKILL)
    assert golden_dev.process.wait(30) == 1
    pid = golden_dev.pids["api"]
    assert (
        f"golden dev: the model API (pid {pid}) exited with status -9; stopping the others" in golden_dev.err
    )
    assert any(line.startswith("last lines of ") and "runtime.log" in line for line in golden_dev.err)
    assert wait_for(lambda: pid_gone(golden_dev.pids["hec"]), PATIENCE, "the emulator to end")


@pytest.mark.slow
@pytest.mark.integration
def test_dev_stops_on_sigterm_while_the_api_starts(start_dev: Callable[..., DevProcess]) -> None:
    golden_dev = start_dev("--no-jupyter", "--api-port", "0")
    runtime_log = golden_dev.workspace / ".golden" / "logs" / "runtime.log"
    wait_for(runtime_log.exists, PATIENCE, "the API to be started")
    golden_dev.process.terminate()
    assert golden_dev.process.wait(60) == 0
    assert READY not in golden_dev.out
    assert "golden dev: stopped" in golden_dev.err


def test_dev_refuses_a_port_in_use(tmp_path: Path, capsys: Capture) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        status = cli.main(
            ["dev", "--workspace", str(tmp_path / "ws"), "--no-jupyter", "--api-port", str(port)]
        )
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert (
        err == f"golden dev: port {port} is in use: stop what uses it, or pass --api-port 0 for a free port\n"
    )


def test_prepare_workspace_keeps_existing_files_and_exports_stale_notebooks(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    own = module_notebook(good_module(), root / "notebooks" / "template_empresa_base.ipynb")
    (root / "app").mkdir()
    (root / "app" / "main.py").write_text("# mine\n")
    module_notebook(good_module(), root / "notebooks" / "bad name.ipynb")
    own_text = own.read_text()
    first = dev.prepare_workspace(root)
    assert own.read_text() == own_text
    assert (root / "app" / "main.py").read_text() == "# mine\n"
    assert root / "notebooks" / "template_empresa_base.ipynb" not in first.copied
    assert root / "notebooks" / "data" / "churn_sample.csv" in first.copied
    assert (root / "notebooks" / "data" / "churn_sample.csv").read_text() == CHURN_CSV.read_text()
    template_module = root / "app" / "model" / "template_empresa_base.py"
    assert template_module in first.exported
    assert 'def init(df, param):\n    return {"rows": len(df)}' in template_module.read_text()
    assert first.problems == [
        "bad name.ipynb: notebook name 'bad name' is not allowed: use 1 to 128 letters, digits, '_' or '-' "
        "(no dots, slashes or spaces), starting with a letter, digit or '_'; rename the notebook "
        "(e.g. SuNombre_Modelo_CasoUso_v1.ipynb)"
    ]

    second = dev.prepare_workspace(root)
    assert (second.copied, second.exported) == ([], [])
    later = template_module.stat().st_mtime + 10
    os.utime(own, (later, later))
    assert dev.prepare_workspace(root).exported == [template_module]


def test_resolve_port() -> None:
    assert dev.resolve_port(0, "--api-port") > 0
    with pytest.raises(dev.DevError, match=r"--api-port 70000: expected a port from 1 to 65535"):
        dev.resolve_port(70000, "--api-port")


def test_service_environment_is_validated(tmp_path: Path) -> None:
    environment = dev.service_environment(
        {"PATH": "/bin"}, {"GOLDEN_SRV_DIR": str(tmp_path), "api_token": "t"}
    )
    assert environment["GOLDEN_SRV_DIR"] == str(tmp_path)
    assert environment["PYTHONPATH"] == str(ROOT / "helpers")
    with pytest.raises(dev.DevError, match="splunk_hec_url is not set"):
        dev.service_environment({}, {"splunk_hec_enabled": "true", "splunk_hec_token": "t"})


def test_child_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ok', flush=True); time.sleep(60)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=child_environ(),
    )
    with stopped_at_exit(process):
        assert process.stdout is not None
        assert process.stdout.readline() == "ok\n"
        child = dev.Child("stubborn", process)
        started = time.monotonic()
        child.stop(timeout=0.5)
        assert process.returncode == -signal.SIGKILL
        assert time.monotonic() - started < 10


def test_stop_flag() -> None:
    flag = dev.StopFlag()
    assert not flag.wait(0.05)
    flag.set()
    assert flag.is_set()
    assert flag.wait(5)


def test_generated_tokens_that_start_with_a_dash_start_the_emulator_and_the_printed_call(
    tmp_path: Path,
) -> None:
    # secrets.token_urlsafe starts with "-" one time in 64: argparse would read such a value as an option
    tokens = dev.Secrets(api_token="-api-token", search_token="-search-token", search_password="-password")
    with dev.start_emulator(tmp_path, tokens, 0, 0) as splunk:
        assert splunk.settings["splunk_access_token"] == "-search-token"
    workspace = dev.Workspace(tmp_path, copied=[], exported=[], problems=[])
    example = shlex.split(dev._example(workspace, "https://127.0.0.1:5000", tokens.api_token))
    assert cli.build_parser().parse_args(example[1:]).token == "-api-token"
