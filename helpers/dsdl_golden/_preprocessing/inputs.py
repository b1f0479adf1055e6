"""Turn estimator input (DataFrame or 2-D array-like) into a DataFrame with string column names."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import pandas as pd
from pandas.api.types import is_complex_dtype
from sklearn.utils import check_array  # type: ignore[import-untyped]


def positional_names(n_columns: int) -> list[str]:
    """Names of unnamed input columns, as scikit-learn writes them: x0, x1, ..."""
    return [f"x{i}" for i in range(n_columns)]


def as_frame(data: Any) -> tuple[pd.DataFrame, bool]:
    """``data`` as a DataFrame, and whether its columns carry their own (string) names.

    DataFrames are not copied. Other input goes through scikit-learn's ``check_array`` (2-D, dense,
    not complex, non-empty; any dtype) and gets the columns x0..xn, as do DataFrames whose column
    names are not all strings.
    """
    if not isinstance(data, pd.DataFrame):
        array = check_array(data, dtype=None, ensure_all_finite=False, accept_sparse=False)
        return pd.DataFrame(array, columns=positional_names(array.shape[1]), copy=False), False
    _check_frame(data)
    if all(isinstance(name, str) for name in data.columns):
        return data, True
    return data.set_axis(positional_names(data.shape[1]), axis=1), False


def _check_frame(frame: pd.DataFrame) -> None:
    """Raise a ValueError saying what to fix when a DataFrame cannot be preprocessed."""
    n_rows, n_columns = frame.shape
    if n_rows == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={frame.shape}) while a minimum of 1 is required: "
            "pass a DataFrame with at least one row."
        )
    if n_columns == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={frame.shape}) while a minimum of 1 is required: "
            "pass a DataFrame with at least one column."
        )
    check_unique_columns(frame, "X")
    complex_columns = [str(name) for name, dtype in frame.dtypes.items() if is_complex_dtype(dtype)]
    if complex_columns:
        raise ValueError(
            f"Complex data not supported: columns {complex_columns}; pass real parts or magnitudes instead."
        )


def check_unique_columns(frame: pd.DataFrame, what: str) -> None:
    """Raise a ValueError naming the duplicated column names of ``frame`` (called ``what`` in the message).

    Selecting a duplicated name gives a DataFrame where a column is expected, so every public
    preprocessing function refuses such frames up front rather than failing somewhere inside.
    """
    if frame.columns.is_unique:
        return
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    raise ValueError(
        f"{what} has duplicate column names {duplicated}; rename them so each name is unique "
        "(for instance by assigning a new list to .columns)."
    )


def check_unique_outputs(outputs: Iterable[tuple[Hashable, list[str]]], what: str) -> None:
    """Raise a ValueError when two input columns produce the same output name.

    ``outputs`` pairs each input column with its output names; ``what`` names an output in the
    message ("encode_categorical would output column", ...). scikit-learn's ColumnTransformer refuses
    non-unique output names the same way rather than renaming them.
    """
    sources: dict[str, Hashable] = {}
    for column, names in outputs:
        for name in names:
            first = sources.setdefault(name, column)
            if first is not column and first != column:
                raise ValueError(
                    f"{what} {name!r} twice: from column {first!r} and from column {column!r}. Rename one "
                    "of these columns, or leave it out of the encoded columns."
                )
