"""Typed pandas DataFrames from Splunk result rows (where every value is text)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

TIME_FIELD = "_time"


def _has_lists(column: pd.Series) -> bool:
    return bool(column.map(lambda value: isinstance(value, list)).any())


def _as_lists(column: pd.Series) -> pd.Series:
    """Multivalue column: every non-null value as a list (single values become one-element lists)."""
    return column.map(lambda value: value if isinstance(value, list) or value is None else [value])


def _as_time(column: pd.Series) -> pd.Series:
    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().sum() == column.notna().sum():
        return pd.to_datetime(numeric, unit="s", utc=True)
    return pd.to_datetime(column, format="ISO8601", utc=True)


def _as_number(column: pd.Series) -> pd.Series | None:
    """The column as numbers when every non-empty value is one, else None."""
    present = column.dropna()
    if present.empty:
        return None
    try:
        numbers = pd.to_numeric(present)
    except (ValueError, TypeError):
        return None
    converted = pd.to_numeric(column.where(column.notna(), None), errors="coerce")
    if pd.api.types.is_integer_dtype(numbers) and converted.notna().all():
        return converted.astype("int64")
    return converted.astype("float64")


def rows_to_frame(rows: Sequence[dict[str, Any]], fields: Sequence[str] | None = None) -> pd.DataFrame:
    """Build a DataFrame: numbers as numbers, ``_time`` as tz-aware UTC datetimes, multivalue as lists.

    Columns follow ``fields`` when given, else the order in which fields first appear.
    """
    frame = pd.DataFrame.from_records(list(rows), columns=list(fields) if fields else None)
    for name in frame.columns:
        column = frame[name].astype(object).where(frame[name].notna(), None)
        if _has_lists(column):
            frame[name] = _as_lists(column)
        elif name == TIME_FIELD:
            frame[name] = _as_time(column)
        elif (numbers := _as_number(column)) is not None:
            frame[name] = numbers
    return frame
