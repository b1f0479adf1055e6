"""CSV in and out of the model API: pandas' semantics at Arrow's speed.

DSDL moves data as CSV text: ``pd.read_csv(StringIO(data))`` in, ``to_csv(index=False)`` out.
Arrow's CSV reader and writer do the same work about six times faster
(``../shared/notes/measured.md``).

:func:`read_csv` gives the frame ``pd.read_csv`` gives, with floats parsed exactly (as
``float_precision="round_trip"``; pandas' default parser can be one unit in the last place off):
the same missing-value words, booleans in any case, text columns as text (Arrow would turn ISO
timestamps into datetimes), values with newlines (Splunk's multivalue fields) and quotes kept.
The two parsers disagree at the edges, and there the text goes through pandas itself:

- no rows (pandas: object columns), duplicate or blank header names (pandas renames them, and
  skips a lone blank header line);
- a NUL (pandas ends the value there) or a carriage return without a newline (after one, pandas'
  tokenizer loses commas or reads garbage);
- integer columns when the text has a ``0x`` (Arrow reads ``0x1F`` as 31), or has missing values
  and the least int64 (pandas reads it as NaN);
- float columns with an infinity or a NaN that is no missing-value word (Arrow also reads
  ``" inf"``, ``1e999`` and ``NAN``, which pandas keeps as text), with a value beyond int64
  (pandas: uint64, Python ints or text), with integral values only when the text has a ``+``
  (pandas reads ``+1`` as an integer, Arrow as a float), or with a negative zero in a chunked text;
- text columns with values pandas reads as numbers or booleans (say padded with ``\\r`` or
  ``\\v``): all of them, any in a chunked text, or any with an integer beyond int64 (pandas then
  keeps the column's missing values as written);
- a lone column with a blank value (pandas skips blank lines).

pandas parses a text of more than ``2**18`` cells in chunks, each with types of its own, and mixes
chunks of different types in one object column: "chunked" above means such a text.

:func:`write_csv` writes what ``to_csv`` would write, value for value: Arrow quotes every text
value and header, writes booleans in lower case and integral floats as ``2.0`` (its own ``2``
would read back as an integer). pandas writes the frame when Arrow cannot write a column the same
way (float16, dates, categories, objects, non-text or duplicate names), when text has a carriage
return (``csv`` leaves it bare, pandas reads a line end), and for a lone column with missing or
blank values or a blank name (``csv`` writes those so that pandas reads or skips them).
"""

from __future__ import annotations

import io
import itertools
from typing import Any, Final

import numpy as np
import pandas as pd

__all__ = ["read_csv", "write_csv"]

#: pandas' default missing-value words (``pandas._libs.parsers.STR_NA_VALUES``).
_NA_VALUES: Final = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
)
#: pandas reads "true" and "false" in any case as booleans (``to_boolean`` in its tokenizer).
_TRUE: Final = tuple(map("".join, itertools.product(*zip("true", "TRUE", strict=True))))
_FALSE: Final = tuple(map("".join, itertools.product(*zip("false", "FALSE", strict=True))))
#: What pandas reads as a number or a boolean: a decimal number between C ``isspace``
#: characters, or exactly an infinity or a boolean word, in any case.
_PANDAS_SCALAR: Final = (
    r"(?i)^[\t\n\x0b\x0c\r ]*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?[\t\n\x0b\x0c\r ]*$"
    r"|^[+-]?inf(inity)?$|^(true|false)$"
)
#: An integer that may not fit int64.
_BEYOND_INT64: Final = r"^[\t\n\x0b\x0c\r ]*[+-]?\d{19,}[\t\n\x0b\x0c\r ]*$"
#: pandas parses a text in chunks of a power of two of at least ``2**19 // columns`` rows
#: (``TextReader.buffer_lines``): no more cells than this are always one chunk.
_ONE_CHUNK: Final = 2**18


def _pandas_read(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), float_precision="round_trip")


def _arrow_read(data: bytes, text_columns: dict[str, Any]) -> Any:
    import pyarrow.csv as pacsv

    return pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            null_values=list(_NA_VALUES),
            strings_can_be_null=True,
            true_values=list(_TRUE),
            false_values=list(_FALSE),
            column_types=text_columns,
        ),
    )


