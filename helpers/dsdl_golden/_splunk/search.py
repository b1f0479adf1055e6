"""Searches through splunk-sdk: connection, result streaming, and error translation."""

from __future__ import annotations

import contextlib
import html
import http.client
import json
import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import splunklib
from splunklib import binding, client, results

from dsdl_golden._proxy import Proxy, proxy_for
from dsdl_golden._replies import body_summary
from dsdl_golden._splunk.errors import (
    SplunkAuthenticationError,
    SplunkConfigError,
    SplunkConnectionError,
    SplunkConnectorError,
    SplunkSearchError,
    SplunkTimeoutError,
)
from dsdl_golden.config import Secret, Settings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

JOB_PAGE_ROWS = 50_000  # splunkd's default maxresultrows per results request
_XML_MSG = re.compile(r"<msg\b[^>]*>(.*?)</msg>", re.DOTALL)
_XML_TAG = re.compile(r"<[^>]*>")
_CANCEL_SECONDS = 5.0  # time allowed to the request cancelling a job that timed out
_TOO_SLOW = "stopped answering or answered too slowly"


@dataclass(frozen=True)
class Access:
    """Where and how to reach splunkd's REST API."""

    host: str
    port: int
    token: Secret
    verify: bool | Path
    username: str | None = None
    password: Secret | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"


