"""``golden call fit|apply``: send a CSV file to a model API as Splunk's ``| fit`` / ``| apply`` would.

``golden call fit churn.csv --algo my_nb --target churn --model-name churn`` sends what
``| fit MLTKContainer algo=my_nb churn from <every other column> into app:churn`` sends
(``../shared/specs/dsdl-contract.md`` §2.4): the CSV of the selected columns as ``data`` and ``meta``
in Splunk's shape, every parameter value a string. The answer's status and message are printed,
then the results (the first rows as a table, or all of them to ``--output FILE`` as CSV).

Exit status: 0 for ``success`` and ``staged``, 1 for ``error`` (the model failed: the message says
why), 2 when the call could not be made or was refused (HTTP, TLS, token, connection), with one
line saying what to do. The token is sent as ``Authorization: Bearer <token>`` and never printed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from dsdl_golden._lifecycle.params import splunk_meta

__all__ = [
    "DEFAULT_URL",
    "CallFailedError",
    "Request",
    "build_meta",
    "parse_params",
    "run",
    "select_columns",
]

DEFAULT_URL: Final = "https://localhost:5000"
_ANSWER_STATUS: Final = {"success": 0, "staged": 0, "error": 1}
_CELL_WIDTH: Final = 32


class CallFailedError(Exception):
    """The call could not be made or was refused; ``str()`` is the one-line explanation."""


@dataclass(frozen=True)
class Request:
    """What to send: the endpoint (``fit`` or ``apply``), the CSV's columns and Splunk's options."""

    endpoint: str
    algo: str
    target: str | None
    features: tuple[str, ...]
    model_name: str | None
    params: Mapping[str, str]


def parse_params(items: Sequence[str]) -> dict[str, str]:
    """``["k=v", ...]`` as ``options.params``: values stay strings, quotes included (as SPL sends them)."""
    params: dict[str, str] = {}
    for item in items:
        key, separator, value = item.partition("=")
        key = key.strip()
        if not separator or not key or any(char.isspace() for char in key):
            raise CallFailedError(f"--param {item!r}: expected KEY=VALUE, e.g. --param n_estimators=300")
        if key == "algo":
            raise CallFailedError("--param algo=...: give the module with --algo NAME")
        params[key] = value
    return params


def build_meta(request: Request) -> dict[str, Any]:
    """``meta`` as Splunk sends it for this request (:func:`dsdl_golden._lifecycle.params.splunk_meta`)."""
    return splunk_meta(request.algo, request.features, request.target, request.model_name, request.params)


def read_header(text: str) -> list[str]:
    """The column names of the CSV ``text``; raises :class:`CallFailedError` when there are none."""
    header = next(csv.reader(io.StringIO(text)), [])
    if not header or not any(name.strip() for name in header):
        raise CallFailedError("the CSV file has no header row: its first line must name the columns")
    return header


def choose_columns(
    header: Sequence[str], target: str | None, features: Sequence[str] | None
) -> tuple[str, ...]:
    """The features: those asked for (each must be a column), else every column but the target."""
    missing = [name for name in [*(features or ()), *([target] if target else [])] if name not in header]
    if missing:
        raise CallFailedError(
            f"column {', '.join(map(repr, missing))} is not in the CSV; its columns: {', '.join(header)}"
        )
    chosen = [name for name in header if name != target] if not features else list(features)
    if target in chosen:
        raise CallFailedError(f"{target!r} is the target: leave it out of --features")
    if not chosen:
        raise CallFailedError("no feature column: the CSV has only the target column")
    return tuple(dict.fromkeys(chosen))


def select_columns(text: str, header: Sequence[str], columns: Sequence[str]) -> str:
    """The CSV ``text`` with ``columns`` only, in the file's order; the text itself when that is all."""
    keep = [index for index, name in enumerate(header) if name in set(columns)]
    if len(keep) == len(header):
        return text
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    for row in csv.reader(io.StringIO(text)):
        if row:
            writer.writerow([row[index] if index < len(row) else "" for index in keep])
    return output.getvalue()


