"""Preprocessing edges the other preprocessor tests leave open.

The exact error messages users read (each says what to fix), defaults and single-name arguments of
``handle_missing`` and ``encode_categorical``, index and values of ``standard_preprocessing``'s
output, the frequency encoder's statistics in ``describe()``, the drift report's header, and the
boundaries of the target and identifier warnings (row count, missing values, dropped columns, where
the warning points).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import dsdl_golden
from dsdl_golden._preprocessing.encoders import fit_ordinal
from dsdl_golden._preprocessing.parsing import factorize_text
from dsdl_golden.preprocessor import (
    StandardPreprocessor,
    encode_categorical,
    handle_missing,
    standard_preprocessing,
)

PACKAGE = Path(dsdl_golden.__file__).resolve().parent


def _error(call: Any, *args: Any, **kwargs: Any) -> str:
    """The message of the ValueError or TypeError that ``call`` raises."""
    with pytest.raises((ValueError, TypeError)) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def _fit_warnings(frame: pd.DataFrame, **kwargs: Any) -> list[warnings.WarningMessage]:
    """The warnings standard_preprocessing gives while fitting ``frame``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        standard_preprocessing(frame, **kwargs)
    return list(caught)


def _messages(frame: pd.DataFrame, **kwargs: Any) -> list[str]:
    return [str(warning.message) for warning in _fit_warnings(frame, **kwargs)]


# --- error messages say what to fix ------------------------------------------------------------------


def test_non_frame_input_error_names_its_type_and_the_fix() -> None:
    for call in (handle_missing, encode_categorical, standard_preprocessing):
        assert _error(call, np.zeros((2, 2))) == (
            "df must be a pandas DataFrame, got ndarray; wrap arrays in pd.DataFrame(...)."
        )


def test_duplicate_columns_error_calls_the_argument_df() -> None:
    frame = pd.DataFrame([[1.0, 2.0, "x"]], columns=["a", "a", "s"])
    expected = (
        "df has duplicate column names ['a']; rename them so each name is unique "
        "(for instance by assigning a new list to .columns)."
    )
    for call in (handle_missing, encode_categorical, standard_preprocessing):
        assert _error(call, frame) == expected


def test_constant_without_fill_value_error_shows_a_call_that_works() -> None:
    assert _error(handle_missing, pd.DataFrame({"a": [1.0, np.nan]}), "constant") == (
        "strategy='constant' needs fill_value, e.g. handle_missing(df, 'constant', fill_value=0)."
    )


def test_fill_value_of_the_wrong_type_error_asks_for_the_columns_type() -> None:
    frame = pd.DataFrame({"count": pd.array([1, None, 3], dtype="Int64")})
    assert _error(handle_missing, frame, "constant", fill_value="?") == (
        "cannot fill column 'count' of dtype Int64 with '?': pass a fill_value of the column's type."
    )


def test_median_of_a_column_without_values_error_offers_alternatives() -> None:
    frame = pd.DataFrame({"a": [np.nan, np.nan], "b": [1.0, 2.0]})
    assert _error(handle_missing, frame, "median") == (
        "column 'a' has no observed values to take a median from; drop it or use strategy='constant'."
    )


def test_mean_of_infinite_values_error_says_how_to_make_them_missing() -> None:
    frame = pd.DataFrame({"x": [1.0, np.inf, -np.inf, np.nan, 5.0]})
    assert _error(handle_missing, frame, "mean") == (
        "column 'x' holds 2 infinite values, which are not missing values and would enter its mean: "
        "make them missing first (df.replace([np.inf, -np.inf], np.nan)) "
        "or use strategy='most_frequent' or 'constant'."
    )


def test_median_of_text_columns_error_offers_alternatives() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan], "s": ["x", ""]})
    assert _error(handle_missing, frame, "median", columns=["a", "s"]) == (
        "columns ['s'] are not numeric: use strategy='most_frequent' or 'constant' for them, "
        "or convert them first (standard_preprocessing parses numeric text)."
    )


# --- handle_missing and encode_categorical arguments --------------------------------------------------


