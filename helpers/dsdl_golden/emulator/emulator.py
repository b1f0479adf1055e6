"""``SplunkEmulator``: a local splunkd (REST) and HEC on two loopback ports, with a test-control API."""

from __future__ import annotations

import ipaddress
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from dsdl_golden.emulator.config import EmulatorConfig, HecToken, Settings
from dsdl_golden.emulator.control import handle_control
from dsdl_golden.emulator.core import EmulatorCore
from dsdl_golden.emulator.datasets import DataLike
from dsdl_golden.emulator.faults import Fault
from dsdl_golden.emulator.hec import HEC_CODES, expand_all
from dsdl_golden.emulator.http import Request, Response, compact_json
from dsdl_golden.emulator.server import Listener
from dsdl_golden.emulator.store import Record
from dsdl_golden.emulator.tls import server_context, write_tls_files

__all__ = ["SplunkEmulator"]

_COMMON_HEADERS = ("Server: Splunkd", "X-Content-Type-Options: nosniff", "X-Frame-Options: SAMEORIGIN")
_HEADERS: dict[str, tuple[str, ...]] = {
    "hec": (*_COMMON_HEADERS, "Vary: Authorization"),
    "rest": (
        *_COMMON_HEADERS,
        "Vary: Cookie, Authorization",
        "Cache-Control: no-store, no-cache, must-revalidate, max-age=0",
        "Expires: Thu, 26 Oct 1978 00:00:00 GMT",
    ),
}


