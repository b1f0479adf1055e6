"""A short, JSON-ready profile of the training data, and a content hash that identifies it."""

from __future__ import annotations

import hashlib
from typing import Any, Final

import numpy as np
import pandas as pd

__all__ = ["data_hash", "profile"]

_MAX_COLUMNS: Final = 200


def data_hash(frame: pd.DataFrame) -> str:
    """``sha256:`` of the frame's column names and values (row order matters, the index does not)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
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
    """Rows, columns and facts per column (dtype, missing, range or distinct values), 200 columns at most."""
    columns = list(frame.columns)
    return {
        "rows": len(frame),
        "columns": len(columns),
        "data_hash": data_hash(frame),
        "column_profiles": {str(name): _column(frame[name]) for name in columns[:_MAX_COLUMNS]},
        "truncated": len(columns) > _MAX_COLUMNS,
    }