def test_handle_missing_defaults_to_the_median_of_numeric_columns_like_simple_imputer() -> None:
    frame = pd.DataFrame({"bytes": [10.0, np.nan, 30.0, 100.0], "host": ["a", "", "b", "a"]})
    filled = handle_missing(frame)
    expected = SimpleImputer(strategy="median").fit_transform(frame[["bytes"]])[:, 0]
    assert filled["bytes"].tolist() == expected.tolist() == [10.0, 30.0, 30.0, 100.0]
    assert filled["host"].tolist() == ["a", "", "b", "a"]  # text is left alone by the median


def test_handle_missing_takes_numeric_columns_by_name_and_a_single_name() -> None:
    frame = pd.DataFrame({"bytes": [10.0, np.nan, 30.0], "latency": [1.0, np.nan, 2.0]})
    by_list = handle_missing(frame, "mean", columns=["bytes"])
    by_name = handle_missing(frame, "mean", columns="bytes")
    assert by_list["bytes"].tolist() == by_name["bytes"].tolist() == [10.0, 20.0, 30.0]
    assert np.isnan(by_name["latency"][1])  # not selected, not filled
    pd.testing.assert_frame_equal(by_list, by_name)


def test_encode_categorical_takes_a_single_column_name() -> None:
    frame = pd.DataFrame({"status": ["ok", "fail", "ok"], "host": ["a", "b", "a"]})
    encoded = encode_categorical(frame, columns="status")
    assert encoded.columns.tolist() == ["status_fail", "status_ok", "host"]


def test_handle_missing_most_frequent_keeps_timedeltas() -> None:
    seconds = pd.to_timedelta([1, 2, None, 2, 1, 3], unit="s")
    filled = handle_missing(pd.DataFrame({"d": seconds}), "most_frequent")
    assert filled["d"].dtype == seconds.dtype
    # 1 s and 2 s are both seen twice: the smallest wins, as SimpleImputer breaks ties.
    assert filled["d"].tolist() == pd.to_timedelta([1, 2, 1, 2, 1, 3], unit="s").tolist()


def test_handle_missing_most_frequent_fills_integers_above_two_to_the_53_exactly() -> None:
    big = 2**53 + 1  # not a float64: a float round trip would fill 2**53, a value not in the column
    column = pd.array([big, big, None, 5, 5, None, big], dtype="Int64")
    filled = handle_missing(pd.DataFrame({"n": column}), "most_frequent")
    assert filled["n"].dtype == column.dtype
    assert filled["n"].tolist() == [big, big, big, 5, 5, big, big]


def test_encode_categorical_keeps_the_frames_index_like_one_hot_encoder() -> None:
    frame = pd.DataFrame(
        {"n": [5, 6, 7, 8], "c": ["b", "a", None, "b"]}, index=pd.Index([10, 3, 7, 1], name="event")
    )
    encoded = encode_categorical(frame)
    pd.testing.assert_index_equal(encoded.index, frame.index)
    assert encoded["n"].tolist() == [5, 6, 7, 8]
    expected = OneHotEncoder(sparse_output=False).fit_transform(frame[["c"]].fillna(np.nan))
    np.testing.assert_array_equal(encoded[["c_a", "c_b", "c_nan"]].to_numpy(), expected)
    frequency = encode_categorical(frame, method="frequency")
    pd.testing.assert_index_equal(frequency.index, frame.index)
    assert frequency["c"].tolist() == [0.5, 0.25, 0.25, 0.5]


# --- standard_preprocessing output ---------------------------------------------------------------------


def test_standard_preprocessing_returns_the_transformed_values_with_the_frames_index() -> None:
    frame = pd.DataFrame(
        {"bytes": [1.0, 4.0, 2.0, 8.0], "status": ["ok", "fail", "ok", "ok"]},
        index=pd.Index(["e1", "e2", "e3", "e4"], name="event"),
    )
    features, preprocessor = standard_preprocessing(frame)
    assert features.columns.tolist() == ["bytes", "status_fail", "status_ok"]
    pd.testing.assert_index_equal(features.index, frame.index)
    assert features.dtypes.tolist() == [np.float64] * 3
    np.testing.assert_array_equal(features.to_numpy(), preprocessor.transform(frame))
    scaled = StandardScaler().fit_transform(frame[["bytes"]])[:, 0]
    np.testing.assert_allclose(features["bytes"], scaled, rtol=1e-12)
    np.testing.assert_array_equal(features["status_ok"], [1.0, 0.0, 1.0, 1.0])


