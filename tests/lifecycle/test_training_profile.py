"""The profile of the training data a model keeps (``summary(model)["summary"]["training_data"]``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from dsdl_golden import lifecycle
from dsdl_golden._lifecycle.profile import content_hash, profile


def test_each_kind_of_column_gets_its_own_facts() -> None:
    frame = pd.DataFrame(
        {
            "flag": [True, False, True, True],
            "amount": [1.0, np.nan, np.inf, 3.0],
            "count": [2, 4, 6, 8],
            "nothing": [np.nan] * 4,
            "city": ["Paris", None, "Oslo", "Paris"],
            "blank": pd.Series([None] * 4, dtype=object),
            "long": ["x" * 150] * 4,
        }
    )
    facts = profile(frame)
    assert (facts["rows"], facts["columns"], facts["truncated"]) == (4, 7, False)
    assert facts["data_hash"] == content_hash(frame)
    assert facts["column_profiles"] == {
        "flag": {"dtype": "bool", "missing": 0, "true_share": 0.75},
        "amount": {"dtype": "float64", "missing": 1, "mean": 2.0, "std": 1.0, "min": 1.0, "max": 3.0},
        "count": {
            "dtype": "int64",
            "missing": 0,
            "mean": 5.0,
            "std": np.std([2, 4, 6, 8]),
            "min": 2.0,
            "max": 8.0,
        },
        "nothing": {"dtype": "float64", "missing": 4},
        "city": {"dtype": "str", "missing": 1, "distinct": 2, "top": "Paris", "top_count": 2},
        "blank": {"dtype": "object", "missing": 4, "distinct": 0},
        "long": {"dtype": "str", "missing": 0, "distinct": 1, "top": "x" * 100, "top_count": 4},
    }
    assert profile(pd.DataFrame({"flag": pd.Series([None, None], dtype="boolean")}))["column_profiles"] == {
        "flag": {"dtype": "boolean", "missing": 2, "true_share": None}
    }


def test_a_wide_frame_profiles_its_first_200_columns() -> None:
    frame = pd.DataFrame(np.zeros((2, 201)), columns=[f"c{index}" for index in range(201)])
    facts = profile(frame)
    assert (facts["columns"], facts["truncated"]) == (201, True)
    assert list(facts["column_profiles"]) == [f"c{index}" for index in range(200)]
    assert not profile(frame.iloc[:, :200])["truncated"]


def test_a_multivalue_feature_is_profiled_and_trained_on_like_any_text(srv: Path) -> None:
    # Splunk multivalue fields arrive as lists; the profile (and its hash) must not stop the fit.
    frame = pd.DataFrame({"x": np.arange(20.0), "tags": [["a", "b"], ["c"]] * 10, "y": np.arange(20.0) + 0.5})
    facts = profile(frame)
    assert facts["column_profiles"]["tags"] == {
        "dtype": "object",
        "missing": 0,
        "distinct": 2,
        "top": "('a', 'b')",
        "top_count": 10,
    }
    assert facts["data_hash"] == content_hash(frame)
    param = {"feature_variables": ["x", "tags"], "target_variables": ["y"]}
    model = lifecycle.init(frame, param, lambda params: LinearRegression())
    assert lifecycle.fit(model, frame, param)["rows"] == 20
    assert lifecycle.summary(model)["summary"]["training_data"]["column_profiles"]["tags"]["distinct"] == 2


def test_a_feature_of_dict_or_set_cells_has_no_data_hash_and_never_stops_the_fit(srv: Path) -> None:
    # A JSON object or a set in a cell: pandas cannot hash the rows, so the data has no hash.
    frame = pd.DataFrame(
        {
            "x": np.arange(20.0),
            "raw": [{"source": "crm"}, {"source": "web"}] * 10,
            "seen": [{"a"}, None] * 10,
            "y": np.arange(20.0) + 0.5,
        }
    )
    facts = profile(frame)
    assert facts["data_hash"] is None
    assert facts["column_profiles"]["raw"] == {
        "dtype": "object",
        "missing": 0,
        "distinct": 2,
        "top": "{'source': 'crm'}",
        "top_count": 10,
    }
    assert facts["column_profiles"]["seen"]["distinct"] == 1
    assert facts["column_profiles"]["x"]["mean"] == 9.5
    param = {"feature_variables": ["x", "raw", "seen"], "target_variables": ["y"]}
    model = lifecycle.init(frame, param, lambda params: LinearRegression())
    assert lifecycle.fit(model, frame, param)["rows"] == 20
    training_data = lifecycle.summary(model)["summary"]["training_data"]
    assert (training_data["data_hash"], training_data["column_profiles"]["raw"]["distinct"]) == (None, 2)
    assert len(lifecycle.apply(model, frame, param)) == 20
