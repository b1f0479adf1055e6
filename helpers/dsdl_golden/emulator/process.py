"""Running the emulator in a subprocess, and a client for its ``/__mock__/`` control API."""

from __future__ import annotations

import json
import os
import queue
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from dsdl_golden.emulator.config import HecToken
from dsdl_golden.emulator.datasets import DataLike, load_rows

__all__ = ["ControlClient", "ControlError", "EmulatorProcess", "start_subprocess"]

_HELPERS = Path(__file__).resolve().parents[2]


class ControlError(RuntimeError):
    """The control API refused a call (its ``{"error": ...}`` text) or could not be reached."""


def _flag(value: bool) -> str | None:
    return "true" if value else None


class ControlClient:
    """The ``/__mock__/`` API of a running emulator; method names mirror ``SplunkEmulator``.

    ``token`` is the emulator's control token (``EmulatorProcess.control_token``). Answers mask
    credentials unless a method is called with ``reveal=True``.
    """

    def __init__(
        self,
        base_url: str,
        ca_bundle: str | Path | None = None,
        timeout: float = 10.0,
        *,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token
        self._context = ssl.create_default_context(cafile=str(ca_bundle)) if ca_bundle else None

    def __repr__(self) -> str:
        return f"ControlClient({self.base_url!r})"  # never the token

    def _call(self, method: str, path: str, body: object = None, **query: str | None) -> Any:
        params = urllib.parse.urlencode({key: value for key, value in query.items() if value is not None})
        url = f"{self.base_url}/__mock__/{path}" + (f"?{params}" if params else "")
        data = None if body is None else json.dumps(body, default=str).encode()
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self._context) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as error:
            raise ControlError(
                f"{method} {path}: {error.code} {error.read().decode(errors='replace')}"
            ) from None
        except urllib.error.URLError as error:
            raise ControlError(f"{method} {path}: {error.reason}") from None

    def info(self, *, reveal: bool = False) -> dict[str, Any]:
        """Addresses, CA path, the number of stored events and the registered datasets."""
        result: dict[str, Any] = self._call("GET", "info", reveal=_flag(reveal))
        return result

    def config(self, *, reveal: bool = False) -> dict[str, Any]:
        """The whole configuration (``GET /__mock__/config``)."""
        result: dict[str, Any] = self._call("GET", "config", reveal=_flag(reveal))
        return result

    def events(
        self,
        index: str | None = None,
        kind: str | None = None,
        *,
        sourcetype: str | None = None,
        token: str | None = None,
        reveal: bool = False,
    ) -> list[dict[str, Any]]:
        """Accepted HEC records, as ``SplunkEmulator.events``."""
        result: list[dict[str, Any]] = self._call(
            "GET",
            "hec/events",
            index=index,
            kind=kind,
            sourcetype=sourcetype,
            token=token,
            reveal=_flag(reveal),
        )
        return result

    def requests_log(self, listener: str | None = None, *, reveal: bool = False) -> list[dict[str, Any]]:
        """Logged requests, as ``SplunkEmulator.requests_log``."""
        result: list[dict[str, Any]] = self._call("GET", "requests", listener=listener, reveal=_flag(reveal))
        return result

    def reset(self) -> None:
        """Forget events, acks, jobs, KV data, faults and the request log."""
        self._call("POST", "reset")

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change settings (``PUT /__mock__/config``); returns the whole configuration."""
        result: dict[str, Any] = self._call("PUT", "config", changes)
        return result

    def add_hec_token(self, token: str, **options: Any) -> None:
        """Register an HEC token; options as ``SplunkEmulator.add_hec_token``."""
        if "indexes" in options:
            options["indexes"] = tuple(options["indexes"])
        self.configure(hec_tokens=[HecToken(token, **options).to_json()])

    def add_user(self, username: str, password: str) -> None:
        """Allow login and Basic authentication with these credentials."""
        self.configure(users={username: password})

    def add_auth_token(self, token: str) -> None:
        """Accept ``token`` as ``Splunk <token>`` or ``Bearer <token>``."""
        self.configure(auth_tokens=[token])

    def add_index(self, name: str, *, metrics: bool = False) -> None:
        """Create an event (or metrics) index."""
        self.configure(**{"metrics_indexes" if metrics else "indexes": [name]})

    def add_dataset(self, name_or_query: str, data: DataLike) -> int:
        """Register search data; a path is read by the emulator process, other data is sent as rows."""
        body: dict[str, object] = {"name": name_or_query}
        if isinstance(data, str | Path):
            body["path"] = str(Path(data).resolve())
        else:
            body["rows"] = load_rows(data)
        return int(self._call("POST", "datasets", body)["rows"])

    def fail_search(self, query: str, text: str) -> None:
        """Make the exact ``query`` fail while running with the FATAL message ``text``."""
        self._call("POST", "datasets", {"name": query, "error": text})

    def inject_fault(
        self,
        *,
        listener: str | None = None,
        path: str | None = None,
        method: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Add a fault; options as ``SplunkEmulator.inject_fault``."""
        match = {"listener": listener, "path": path, "method": method}
        result: dict[str, Any] = self._call("POST", "faults", {"match": match, **options})
        return result

    def drop_after_events(self, count: int, *, listener: str = "hec") -> dict[str, Any]:
        """Accept ``count`` more HEC events, then drop the connection without an answer."""
        return self.inject_fault(listener=listener, after_events=count)

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "faults")

    def pause(self, listener: str | None = "hec") -> None:
        """Close a port (``None``: both) until :meth:`resume`."""
        self._call("POST", "pause", {"listener": listener})

    def resume(self, listener: str | None = None) -> None:
        """Reopen paused ports."""
        self._call("POST", "resume", {"listener": listener})

    def refuse_connections(self, seconds: float, listener: str | None = "hec") -> None:
        """Close a port and reopen it on the same port after ``seconds``."""
        self._call("POST", "refuse", {"seconds": seconds, "listener": listener})

    def restart(self) -> None:
        """Close and reopen both ports."""
        self._call("POST", "restart")


