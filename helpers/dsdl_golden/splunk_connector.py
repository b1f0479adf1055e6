"""Splunk data access for notebooks and models: search into a DataFrame, send results back, check setup.

Configuration comes from DSDL's environment (:mod:`dsdl_golden.config`): ``splunk_access_*`` for
searches, ``splunk_hec_*`` for sending; every setting can be overridden by an argument::

    from dsdl_golden import splunk_connector as splunk

    print(splunk.validate_splunk_config())
    frame = splunk.get_data("index=web status>=500", earliest="-4h")
    report = splunk.send_results(predictions, index="ml_results", sourcetype="churn:scores")
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import TypeVar

import pandas as pd

from dsdl_golden._splunk.empty import empty_result_message
from dsdl_golden._splunk.errors import (
    SplunkAuthenticationError,
    SplunkConfigError,
    SplunkConnectionError,
    SplunkConnectorError,
    SplunkEmptyResultWarning,
    SplunkIndexError,
    SplunkRowLimitError,
    SplunkSearchError,
    SplunkTimeoutError,
)
from dsdl_golden._splunk.frames import rows_to_frame
from dsdl_golden._splunk.progress import counted_pages, progress_wanted
from dsdl_golden._splunk.query import prepare_query, selected_columns
from dsdl_golden._splunk.search import (
    access_from,
    connect,
    deadline,
    export_pages,
    job_pages,
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
    "SplunkEmptyResultWarning",
    "SplunkIndexError",
    "SplunkRowLimitError",
    "SplunkSearchError",
    "SplunkTimeoutError",
    "ValidationReport",
    "get_data",
    "send_results",
    "validate_splunk_config",
]

_METHODS = ("export", "job")
_T = TypeVar("_T")


def _one_of(ours: str, ours_value: _T | None, sdks: str, sdks_value: _T | None) -> _T | None:
    """The value given under our name or splunk-sdk's; both with different values is an error."""
    if ours_value is not None and sdks_value is not None and ours_value != sdks_value:
        raise ValueError(
            f"{ours}={ours_value!r} and {sdks}={sdks_value!r} name the same setting: keep one of them"
        )
    return ours_value if ours_value is not None else sdks_value


def _with_search(
    frame: pd.DataFrame, query: str, *, earliest: str, latest: str, sid: str | None, method: str
) -> pd.DataFrame:
    """``frame`` with the search that produced it in ``frame.attrs["splunk_search"]`` (read by the
    lifecycle's lineage)."""
    frame.attrs["splunk_search"] = {
        "query": query,
        "earliest": earliest,
        "latest": latest,
        "sid": sid,
        "rows": len(frame),
        "method": method,
    }
    return frame


def _row_cap(max_rows: int | None, count: int | None) -> int | None:
    """``max_rows``, or splunk-sdk's ``count`` (where 0 means no cap)."""
    return _one_of("max_rows", max_rows, "count", None if count == 0 else count)


