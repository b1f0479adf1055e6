"""Columns that are probably not features: a target left in the frame, or a row identifier.

Deliberately simple, name-first heuristics (``standard_preprocessing`` warns, it never drops):

- target-like: the name (case-insensitive) is one of ``TARGET_NAMES`` (not any ``is_*``: most such
  columns are features, ``is_weekend``);
- identifier-like: the name is ``id``, ends with ``_id``, ``-id`` or ``uuid`` (any case) or is
  camelCase ending in ``Id``/``ID`` (``accountId``, not ``VALID``); or,
  over more than ``MIN_ROWS_FOR_UNIQUE`` rows without missing values, every value differs and the
  column is text the preprocessor encodes as categories (not numbers, timestamps or booleans, which
  Splunk also hands over as text), or integers forming one consecutive run (a row number).

Only columns the preprocessor keeps are looked at (empty and constant ones are dropped anyway).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import pandas as pd
from pandas.api.types import is_bool_dtype, is_integer_dtype

TARGET_NAMES: Final = frozenset(
    {
        *("target", "label", "labels", "y", "class", "outcome"),
        *("churn", "churned", "is_churn", "fraud", "is_fraud", "anomaly", "is_anomaly"),
    }
)
#: An identifier's name: ``id``, ``*_id``, ``*-id``, ``*uuid`` (any case), or camelCase ``*Id``/``*ID``.
ID_NAME: Final = re.compile(r"(?i:id|.*[_-]id|.*uuid)|.*[a-z0-9](?:Id|ID)")
#: Kinds of text columns encoded as categories (one-hot or frequency).
CATEGORY_KINDS: Final = frozenset({"categorical", "high_cardinality"})
#: Fewer rows than this say too little about uniqueness.
MIN_ROWS_FOR_UNIQUE: Final = 50


def looks_like_target(name: str) -> bool:
    """Whether the column name is a usual name of a prediction target."""
    return name.lower() in TARGET_NAMES


def looks_like_identifier(name: str, series: pd.Series[Any], kind: str) -> bool:
    """Whether the column's name or its one-distinct-value-per-row content says it is an identifier.

    ``kind`` is what the preprocessor found the column to hold (``categorical``, ``numeric``...).
    """
    return ID_NAME.fullmatch(name) is not None or _unique_per_row(series, kind)


def _unique_per_row(series: pd.Series[Any], kind: str) -> bool:
    if len(series) <= MIN_ROWS_FOR_UNIQUE or series.hasnans:
        return False
    if kind in CATEGORY_KINDS:
        return _all_distinct(series)
    if is_integer_dtype(series.dtype) and not is_bool_dtype(series.dtype):
        return _all_distinct(series) and int(series.max()) - int(series.min()) == len(series) - 1
    return False


def _all_distinct(series: pd.Series[Any]) -> bool:
    try:
        return bool(series.is_unique)
    except TypeError:  # unhashable values (lists, dicts) are no identifiers
        return False


def suspect_warnings(frame: pd.DataFrame, kinds: Sequence[str | None], *, target_given: bool) -> list[str]:
    """One message per suspect column of ``frame`` (the features), saying how to leave it out.

    ``kinds`` gives the preprocessor's kind of each column, in order; None for a dropped column.
    """
    messages = []
    for name, kind in zip(frame.columns, kinds, strict=True):
        label = str(name)
        if kind is None:
            continue
        if not target_given and looks_like_target(label):
            messages.append(
                f"column {label!r} looks like a target but is used as a feature: pass "
                f"target={label!r} to keep it out of the features, or ignore=[{label!r}] to drop it"
            )
        elif looks_like_identifier(label, frame[name], kind):
            messages.append(
                f"column {label!r} looks like an identifier (an id name, or one distinct value per row) "
                f"and would be encoded as a feature that does not generalise: pass ignore=[{label!r}] "
                "to drop it"
            )
    return messages
