"""A short, JSON-ready profile of the training data, and a content hash that identifies it."""

from __future__ import annotations

import hashlib
from typing import Any, Final

import numpy as np
import pandas as pd

__all__ = ["content_hash", "profile"]

_MAX_COLUMNS: Final = 200


def _multivalue_as_tuples(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with list cells (Splunk multivalue fields) as tuples, which pandas can hash."""
    converted = frame
    for position, (_, column) in enumerate(frame.items()):
        if column.dtype == object and column.map(lambda cell: isinstance(cell, list)).any():
            if converted is frame:
                converted = frame.copy()
            as_tuples = column.map(lambda cell: tuple(cell) if isinstance(cell, list) else cell)
            converted.isetitem(position, as_tuples.to_numpy())
    return converted


def content_hash(frame: pd.DataFrame) -> str:
    """``sha256:<hex>`` of a frame's column names, dtypes and values.

    The digest is fed, in order: ``<name>\\x1f<dtype>\\x1e`` for each column, then the row hashes
    ``pd.util.hash_pandas_object(frame, index=False)`` (one unsigned 64-bit little-endian number per
    row, combining the row's cells in column order). The same values in the same rows and columns
    give the same hash whatever the index; any changed cell, column name, dtype or row order changes
    it. List cells (Splunk multivalue fields) are hashed as tuples; cells pandas cannot hash (dicts,
    sets) raise ``TypeError``. The row hashes are pandas' own: compare hashes made with the same
    pandas version (the lineage records it).

    Parameters
    ----------
    frame : DataFrame

    Returns
    -------
    str

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1, 2], "tags": [["a", "b"], ["c"]]})
    >>> content_hash(frame) == content_hash(frame.set_axis([10, 20]))
    True
    >>> content_hash(frame) == content_hash(frame.assign(x=[1, 3]))
    False
    """
    return _hash_of(_multivalue_as_tuples(frame))


def _hash_of(hashable: pd.DataFrame) -> str:
    """:func:`content_hash` of a frame whose list cells are already tuples (names and dtypes unchanged)."""
    digest = hashlib.sha256()
    for name, dtype in hashable.dtypes.items():
        digest.update(f"{name}\x1f{dtype}\x1e".encode())
    rows = pd.util.hash_pandas_object(hashable, index=False)
    digest.update(rows.to_numpy().astype("<u8").tobytes())
    return f"sha256:{digest.hexdigest()}"


def _column(series: pd.Series) -> dict[str, Any]:
    missing = int(series.isna().sum())
    facts: dict[str, Any] = {"dtype": str(series.dtype), "missing": missing}
    if pd.api.types.is_bool_dtype(series.dtype):
        facts["true_share"] = float(series.mean()) if len(series) > missing else None
    elif pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if finite.size:
            facts.update(
                mean=float(finite.mean()),
                std=float(finite.std()),
                min=float(finite.min()),
                max=float(finite.max()),
            )
    else:
        counts = series.value_counts(dropna=True)
        facts["distinct"] = int(counts.size)
        if counts.size:
            facts["top"] = str(counts.index[0])[:100]
            facts["top_count"] = int(counts.iloc[0])
    return facts


def profile(frame: pd.DataFrame) -> dict[str, Any]:
    """Rows, columns and facts per column (dtype, missing, range or distinct values), 200 columns at most.

    ``data_hash`` is the frame's :func:`content_hash`, None when a cell is a dict or a set (which pandas
    cannot hash); a multivalue cell counts as one value.
    """
    columns = list(frame.columns)
    hashable = _multivalue_as_tuples(frame)
    try:
        data_hash: str | None = _hash_of(hashable)
    except TypeError:
        data_hash = None
    return {
        "rows": len(frame),
        "columns": len(columns),
        "data_hash": data_hash,
        "column_profiles": {
            str(name): _column(hashable.iloc[:, position])
            for position, name in enumerate(columns[:_MAX_COLUMNS])
        },
        "truncated": len(columns) > _MAX_COLUMNS,
    }