def test_an_unnamed_column_is_not_taken_for_the_absent_target() -> None:
    # A header cell left empty gives a column named NaN; without target= it stays a feature.
    frame = pd.DataFrame({"bytes": [1.0, 2.0, 3.0], "_": ["x", "y", "x"]}).set_axis(["bytes", np.nan], axis=1)
    features, preprocessor = standard_preprocessing(frame)
    assert preprocessor.n_features_in_ == 2
    assert features.columns.tolist() == ["x0", "x1_x", "x1_y"]


# --- describe(): every fit-time decision, with scikit-learn's statistics -----------------------------------


def test_describe_reports_parameters_features_and_fitted_statistics_like_sklearn() -> None:
    frame = pd.DataFrame(
        {
            "bytes": [1.0, 2.0, np.nan, 4.0, 10.0],
            "status": ["ok", "fail", None, "ok", "ok"],
            "host": ["web"] * 5,
        }
    )
    summary = StandardPreprocessor().fit(frame).describe()
    assert list(summary) == ["parameters", "n_features_in", "n_features_out", "dropped_columns", "columns"]
    assert summary["parameters"] == {
        "add_indicator": "auto",
        "datetime_columns": ["_time"],
        "drop_constant": True,
        "impute_strategy": "median",
        "max_categories": 20,
    }
    assert (summary["n_features_in"], summary["n_features_out"]) == (3, 5)
    assert summary["dropped_columns"] == ["host"]

    imputer = SimpleImputer(strategy="median").fit(frame[["bytes"]])
    scaler = StandardScaler().fit(imputer.transform(frame[["bytes"]]))
    observed = frame["bytes"].dropna().to_numpy()
    bytes_column = summary["columns"]["bytes"]
    assert bytes_column["action"] == "parse as number, impute median, add missing indicator, standard-scale"
    assert bytes_column["output_features"] == ["bytes", "missingindicator_bytes"]
    assert bytes_column["stats"] == {
        "missing_fraction": 0.2,
        "parts": {
            "value": {
                "fill": imputer.statistics_[0],
                "mean": pytest.approx(scaler.mean_[0], rel=1e-12),
                "scale": pytest.approx(scaler.scale_[0], rel=1e-12),
            }
        },
        "decile_edges": pytest.approx(np.quantile(observed, np.linspace(0.1, 0.9, 9)).tolist(), rel=1e-12),
    }

    onehot = OneHotEncoder().fit(frame[["status"]].dropna())
    status = summary["columns"]["status"]
    assert status["action"] == "one-hot (missing values as their own category, unseen categories ignored)"
    assert status["output_features"] == ["status_fail", "status_ok", "status_nan"]
    assert status["stats"] == {"categories": onehot.categories_[0].tolist(), "missing_category": True}

    host = summary["columns"]["host"]
    assert (host["action"], host["output_features"], host["stats"]) == ("drop", [], {})
    json.dumps(summary, allow_nan=False)


def test_describe_of_a_column_without_missing_values_has_no_missing_category() -> None:
    summary = StandardPreprocessor().fit(pd.DataFrame({"status": ["ok", "fail", "ok"]})).describe()
    assert summary["columns"]["status"]["stats"] == {"categories": ["fail", "ok"], "missing_category": False}


# --- describe() of a frequency-encoded column ------------------------------------------------------------


def test_frequency_encoding_stats_list_the_most_frequent_values_first_ties_in_order_seen() -> None:
    # 30 values: odd ones seen twice, even ones once, then 3 missing rows (48 rows in all).
    names = [f"v{i:02d}" for i in range(30)]
    values: list[str | None] = [name for i, name in enumerate(names) for _ in range(1 + i % 2)]
    values += [None, "", "null"]
    preprocessor = StandardPreprocessor().fit(pd.DataFrame({"user": values}))
    column = preprocessor.describe()["columns"]["user"]
    assert column["kind"] == "high_cardinality"
    stats = column["stats"]
    assert set(stats) == {"n_categories", "missing_frequency", "top_frequencies"}
    assert stats["n_categories"] == 30
    assert stats["missing_frequency"] == 3 / 48
    # The ten most frequent: the odd values, in the order they were first seen.
    assert list(stats["top_frequencies"].items()) == [(f"v{i:02d}", 2 / 48) for i in range(1, 20, 2)]
    shares = pd.Series(values).replace(["", "null"], None).value_counts(normalize=True, dropna=False)
    assert all(shares[name] == share for name, share in stats["top_frequencies"].items())
    json.dumps(stats, allow_nan=False)


