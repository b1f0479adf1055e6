"""Parse Splunk-style columns, where any value may arrive as text, into float64 arrays.

Missing values are NaN, ``None``/``pd.NA`` and, in text, the tokens ``""``, ``"nan"`` and ``"null"``
(case-insensitive, surrounding blanks ignored): Splunk writes empty fields as empty strings.
Infinite numbers are treated as missing too, and counted apart (:attr:`Numbers.infinite`) so that
reports can tell them from missing values.

Timedelta columns are numbers of seconds; Period columns are datetimes (the start of each period).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
    is_timedelta64_dtype,
)

if TYPE_CHECKING:
    from numpy.typing import NDArray

Family = Literal["numeric", "boolean", "datetime", "text"]
Table = Callable[["pd.Index[str]"], "NDArray[np.float64]"]

_MISSING_TOKENS = ("", "nan", "null")
_BOOLEAN_TOKENS = {"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "t": 1.0, "f": 0.0, "1": 1.0, "0": 0.0}
DATETIME_PARTS = ("epoch", "hour", "dayofweek", "month")
#: Epoch seconds beyond the year 9999 are not timestamps.
_MAX_EPOCH_SECONDS = 253_402_300_800.0
_SECONDS_PER_DAY = 86_400.0
_SECONDS_PER_HOUR = 3_600.0
_THURSDAY = 3  # 1970-01-01, with Monday = 0 like pandas' dayofweek
_EPOCH = pd.Timestamp(0, tz="UTC")
_ONE_SECOND = pd.Timedelta(seconds=1)


@dataclass(frozen=True, eq=False)
class Numbers:
    """A column parsed to float64: NaN marks missing, infinite and unparsable values (both counted)."""

    values: NDArray[np.float64]
    unparsable: int = 0
    infinite: int = 0


@dataclass(frozen=True, eq=False)
class Coded:
    """A text column as codes into its distinct values (code -1 = missing)."""

    codes: NDArray[np.intp]
    uniques: pd.Index[str]

    @property
    def n_missing(self) -> int:
        """Number of missing rows."""
        return int(np.count_nonzero(self.codes < 0))


def dtype_family(series: pd.Series[Any]) -> Family:
    """Coarse type of a column's dtype; every dtype that is not numeric, boolean or datetime is text.

    Timedeltas are numeric (seconds, see :func:`float_values`), Periods are datetimes.
    """
    dtype = series.dtype
    if is_bool_dtype(dtype):
        return "boolean"
    if is_numeric_dtype(dtype) or is_timedelta64_dtype(dtype):
        return "numeric"
    if is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "datetime"
    return "text"


def float_values(series: pd.Series[Any]) -> NDArray[np.float64]:
    """A numeric or boolean column as float64 (NaN where missing); timedeltas in seconds."""
    if is_timedelta64_dtype(series.dtype):
        return np.asarray(series.dt.total_seconds(), dtype=np.float64)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def as_text(series: pd.Series[Any]) -> pd.Series[str]:
    """The column as a pandas string column (missing values stay missing)."""
    if isinstance(series.dtype, pd.StringDtype):
        return series
    return series.astype("str")


def _normalised(uniques: pd.Index[str]) -> pd.Index[str]:
    """Distinct values stripped and lower-cased, for token matching."""
    return uniques.str.strip().str.lower()


def factorize_text(series: pd.Series[Any]) -> Coded:
    """Codes and distinct values of a column read as text, with missing tokens folded into -1."""
    codes, uniques = pd.factorize(as_text(series))
    missing = np.asarray(_normalised(uniques).isin(_MISSING_TOKENS))
    if not missing.any():
        return Coded(codes, uniques)
    kept = np.cumsum(~missing) - 1
    kept[missing] = -1
    return Coded(np.append(kept, -1)[codes], uniques[~missing])


def missing_mask(series: pd.Series[Any]) -> NDArray[np.bool_]:
    """Which rows are missing, missing tokens included for text columns."""
    if dtype_family(series) == "text":
        return factorize_text(series).codes < 0
    return np.asarray(series.isna())


def _from_table(coded: Coded, table: Table) -> Numbers:
    """Parse each distinct value once with ``table`` and spread the results over the rows."""
    return spread(coded, table(coded.uniques))


def spread(coded: Coded, parsed: NDArray[np.float64]) -> Numbers:
    """Rows valued from their distinct value's parsed number (NaN in ``parsed`` = did not parse)."""
    failed = np.isnan(parsed)
    infinite = np.isinf(parsed)
    unparsable = n_infinite = 0
    if failed.any() or infinite.any():
        counts = np.bincount(coded.codes[coded.codes >= 0], minlength=len(parsed))
        unparsable = int(counts[failed].sum())
        n_infinite = int(counts[infinite].sum())
    finite = np.where(infinite, np.nan, parsed) if n_infinite else parsed
    return Numbers(np.append(finite, np.nan)[coded.codes], unparsable, n_infinite)  # code -1: the NaN


