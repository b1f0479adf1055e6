"""Searches through splunk-sdk: connection, result streaming, and error translation."""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splunklib import binding, client, results

from dsdl_golden._splunk.errors import (
    SplunkAuthenticationError,
    SplunkConfigError,
    SplunkConnectionError,
    SplunkSearchError,
    SplunkTimeoutError,
)
from dsdl_golden.config import Secret, Settings

JOB_PAGE_ROWS = 50_000  # splunkd's default maxresultrows per results request


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


def _tls_arguments(verify: bool | Path) -> dict[str, Any]:
    if verify is False:
        return {"verify": False}
    cafile = str(verify) if isinstance(verify, Path) else None
    return {"verify": True, "context": ssl.create_default_context(cafile=cafile)}


def connect(access: Access, *, timeout: float) -> client.Service:
    """A splunk-sdk ``Service`` for ``access`` (token as ``Bearer``, or username/password login)."""
    credentials: dict[str, str] = (
        {"username": access.username, "password": access.password.reveal()}
        if access.username and access.password
        else {"splunkToken": access.token.reveal()}
    )
    with translated_errors(access):
        return client.connect(
            host=access.host,
            port=access.port,
            scheme="https",
            autologin=True,
            timeout=timeout,
            **credentials,
            **_tls_arguments(access.verify),
        )


def _splunk_messages(body: bytes | str) -> str:
    """Splunk's error texts from a JSON or XML error body."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        messages = json.loads(text).get("messages", [])
        return "; ".join(str(message.get("text")) for message in messages) or text
    return text.strip()


@contextlib.contextmanager
def translated_errors(access: Access) -> Iterator[None]:
    """Turn splunk-sdk, socket and TLS errors into connector errors that say what to fix."""
    try:
        yield
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
            f"Splunk answered HTTP {error.status}: {_splunk_messages(error.body)}"
        ) from None
    except ssl.SSLCertVerificationError as error:
        raise SplunkConnectionError(
            f"TLS verification of {access.url} failed ({error.verify_message}): set GOLDEN_TLS_VERIFY to the "
            "path of the CA bundle that signed Splunk's certificate"
        ) from None
    except TimeoutError:
        raise SplunkTimeoutError(f"Splunk at {access.url} did not answer in time") from None
    except OSError as error:
        raise SplunkConnectionError(
            f"cannot reach Splunk at {access.url}: {error.strerror or error}"
        ) from None


def _raise_on_errors(messages: list[dict[str, Any]]) -> None:
    errors = [str(message.get("text")) for message in messages if message.get("type") in ("FATAL", "ERROR")]
    if errors:
        raise SplunkSearchError("; ".join(errors))


Deadline = Callable[[], None]


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


def export_rows(
    service: client.Service, query: str, *, earliest: str, latest: str, check: Deadline
) -> Iterator[dict[str, Any]]:
    """Stream final result rows from ``search/jobs/export`` (one request, NDJSON parsed per block)."""
    body = service.jobs.export(query, earliest_time=earliest, latest_time=latest, output_mode="json")
    for items in _ndjson_blocks(body):
        check()
        for item in items:
            _raise_on_errors(item.get("messages") or [])
            if "result" in item and not item.get("preview", False):
                yield item["result"]


def job_rows(
    service: client.Service, query: str, *, earliest: str, latest: str, check: Deadline
) -> Iterator[dict[str, Any]]:
    """Run a search job, wait for it, then page through its results with ``JSONResultsReader``."""
    job = service.jobs.create(query, earliest_time=earliest, latest_time=latest, exec_mode="normal")
    try:
        while not job.is_done():
            check()
            time.sleep(0.05)
    except SplunkTimeoutError:
        job.cancel()
        raise
    if job["isFailed"] == "1":
        _raise_on_errors(job["messages"] if isinstance(job["messages"], list) else [])
        raise SplunkSearchError(f"search job {job.sid} failed")
    offset = 0
    while True:
        page = results.JSONResultsReader(job.results(output_mode="json", count=JOB_PAGE_ROWS, offset=offset))
        rows = 0
        for item in page:
            if isinstance(item, results.Message):
                _raise_on_errors([{"type": item.type, "text": item.message}])
            else:
                rows += 1
                yield item
        check()
        if rows < JOB_PAGE_ROWS:
            return
        offset += rows


def deadline(seconds: float, query: str) -> Deadline:
    """A check that raises :class:`SplunkTimeoutError` once ``seconds`` have passed."""
    end = time.monotonic() + seconds

    def check() -> None:
        if time.monotonic() > end:
            raise SplunkTimeoutError(f"search did not finish within timeout={seconds:g} s: {query[:200]!r}")

    return check