class SplunkEmulator:
    """splunkd REST (``rest_url``) and HEC (``hec_url``) emulated on loopback, HTTPS by default.

    Ports 0 pick free ports. With ``tls`` a CA and a server certificate are generated into
    ``cert_dir`` (a temporary directory by default); clients verify with :attr:`ca_bundle`.
    Use as a context manager, or call :meth:`start` and :meth:`stop`.

    The ``/__mock__/`` control API needs ``Authorization: Bearer <control_token>``; the token is
    generated unless given. ``host`` must be a loopback address unless ``allow_remote`` is set: the
    emulator holds test credentials and its control API changes what it does.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        hec_port: int = 0,
        rest_port: int = 0,
        tls: bool = True,
        cert_dir: str | Path | None = None,
        config: EmulatorConfig | None = None,
        control_token: str | None = None,
        allow_remote: bool = False,
    ) -> None:
        if not allow_remote and not _is_loopback(host):
            raise ValueError(
                f"refusing to listen on {host!r}, which is not a loopback address: pass allow_remote=True "
                "(golden emulator --allow-remote) to serve test credentials and the control API there"
            )
        self.control_token = control_token or secrets.token_urlsafe(32)
        self.settings = Settings(config=config or EmulatorConfig())
        self.core = EmulatorCore(self.settings)
        self._host = host
        self._ports = {"hec": hec_port, "rest": rest_port}
        self._tls = tls
        self._cert_dir = Path(cert_dir) if cert_dir is not None else None
        self._own_cert_dir = False
        self.ca_bundle: Path | None = None
        self._listeners: dict[str, Listener] = {}
        self._timers: list[threading.Timer] = []

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Generate TLS material (if enabled) and open both ports."""
        if self._listeners:
            return self
        context = None
        if self._tls:
            if self._cert_dir is None:
                self._cert_dir = Path(tempfile.mkdtemp(prefix="splunk-emulator-"))
                self._own_cert_dir = True
            files = write_tls_files(self._cert_dir, (self._host,))
            self.ca_bundle = files.ca_bundle
            context = server_context(files)
        for name, port in self._ports.items():
            listener = Listener(
                name,
                self._serve,
                host=self._host,
                port=port,
                ssl_context=context,
                response_headers=_HEADERS[name],
            )
            listener.open()
            self._listeners[name] = listener
        self.core.rest.port = self.rest_port
        self.core.rest_base_url = self.rest_url
        return self

    def stop(self) -> None:
        """Close both ports, stop pending timers and remove generated TLS files."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for listener in self._listeners.values():
            listener.close()
        self._listeners.clear()
        self.core.jobs.clear()
        if self._own_cert_dir and self._cert_dir is not None:
            shutil.rmtree(self._cert_dir, ignore_errors=True)
            self._cert_dir = None
            self._own_cert_dir = False

    def restart(self) -> None:
        """Close and reopen both ports (same port numbers); open connections are cut, data is kept."""
        for listener in self._listeners.values():
            listener.close()
        for listener in self._listeners.values():
            listener.open()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _serve(self, request: Request) -> Response:
        return self.core.dispatch(request, lambda control: handle_control(self, control))

    def _listener(self, name: str) -> Listener:
        if not self._listeners:
            raise RuntimeError("the emulator is not started")
        if name not in self._listeners:
            raise ValueError(f"unknown listener {name!r}: expected 'hec' or 'rest'")
        return self._listeners[name]

    # --- addresses -----------------------------------------------------------------------------

    @property
    def hec_url(self) -> str:
        """Base URL of HEC, e.g. ``https://127.0.0.1:8088``."""
        return self._listener("hec").url

    @property
    def rest_url(self) -> str:
        """Base URL of splunkd REST, e.g. ``https://127.0.0.1:8089``."""
        return self._listener("rest").url

    @property
    def hec_port(self) -> int:
        """The HEC port."""
        return self._listener("hec").port

    @property
    def rest_port(self) -> int:
        """The splunkd REST port."""
        return self._listener("rest").port

    @property
    def host(self) -> str:
        """The address both ports listen on."""
        return self._host

    @property
    def config(self) -> EmulatorConfig:
        """The behaviour knobs (change them with :meth:`configure`)."""
        return self.settings.config

    def describe(self) -> dict[str, object]:
        """Addresses, the CA path and the control token as JSON-ready data (what the subprocess
        prints when ready)."""
        return {
            "hec_url": self.hec_url,
            "rest_url": self.rest_url,
            "hec_port": self.hec_port,
            "rest_port": self.rest_port,
            "host": self._host,
            "tls": self._tls,
            "ca_bundle": str(self.ca_bundle) if self.ca_bundle else None,
            "control_token": self.control_token,
        }

    # --- configuration -------------------------------------------------------------------------

    def configure(self, **changes: Any) -> None:
        """Change knobs of :class:`EmulatorConfig` and/or add ``hec_tokens`` (control-API form),
        ``users`` (``{name: password}``), ``auth_tokens``, ``indexes``, ``metrics_indexes``."""
        self.settings.update(changes)

    def add_hec_token(
        self,
        token: str,
        *,
        name: str = "",
        indexes: tuple[str, ...] | list[str] = (),
        default_index: str | None = None,
        use_ack: bool = False,
        sourcetype: str | None = None,
        source: str | None = None,
        host: str | None = None,
        disabled: bool = False,
        allow_query_string: bool = False,
    ) -> HecToken:
        """Register an HEC token (replacing one with the same value); its indexes are created."""
        hec_token = HecToken(
            token,
            name,
            tuple(indexes),
            default_index,
            use_ack,
            sourcetype,
            source,
            host,
            disabled,
            allow_query_string,
        )
        self.settings.add_token(hec_token)
        return hec_token

    def add_index(self, name: str, *, metrics: bool = False) -> None:
        """Create an event index (or a metrics index)."""
        self.settings.add_index(name, metrics=metrics)

    def add_user(self, username: str, password: str) -> None:
        """Allow ``auth/login`` and Basic authentication with these credentials."""
        self.settings.users[username] = password

    def add_auth_token(self, token: str) -> None:
        """Accept ``token`` (e.g. a JWT) as ``Authorization: Splunk <token>`` or ``Bearer <token>``."""
        self.settings.auth_tokens.add(token)

    def add_dataset(self, name_or_query: str, data: DataLike) -> int:
        """Register search data for an index (``"web"``/``"index=web"``) or an exact query string.

        ``data``: a CSV/JSON/JSONL path, a DataFrame, or dicts; ``_time`` may be epoch, ISO or
        datetime. Returns the number of rows.
        """
        return self.core.datasets.add(name_or_query, data)

    def fail_search(self, query: str, text: str) -> None:
        """Make the exact ``query`` fail while running with the FATAL message ``text``: oneshot and
        export answer 200 with only that message, jobs end FAILED."""
        self.core.datasets.add_failure(query, text)

    # --- observation ---------------------------------------------------------------------------

    def events(
        self,
        index: str | None = None,
        kind: str | None = None,
        *,
        sourcetype: str | None = None,
        token: str | None = None,
    ) -> list[Record]:
        """Accepted HEC records (copies), oldest first; ``kind`` is ``event``, ``raw`` or ``metric``;
        ``token`` filters on the token name."""
        wanted = {"kind": kind, "sourcetype": sourcetype, "token_name": token}
        return expand_all(
            record
            for record in self.core.events.records(index)
            if all(value is None or record[key] == value for key, value in wanted.items())
        )

    def requests_log(self, listener: str | None = None) -> list[Record]:
        """Logged requests (not the control API), oldest first, optionally of ``hec`` or ``rest``."""
        return self.core.log.entries(listener)

    def reset(self) -> None:
        """Forget events, acks, jobs, KV data, faults and the request log."""
        self.core.reset()

    # --- faults --------------------------------------------------------------------------------

    def inject_fault(
        self,
        *,
        listener: str | None = None,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        status: int | None = None,
        body: object = None,
        code: int | None = None,
        headers: dict[str, str] | None = None,
        delay_ms: int = 0,
        drop_connection: bool = False,
        after_events: int | None = None,
    ) -> Fault:
        """Add a fault (see :class:`~dsdl_golden.emulator.faults.Fault`); ``code`` is an HEC code
        whose status and body are used, e.g. ``code=9`` for 503 "Server is busy". A ``body`` that is
        not text must be JSON-ready without NaN or infinities (``ValueError``/``TypeError`` here,
        not when the fault answers)."""
        if code is not None:
            if code not in HEC_CODES:
                raise ValueError(f"unknown HEC code {code}")
            status = HEC_CODES[code][0] if status is None else status
            body = {
                "text": HEC_CODES[code][1],
                "code": code,
                **({"invalid-event-number": 0} if code == 9 else {}),
            }
        if body is not None and not isinstance(body, str):
            compact_json(body)
        fault = Fault(
            listener,
            path,
            method,
            times,
            status,
            body,
            dict(headers or {}),
            delay_ms,
            drop_connection,
            after_events,
        )
        self.core.faults.add(fault)
        return fault

    def drop_after_events(self, count: int, *, listener: str = "hec") -> Fault:
        """Accept ``count`` more HEC events, then close the connection without an answer (once)."""
        return self.inject_fault(listener=listener, after_events=count)

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.core.faults.clear()

    def faults(self) -> list[Fault]:
        """The faults that still apply."""
        return self.core.faults.active()

    def pause(self, listener: str | None = "hec") -> None:
        """Close a port (``None``: both): connections are refused and open ones are cut."""
        for name in self._names(listener):
            self._listener(name).close()

    def resume(self, listener: str | None = None) -> None:
        """Reopen paused ports on their port numbers (``None``: both)."""
        for name in self._names(listener):
            self._listener(name).open()

    def refuse_connections(self, seconds: float, listener: str | None = "hec") -> None:
        """Pause a port (``None``: both) and reopen it on the same port after ``seconds``."""
        self.pause(listener)
        timer = threading.Timer(seconds, self.resume, args=(listener,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _names(self, listener: str | None) -> list[str]:
        return list(self._ports) if listener is None else [self._listener(listener).name]


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