def request_body(text: str, request: Request) -> bytes:
    """The JSON body ``{"data": <CSV>, "meta": {...}}``: fit sends the target and the features, apply
    the features (the columns the model reads), as Splunk does."""
    header = read_header(text)
    columns = [*request.features]
    if request.endpoint == "fit" and request.target is not None:
        columns.append(request.target)
    data = select_columns(text, header, columns)
    return json.dumps({"data": data, "meta": build_meta(request)}).encode()


@contextlib.contextmanager
def spinner(label: str, enabled: bool) -> Iterator[None]:
    """An elapsed-time spinner on stderr (tqdm) while the block runs; nothing when not ``enabled``."""
    if not enabled:
        yield
        return
    from tqdm import tqdm

    done = threading.Event()
    bar = tqdm(total=None, desc=label, bar_format="{desc} {elapsed}", file=sys.stderr, leave=False)

    def tick() -> None:
        for frame in itertools.cycle("|/-\\"):
            bar.set_description_str(f"{frame} {label}", refresh=False)
            bar.refresh()
            if done.wait(0.1):
                return

    thread = threading.Thread(target=tick, name="golden-call-spinner", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        bar.close()


def _explain(error: Exception, url: str, timeout: float) -> str:
    """One line saying why the connection failed and what to do."""
    import urllib3.exceptions as failures

    cause = error.__cause__ or error.__context__
    reasons: list[tuple[type[Exception], str]] = [
        (failures.NameResolutionError, f"cannot resolve the host of {url}: check --url"),
        (
            failures.NewConnectionError,
            f"connection refused: is the runtime running at {url}? (golden dev starts one; see --url)"
            if isinstance(cause, ConnectionRefusedError)
            else f"cannot connect to {url}: {cause or error}",
        ),
        (
            failures.ConnectTimeoutError,
            f"no connection to {url} within {timeout:g} s: is the host reachable?",
        ),
        (
            failures.SSLError,
            f"TLS verification of {url} failed ({cause or error}): pass the runtime's CA certificate "
            "with --ca FILE (or --insecure to skip verification), or http:// if it serves plain HTTP",
        ),
        (
            failures.ReadTimeoutError,
            f"no answer from {url} within {timeout:g} s: raise --timeout for long fits",
        ),
        (failures.ProtocolError, f"the connection to {url} broke: {cause or error}"),
    ]
    return next(
        (reason for kind, reason in reasons if isinstance(error, kind)),
        f"the call to {url} failed: {type(error).__name__}: {error}",
    )


def post(
    url: str,
    body: bytes,
    *,
    token: str,
    ca: str | None,
    insecure: bool,
    timeout: float,
) -> tuple[int, bytes]:
    """POST ``body`` to ``url`` with urllib3 (TLS verified unless ``insecure``); returns status and body."""
    import urllib3

    if insecure:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        pool = urllib3.PoolManager(cert_reqs="CERT_NONE")
    else:
        pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = pool.request(
            "POST",
            url,
            body=body,
            headers=headers,
            retries=False,
            timeout=urllib3.Timeout(connect=min(timeout, 30.0), read=timeout),
        )
    except urllib3.exceptions.HTTPError as error:
        raise CallFailedError(_explain(error, url, timeout)) from error
    finally:
        pool.clear()
    return response.status, response.data


def _detail(body: bytes) -> str:
    """The ``detail`` or ``message`` of an error answer, else its first 200 characters."""
    text = body.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:200]
    if isinstance(document, dict):
        return str(document.get("detail") or document.get("message") or document)[:500]
    return str(document)[:200]


def read_answer(status: int, body: bytes, url: str) -> dict[str, Any]:
    """The DSDL answer ``{"status", "message", "results"}``; raises :class:`CallFailedError` for
    HTTP errors (401: the token is refused) and answers that are not DSDL's."""
    if status == 401:
        raise CallFailedError(
            f"the runtime at {url} refused the token (401: {_detail(body)}): pass its api_token with "
            "--token TOKEN or set api_token"
        )
    if status == 413:
        raise CallFailedError(f"the request is too large for the runtime (413): {_detail(body)}")
    if status != 200:
        raise CallFailedError(f"{url} answered HTTP {status}: {_detail(body)}")
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict) or document.get("status") not in _ANSWER_STATUS:
        raise CallFailedError(f"{url} did not answer as a DSDL model API ({_detail(body)!r}): check --url")
    return document


