"""Send a DataFrame to Splunk through HEC, in order, reporting every row that did not arrive."""

from __future__ import annotations

import html
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dsdl_golden._splunk.errors import SplunkIndexError
from dsdl_golden._telemetry.client import serialise
from dsdl_golden._telemetry.hec import HecTransport, Reply, Verdict

_INCORRECT_INDEX = 7  # HEC: the index does not exist or the token may not write to it


@dataclass
class SendReport:
    """Outcome of :func:`send_results`: rows sent, and each failed row with its number and reason."""

    rows: int
    sent: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every row was delivered."""
        return self.sent == self.rows and not self.failed

    def __str__(self) -> str:
        lines = [f"sent {self.sent} of {self.rows} rows in {self.seconds:.2f} s"]
        lines += [f"  row {row}: {reason}" for row, reason in self.failed[:20]]
        if len(self.failed) > 20:
            lines.append(f"  ... and {len(self.failed) - 20} more failed rows")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(str(self))}</pre>"


def _epoch_seconds(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return (column - pd.Timestamp(0, tz=column.dt.tz)) / pd.Timedelta(seconds=1)
    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().sum() == column.notna().sum():
        return numeric
    return _epoch_seconds(pd.to_datetime(column, utc=True, format="ISO8601"))


def rows_as_events(frame: pd.DataFrame, envelope: dict[str, Any], time_field: str | None) -> Iterator[bytes]:
    """One serialised HEC event per row; missing values are left out of the event."""
    has_time = bool(time_field) and time_field in frame
    times = _epoch_seconds(frame[time_field]).to_numpy(dtype=float) if has_time else None
    body = frame.drop(columns=[time_field]) if has_time else frame
    columns = list(map(str, body.columns))
    for position, values in enumerate(body.itertuples(index=False, name=None)):
        event = {
            name: value
            for name, value in zip(columns, values, strict=True)
            if not (value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT)
        }
        record = {**envelope, "event": event}
        if times is not None and not math.isnan(stamp := float(times[position])):
            record["time"] = round(stamp, 6)
        yield serialise(record)


def send_events(
    transport: HecTransport,
    events: list[bytes],
    *,
    index: str,
    batch_events: int,
    batch_bytes: int,
    retries: int,
    ack_timeout: float = 60.0,
) -> SendReport:
    """Send ``events`` (all to ``index``) in order; a row is either acknowledged by HEC or listed as
    failed. An index HEC refuses raises :class:`SplunkIndexError` at once: no row could go there."""
    report = SendReport(rows=len(events))
    started = time.monotonic()
    position, limit, attempt = 0, batch_events, 0
    while position < len(events):
        batch = _next_batch(events, position, limit, batch_bytes)
        reply = transport.post(batch)
        verdict = reply.verdict
        if reply.code == _INCORRECT_INDEX:
            raise _refused_index(reply, index, report.sent + _accepted_before(reply), len(events))
        if verdict is Verdict.ACCEPTED and (
            reply.ack_id is None or transport.wait_for_ack(reply.ack_id, ack_timeout)
        ):
            report.sent += len(batch)
            position, limit, attempt = position + len(batch), batch_events, 0
        elif verdict is Verdict.NEED_CHANNEL and transport.channel is None:
            transport.open_channel()
        elif verdict is Verdict.SPLIT and len(batch) > 1:
            limit = max(1, len(batch) // 2)
        elif verdict in (Verdict.SPLIT, Verdict.BAD_EVENT):
            bad = 0 if verdict is Verdict.SPLIT else min(reply.bad_event, len(batch) - 1)
            report.sent += bad
            report.failed.append((position + bad, reply.describe()))
            position += bad + 1
        elif verdict is Verdict.RETRY and attempt < retries:
            attempt += 1
            time.sleep(reply.retry_after or random.uniform(0.25, 0.5) * 2**attempt)  # noqa: S311 - jitter
        else:
            reason = reply.describe()
            report.failed += [(row, reason) for row in range(position, len(events))]
            break
    report.seconds = time.monotonic() - started
    return report


def _next_batch(events: list[bytes], start: int, limit: int, max_bytes: int) -> list[bytes]:
    size, end = 0, start
    while end < len(events) and end - start < limit:
        size += len(events[end]) + 1
        if end > start and size > max_bytes:
            break
        end += 1
    return events[start:end]


def _accepted_before(reply: Reply) -> int:
    """How many events of the batch HEC took before the one it refused."""
    return reply.bad_event if reply.invalid_event is not None else 0


def _refused_index(reply: Reply, index: str, sent: int, rows: int) -> SplunkIndexError:
    unsent = rows - sent
    return SplunkIndexError(
        f"HEC refused index {index!r} ({reply.describe()}): {unsent} of {rows} rows were not sent "
        f"(rows {sent} to {rows - 1}); create the index in Splunk, or add it to the HEC token's allowed "
        "indexes, or pass index= an index the token may write to",
        index=index,
        rows_not_sent=unsent,
    )