def get_data(
    query: str,
    *,
    earliest: str | None = None,
    latest: str | None = None,
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
    earliest_time: str | None = None,
    latest_time: str | None = None,
    count: int | None = None,
) -> pd.DataFrame:
    """Run an SPL search and return its results as a typed DataFrame.

    Numbers come back as numbers, ``_time`` as tz-aware UTC datetimes, multivalue fields as lists.
    An empty result keeps the columns asked for (``fields=``, or a final ``| table``/``| fields``).

    Parameters
    ----------
    query : str
        The SPL search; one that starts with neither ``search`` nor ``|`` gets ``search `` in front.
    earliest, latest : str, optional
        The time range (Splunk time modifiers or ISO times); default ``"-24h@h"`` to ``"now"``.
        ``earliest="0"`` searches all time.
    max_rows : int, optional
        Raise :class:`SplunkRowLimitError` when the search returns more rows; default no cap.
    timeout : float, default 300
        Seconds the whole search may take.
    fields : sequence of str, optional
        Keep only these fields, as columns in this order.
    method : {"job", "export"}, default "job"
        ``"job"``: a search job read in pages of 50,000 rows (measured faster, see
        benchmarks/test_bench_connector.py); ``"export"``: one streaming request, nothing left on
        the server.
    progress : bool, optional
        Show rows and pages received (default: in a notebook or on a terminal); the last line stays.
    settings : Settings, optional
        Default :func:`dsdl_golden.config.load_settings`.
    host, port, token, username, password : optional
        Override ``splunk_access_host``, ``splunk_access_port``, ``splunk_access_token``, or log in
        with a user name and password.
    earliest_time, latest_time, count : optional
        splunk-sdk's names of ``earliest``, ``latest`` and ``max_rows`` (``count=0``: no cap).
        Giving both names of one setting with different values raises ``ValueError``.

    Returns
    -------
    pandas.DataFrame
        One row per result, in Splunk's order. ``attrs["splunk_search"]`` holds the search: ``query``
        (the SPL run, with what ``fields`` and ``max_rows`` added), ``earliest``, ``latest``, ``sid``
        (the job's id with ``method="job"``, else None), ``rows`` and ``method``;
        ``lifecycle.fit`` records it in the model's lineage.

    Raises
    ------
    SplunkConfigError
        Splunk access is off or not configured.
    SplunkAuthenticationError
        Splunk refused the credentials.
    SplunkSearchError
        The search failed; the message is Splunk's.
    SplunkTimeoutError
        The search did not finish within ``timeout``.
    SplunkRowLimitError
        The search returned more than ``max_rows`` rows.
    SplunkConnectionError
        Splunk could not be reached, or its TLS certificate not verified.
    ValueError
        A bad ``method``, ``max_rows`` or ``fields``, an empty query, or two names of one setting.

    Warns
    -----
    SplunkEmptyResultWarning
        The search returned no rows: names the time range searched, how to widen it, and each
        index of the query that Splunk does not have.

    Examples
    --------
    >>> from dsdl_golden.emulator import SplunkEmulator
    >>> with SplunkEmulator() as splunkd:
    ...     splunkd.add_auth_token("example-token")
    ...     access = load_settings({"splunk_access_enabled": "1", "splunk_access_host": "127.0.0.1",
    ...         "splunk_access_port": str(splunkd.rest_port), "splunk_access_token": "example-token",
    ...         "GOLDEN_TLS_VERIFY": str(splunkd.ca_bundle)})
    ...     frame = get_data("| makeresults count=3", settings=access, progress=False)
    >>> len(frame)
    3
    """
    if method not in _METHODS:
        raise ValueError(f"method={method!r}: use 'export' or 'job'")
    earliest = _one_of("earliest", earliest, "earliest_time", earliest_time) or "-24h@h"
    latest = _one_of("latest", latest, "latest_time", latest_time) or "now"
    max_rows = _row_cap(max_rows, count)
    access = access_from(
        settings or load_settings(), host=host, port=port, token=token, username=username, password=password
    )
    spl = prepare_query(query, fields=fields, max_rows=max_rows)
    check = deadline(timeout, spl)
    service = connect(access, deadline=check)
    sids: list[str] = []  # the search job's id (method="job")
    strategy = functools.partial(job_pages, on_job=sids.append) if method == "job" else export_pages
    with translated_errors(access, check):
        pages = strategy(service, spl, earliest=earliest, latest=latest, check=check)
        rows = [row for page in counted_pages(pages, progress_wanted(progress)) for row in page]
    if max_rows is not None and len(rows) > max_rows:
        raise SplunkRowLimitError(
            f"the search returned more than max_rows={max_rows} rows: narrow the search "
            "(time range, filters, | head) or raise max_rows"
        )
    if not rows:
        message = empty_result_message(service, access, check, query, earliest=earliest, latest=latest)
        warnings.warn(message, SplunkEmptyResultWarning, stacklevel=2)
        frame = rows_to_frame(rows, fields or selected_columns(query))
    else:
        frame = rows_to_frame(rows, fields)
    sid = sids[0] if sids else None
    return _with_search(frame, spl, earliest=earliest, latest=latest, sid=sid, method=method)


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

    Rows HEC rejects are listed with their row number and Splunk's reason; nothing is dropped
    silently.

    Parameters
    ----------
    df : pandas.DataFrame
        One event per row; missing values are left out of the event.
    index, sourcetype, source, host : str, optional
        The events' metadata; default the settings' ``events_index`` and ``sourcetype``, source
        ``dsdl-golden``, and HEC's host.
    time_field : str or None, default "_time"
        The column (datetimes, epoch seconds or ISO strings) that becomes the event time.
    batch_events, batch_bytes : int
        Most events and bytes per HEC request.
    retries : int, default 5
        Retries of a batch HEC answers busy or unreachable.
    timeout : float, default 30
        Seconds per HEC request.
    settings : Settings, optional
        Default :func:`dsdl_golden.config.load_settings`.
    hec_url, token : str, optional
        Override ``splunk_hec_url`` and ``splunk_hec_token``.

    Returns
    -------
    SendReport
        Rows sent, and each failed row with its number and reason.

    Raises
    ------
    SplunkConfigError
        HEC is not configured, or the URL holds credentials.
    SplunkIndexError
        HEC refused the index (it does not exist or the token may not write to it); raised at the
        first batch, saying how many rows were not sent.
    TypeError
        ``df`` is not a DataFrame.

    Examples
    --------
    >>> from dsdl_golden.emulator import SplunkEmulator
    >>> with SplunkEmulator() as splunkd:
    ...     _ = splunkd.add_hec_token("example-hec-token", indexes=["ml_results"])
    ...     hec = load_settings({"splunk_hec_enabled": "1", "splunk_hec_url": splunkd.hec_url,
    ...         "splunk_hec_token": "example-hec-token", "GOLDEN_TLS_VERIFY": str(splunkd.ca_bundle)})
    ...     report = send_results(pd.DataFrame({"score": [0.1, 0.9]}), index="ml_results", settings=hec)
    >>> report.ok, report.sent
    (True, 2)
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
            transport,
            events,
            index=envelope["index"],
            batch_events=batch_events,
            batch_bytes=batch_bytes,
            retries=retries,
        )
    finally:
        transport.close()


def validate_splunk_config(
    settings: Settings | None = None, *, strict: bool = False, timeout: float = 5.0
) -> ValidationReport:
    """Check HEC and REST access (enabled, configured, reachable, token valid, TLS) and the indexes.

    The events and metrics indexes must exist and the HEC token may write to them; both are asked
    of splunkd (nothing is written) when Splunk access is configured, else reported "not checked".
    Each failed check says what is wrong and which setting to change.

    Parameters
    ----------
    settings : Settings, optional
        Default :func:`dsdl_golden.config.load_settings`.
    strict : bool, default False
        Raise instead of returning a report with problems.
    timeout : float, default 5
        Seconds each group of checks may take.

    Returns
    -------
    ValidationReport
        Every check (``ok``, ``FAIL`` or ``skip``); prints well in a notebook.

    Raises
    ------
    SplunkConfigError
        With ``strict=True``, listing every failed check.

    Examples
    --------
    >>> report = validate_splunk_config(load_settings({}))
    >>> report.ok, [check.name for check in report.problems]
    (False, ['hec.enabled', 'rest.enabled'])
    """
    config = settings or load_settings()
    report = ValidationReport([check for checks in CHECKS for check in checks(config, timeout)])
    if strict:
        report.raise_for_problems()
    return report