def _raw_quirks(data: bytes, *, integers: bool) -> bool:
    """Whether ``data`` has a NUL, a carriage return without a newline or (if Arrow read
    ``integers``) a ``0x``; ``memchr`` first, then RE2, which is faster than ``bytes.find``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def search(pattern: str) -> bool:
        return bool(pc.match_substring_regex(pa.array([data], pa.binary()), pattern)[0].as_py())

    return (
        b"\0" in data
        or (b"\r" in data and search(r"\r([^\n]|\z)"))
        or (integers and (b"x" in data or b"X" in data) and search("(?i)0x"))
    )


def _float_column(column: Any, data: bytes, *, chunked: bool) -> np.ndarray[Any, Any] | None:
    values: np.ndarray[Any, Any] = column.to_numpy()  # missing values become NaN
    known = np.isfinite(values)
    if len(values) - np.count_nonzero(known) != column.null_count:
        return None  # an infinity or a NaN (NAN, nan(1), " inf", 1e999 are text to pandas)
    if not -(2.0**63) < np.fmin.reduce(values) <= np.fmax.reduce(values) < 2.0**63:
        return None  # an integer beyond int64: uint64, a Python int or text to pandas
    if chunked and np.signbit(values[values == 0]).any():
        return None  # -0 in a chunk of integers: 0.0 to pandas
    # "+1" is an integer to pandas (and so is "-0" next to it), a float to Arrow
    if float(values[np.argmax(known)]).is_integer() and b"+" in data:
        present = values[known]
        if np.array_equal(present, np.trunc(present)):
            return None
    return values


def _any_match(column: Any, pattern: str) -> bool:
    import pyarrow.compute as pc

    return bool(pc.any(pc.match_substring_regex(column, pattern)).as_py())


def _text_column(column: Any, *, chunked: bool, lone: bool) -> pd.Series | None:
    import pyarrow.compute as pc

    # pandas reads a column (or a chunk) of numbers and booleans as such, and a column with an
    # integer beyond int64 as text with its missing values kept as written.
    numbers = pc.match_substring_regex(column, _PANDAS_SCALAR)
    some, every = pc.any(numbers).as_py(), pc.all(numbers).as_py()
    if some and (chunked or every or _any_match(column, _BEYOND_INT64)):
        return None
    if lone and _any_match(column, r"^[\t ]+$"):
        return None  # a blank line to pandas
    values: pd.Series = column.to_pandas().astype("str")
    return values


def _column(column: Any, data: bytes, *, chunked: bool, lone: bool) -> Any:
    """The values pandas reads for Arrow's ``column``, or None where they may differ."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_null(kind):  # every value missing: pandas reads float NaN
        return np.full(len(column), np.nan)
    if pa.types.is_boolean(kind) and column.null_count:  # pandas: object column of True/False/NaN
        values = column.to_pandas().astype(object)
        return values.where(values.notna(), np.nan)
    if pa.types.is_boolean(kind) or pa.types.is_int64(kind):
        # pandas reads the least int64 as NaN in a column with missing values
        least = pa.types.is_int64(kind) and column.null_count and pc.min(column).as_py() == -(2**63)
        return None if least else column.to_pandas()
    if pa.types.is_float64(kind):
        return _float_column(column, data, chunked=chunked)
    if pa.types.is_string(kind):
        return _text_column(column, chunked=chunked, lone=lone)
    return None  # binary: text that is not UTF-8


def _arrow_frame(data: bytes) -> pd.DataFrame | None:
    """The frame ``pd.read_csv`` makes of ``data``, or None where Arrow's reading may differ."""
    import pyarrow as pa

    table = _arrow_read(data, {})
    temporal = {
        name: pa.string()
        for name, kind in zip(table.column_names, table.schema.types, strict=True)
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind)
    }
    if temporal:
        table = _arrow_read(data, temporal)
    names = table.column_names
    if not table.num_rows or len(set(names)) != len(names) or not all(name.strip(" \t") for name in names):
        return None
    if _raw_quirks(data, integers=any(map(pa.types.is_int64, table.schema.types))):
        return None
    chunked, lone = table.num_rows * table.num_columns > _ONE_CHUNK, table.num_columns == 1
    columns: dict[str, Any] = {}
    for name, column in zip(names, table.columns, strict=True):
        columns[name] = _column(column, data, chunked=chunked, lone=lone)
        if columns[name] is None:
            return None
    return pd.DataFrame(columns, copy=False)


def read_csv(data: bytes | str) -> pd.DataFrame:
    """The frame ``pd.read_csv`` makes of ``data`` (floats parsed exactly).

    Raises ``ValueError`` (pandas' parser errors, such as ``EmptyDataError``) for text that is not CSV.
    """
    import pyarrow as pa

    raw = data.encode() if isinstance(data, str) else data
    try:
        frame = _arrow_frame(raw)
    except (pa.ArrowException, UnicodeDecodeError):
        frame = None
    return _pandas_read(raw) if frame is None else frame


def _arrow_writes(values: pd.Series) -> bool:
    """Whether Arrow writes ``values`` as ``to_csv`` does, value for value."""
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):  # csv leaves a carriage return bare: a line end to pandas
        return not values.str.contains("\r", regex=False).any()
    numpy_dtype = getattr(dtype, "numpy_dtype", dtype)  # masked (Int64, boolean) and Arrow dtypes
    return (
        not isinstance(dtype, pd.SparseDtype)
        and isinstance(numpy_dtype, np.dtype)
        and numpy_dtype.kind in "biuf"
        and numpy_dtype != np.float16  # pandas writes float16's own short form
    )


def _fast_writable(frame: pd.DataFrame) -> bool:
    names = frame.columns
    if not names.is_unique or not all(isinstance(name, str) and "\r" not in name for name in names):
        return False
    if not all(_arrow_writes(values) for _, values in frame.items()):
        return False
    if frame.shape[1] != 1:
        return True
    # A lone column: csv writes a missing value as "" and a blank one bare, and pandas skips a bare
    # blank line (a blank name too); Arrow writes an empty line and quotes text.
    name, values = next(frame.items())
    blank = isinstance(values.dtype, pd.StringDtype) and values.str.fullmatch(r"[\t ]+").any()
    return bool(str(name).strip(" \t")) and not blank and not values.isna().any()


def _float_text(column: Any) -> Any:
    """``column``, with integral values as text ending in ".0" (Arrow writes 2.0 as 2, -0.0 as -0)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = column.to_numpy()
    if not np.any(values == np.trunc(values)):
        return column
    return pc.replace_substring_regex(pc.cast(column, pa.string()), r"^(-?\d+)$", r"\1.0")


def write_csv(frame: pd.DataFrame) -> str:
    """The values ``frame.to_csv(index=False)`` writes (Arrow quotes every text value and header)."""
    if not _fast_writable(frame):
        return frame.to_csv(index=False)
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        columns = [_float_text(c) if pa.types.is_floating(c.type) else c for c in table.columns]
        sink = io.BytesIO()
        pacsv.write_csv(
            pa.Table.from_arrays(columns, names=table.column_names),
            sink,
            write_options=pacsv.WriteOptions(quoting_style="needed"),
        )
    except pa.ArrowException:
        return frame.to_csv(index=False)
    return sink.getvalue().decode()
