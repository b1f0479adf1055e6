"""Decide, at fit time, what kind of data a column holds and why."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from dsdl_golden._preprocessing.parsing import (
    Coded,
    Numbers,
    Table,
    boolean_table,
    dtype_family,
    factorize_text,
    number_table,
    parse_booleans,
    parse_datetimes,
    parse_numbers,
    seconds_table,
    spread,
)

Kind = Literal["numeric", "boolean", "datetime", "categorical", "high_cardinality", "empty"]
#: Distinct text values tried first, so that a column of ids is rejected as numbers without parsing all.
_SAMPLE = 100
#: What text can be, tried in this order: the first kind that parses every distinct value wins.
_TEXT_KINDS: tuple[tuple[Kind, Table, str], ...] = (
    ("boolean", boolean_table, "text of boolean tokens (true/false, yes/no, t/f, 1/0)"),
    ("numeric", number_table, "text where every value is a number"),
    ("datetime", seconds_table, "text where every value is an ISO 8601 timestamp"),
)


@dataclass(frozen=True, eq=False)
class Inferred:
    """A column's kind, why, its values parsed accordingly, and whether it holds a single value."""

    kind: Kind
    reason: str
    parsed: Numbers | Coded | None = None
    constant: bool = False


def infer_column(
    series: pd.Series[Any], name: str, *, max_categories: int, datetime_columns: Collection[str]
) -> Inferred:
    """Kind of one column: its dtype, or for text what every distinct value parses as."""
    family = dtype_family(series)
    if name in datetime_columns:
        inferred = Inferred("datetime", "listed in datetime_columns", parse_datetimes(series))
    elif family == "numeric":
        unit = " (seconds)" if series.dtype.kind == "m" else ""
        inferred = Inferred("numeric", f"{series.dtype} dtype{unit}", parse_numbers(series))
    elif family == "boolean":
        inferred = Inferred("boolean", f"{series.dtype} dtype", parse_booleans(series))
    elif family == "datetime":
        start = " (start of each period)" if isinstance(series.dtype, pd.PeriodDtype) else ""
        inferred = Inferred("datetime", f"{series.dtype} dtype{start}", parse_datetimes(series))
    else:
        inferred = _infer_text(factorize_text(series), max_categories)
    return _with_content(inferred)


def _infer_text(coded: Coded, max_categories: int) -> Inferred:
    """Text: boolean tokens, numbers, ISO timestamps, else categorical by number of distinct values."""
    n_distinct = len(coded.uniques)
    if n_distinct == 0:
        return Inferred("empty", "no observed values")
    for kind, table, reason in _TEXT_KINDS:
        parsed = _parsed(coded, table)
        if parsed is not None:
            return Inferred(kind, reason, parsed)
    if n_distinct <= max_categories:
        return Inferred("categorical", f"text with {n_distinct} distinct values <= max_categories", coded)
    return Inferred("high_cardinality", f"text with {n_distinct} distinct values > max_categories", coded)


def _parsed(coded: Coded, table: Table) -> Numbers | None:
    """The column parsed with ``table`` when every distinct value parses (checked on a sample first)."""
    if np.isnan(table(coded.uniques[:_SAMPLE])).any():
        return None
    parsed = table(coded.uniques)
    return None if np.isnan(parsed).any() else spread(coded, parsed)


def _with_content(inferred: Inferred) -> Inferred:
    """Mark empty and single-valued columns, and mention values that did not parse."""
    parsed = inferred.parsed
    if isinstance(parsed, Coded):
        if len(parsed.uniques) == 1 and parsed.n_missing == 0:
            return replace(
                inferred, reason=f"{inferred.reason}; single value {parsed.uniques[0]!r}", constant=True
            )
        return inferred
    if parsed is None:
        return inferred
    missing = np.isnan(parsed.values)
    if missing.all():
        return Inferred("empty", "no observed values")
    reason = inferred.reason
    if parsed.unparsable:
        reason += f"; {parsed.unparsable} values did not parse and are treated as missing"
    if parsed.infinite:
        reason += f"; {parsed.infinite} infinite values are treated as missing"
    low, high = np.nanmin(parsed.values), np.nanmax(parsed.values)
    constant = bool(low == high and not missing.any())
    if constant:
        reason += f"; single value {low:g}"
    return replace(inferred, reason=reason, constant=constant)
