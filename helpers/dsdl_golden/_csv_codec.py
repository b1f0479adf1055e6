"""CSV in and out of the model API: pandas' semantics at Arrow's speed.

DSDL moves data as CSV text: ``pd.read_csv(StringIO(data))`` in, ``to_csv(index=False)`` out.
Arrow's CSV reader and writer do the same work about six times faster
(``../shared/notes/measured.md``). :func:`read_csv` gives the frame ``pd.read_csv`` gives, with
floats parsed exactly (as ``float_precision="round_trip"``; pandas' default parser can be one
unit in the last place off): the same missing-value words, text columns as text (Arrow would turn
ISO timestamps into datetimes), values with newlines (Splunk's multivalue fields) and quotes kept.
What the fast path cannot reproduce exactly (duplicate or missing header names, mixed-type
columns, odd encodings) goes through pandas itself. :func:`write_csv` writes what ``to_csv`` would
write, value for value; columns Arrow cannot write the same way go through pandas.
"""

from __future__ import annotations

import io
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
_TRUE: Final = ("True", "TRUE", "true")
_FALSE: Final = ("False", "FALSE", "false")


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


def _to_frame(table: Any) -> pd.DataFrame:
    import pyarrow as pa

    columns: dict[str, Any] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_null(kind):  # every value missing: pandas reads float NaN
            columns[name] = np.full(len(column), np.nan)
        elif pa.types.is_boolean(kind) and column.null_count:  # pandas: object column of True/False/NaN
            values = column.to_pandas().astype(object)
            columns[name] = values.where(values.notna(), np.nan)
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            columns[name] = column.to_pandas().astype("str")
        else:
            columns[name] = column.to_pandas()
    return pd.DataFrame(columns, copy=False)


def read_csv(data: bytes | str) -> pd.DataFrame:
    """The frame ``pd.read_csv`` makes of ``data`` (floats parsed exactly).

    Raises ``ValueError`` (pandas' parser errors, such as ``EmptyDataError``) for text that is not CSV.
    """
    import pyarrow as pa

    raw = data.encode() if isinstance(data, str) else data
    try:
        table = _arrow_read(raw, {})
        timestamps = {
            name: pa.string()
            for name, kind in zip(table.column_names, table.schema.types, strict=True)
            if pa.types.is_timestamp(kind) or pa.types.is_date(kind) or pa.types.is_time(kind)
        }
        if timestamps:
            table = _arrow_read(raw, timestamps)
        names = table.column_names
        if len(set(names)) != len(names) or any(not name for name in names):
            return _pandas_read(raw)  # pandas renames duplicates (a, a.1) and blank headers (Unnamed: n)
        return _to_frame(table)
    except (pa.ArrowException, UnicodeDecodeError):
        return _pandas_read(raw)


def _fast_writable(frame: pd.DataFrame) -> bool:
    if not frame.columns.is_unique or not all(isinstance(name, str) for name in frame.columns):
        return False
    for dtype in frame.dtypes:
        if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            continue
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
            continue
        return False
    return True


def write_csv(frame: pd.DataFrame) -> str:
    """The values ``frame.to_csv(index=False)`` writes (Arrow quotes every text value and header)."""
    if not _fast_writable(frame):
        return frame.to_csv(index=False)
    import pyarrow as pa
    import pyarrow.csv as pacsv

    columns = {
        name: frame[name].map({True: "True", False: "False"}).astype("str")
        if pd.api.types.is_bool_dtype(frame[name].dtype)
        else frame[name]
        for name in frame.columns
    }
    try:
        table = pa.Table.from_pandas(pd.DataFrame(columns, copy=False), preserve_index=False)
        sink = io.BytesIO()
        pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(quoting_style="needed"))
    except pa.ArrowException:
        return frame.to_csv(index=False)
    return sink.getvalue().decode()
