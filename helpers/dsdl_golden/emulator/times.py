"""Splunk time modifiers (``-24h@h``, ``now``, epoch, ISO-8601) and the ``_time`` output format."""

from __future__ import annotations

import calendar
import datetime
import re

__all__ = ["format_time", "parse_time", "to_epoch"]

_UTC = datetime.UTC
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "h"),
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("w", "week", "weeks"), "w"),
    **dict.fromkeys(("mon", "month", "months"), "mon"),
    **dict.fromkeys(("q", "qtr", "qtrs", "quarter", "quarters"), "q"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "y"),
}
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MONTHS = {"mon": 1, "q": 3, "y": 12}
_STEP = re.compile(r"(?:([+-])(\d*)([a-z]+))|(?:@([a-z]+)(\d?))")
_SPLUNK_FORMAT = "%m/%d/%Y:%H:%M:%S"


def _add_months(moment: datetime.datetime, months: int) -> datetime.datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _snap(moment: datetime.datetime, unit: str, weekday: str) -> datetime.datetime:
    """Round down to the unit (times are UTC, so days start at multiples of 86400 s)."""
    if unit in ("s", "m", "h", "d"):
        size = _SECONDS[unit]
        return datetime.datetime.fromtimestamp(moment.timestamp() // size * size, _UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        back = (moment.isoweekday() % 7 - int(weekday or 0)) % 7  # w0 = Sunday
        return midnight - datetime.timedelta(days=back)
    month = {"mon": moment.month, "q": (moment.month - 1) // 3 * 3 + 1, "y": 1}[unit]
    return midnight.replace(day=1, month=month)


def _relative(spec: str, now: float) -> float:
    moment = datetime.datetime.fromtimestamp(now, _UTC)
    position = 0
    for step in _STEP.finditer(spec):
        if step.start() != position:
            break
        position = step.end()
        sign, amount, unit, snap_unit, weekday = step.groups()
        if sign is not None:
            name = _UNITS.get(unit)
            if name is None:
                raise ValueError(f"unknown time unit {unit!r}")
            count = int(amount or 1) * (-1 if sign == "-" else 1)
            if name in _SECONDS:
                moment += datetime.timedelta(seconds=count * _SECONDS[name])
            else:
                moment = _add_months(moment, count * _MONTHS[name])
        else:
            name = _UNITS.get(snap_unit)
            if name is None or (weekday and name != "w"):
                raise ValueError(f"unknown snap unit {snap_unit!r}")
            moment = _snap(moment, name, weekday)
    if position != len(spec) or not spec:
        raise ValueError(f"invalid relative time {spec!r}")
    return moment.timestamp()


def _from_text(text: str) -> float | datetime.datetime | None:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        return None


def to_epoch(value: object) -> float | None:
    """Epoch seconds of a timestamp value (number, numeric or ISO string, datetime); else ``None``.

    Naive datetimes are taken as UTC.
    """
    if isinstance(value, str):
        value = _from_text(value.strip())
    if isinstance(value, datetime.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=_UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def parse_time(spec: str, now: float) -> float | None:
    """Epoch seconds for a time modifier; ``None`` for an empty one (no bound).

    Accepts ``now``, epoch numbers (``0`` = all time), ISO-8601, ``%m/%d/%Y:%H:%M:%S`` and relative
    forms such as ``-15m``, ``-24h@h``, ``@d``, ``-1mon@mon``, ``@w1``. Raises ``ValueError`` otherwise.
    """
    text = spec.strip()
    if not text:
        return None
    if text.lower() == "now":
        return now
    absolute = to_epoch(text)
    if absolute is not None:
        return absolute
    try:
        return datetime.datetime.strptime(text, _SPLUNK_FORMAT).replace(tzinfo=_UTC).timestamp()
    except ValueError:
        return _relative(text.lower(), now)


def format_time(epoch: float) -> str:
    """``_time`` as splunkd prints it: ISO-8601 with milliseconds and offset."""
    moment = datetime.datetime.fromtimestamp(epoch, _UTC)
    return moment.isoformat(timespec="milliseconds")