def _finite(values: NDArray[np.float64], unparsable: int = 0) -> Numbers:
    """``values`` with infinities replaced by NaN (a copy only when there are some) and counted."""
    infinite = np.isinf(values)
    n_infinite = int(np.count_nonzero(infinite))
    if n_infinite:
        values = np.where(infinite, np.nan, values)
    return Numbers(values, unparsable, n_infinite)


def number_table(uniques: pd.Index[str]) -> NDArray[np.float64]:
    """Each distinct text value as a number (NaN when it is not one), in a new writable array."""
    return np.array(pd.to_numeric(uniques.to_series(), errors="coerce"), dtype=np.float64)


def boolean_table(uniques: pd.Index[str]) -> NDArray[np.float64]:
    """Each distinct text value as 1.0/0.0 when it is a boolean token (NaN otherwise)."""
    return np.asarray(_normalised(uniques).map(_BOOLEAN_TOKENS), dtype=np.float64)


def seconds_table(uniques: pd.Index[str]) -> NDArray[np.float64]:
    """Each distinct text value as epoch seconds: a number, or an ISO 8601 timestamp (UTC if naive)."""
    seconds = number_table(uniques)
    text = np.isnan(seconds)
    if text.any():
        stamps = pd.to_datetime(uniques[text], format="ISO8601", utc=True, errors="coerce")
        seconds[text] = np.asarray((stamps - _EPOCH) / _ONE_SECOND, dtype=np.float64)
    return seconds


def parse_numbers(series: pd.Series[Any]) -> Numbers:
    """The column as numbers; text is parsed, values that are not numbers become NaN."""
    if dtype_family(series) in ("numeric", "boolean"):
        return _finite(float_values(series))
    return _parse_text(series, number_table)


def parse_booleans(series: pd.Series[Any]) -> Numbers:
    """The column as 1.0/0.0; values that are not boolean tokens (or 0/1) become NaN."""
    family = dtype_family(series)
    if family == "boolean":
        return Numbers(series.to_numpy(dtype=np.float64, na_value=np.nan))
    if family != "numeric":
        return _from_table(factorize_text(series), boolean_table)
    numbers = _finite(float_values(series))
    values = numbers.values
    invalid = ~np.isnan(values) & (values != 0.0) & (values != 1.0)
    return Numbers(np.where(invalid, np.nan, values), int(np.count_nonzero(invalid)), numbers.infinite)


def parse_datetimes(series: pd.Series[Any]) -> Numbers:
    """The column as epoch seconds (UTC): datetimes, numbers, numeric or ISO 8601 text."""
    family = dtype_family(series)
    if family == "datetime":
        return Numbers(_datetime_seconds(series))
    numbers = parse_numbers(series) if family != "text" else _parse_text(series, seconds_table)
    outside = np.abs(numbers.values) > _MAX_EPOCH_SECONDS
    if not outside.any():
        return numbers
    return Numbers(
        np.where(outside, np.nan, numbers.values),
        numbers.unparsable + int(outside.sum()),
        numbers.infinite,
    )


def datetime_parts(seconds: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """Epoch seconds, hour, day of week (Monday = 0) and month (1-12), UTC, NaN where missing."""
    missing = np.isnan(seconds)
    known = np.where(missing, 0.0, seconds)
    days = np.floor(known / _SECONDS_PER_DAY)
    hour = np.floor((known - days * _SECONDS_PER_DAY) / _SECONDS_PER_HOUR)
    dayofweek = (days + _THURSDAY) % 7
    months = days.astype(np.int64).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    month = (months % 12 + 1).astype(np.float64)
    for part in (hour, dayofweek, month):
        part[missing] = np.nan
    return [seconds, hour, dayofweek, month]


def _parse_text(series: pd.Series[Any], table: Table) -> Numbers:
    """Fast path: the whole column converts to float64; otherwise parse distinct values with ``table``."""
    text = as_text(series)
    try:
        return _finite(_to_float(text))
    except (ValueError, TypeError):
        return _from_table(factorize_text(text), table)


def _to_float(text: pd.Series[str]) -> NDArray[np.float64]:
    """Text converted to float64, raising ValueError unless every value is a number or missing."""
    if isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow":
        # Arrow's own cast, about ten times faster than converting through numpy.
        converted = text.astype("float64[pyarrow]")
    else:
        converted = text.astype("float64")
    return np.asarray(converted.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _datetime_seconds(series: pd.Series[Any]) -> NDArray[np.float64]:
    """Epoch seconds of a datetime or Period column (a period's start); naive datetimes are taken as UTC."""
    if isinstance(series.dtype, pd.PeriodDtype):
        series = series.dt.start_time
    stamps = series if series.dt.tz is not None else series.dt.tz_localize("UTC")
    return np.asarray((stamps - _EPOCH) / _ONE_SECOND, dtype=np.float64)