def access_from(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> Access:
    """Access details from the DSDL settings, each overridable by an argument."""
    explicit = host is not None or token is not None or username is not None
    if not settings.splunk_access_enabled and not explicit:
        raise SplunkConfigError(
            "Splunk access is off: enable it in DSDL (splunk_access_enabled=1 with splunk_access_host and "
            "splunk_access_token) or pass host= and token= (or username= and password=)"
        )
    resolved_host = host or settings.splunk_access_host
    resolved_token = Secret(token) if token is not None else settings.splunk_access_token
    if not resolved_host:
        raise SplunkConfigError("no Splunk host: set splunk_access_host or pass host=")
    if not resolved_token and not (username and password):
        raise SplunkConfigError(
            "no Splunk credentials: set splunk_access_token or pass token= (or username/password)"
        )
    return Access(
        host=resolved_host,
        port=port or settings.splunk_access_port,
        token=resolved_token,
        verify=settings.tls_verify,
        username=username,
        password=Secret(password) if password is not None else None,
    )


class Deadline:
    """The time left for one piece of work (a search, a check): every request to splunkd may take
    only what remains, in all (see :func:`_bounded_socket_class`), and :meth:`check` raises once it
    is used up.

    Calling a deadline is :meth:`check`.
    """

    def __init__(self, seconds: float, what: str, detail: str = "") -> None:
        self.seconds = seconds
        self.what = what
        self.detail = detail
        self._end = time.monotonic() + seconds
        self._grace_end: float | None = None

    def remaining(self) -> float:
        """Seconds left (negative once past)."""
        return self._end - time.monotonic()

    def error(self, cause: str = "") -> SplunkTimeoutError:
        """The timeout error, naming the timeout, what stalled (when given) and how to wait longer."""
        detail = f": {self.detail}" if self.detail else ""
        because = f" ({cause})" if cause else ""
        return SplunkTimeoutError(
            f"{self.what} did not finish within timeout={self.seconds:g} s{detail}{because}; "
            "pass a larger timeout= to wait longer"
        )

    def check(self) -> None:
        """Raise :class:`SplunkTimeoutError` once the time is used up."""
        if self.remaining() <= 0:
            raise self.error()

    __call__ = check

    def request_timeout(self) -> float:
        """The seconds requests may still take: what is left of the deadline, or of the grace period
        of a clean-up; :class:`SplunkTimeoutError` when nothing is left."""
        end = self._end if self._grace_end is None else self._grace_end
        left = end - time.monotonic()
        if left <= 0:
            raise self.error()
        return left

    @contextlib.contextmanager
    def grace(self, seconds: float) -> Iterator[None]:
        """Requests inside get ``seconds`` in all, past the deadline (to cancel a job that timed out)."""
        self._grace_end = time.monotonic() + seconds
        try:
            yield
        finally:
            self._grace_end = None


def _bounded_socket_class(deadline: Deadline) -> type[ssl.SSLSocket]:
    """An ``SSLSocket`` class whose handshake, reads and writes may take only what is left of
    ``deadline``; past it they raise ``TimeoutError``.

    A socket timeout bounds each read on its own: a server sending a byte a second never trips it.
    Setting it to the time left before every operation bounds the whole request, including the
    reads of a response that splunk-sdk streams after its handler returned.
    """

    class BoundedSocket(ssl.SSLSocket):
        def _bound(self) -> None:
            try:
                self.settimeout(deadline.request_timeout())
            except SplunkTimeoutError:
                raise TimeoutError("the deadline passed") from None

        def do_handshake(self, block: bool = False) -> None:
            self._bound()
            super().do_handshake(block)

        def read(self, len: int = 1024, buffer: WriteableBuffer | None = None) -> bytes:
            self._bound()
            return super().read(len, buffer)

        def send(self, data: ReadableBuffer, flags: int = 0) -> int:
            self._bound()
            return super().send(data, flags)

    return BoundedSocket


def _tls_context(verify: bool | Path, deadline: Deadline) -> ssl.SSLContext:
    """The client TLS context of the requests bounded by ``deadline`` (``verify``: True for the
    system CAs, False for none, a path for a CA bundle)."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=str(verify) if isinstance(verify, Path) else None)
    context.sslsocket_class = _bounded_socket_class(deadline)
    return context


def _tunnelled_handler(
    proxy: Proxy, context: ssl.SSLContext, timeout: float
) -> Callable[..., dict[str, Any]]:
    """splunk-sdk's default handler, through ``proxy``: a ``CONNECT`` tunnel, TLS to Splunk inside it."""

    def request(url: str, message: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        target = urlsplit(url)
        connection = http.client.HTTPSConnection(proxy.host, proxy.port, timeout=timeout, context=context)
        connection.set_tunnel(target.hostname or "", target.port or 443, headers=proxy.headers)
        body = message.get("body", "")
        headers = {
            "Content-Length": str(len(body)),
            "Host": target.hostname or "",
            "User-Agent": f"splunk-sdk-python/{splunklib.__version__}",
            "Accept": "*/*",
            "Connection": "Close",
            **dict(message["headers"]),
        }
        try:
            connection.request(message.get("method", "GET"), urlunsplit(("", "", *target[2:])), body, headers)
            response = connection.getresponse()
        except OSError as error:
            connection.close()
            if isinstance(error, TimeoutError | ssl.SSLError):
                raise
            raise OSError(f"through the proxy {proxy.url}: {error}") from None
        return {
            "status": response.status,
            "reason": response.reason,
            "headers": response.getheaders(),
            "body": binding.ResponseReader(response),
        }

    return request


def _timed_handler(access: Access, deadline: Deadline) -> Callable[..., dict[str, Any]]:
    """A splunk-sdk HTTP handler whose every request, from connecting to the last byte of the
    response, is bounded by ``deadline`` (splunk-sdk's default handler has no timeout at all: a
    stalled splunkd would block forever), through the proxy of ``HTTPS_PROXY`` unless ``NO_PROXY``
    names Splunk's host."""
    context = _tls_context(access.verify, deadline)
    proxy = proxy_for(access.url)

    def request(url: str, message: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        send = (
            binding.handler(timeout=deadline.request_timeout(), verify=True, context=context)
            if proxy is None
            else _tunnelled_handler(proxy, context, deadline.request_timeout())
        )
        try:
            response: dict[str, Any] = send(url, message, **kwargs)
        except TimeoutError:
            raise deadline.error(f"Splunk at {access.url} {_TOO_SLOW}") from None
        return response

    return request


def connect(access: Access, *, deadline: Deadline) -> client.Service:
    """A splunk-sdk ``Service`` for ``access`` (token as ``Bearer``, or username/password login);
    each of its requests is bounded by ``deadline``."""
    credentials: dict[str, str] = (
        {"username": access.username, "password": access.password.reveal()}
        if access.username and access.password
        else {"splunkToken": access.token.reveal()}
    )
    with translated_errors(access, deadline):
        return client.connect(
            handler=_timed_handler(access, deadline),
            host=access.host,
            port=access.port,
            scheme="https",
            autologin=True,
            **credentials,
        )


def _xml_messages(text: str) -> str | None:
    """The texts of the ``<msg>`` elements of a splunkd XML error body (None if there are none).

    A pattern, not an XML parser: the body comes from the network and only these elements matter.
    """
    texts = [" ".join(html.unescape(_XML_TAG.sub("", found)).split()) for found in _XML_MSG.findall(text)]
    texts = [found for found in texts if found]
    return "; ".join(texts) if texts else None


def _splunk_messages(error: binding.HTTPError, access: Access) -> str:
    """Splunk's error texts from a JSON or XML error body (never the raw XML); any other body, such
    as a proxy's HTML page, as a one-line :func:`body_summary` with the credentials masked."""
    text = error.body.decode("utf-8", "replace") if isinstance(error.body, bytes) else str(error.body)
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        messages = json.loads(text).get("messages", [])
        texts = "; ".join(str(message.get("text")) for message in messages)
        if texts:
            return texts
    found = _xml_messages(text) if text.lstrip().startswith("<") else None
    if found:
        return found
    content_type = next((value for name, value in error.headers if name.lower() == "content-type"), None)
    secrets = [access.token.reveal(), access.password.reveal() if access.password else ""]
    return body_summary(content_type, text.encode(), secrets)


@contextlib.contextmanager
def translated_errors(access: Access, deadline: Deadline | None = None) -> Iterator[None]:
    """Turn splunk-sdk, socket and TLS errors into connector errors that say what to fix."""
    try:
        yield
    except SplunkConnectorError:
        raise
    except (binding.AuthenticationError, binding.HTTPError) as error:
        if error.status == 401:
            raise SplunkAuthenticationError(
                f"Splunk at {access.url} refused the credentials (HTTP 401): check splunk_access_token "
                "(a Splunk authentication token) or the username and password"
            ) from None
        if error.status == 403:
            raise SplunkAuthenticationError(
                f"Splunk at {access.url} denied the request (HTTP 403): the token's user lacks the capability"
            ) from None
        raise SplunkSearchError(
            f"Splunk answered HTTP {error.status}: {_splunk_messages(error, access)}"
        ) from None
    except ssl.SSLCertVerificationError as error:
        raise SplunkConnectionError(
            f"TLS verification of {access.url} failed ({error.verify_message}): set GOLDEN_TLS_VERIFY to the "
            "path of the CA bundle that signed Splunk's certificate"
        ) from None
    except TimeoutError:
        if deadline is not None:
            raise deadline.error(f"Splunk at {access.url} {_TOO_SLOW}") from None
        raise SplunkTimeoutError(f"Splunk at {access.url} did not answer in time") from None
    except OSError as error:
        raise SplunkConnectionError(
            f"cannot reach Splunk at {access.url}: {error.strerror or error}"
        ) from None


def _raise_on_errors(messages: list[dict[str, Any]]) -> None:
    errors = [str(message.get("text")) for message in messages if message.get("type") in ("FATAL", "ERROR")]
    if errors:
        raise SplunkSearchError("; ".join(errors))


def _job_messages(messages: object) -> list[dict[str, Any]]:
    """A job entry's ``messages`` as ``[{"type", "text"}]``: splunk-sdk gives a dict of type (lower
    case) to one text or a list of texts, e.g. ``{"fatal": ["Error in 'x' command: ..."]}``."""
    if isinstance(messages, list):
        return [message for message in messages if isinstance(message, dict)]
    if not isinstance(messages, dict):
        return []
    return [
        {"type": str(kind).upper(), "text": text}
        for kind, texts in messages.items()
        for text in (texts if isinstance(texts, list) else [texts])
    ]


def _ndjson_blocks(body: Any, block_bytes: int = 1 << 20) -> Iterator[list[dict[str, Any]]]:
    """Parse a newline-delimited JSON stream a block at a time (one JSON parse per block)."""
    pending = b""
    while True:
        chunk = body.read(block_bytes)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop() if chunk else b""
        complete = [line for line in lines if line.strip()]
        if complete:
            yield json.loads(b"[" + b",".join(complete) + b"]")
        if not chunk:
            return


def export_pages(
    service: client.Service, query: str, *, earliest: str, latest: str, check: Deadline
) -> Iterator[list[dict[str, Any]]]:
    """Stream final result rows from ``search/jobs/export`` (one request, NDJSON parsed per block),
    a list of rows per block read."""
    body = service.jobs.export(query, earliest_time=earliest, latest_time=latest, output_mode="json")
    for items in _ndjson_blocks(body):
        check()
        page = []
        for item in items:
            _raise_on_errors(item.get("messages") or [])
            if "result" in item and not item.get("preview", False):
                page.append(item["result"])
        yield page


def job_pages(
    service: client.Service,
    query: str,
    *,
    earliest: str,
    latest: str,
    check: Deadline,
    on_job: Callable[[str], object] = lambda sid: None,
) -> Iterator[list[dict[str, Any]]]:
    """Run a search job (its sid goes to ``on_job``), wait for it, then page through its results
    with ``JSONResultsReader``, a list of rows per page."""
    job = service.jobs.create(query, earliest_time=earliest, latest_time=latest, exec_mode="normal")
    on_job(job.sid)
    try:
        while not job.is_done():
            check()
            time.sleep(min(0.05, max(check.remaining(), 0.0)))
    except SplunkTimeoutError:
        with (
            check.grace(_CANCEL_SECONDS),
            contextlib.suppress(SplunkConnectorError, binding.HTTPError, OSError),
        ):
            job.cancel()
        raise
    if job["isFailed"] == "1":
        messages = _job_messages(job.content.get("messages"))
        _raise_on_errors(messages)
        texts = "; ".join(str(message.get("text")) for message in messages)
        raise SplunkSearchError(f"search job {job.sid} failed" + (f": {texts}" if texts else ""))
    # Pages until the job's resultCount: splunkd may serve fewer than JOB_PAGE_ROWS per page (its
    # limits.conf maxresultrows), so a short page does not mean the last one.
    total = int(job["resultCount"] or 0)
    offset = 0
    while True:
        reader = results.JSONResultsReader(
            job.results(output_mode="json", count=JOB_PAGE_ROWS, offset=offset)
        )
        page = []
        for item in reader:
            if isinstance(item, results.Message):
                _raise_on_errors([{"type": item.type, "text": item.message}])
            else:
                page.append(item)
        check()
        yield page
        offset += len(page)
        if not page or offset >= total:
            return


def deadline(seconds: float, query: str) -> Deadline:
    """The :class:`Deadline` of a search: :class:`SplunkTimeoutError` once ``seconds`` have passed."""
    return Deadline(seconds, "search", repr(query[:200]))
