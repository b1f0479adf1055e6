"""Splunk data access for notebooks and models: search into a DataFrame, send results back, check setup.

Configuration comes from DSDL's environment (:mod:`dsdl_golden.config`): ``splunk_access_*`` for
searches, ``splunk_hec_*`` for sending; every setting can be overridden by an argument::

    from dsdl_golden import splunk_connector as splunk

    print(splunk.validate_splunk_config())
    frame = splunk.get_data("index=web status>=500", earliest="-4h")
    report = splunk.send_results(predictions, index="ml_results", sourcetype="churn:scores")
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from dsdl_golden._splunk.errors import (
    SplunkAuthenticationError,
    SplunkConfigError,
    SplunkConnectionError,
    SplunkConnectorError,
    SplunkRowLimitError,
    SplunkSearchError,
    SplunkTimeoutError,
)
from dsdl_golden._splunk.frames import rows_to_frame
from dsdl_golden._splunk.query import prepare_query
from dsdl_golden._splunk.search import (
    access_from,
    connect,
    deadline,
    export_rows,
    job_rows,
    translated_errors,
)
from dsdl_golden._splunk.send import SendReport, rows_as_events, send_events
from dsdl_golden._splunk.validation import CHECKS, ValidationReport
from dsdl_golden._telemetry.hec import HecTransport
from dsdl_golden.config import Secret, Settings, load_settings

__all__ = [
    "SendReport",
    "SplunkAuthenticationError",
    "SplunkConfigError",
    "SplunkConnectionError",
    "SplunkConnectorError",
    "SplunkRowLimitError",
    "SplunkSearchError",
    "SplunkTimeoutError",
    "ValidationReport",
    "get_data",
    "send_results",
    "validate_splunk_config",
]

_STRATEGIES = {"export": export_rows, "job": job_rows}


def _progress_wanted(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return "ipykernel" in sys.modules or sys.stderr.isatty()


def _counted(rows: Iterator[dict[str, Any]], enabled: bool) -> Iterator[dict[str, Any]]:
    if not enabled:
        yield from rows
        return
    from tqdm.auto import tqdm

    with tqdm(desc="Splunk rows", unit=" rows", leave=False) as bar:
        for row in rows:
            bar.update()
            yield row


def get_data(
    query: str,
    *,
    earliest: str = "-24h@h",
    latest: str = "now",
    max_rows: int | None = None,
    timeout: float = 300.0,
    fields: Sequence[str] | None = None,
    method: str = "job",
    progress: bool | None = None,
    settings: Settings | None = None,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> pd.DataFrame:
    """Run an SPL search and return its results as a typed DataFrame.

    Queries that start with neither ``search`` nor ``|`` get ``search `` in front. Numbers come
    back as numbers, ``_time`` as tz-aware UTC datetimes, multivalue fields as lists. ``method`` is
    ``"job"`` (search job + pages of 50,000 rows; measured faster, see benchmarks/test_bench_connector.py)
    or ``"export"`` (one streaming request, nothing left on the server). Raises
    :class:`SplunkSearchError` with Splunk's message, :class:`SplunkAuthenticationError`,
    :class:`SplunkTimeoutError` after ``timeout`` seconds, :class:`SplunkRowLimitError` when the
    search returns more than ``max_rows`` rows, :class:`SplunkConfigError` when access is off.
    """
    if method not in _STRATEGIES:
        raise ValueError(f"method={method!r}: use 'export' or 'job'")
    access = access_from(
        settings or load_settings(), host=host, port=port, token=token, username=username, password=password
    )
    spl = prepare_query(query, fields=fields, max_rows=max_rows)
    check = deadline(timeout, spl)
    service = connect(access, deadline=check)
    with translated_errors(access, check):
        stream = _STRATEGIES[method](service, spl, earliest=earliest, latest=latest, check=check)
        rows = list(_counted(stream, _progress_wanted(progress)))
    if max_rows is not None and len(rows) > max_rows:
        raise SplunkRowLimitError(
            f"the search returned more than max_rows={max_rows} rows: narrow the search "
            "(time range, filters, | head) or raise max_rows"
        )
    return rows_to_frame(rows, fields)


def send_results(
    df: pd.DataFrame,
    *,
    index: str | None = None,
    sourcetype: str | None = None,
    source: str | None = None,
    host: str | None = None,
    time_field: str | None = "_time",
    batch_events: int = 1000,
    batch_bytes: int = 800_000,
    retries: int = 5,
    timeout: float = 30.0,
    settings: Settings | None = None,
    hec_url: str | None = None,
    token: str | None = None,
) -> SendReport:
    """Send each row of ``df`` as one HEC event, in order, and report what arrived.

    ``time_field`` (datetimes, epoch seconds or ISO strings) becomes the event time. Rows HEC rejects
    are listed with their row number and Splunk's reason; nothing is dropped silently. Defaults:
    the events index and sourcetype of the settings, source ``dsdl-golden``.
    """
    config = settings or load_settings()
    url = hec_url or config.splunk_hec_url
    secret = Secret(token) if token is not None else config.splunk_hec_token
    if not url or not secret:
        raise SplunkConfigError(
            "HEC is not configured: set splunk_hec_url and splunk_hec_token, or pass hec_url= and token="
        )
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df is a {type(df).__name__}: give a pandas DataFrame")
    envelope = {
        "index": index or config.events_index,
        "sourcetype": sourcetype or config.sourcetype,
        "source": source or "dsdl-golden",
        **({"host": host} if host else {}),
    }
    events = list(rows_as_events(df, envelope, time_field))
    try:
        transport = HecTransport(url, secret, verify=config.tls_verify, timeout=timeout)
    except ValueError as error:  # a user name or password in the URL
        raise SplunkConfigError(f"hec_url/splunk_hec_url: {error}") from None
    try:
        return send_events(
            transport, events, batch_events=batch_events, batch_bytes=batch_bytes, retries=retries
        )
    finally:
        transport.close()


def validate_splunk_config(
    settings: Settings | None = None, *, strict: bool = False, timeout: float = 5.0
) -> ValidationReport:
    """Check HEC and REST access: enabled, configured, reachable, token valid, TLS.

    Returns a report that prints well in a notebook; ``strict=True`` raises
    :class:`SplunkConfigError` listing every problem instead.
    """
    config = settings or load_settings()
    report = ValidationReport([check for checks in CHECKS for check in checks(config, timeout)])
    if strict:
        report.raise_for_problems()
    return report
