"""Helpers shared by the tests of the lifecycle, the runtime and the template."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
import uvicorn
from hypothesis import settings

from dsdl_golden._csv_codec import read_csv
from dsdl_golden.config import Settings, load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.emulator.tls import server_context, write_tls_files

#: Variables of DSDL, dsdl-golden and Jupyter that a test must never inherit from the caller's shell:
#: dsdl_golden.config's, those DSDL sets or its image reads (/work/shared/specs/dsdl-contract.md 1.5, 1.6),
#: Jupyter's and IPython's (a shell inside JupyterLab has JPY_* and JUPYTER_*).
SETTING_PREFIXES = ("GOLDEN_", "splunk_", "SPLUNK_", "OTEL_", "JUPYTER_", "JPY_")
SETTING_NAMES = frozenset(
    {
        "api_token",
        "MODE_DEV_PROD",
        "ENABLE_HTTPS",
        "api_workers",
        "olly_enabled",
        "API_SSL_CERT",
        "API_SSL_KEY",
        "llm_config",
        "IPYTHONDIR",
    }
)
#: Variables of other tools that change what a test does or where it writes: the caller's proxy (a
#: request to loopback would go through it), CA bundles that replace a test's own (requests, OpenSSL), package
#: managers' settings (the tests run Poetry in-process), Python's start-up settings (a child with the
#: caller's PYTHONPATH or PYTHONWARNINGS), matplotlib's backend and the XDG directories (they would
#: bypass each test's own HOME).
FOREIGN_PREFIXES = ("PIP_", "POETRY_", "PYTHON", "XDG_")
FOREIGN_NAMES = frozenset(
    {
        *(f"{proxy}_proxy" for proxy in ("http", "https", "ftp", "all", "no")),
        *(f"{proxy}_PROXY" for proxy in ("HTTP", "HTTPS", "FTP", "ALL", "NO")),
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "MPLBACKEND",
        "MPLCONFIGDIR",
        "HYPOTHESIS_STORAGE_DIRECTORY",
    }
)
#: Variables a test's child process gets from the test's environment when started with :func:`child_environ`
#: (``MUTANT_UNDER_TEST``: under ``./dev mutate``, the child runs the mutant its parent test judges).
INHERITED = ("PATH", "HOME", "TMPDIR", "MUTANT_UNDER_TEST")


def examples(count: int) -> int:
    """A property test's number of examples: ``count``, or a tenth of it under ``./dev mutate``'s
    hypothesis profile (the loaded profile's ``max_examples`` over hypothesis' default of 100)."""
    return max(1, count * settings.default.max_examples // 100)


def is_setting(name: str) -> bool:
    """Whether ``name`` is a DSDL, dsdl-golden or Jupyter setting (:data:`SETTING_NAMES`, prefixes)."""
    return name in SETTING_NAMES or name.startswith(SETTING_PREFIXES)


def is_foreign(name: str) -> bool:
    """Whether ``name`` is another tool's variable the tests must not inherit (:data:`FOREIGN_NAMES`)."""
    return name in FOREIGN_NAMES or name.upper().startswith(FOREIGN_PREFIXES)


def clear_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every DSDL, dsdl-golden and Jupyter setting from the environment for one test (the
    session starts without them, tests/conftest.py; this removes what an earlier test left)."""
    for name in list(os.environ):
        if is_setting(name):
            monkeypatch.delenv(name)


def child_environ(**variables: str) -> dict[str, str]:
    """The whole environment of a test's child process: :data:`INHERITED` from the test's own (its
    HOME and TMPDIR, tests/conftest.py), a UTF-8 locale, and ``variables``; nothing else of the caller's."""
    inherited = {name: os.environ[name] for name in INHERITED if name in os.environ}
    return {**inherited, "LANG": "C.UTF-8", **variables}


@contextlib.contextmanager
def stopped_at_exit(process: subprocess.Popen[Any]) -> Iterator[subprocess.Popen[Any]]:
    """``process`` for the block; when it ends, also by an exception, the process is killed if it still
    runs, waited for, and its pipes are closed (nothing left for a ResourceWarning in a later test)."""
    with process:  # Popen.__exit__ closes the pipes and waits
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


READY = "golden emulator: ready"


