"""HTTP Event Collector transport: one keep-alive connection, gzip, and reply classification."""

from __future__ import annotations

import enum
import gzip
import json
import logging
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3

from dsdl_golden._proxy import proxy_for
from dsdl_golden._replies import body_summary
from dsdl_golden.config import Secret, has_credentials, without_credentials

logger = logging.getLogger("dsdl_golden.telemetry")

EVENT_PATH = "/services/collector/event"
ACK_PATH = "/services/collector/ack"
HEALTH_PATH = "/services/collector/health"

# HEC codes that say the server is busy or broken (retry), and the ones that say our configuration
# is wrong (retrying at once cannot help). Codes and statuses from the HEC reply table.
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHANNEL_MISSING = 10
_EVENT_ERRORS = frozenset({6, 7, 12, 13, 15})


class Verdict(enum.Enum):
    """What the sender does with a batch after a reply."""

    ACCEPTED = "accepted"  # every event is in
    RETRY = "retry"  # nothing is in; send the same batch again after a backoff
    SPLIT = "split"  # too large: send it in halves
    BAD_EVENT = "bad_event"  # events before `bad_event` are in; that one is rejected for good
    NEED_CHANNEL = "need_channel"  # the token uses indexer acknowledgement: send with a channel
    CONFIGURATION = "configuration"  # URL, token or index configuration is wrong: pause and alert


@dataclass(frozen=True)
class Reply:
    """An HEC answer, or a connection failure (``status`` 0)."""

    status: int
    code: int | None = None
    text: str = ""
    invalid_event: int | None = None
    ack_id: int | None = None
    retry_after: float | None = None
    acks: dict[str, bool] | None = None

    @property
    def verdict(self) -> Verdict:
        """Classify the reply (rules of the HEC client retry table)."""
        if 200 <= self.status < 300:
            return Verdict.ACCEPTED
        if self.status == 0 or self.status in _RETRY_STATUSES:
            return Verdict.RETRY
        if self.status == 413:
            return Verdict.SPLIT
        if self.code == _CHANNEL_MISSING:
            return Verdict.NEED_CHANNEL
        if self.status == 400 and self.code in _EVENT_ERRORS and self.invalid_event is not None:
            return Verdict.BAD_EVENT
        return Verdict.CONFIGURATION

    @property
    def bad_event(self) -> int:
        """Zero-based position of the rejected event (code 7 reports one more than the position)."""
        assert self.invalid_event is not None
        return self.invalid_event - 1 if self.code == 7 else self.invalid_event

    def describe(self) -> str:
        """A log-safe one-line description (never contains the token)."""
        if self.status == 0:
            return f"connection failed: {self.text}"
        return f"HTTP {self.status} code={self.code} {self.text!r}"


def _parse_reply(
    status: int,
    body: bytes,
    retry_after: str | None,
    content_type: str | None = None,
    secrets: tuple[str, ...] = (),
) -> Reply:
    """HEC's JSON answer; a body that is not (a proxy's HTML page) becomes a one-line summary."""
    try:
        data: Any = json.loads(body) if body else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return Reply(
        status=status,
        code=data.get("code") if isinstance(data.get("code"), int) else None,
        text=str(data.get("text", ""))[:200] if data else _summary(content_type, body, secrets),
        invalid_event=data.get("invalid-event-number"),
        ack_id=data.get("ackId"),
        retry_after=_seconds(retry_after),
        acks=data.get("acks") if isinstance(data.get("acks"), dict) else None,
    )


def _summary(content_type: str | None, body: bytes, secrets: tuple[str, ...]) -> str:
    return body_summary(content_type, body, secrets) if body else ""


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


_clear_text_warned: set[str] = set()
_clear_text_lock = threading.Lock()


def _warn_if_clear_text(base_url: str) -> None:
    """Warn once per process and URL that an ``http://`` HEC URL sends the token unencrypted."""
    if urlsplit(base_url).scheme.lower() != "http":
        return
    with _clear_text_lock:
        if base_url in _clear_text_warned:
            return
        _clear_text_warned.add(base_url)
    logger.warning(
        "splunk_hec_url is %s: the HEC token and every event travel in clear text; "
        "use an https:// URL (HEC's default)",
        base_url,
    )


def tls_pool_arguments(verify: bool | Path) -> dict[str, Any]:
    """urllib3 pool arguments for ``verify`` (True: system CAs, False: none, Path: CA bundle)."""
    if verify is False:
        return {"cert_reqs": ssl.CERT_NONE, "assert_hostname": False}
    if isinstance(verify, Path):
        return {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(verify)}
    return {"cert_reqs": ssl.CERT_REQUIRED}


