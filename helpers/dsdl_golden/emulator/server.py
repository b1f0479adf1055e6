"""HTTP(S) listeners: a threaded server per port that can be closed and reopened on the same port.

Each connection is served by its own thread with HTTP/1.1 keep-alive; the TLS handshake runs in that
thread so a slow client never blocks ``accept``. Responses are written with one ``sendall`` (or as
chunks for streams), and ``Connection: Close`` is sent whenever the server is going to close.
"""

from __future__ import annotations

import contextlib
import email.utils
import http
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dsdl_golden.emulator.http import Request, Response

__all__ = ["App", "Listener"]

App = Callable[[Request], Response]

_LOG = logging.getLogger(__name__)
_READ_LIMIT = 64 * 1024 * 1024
_IDLE_TIMEOUT = 60.0
_QUIET_ERRORS = (OSError,)  # resets, timeouts and TLS errors of one connection
_PHRASES = {status.value: status.phrase for status in http.HTTPStatus}


class _BodyTooLargeError(Exception):
    """A chunked request body exceeded the read limit."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], listener: Listener) -> None:
        self.listener = listener
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        context = self.listener.ssl_context
        if context is None:
            return sock, address
        return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        _LOG.debug("connection from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Splunkd"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = _IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()
        self.server.listener.track(self.connection)

    def finish(self) -> None:
        self.server.listener.untrack(self.connection)
        with contextlib.suppress(*_QUIET_ERRORS):
            super().finish()

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except _QUIET_ERRORS:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> tuple[bytes, bool]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError(length)
        if length > _READ_LIMIT:
            return b"", True
        return self.rfile.read(length), False

    def _read_chunked(self) -> tuple[bytes, bool]:
        parts: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts), False
            total += size
            if total > _READ_LIMIT:
                raise _BodyTooLargeError
            parts.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _dispatch(self) -> None:
        try:
            body, unread = self._read_body()
        except _BodyTooLargeError:
            self._send(Response(413, b"", None, close=True))
            return
        except ValueError:  # a malformed Content-Length or chunk size
            self._send(Response(400, b"", None, close=True))
            return
        request = Request(
            listener=self.server.listener.name,
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            body_unread=unread,
            client=self.client_address[0],
        )
        response = self.server.listener.app(request)
        self._send(response, head_only=self.command == "HEAD")
        if response.after is not None:
            self.wfile.flush()
            response.after()

    # The names BaseHTTPRequestHandler dispatches to.
    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = _dispatch  # noqa: N815

    def _send(self, response: Response, *, head_only: bool = False) -> None:
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        close = self.close_connection or response.close
        self.close_connection = close
        phrase = _PHRASES.get(response.status, "Unknown")
        lines = [
            f"HTTP/1.1 {response.status} {phrase}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
            *self.server.listener.response_headers,
            *(f"{name}: {value}" for name, value in response.headers),
        ]
        if response.content_type and not any(name.lower() == "content-type" for name, _ in response.headers):
            lines.append(f"Content-Type: {response.content_type}")
        lines.append("Connection: Close" if close else "Connection: Keep-Alive")
        body = response.body
        if isinstance(body, bytes | bytearray):
            lines.append(f"Content-Length: {len(body)}")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.wfile.write(head if head_only else head + body)
            return
        lines.append("Transfer-Encoding: chunked")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        for chunk in body:
            if chunk:
                self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


class Listener:
    """One port: serves ``app`` over HTTP or HTTPS and can be closed and reopened on the same port."""

    def __init__(
        self,
        name: str,
        app: App,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        response_headers: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.app = app
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.response_headers = response_headers
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The base URL, e.g. ``https://127.0.0.1:8088``."""
        scheme = "https" if self.ssl_context else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def open(self) -> None:
        """Bind (the first time on ``port``, 0 = a free port; later on the same port) and serve."""
        with self._lock:
            if self._server is not None:
                return
            server = _Server((self.host, self.port), self)
            self.port = server.server_address[1]
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"emulator-{self.name}:{self.port}",
                daemon=True,
            )
            self._thread.start()

    def close(self) -> None:
        """Stop accepting (new connections are refused) and cut every open connection."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            connections = list(self._connections)
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def track(self, connection: socket.socket) -> None:
        """Remember an accepted connection so that :meth:`close` can cut it."""
        with self._lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        """Forget a finished connection."""
        with self._lock:
            self._connections.discard(connection)