class EmulatorProcess:
    """A running ``python -m dsdl_golden.emulator``: its addresses, CA bundle and control client.

    ``settings`` are the variables of :mod:`dsdl_golden.config` pointing the library at it (HEC URL
    and token, splunkd host, port and auth token, ``GOLDEN_TLS_VERIFY``).
    """

    def __init__(self, process: subprocess.Popen[str], info: dict[str, Any]) -> None:
        self.process = process
        self.info = info
        self.hec_url: str = info["hec_url"]
        self.rest_url: str = info["rest_url"]
        self.hec_port: int = info["hec_port"]
        self.rest_port: int = info["rest_port"]
        self.ca_bundle: Path | None = Path(info["ca_bundle"]) if info.get("ca_bundle") else None
        self.control_token: str = info["control_token"]
        self.settings: dict[str, str] = info["settings"]
        self.control = ControlClient(self.rest_url, self.ca_bundle, token=self.control_token)

    @property
    def pid(self) -> int:
        """The process ID."""
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> int:
        """End the process (closing its stdin, then SIGTERM, then SIGKILL); returns its exit status.
        Its pipes are closed too."""
        try:
            if self.process.poll() is None:
                if self.process.stdin is not None:
                    self.process.stdin.close()
                try:
                    return self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.terminate()
                try:
                    return self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            return self.process.wait()
        finally:
            for pipe in (self.process.stdin, self.process.stdout):
                if pipe is not None:
                    pipe.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def start_subprocess(
    *arguments: str,
    tokens: Sequence[str] = (),
    tls: bool = True,
    cert_dir: str | Path | None = None,
    timeout: float = 30.0,
) -> EmulatorProcess:
    """Start ``python -m dsdl_golden.emulator --json`` on free ports and wait for its ready line.

    ``arguments`` are extra command-line options (see ``golden emulator --help``); the first of
    ``tokens`` is the HEC token of :attr:`EmulatorProcess.settings`. The process
    stops when :meth:`EmulatorProcess.stop` is called or when this process exits (its stdin closes).
    """
    command = [sys.executable, "-m", "dsdl_golden.emulator", "--json", "--hec-port", "0", "--rest-port", "0"]
    # --option=value: a generated token may start with "-", which argparse would take for an option
    command += ["--stop-on-stdin-eof", *(f"--token={token}" for token in tokens)]
    if not tls:
        command.append("--no-tls")
    if cert_dir is not None:
        command += ["--cert-dir", str(cert_dir)]
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_HELPERS), environment.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [*command, *arguments], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=timeout)
        info = json.loads(line)
    except (queue.Empty, ValueError):
        process.kill()
        process.wait()
        raise RuntimeError(
            f"the emulator subprocess did not start (exit status {process.returncode})"
        ) from None
    return EmulatorProcess(process, info)