@dataclass(frozen=True)
class Printed:
    """What ``golden emulator`` printed up to its ready line."""

    text: str

    def field(self, label: str) -> str:
        """The first word after ``label`` on its summary line (e.g. ``control`` -> its URL)."""
        found = re.search(rf"^  {label} +(\S+)", self.text, re.MULTILINE)
        assert found, f"no {label} line in:\n{self.text}"
        return found.group(1)

    @property
    def control_token(self) -> str:
        found = re.search(r"^  control .* token (\S+)$", self.text, re.MULTILINE)
        assert found, self.text
        return found.group(1)


@contextlib.contextmanager
def running_emulator_command(cwd: Path, command: list[str]) -> Iterator[Printed]:
    """``command`` (a ``golden emulator`` command line) on free ports in ``cwd``, until it prints that it
    is ready; stopped by closing its stdin, which must end it with status 0."""
    process = subprocess.Popen(
        [*command, "--hec-port", "0", "--rest-port", "0", "--stop-on-stdin-eof"],
        cwd=cwd,
        env=child_environ(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    with stopped_at_exit(process):
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith(READY):
                break
        text = "".join(lines)
        assert READY in text, f"golden emulator ended before it was ready:\n{text}"
        yield Printed(text)
        process.stdin.close()
        process.stdout.read()
        assert process.wait(30) == 0


def connector_settings(
    server: SplunkEmulator, spool: Path, *, search_token: str, hec_token: str
) -> Callable[..., Settings]:
    """A maker of settings searching ``server`` with ``search_token`` and sending to its HEC with
    ``hec_token`` (TLS verified against its CA, the spool in ``spool``); keyword arguments override
    variables (``make(splunk_hec_token=...)``)."""

    def make(**overrides: str) -> Settings:
        environ = {
            "splunk_access_enabled": "1",
            "splunk_access_host": "127.0.0.1",
            "splunk_access_port": str(server.rest_port),
            "splunk_access_token": search_token,
            "splunk_hec_enabled": "true",
            "splunk_hec_url": server.hec_url,
            "splunk_hec_token": hec_token,
            "GOLDEN_TLS_VERIFY": str(server.ca_bundle),
            "GOLDEN_SPOOL_DIR": str(spool),
        }
        return load_settings({**environ, **overrides})

    return make


def hec_environment(emulator: SplunkEmulator, spool: Path, token: str) -> dict[str, str]:
    """Settings that send telemetry to ``emulator`` with HEC ``token``, over TLS verified against its CA."""
    return {
        "splunk_hec_enabled": "true",
        "splunk_hec_url": emulator.hec_url,
        "splunk_hec_token": token,
        "GOLDEN_TLS_VERIFY": str(emulator.ca_bundle),
        "GOLDEN_SPOOL_DIR": str(spool),
    }


def events_of_type(emulator: SplunkEmulator, kind: str) -> list[dict[str, Any]]:
    """The lifecycle's and runtime's events of ``type`` ``kind`` in the events index."""
    return [
        record
        for record in emulator.events(index="main")
        if isinstance(record.get("event"), dict) and record["event"].get("type") == kind
    ]


@contextlib.contextmanager
def serve(app: Any, **options: Any) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn (``options``: more of its settings, e.g. TLS) on a free loopback
    port in a thread; yields its base URL, ``http://127.0.0.1:<port>``."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def dsdl_module(model_directory: Path, *, apply_value: str = "df.index") -> str:
    """A module written for DSDL's stock runtime, like its barebone template: JSON model files."""
    return f'''
import json
import numpy as np
import pandas as pd

MODEL_DIRECTORY = "{model_directory}/"
LOADS = []


def init(df, param):
    return {{"hyperparameter": 42.0, "rows": len(df)}}


def fit(model, df, param):
    return {{"message": "model trained"}}


def apply(model, df, param):
    return pd.DataFrame({{"index": {apply_value}, "loads": len(LOADS)}})


def save(model, name):
    with open(MODEL_DIRECTORY + name + ".json", "w") as file:
        json.dump(model, file)
    return model


def load(name):
    LOADS.append(name)
    with open(MODEL_DIRECTORY + name + ".json") as file:
        return json.load(file)


def summary(model=None):
    return {{"version": {{"numpy": np.__version__, "pandas": pd.__version__}}, "model": model}}
'''


TEMPLATE = Path(__file__).resolve().parents[2] / "template"


def save_template_as(directory: Path, name: str, model_cell: str) -> Path:
    """The template saved as ``directory/<name>.ipynb`` with only the model cell's source replaced."""
    copy = directory / f"{name}.ipynb"
    shutil.copy(TEMPLATE / "template_empresa_base.ipynb", copy)
    notebook = nbformat.read(copy, as_version=4)
    (model,) = [cell for cell in notebook.cells if cell.metadata.get("name") == "mltkc_model"]
    model.source = model_cell
    nbformat.write(notebook, copy)
    return copy


def churn_request(frame: pd.DataFrame, algo: str, model_name: str, **params: str) -> dict[str, Any]:
    """The body of ``| fit MLTKContainer algo=<algo> ... into app:<model_name>`` (or ``| apply``) on
    the template's churn sample, with ``frame`` as the data and ``params`` as the SPL's ``key=value``."""
    meta = json.loads((TEMPLATE / "data" / "churn_sample.json").read_text())
    meta["options"]["params"] = {"algo": algo, **params}
    meta["options"]["model_name"] = model_name
    return {"data": frame.to_csv(index=False), "meta": meta}


class ConnectProxy:
    """An HTTP proxy on loopback that tunnels ``CONNECT`` requests, as corporate proxies do, and
    records them; with ``credentials`` it answers 407 unless the request carries them; with ``stall``
    it answers ``200 Connection established`` and then neither forwards nor answers anything until the
    client or the proxy closes (``stalled``: how many such tunnels are open)."""

    def __init__(self, credentials: str | None = None, *, stall: bool = False) -> None:
        self.stall = stall
        self.stalled = 0
        self.expected = (
            None if credentials is None else "Basic " + base64.b64encode(credentials.encode()).decode()
        )
        self.tunnels: list[str] = []
        self.authorizations: list[str | None] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="connect-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._sockets.append(client)
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        self.authorizations.append(headers.get("Proxy-Authorization"))
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        if self.expected is not None and headers.get("Proxy-Authorization") != self.expected:
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            return
        self.tunnels.append(target)
        if self.stall:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.stalled += 1
            with contextlib.suppress(OSError):
                while client.recv(65536):  # the client's TLS hello, never answered
                    pass
            self.stalled -= 1
            return
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        self._sockets.append(upstream)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)

    def close(self) -> None:
        self._server.close()
        for open_socket in self._sockets:
            open_socket.close()

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pump(source: socket.socket, destination: socket.socket) -> None:
    """Copy bytes from ``source`` to ``destination`` until either side closes."""
    with contextlib.suppress(OSError):
        while chunk := source.recv(65536):
            destination.sendall(chunk)
    with contextlib.suppress(OSError):
        destination.shutdown(socket.SHUT_WR)


def contract_module(*, fit: str = "return {}", imports: str = "") -> str:
    """The smallest module of DSDL's contract (every function, nothing trained); ``fit`` is the body
    of its ``fit`` on one line (``"time.sleep(2); return {}"``), ``imports`` its first lines."""
    return f"""{imports}
def init(df, param):
    return {{}}
def fit(model, df, param):
    {fit}
def apply(model, df, param):
    return df
def save(model, name):
    return model
def load(name):
    return {{}}
def summary(model=None):
    return {{"version": {{}}}}
"""


@contextlib.contextmanager
def loopback_splunkd(
    tmp_path: Path, search_token: str, serve: Callable[[ssl.SSLSocket, threading.Event], None]
) -> Iterator[Settings]:
    """Settings for a hand-made splunkd: a loopback HTTPS server whose ``serve(tls, stop)`` handles
    each connection (in a thread of its own) until the server stops."""
    files = write_tls_files(tmp_path / "splunkd-tls")
    context = server_context(files)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def handle(connection: socket.socket) -> None:
        with contextlib.suppress(OSError), context.wrap_socket(connection, server_side=True) as tls:
            serve(tls, stop)

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                threading.Thread(target=handle, args=(listener.accept()[0],), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield load_settings(
            {
                "splunk_access_enabled": "1",
                "splunk_access_host": "127.0.0.1",
                "splunk_access_port": str(listener.getsockname()[1]),
                "splunk_access_token": search_token,
                "GOLDEN_TLS_VERIFY": str(files.ca_bundle),
            }
        )
    finally:
        stop.set()
        thread.join()
        listener.close()


#: The template's staged sample data (``template/data``).
TEMPLATE_DATA = Path(__file__).resolve().parents[2] / "template" / "data"


def churn_sample(**params: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The template's staged churn sample and its DSDL ``param``, with ``params`` as the SPL's
    ``key=value`` pairs (strings, as Splunk sends them)."""
    frame = read_csv((TEMPLATE_DATA / "churn_sample.csv").read_bytes())
    param = json.loads((TEMPLATE_DATA / "churn_sample.json").read_text())
    param["options"]["params"] = dict(params)
    return frame, param