def test_ordinal_encoder_stats_list_the_sorted_categories() -> None:
    # encode_categorical(method="ordinal") fits this encoder; its stats are what describe() would show.
    encoder = fit_ordinal(factorize_text(pd.Series(["b", "a", None, "c", "a"])), "text")
    assert encoder.stats() == {"categories": ["a", "b", "c"]}


# --- drift_report header ------------------------------------------------------------------------------


def test_drift_report_counts_rows_and_names_extra_columns() -> None:
    preprocessor = StandardPreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0]}))
    report = preprocessor.drift_report(pd.DataFrame({"a": [1.0, 9.0, 3.0], "note": ["x", "y", "z"]}))
    assert report["n_rows"] == 3
    assert report["extra_columns"] == ["note"]
    assert list(report) == ["n_rows", "extra_columns", "columns"]
    assert list(report["columns"]) == ["a"]


# --- target and identifier warnings: boundaries -----------------------------------------------------------


def _distinct_text(n: int) -> list[str]:
    return [f"s{i:04d}-{i * 7919 % 1000}" for i in range(n)]


@pytest.mark.parametrize(("n_rows", "warned"), [(50, False), (51, True)])
def test_one_value_per_row_makes_an_identifier_only_over_fifty_rows(n_rows: int, warned: bool) -> None:
    messages = _messages(pd.DataFrame({"session": _distinct_text(n_rows)}))
    assert messages == (
        [
            "column 'session' looks like an identifier (an id name, or one distinct value per row) and "
            "would be encoded as a feature that does not generalise: pass ignore=['session'] to drop it"
        ]
        if warned
        else []
    )


def test_distinct_values_with_a_missing_one_are_no_identifier() -> None:
    assert _messages(pd.DataFrame({"session": [*_distinct_text(60), None]})) == []


def test_distinct_float_measurements_are_no_identifier() -> None:
    # Distinct values spanning exactly n - 1 like a row number would, but floats: a measurement.
    assert _messages(pd.DataFrame({"duration": np.arange(60) + 0.5})) == []


def test_unhashable_values_are_no_identifier() -> None:
    assert _messages(pd.DataFrame({"tags": [[i] for i in range(60)]})) == []


def test_dropped_columns_are_not_warned_about() -> None:
    frame = pd.DataFrame({"session_id": ["s1"] * 4, "bytes": [1.0, 2.0, 3.0, 4.0]})
    assert _messages(frame) == []  # the constant session_id is dropped, so it is no feature


def test_a_dropped_column_does_not_hide_the_suspects_after_it() -> None:
    frame = pd.DataFrame({"host": ["web"] * 4, "bytes": [1.0, 2.0, 3.0, 4.0], "label": [0, 1, 0, 1]})
    (message,) = _messages(frame)
    assert message.startswith("column 'label' looks like a target")


def test_with_a_target_given_other_target_names_are_not_warned_about() -> None:
    frame = pd.DataFrame({"bytes": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1], "label": [1, 0, 1, 0]})
    assert _messages(frame, target="label") == []
    assert [m.split(" looks")[0] for m in _messages(frame)] == ["column 'y'", "column 'label'"]


def test_suspect_warnings_are_user_warnings_pointing_outside_the_library() -> None:
    # The warning names the caller's line, not a line of dsdl_golden: users see their own call.
    frame = pd.DataFrame({"bytes": [1.0, 2.0, 3.0, 4.0], "label": [0, 1, 0, 1]})
    (warning,) = _fit_warnings(frame)
    assert warning.category is UserWarning
    assert not Path(warning.filename).resolve().is_relative_to(PACKAGE)


def test_a_failed_fit_leaves_describe_and_drift_report_unfitted() -> None:
    frame = pd.DataFrame({"c": ["x", "y"], "c_x": [1.5, 2.5]})
    preprocessor = StandardPreprocessor()
    with pytest.raises(ValueError, match="would output feature 'c_x' twice"):
        preprocessor.fit(frame)
    with pytest.raises(NotFittedError, match="This StandardPreprocessor instance is not fitted yet"):
        preprocessor.describe()
    with pytest.raises(NotFittedError, match="This StandardPreprocessor instance is not fitted yet"):
        preprocessor.drift_report(frame)
