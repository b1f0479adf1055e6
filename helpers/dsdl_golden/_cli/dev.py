"""``golden dev``: DSDL's DEV container on a laptop, in one command.

1. Lay out a DSDL ``/srv`` workspace in ``--workspace`` (:func:`~dsdl_golden.workspace.lay_out`), copy
   the template, the examples and their data into ``<workspace>/notebooks`` (existing files are kept)
   and export the notebooks whose module is missing or older than the notebook, as saving them in
   Jupyter would.
2. Start the Splunk emulator (:func:`~dsdl_golden.emulator.start_subprocess`) with the session's HEC
   token, search user and search token; it creates the library's default indexes and reports the
   settings pointing at it.
3. Start the model API (``python -m uvicorn dsdl_golden.runtime:app``, cwd = the workspace) with an
   environment pointing at the emulator and a generated ``api_token``.
4. Unless ``--no-jupyter``, start JupyterLab on ``<workspace>/notebooks`` with the same environment and
   the export post-save hook, so that saving a notebook exports it to ``<workspace>/app/model``.
5. Print the URLs, the tokens, a ``golden call`` to paste and ``export`` lines for a shell, then wait
   for Ctrl-C or SIGTERM and stop every child (terminate, then kill after a timeout). A child that
   exits on its own is reported (with the end of its log) and the others are stopped: status 1.

The logs of the API and of Jupyter are written to ``<workspace>/.golden/logs/``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, Final

from dsdl_golden.config import ConfigError, load_settings
from dsdl_golden.emulator import EmulatorProcess, start_subprocess
from dsdl_golden.emulator.command import SEARCH_USER
from dsdl_golden.export import ExportError, export_notebook
from dsdl_golden.workspace import copy_notebooks, lay_out, template_dir

__all__ = [
    "Child",
    "DevError",
    "Secrets",
    "Services",
    "StopFlag",
    "prepare_workspace",
    "resolve_port",
    "run",
    "service_environment",
]

STOP_TIMEOUT: Final = 10.0
STARTUP_TIMEOUT: Final = 120.0
TEMPLATE: Final = "template_empresa_base"
_HELPERS: Final = Path(__file__).resolve().parents[2]
_LOG_TAIL: Final = 15


class DevError(Exception):
    """``golden dev`` cannot go on; ``str()`` says why. ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


class StopFlag:
    """Set by a signal handler, polled by the main loop (no lock: safe to set from a handler)."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        """Ask for the stop."""
        self._set = True

    def is_set(self) -> bool:
        """True once :meth:`set` was called."""
        return self._set

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds or until set; returns :meth:`is_set`."""
        deadline = time.monotonic() + timeout
        while not self._set and time.monotonic() < deadline:
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0)))
        return self._set


@dataclass(frozen=True)
class Secrets:
    """The tokens generated for one ``golden dev`` session."""

    api_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    hec_token: str = field(default_factory=lambda: str(uuid.uuid4()))
    search_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    search_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    jupyter_token: str = field(default_factory=lambda: secrets.token_hex(24))