def _cell(value: str) -> str:
    return value if len(value) <= _CELL_WIDTH else value[: _CELL_WIDTH - 1] + "…"


def format_table(rows: Sequence[Sequence[str]]) -> list[str]:
    """``rows`` (the first one the header) as aligned text lines, long cells shortened."""
    cells = [[_cell(value) for value in row] for row in rows]
    width = max((len(row) for row in cells), default=0)
    widths = [max((len(row[i]) for row in cells if i < len(row)), default=0) for i in range(width)]
    return ["  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in cells]


def print_results(results: str, *, output: str | None, rows: int) -> None:
    """All ``results`` to ``output`` (CSV as received), or the first ``rows`` rows as a table."""
    table = list(csv.reader(io.StringIO(results)))
    count = max(len(table) - 1, 0)
    if output is not None:
        Path(output).write_text(results, encoding="utf-8")
        print(f"results: {count} rows written to {output}")
        return
    print(f"results: {count} rows")
    for line in format_table(table[: rows + 1]):
        print(line)
    if count > rows:
        print(f"... {count - rows} more rows (--output FILE saves them all)")


def call(
    request: Request,
    csv_text: str,
    *,
    url: str,
    token: str,
    ca: str | None,
    insecure: bool,
    timeout: float,
    progress: bool,
) -> dict[str, Any]:
    """Send ``csv_text`` to ``<url>/<endpoint>`` and return the DSDL answer."""
    endpoint_url = f"{url.rstrip('/')}/{request.endpoint}"
    body = request_body(csv_text, request)
    with spinner(f"waiting for /{request.endpoint}", progress):
        status, answer = post(endpoint_url, body, token=token, ca=ca, insecure=insecure, timeout=timeout)
    return read_answer(status, answer, endpoint_url)


def _request_of(args: Any, header: Sequence[str]) -> Request:
    features = [name.strip() for name in args.features.split(",") if name.strip()] if args.features else None
    return Request(
        endpoint=args.endpoint,
        algo=args.algo,
        target=args.target,
        features=choose_columns(header, args.target, features),
        model_name=args.model_name,
        params=parse_params(args.param),
    )


def _token(explicit: str | None) -> str:
    if explicit is not None:
        return explicit
    from dsdl_golden.config import load_settings

    return load_settings().api_token.reveal()


def run(args: Any) -> int:
    """``golden call``: the arguments of :func:`dsdl_golden.cli` in, the exit status out."""
    try:
        text = Path(args.csv).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"golden call: cannot read {args.csv}: {error}", file=sys.stderr)
        return 2
    if args.ca is not None and not Path(args.ca).is_file():
        print(f"golden call: --ca {args.ca}: no such CA bundle file", file=sys.stderr)
        return 2
    if args.insecure:
        print(
            f"golden call: warning: --insecure: the certificate of {args.url} is not verified",
            file=sys.stderr,
        )
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    try:
        request = _request_of(args, read_header(text))
        answer = call(
            request,
            text,
            url=args.url,
            token=_token(args.token),
            ca=args.ca,
            insecure=args.insecure,
            timeout=args.timeout,
            progress=progress,
        )
    except CallFailedError as error:
        print(f"golden call: {error}", file=sys.stderr)
        return 2
    print(f"status: {answer['status']}")
    print(f"message: {answer.get('message', '')}")
    results = answer.get("results")
    if isinstance(results, str) and answer["status"] != "error":
        try:
            print_results(results, output=args.output, rows=args.rows)
        except OSError as error:
            print(f"golden call: cannot write {args.output}: {error}", file=sys.stderr)
            return 2
    return _ANSWER_STATUS[answer["status"]]