class HecTransport:
    """Posts pre-serialised events to one HEC endpoint over a kept-alive connection."""

    def __init__(
        self, base_url: str, token: Secret, *, verify: bool | Path = True, timeout: float = 10.0
    ) -> None:
        if has_credentials(base_url):
            raise ValueError(
                f"the HEC URL {without_credentials(base_url)!r} contains a user name or password: "
                "remove them (HEC authenticates with the token in splunk_hec_token)"
            )
        self.base_url = base_url.rstrip("/")
        _warn_if_clear_text(self.base_url)
        self.timeout = timeout
        self._token = token
        self._channel: str | None = None
        pool_arguments: dict[str, Any] = {
            "num_pools": 1,
            "maxsize": 1,
            "retries": False,
            "timeout": urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            **tls_pool_arguments(verify),
        }
        proxy = proxy_for(self.base_url)
        self._pool = (
            urllib3.PoolManager(**pool_arguments)
            if proxy is None
            else urllib3.ProxyManager(proxy.url, proxy_headers=proxy.headers, **pool_arguments)
        )
        if proxy is not None:
            logger.info("HEC %s is reached through the proxy %s (HTTPS_PROXY)", self.base_url, proxy.url)
        if verify is False:
            logger.warning("TLS verification of %s is off (GOLDEN_TLS_VERIFY)", self.base_url)

    def __repr__(self) -> str:
        return f"HecTransport({self.base_url!r})"

    @property
    def channel(self) -> str | None:
        """The indexer-acknowledgement channel, once the token asked for one."""
        return self._channel

    def open_channel(self) -> None:
        """Send every later request on a new channel (tokens with indexer acknowledgement)."""
        self._channel = str(uuid.uuid4())

    def _headers(self, *, gzipped: bool) -> dict[str, str]:
        headers = {"Authorization": f"Splunk {self._token.reveal()}", "Content-Type": "application/json"}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        if self._channel:
            headers["X-Splunk-Request-Channel"] = self._channel
        return headers

    def _request(self, method: str, path: str, body: bytes | None = None, *, gzipped: bool = False) -> Reply:
        try:
            response = self._pool.request(
                method,
                self.base_url + path,
                body=body,
                headers=self._headers(gzipped=gzipped),
                preload_content=True,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as error:
            return Reply(status=0, text=f"{type(error).__name__}: {str(error)[:300]}")
        return _parse_reply(
            response.status,
            response.data,
            response.headers.get("Retry-After"),
            response.headers.get("Content-Type"),
            (self._token.reveal(),),
        )

    @staticmethod
    def encode(events: list[bytes], *, compress: bool = True) -> bytes:
        """The request body for events (serialised JSON objects), gzipped when ``compress``."""
        body = b"\n".join(events)
        return gzip.compress(body, compresslevel=1, mtime=0) if compress else body

    def send(self, body: bytes, *, compressed: bool = True) -> Reply:
        """Post a body made by :meth:`encode`."""
        return self._request("POST", EVENT_PATH, body, gzipped=compressed)

    def post(self, events: list[bytes], *, compress: bool = True) -> Reply:
        """Post events (serialised JSON objects) as one batch."""
        return self.send(self.encode(events, compress=compress), compressed=compress)

    def acknowledged(self, ack_ids: list[int]) -> set[int]:
        """The ids among ``ack_ids`` that Splunk reports indexed (empty on any failure)."""
        reply = self._request("POST", ACK_PATH, json.dumps({"acks": ack_ids}).encode())
        return {int(key) for key, done in (reply.acks or {}).items() if done}

    def wait_for_ack(self, ack_id: int, timeout: float, stop: threading.Event | None = None) -> bool:
        """Poll ``/ack`` until ``ack_id`` is indexed (True) or ``timeout`` passes or ``stop`` is set."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        stop = stop or threading.Event()
        while time.monotonic() < deadline:
            if ack_id in self.acknowledged([ack_id]):
                return True
            if stop.wait(delay):
                return False
            delay = min(delay * 2, 1.0)
        logger.warning("HEC did not acknowledge ackId %d within %.0f s", ack_id, timeout)
        return False

    def health(self) -> Reply:
        """GET the collector health endpoint."""
        return self._request("GET", HEALTH_PATH)

    def close(self) -> None:
        """Close the connection."""
        self._pool.clear()