@dataclass
class Child:
    """A started service: its process, its log file and how to stop it."""

    name: str
    process: subprocess.Popen[Any]
    log: Path | None = None
    stopper: Callable[[float], object] | None = None

    @property
    def pid(self) -> int:
        """The process ID."""
        return self.process.pid

    def exited(self) -> int | None:
        """The exit status if the process has ended, else None."""
        return self.process.poll()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; then whatever is left of its process group."""
        if self.stopper is not None:
            self.stopper(timeout)
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait()
        _signal_group(self.process.pid, signal.SIGTERM)  # e.g. Jupyter kernels left by a crash

    def log_tail(self, lines: int = _LOG_TAIL) -> list[str]:
        """The last ``lines`` lines of the log, if there is one."""
        if self.log is None or not self.log.is_file():
            return []
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]


def _signal_group(pid: int, signum: signal.Signals) -> None:
    """Signal the process group led by ``pid`` (the children start their own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


@dataclass
class Services:
    """The children started so far, stopped in reverse order."""

    children: list[Child] = field(default_factory=list)

    def add(self, child: Child) -> Child:
        """Remember ``child``; returns it."""
        self.children.append(child)
        return child

    def first_exited(self) -> Child | None:
        """A child that has ended, if any."""
        return next((child for child in self.children if child.exited() is not None), None)

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every child, the last started first."""
        while self.children:
            self.children.pop().stop(timeout)


@dataclass(frozen=True)
class Workspace:
    """A prepared workspace and what preparing it did."""

    root: Path
    copied: list[Path]
    exported: list[Path]
    problems: list[str]

    @property
    def notebooks(self) -> Path:
        """``<root>/notebooks``: Jupyter's root and the staging directory's parent."""
        return self.root / "notebooks"

    @property
    def model_dir(self) -> Path:
        """``<root>/app/model``: the exported notebooks."""
        return self.root / "app" / "model"


def export_stale(notebooks: Path, model_dir: Path) -> tuple[list[Path], list[str]]:
    """Export each ``notebooks/*.ipynb`` whose module is missing or older; returns the modules
    written and one line per notebook that could not be exported."""
    exported: list[Path] = []
    problems: list[str] = []
    for notebook in sorted(notebooks.glob("*.ipynb")):
        module = model_dir / f"{notebook.stem}.py"
        if module.exists() and module.stat().st_mtime >= notebook.stat().st_mtime:
            continue
        try:
            written = export_notebook(notebook, model_dir)
        except ExportError as error:
            problems.append(f"{notebook.name}: {error}")
            continue
        if written is not None:
            exported.append(written)
    return exported, problems


def prepare_workspace(root: Path) -> Workspace:
    """Lay out DSDL's ``/srv`` in ``root``, copy the notebooks in and export the stale ones."""
    root.mkdir(parents=True, exist_ok=True)
    lay_out(root)
    source = template_dir()
    copied = copy_notebooks(source, root / "notebooks") if source is not None else []
    exported, problems = export_stale(root / "notebooks", root / "app" / "model")
    return Workspace(root, copied, exported, problems)


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def resolve_port(requested: int, option: str) -> int:
    """``requested``, or a free loopback port for 0; raises :class:`DevError` if it is taken."""
    if requested == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            return port
    if not 0 < requested < 65536:
        raise DevError(f"{option} {requested}: expected a port from 1 to 65535, or 0 for a free one")
    if not _port_is_free(requested):
        raise DevError(f"port {requested} is in use: stop what uses it, or pass {option} 0 for a free port")
    return requested


def start_emulator(workspace: Path, tokens: Secrets, hec_port: int, rest_port: int) -> EmulatorProcess:
    """The Splunk emulator (HTTPS, CA in ``<workspace>/.golden/tls``) with the session's tokens."""
    try:
        return start_subprocess(
            "--hec-port",
            str(hec_port),
            "--rest-port",
            str(rest_port),
            f"--user={SEARCH_USER}:{tokens.search_password}",
            f"--auth-token={tokens.search_token}",  # a generated token may start with "-"
            tokens=[tokens.hec_token],
            cert_dir=workspace / ".golden" / "tls",
        )
    except RuntimeError as error:
        raise DevError(f"the Splunk emulator did not start: {error}") from None


def settings_environment(workspace: Path, emulator: EmulatorProcess, tokens: Secrets) -> dict[str, str]:
    """The DSDL and dsdl-golden settings of the services: the emulator's (:attr:`EmulatorProcess.settings`,
    everything pointing at it), DEV mode, the API token and the workspace."""
    return {
        "MODE_DEV_PROD": "DEV",
        "ENABLE_HTTPS": "false",
        "api_token": tokens.api_token,
        **emulator.settings,
        "GOLDEN_SRV_DIR": str(workspace),
        "GOLDEN_SPOOL_DIR": str(workspace / "app" / "golden_spool"),
    }


def service_environment(base: Mapping[str, str], settings: Mapping[str, str]) -> dict[str, str]:
    """``base`` (the caller's environment) with ``settings`` and ``dsdl_golden`` importable; the
    settings are validated with :func:`load_settings` (raises :class:`DevError`)."""
    environment = {**base, **settings}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_HELPERS), base.get("PYTHONPATH")]))
    try:
        load_settings(environment)
    except ConfigError as error:
        raise DevError(str(error)) from None
    return environment


def _start(name: str, command: list[str], *, cwd: Path, env: Mapping[str, str], log: Path) -> Child:
    """Start ``command`` in its own session (a terminal's Ctrl-C reaches golden dev only), its output
    going to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(name, process, log)


def runtime_command(port: int) -> list[str]:
    """The model API as DSDL's DEV container runs it, on loopback."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "dsdl_golden.runtime:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def jupyter_command(notebooks: Path, port: int) -> list[str]:
    """JupyterLab on ``notebooks`` with the export post-save hook (the token comes from JUPYTER_TOKEN)."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={notebooks}",
        "--FileContentsManager.post_save_hook=dsdl_golden.export.post_save",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers; Jupyter refuses root without it
    return command


def answers(url: str, headers: Mapping[str, str] | None = None) -> bool:
    """True when ``GET url`` answers 200 (no proxy: the services are on loopback)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers=dict(headers or {}))  # noqa: S310 - http://127.0.0.1 only
    try:
        with opener.open(request, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def child_exited(child: Child) -> DevError:
    """The error reporting that ``child`` ended on its own, with the end of its log."""
    lines = [f"{child.name} (pid {child.pid}) exited with status {child.exited()}; stopping the others"]
    tail = child.log_tail()
    if tail:
        lines.append(f"last lines of {child.log}:")
        lines += [f"    {line}" for line in tail]
    return DevError("\n".join(lines), status=1)


def wait_until_ready(child: Child, probe: Callable[[], bool], services: Services, stopping: StopFlag) -> bool:
    """Wait until ``probe()`` is true; False if asked to stop first. Raises :class:`DevError` when a
    child exits or ``child`` does not answer within :data:`STARTUP_TIMEOUT`."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not stopping.is_set():
        exited = services.first_exited()
        if exited is not None:
            raise child_exited(exited)
        if probe():
            return True
        if time.monotonic() > deadline:
            raise DevError(f"{child.name} did not answer within {STARTUP_TIMEOUT:g} s; see {child.log}", 1)
        stopping.wait(0.2)
    return False


@contextlib.contextmanager
def stop_signals(stopping: StopFlag) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP set ``stopping`` while the block runs (main thread only)."""
    names = ("SIGINT", "SIGTERM", "SIGHUP")
    signums = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous: dict[int, Any] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    try:
        for signum in signums:
            previous[signum] = signal.signal(signum, handle)
    except ValueError:  # not the main thread: Ctrl-C arrives as KeyboardInterrupt instead
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _example(workspace: Workspace, api_url: str, api_token: str) -> str:
    data = workspace.notebooks / "data" / "churn_sample.csv"
    if (workspace.model_dir / f"{TEMPLATE}.py").is_file() and data.is_file():
        arguments = [str(data), "--algo", TEMPLATE, "--target", "churn", "--model-name", "churn"]
    else:
        arguments = ["DATA.csv", "--algo", "NOTEBOOK_NAME", "--target", "COLUMN", "--model-name", "NAME"]
    # --token=: a generated token may start with "-", which would be read as an option
    return shlex.join(["golden", "call", "fit", *arguments, "--url", api_url, f"--token={api_token}"])


def print_summary(
    out: IO[str],
    workspace: Workspace,
    *,
    shown: Mapping[str, tuple[str, Child]],
    emulator: EmulatorProcess,
    tokens: Secrets,
    settings: Mapping[str, str],
) -> None:
    """The URLs, the tokens, a ``golden call`` to paste and ``export`` lines for a shell."""
    write = out.write
    write(
        f"golden dev: workspace {workspace.root} ({len(workspace.copied)} files copied, "
        f"{len(workspace.exported)} notebooks exported)\n"
    )
    for problem in workspace.problems:
        write(f"golden dev: not exported: {problem}\n")
    for label, (url, child) in shown.items():
        write(f"  {label:<10} {url}   pid {child.pid}   log {child.log}\n")
    write(f"  {'HEC':<10} {emulator.hec_url}   Splunk emulator pid {emulator.pid}\n")
    write(f"  {'REST':<10} {emulator.rest_url}   user {SEARCH_USER}, password {tokens.search_password}\n")
    write(f"  {'CA':<10} {emulator.ca_bundle}\n")
    write(f"  {'control':<10} {emulator.rest_url}/__mock__/   token {emulator.control_token}\n")
    write(f"  {'api token':<10} {tokens.api_token}\n")
    write(f"\nTry the model API:\n  {_example(workspace, shown['API'][0], tokens.api_token)}\n")
    write("\nEnvironment for a shell (notebook helpers and golden call use it):\n")
    for name, value in settings.items():
        write(f"export {name}={shlex.quote(value)}\n")
    write("\ngolden dev: ready; Ctrl-C stops everything\n")
    out.flush()


def supervise(services: Services, stopping: StopFlag) -> None:
    """Wait until ``stopping`` is set; raises :class:`DevError` (status 1) when a child exits."""
    while not stopping.wait(0.5):
        exited = services.first_exited()
        if exited is not None:
            raise child_exited(exited)


@dataclass(frozen=True)
class Service:
    """A started child, the URL printed for it and how to tell that it answers."""

    label: str
    url: str
    child: Child
    probe: Callable[[], bool]


def start_runtime(workspace: Workspace, port: int, environment: Mapping[str, str]) -> Service:
    """The model API (uvicorn, cwd = the workspace), ready when ``/healthz`` answers."""
    url = f"http://127.0.0.1:{port}"
    child = _start(
        "the model API",
        runtime_command(port),
        cwd=workspace.root,
        env=environment,
        log=workspace.root / ".golden" / "logs" / "runtime.log",
    )
    return Service("API", url, child, lambda: answers(f"{url}/healthz"))


def start_jupyter(workspace: Workspace, port: int, environment: Mapping[str, str], token: str) -> Service:
    """JupyterLab on the notebooks, ready when ``/api/status`` answers with the token."""
    url = f"http://127.0.0.1:{port}"
    child = _start(
        "JupyterLab",
        jupyter_command(workspace.notebooks, port),
        cwd=workspace.notebooks,
        env={**environment, "JUPYTER_TOKEN": token},
        log=workspace.root / ".golden" / "logs" / "jupyter.log",
    )
    authorised = {"Authorization": f"token {token}"}
    return Service(
        "Jupyter", f"{url}/lab?token={token}", child, lambda: answers(f"{url}/api/status", authorised)
    )


def _start_services(args: Any, services: Services, stopping: StopFlag) -> None:
    """Everything of :func:`run` but the signal handling and the final stop."""
    workspace = prepare_workspace(Path(args.workspace).expanduser().resolve())
    api_port = resolve_port(args.api_port, "--api-port")
    jupyter_port = 0 if args.no_jupyter else resolve_port(args.jupyter_port, "--jupyter-port")
    hec_port = args.hec_port and resolve_port(args.hec_port, "--hec-port")
    rest_port = args.rest_port and resolve_port(args.rest_port, "--rest-port")
    if not args.no_jupyter and importlib.util.find_spec("jupyterlab") is None:
        raise DevError("JupyterLab is not installed: install dsdl-golden[jupyter], or pass --no-jupyter")
    tokens = Secrets()
    emulator = start_emulator(workspace.root, tokens, hec_port, rest_port)
    services.add(Child("the Splunk emulator", emulator.process, stopper=emulator.stop))
    settings = settings_environment(workspace.root, emulator, tokens)
    environment = service_environment(os.environ, settings)
    started = [start_runtime(workspace, api_port, environment)]
    if not args.no_jupyter:
        started.append(start_jupyter(workspace, jupyter_port, environment, tokens.jupyter_token))
    for service in started:
        services.add(service.child)
    for service in started:  # they start side by side
        if not wait_until_ready(service.child, service.probe, services, stopping):
            return
    shown = {service.label: (service.url, service.child) for service in started}
    print_summary(sys.stdout, workspace, shown=shown, emulator=emulator, tokens=tokens, settings=settings)
    supervise(services, stopping)


def run(args: Any) -> int:
    """``golden dev``: 0 after Ctrl-C/SIGTERM, 1 when a service exited on its own, 2 when it could
    not start."""
    stopping = StopFlag()
    services = Services()
    with stop_signals(stopping):
        try:
            _start_services(args, services, stopping)
        except DevError as error:
            print(f"golden dev: {error}", file=sys.stderr)
            return error.status
        finally:
            if services.children:
                print("golden dev: stopping", file=sys.stderr)
            services.stop_all()
    print("golden dev: stopped", file=sys.stderr)
    return 0
