"""What each kind of column gets besides its encoding: booleans take their most frequent value
whatever the imputation strategy, only numeric columns get a drift reference, and two columns that
would give the same output name are refused with what to do."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from dsdl_golden.preprocessor import StandardPreprocessor, encode_categorical

#: A boolean column, a datetime, a number and yes/no text, each with a missing value except the number.
MIXED = pd.DataFrame(
    {
        "ok": pd.array([True, True, True, False, None], dtype="boolean"),
        "at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", None], utc=True),
        "x": [1.0, 2.0, 3.0, 4.0, 5.0],
        "said": ["yes", "no", "no", None, "no"],
    }
)


@pytest.mark.parametrize("strategy", ["median", "mean", "most_frequent"])
def test_booleans_are_imputed_with_their_most_frequent_value_whatever_the_strategy(strategy: str) -> None:
    preprocessor = StandardPreprocessor(impute_strategy=strategy).fit(MIXED)
    columns = preprocessor.describe()["columns"]
    assert columns["ok"]["action"] == "map to 1/0, impute most_frequent, add missing indicator"
    assert columns["said"]["action"] == "map to 1/0, impute most_frequent, add missing indicator"
    assert columns["at"]["action"] == (
        "split into epoch/hour/dayofweek/month (UTC), "
        f"impute {strategy}, add missing indicator, standard-scale"
    )
    assert columns["ok"]["stats"]["parts"]["value"]["fill"] == 1.0
    assert columns["said"]["stats"]["parts"]["value"]["fill"] == 0.0
    out = pd.DataFrame(preprocessor.transform(MIXED), columns=preprocessor.get_feature_names_out())
    assert out["ok"].tolist() == [1.0, 1.0, 1.0, 0.0, 1.0]
    assert out["said"].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_only_numeric_columns_get_a_drift_reference() -> None:
    preprocessor = StandardPreprocessor().fit(MIXED)
    assert list(preprocessor.drift_report(MIXED)["columns"]) == ["x"]
    described = preprocessor.describe()["columns"]
    assert [name for name, column in described.items() if "decile_edges" in column["stats"]] == ["x"]


def test_two_columns_giving_one_output_name_are_refused_with_what_to_do() -> None:
    frame = pd.DataFrame({"c": ["x", "y"], "c_x": [1.5, 2.5]})
    message = (
        "encode_categorical would output column 'c_x' twice: from column 'c' and from column 'c_x'. "
        "Rename one of these columns, or leave it out of the encoded columns."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        encode_categorical(frame)
