"""HEC event encoding: strict JSON whatever the model code puts into an event."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dsdl_golden._telemetry.client import serialise

_JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**80), 2**80),  # beyond 64 bits too
        st.floats(),  # NaN and infinities too
        st.text(),  # lone surrogates too
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


def _strict(text: bytes) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(item) for item in value]
    return value


@given(_JSON_VALUES)
def test_any_json_value_round_trips_with_non_finite_floats_as_null(value: Any) -> None:
    assert _strict(serialise({"event": value})) == {"event": _finite_or_none(value)}


def test_numpy_dates_sets_and_other_objects_become_json() -> None:
    class Model:
        def __str__(self) -> str:
            return "Model(depth=3)"

    event: dict[Any, Any] = {
        "int": np.int64(7),
        "float": np.float32(0.5),
        "nan": np.float64("nan"),
        "array": np.array([[1.0, np.nan], [np.inf, 2.0]]),
        "when": dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 26),
        "tags": {"b", "a"},
        "model": Model(),
        3: "integer key",
    }
    assert _strict(serialise(event)) == {
        "int": 7,
        "float": 0.5,
        "nan": None,
        "array": [[1.0, None], [None, 2.0]],
        "when": "2026-11-26T08:30:00+00:00",
        "day": "2026-11-26",
        "tags": ["a", "b"],
        "model": "Model(depth=3)",
        "3": "integer key",
    }
