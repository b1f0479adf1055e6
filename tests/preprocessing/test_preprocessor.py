"""Tests of dsdl_golden.preprocessor: type routing, schema checks, reports, scikit-learn parity."""

from __future__ import annotations

import json
import pickle
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_testing import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from dsdl_golden.preprocessor import (
    StandardPreprocessor,
    encode_categorical,
    handle_missing,
    standard_preprocessing,
)

PROPERTY_SETTINGS = settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
CATEGORIES = ["alpha", "beta", "delta", "gamma"]


def splunk_frame() -> pd.DataFrame:
    """A small frame of every kind, everything as text like Splunk returns it (plus one float column)."""
    return pd.DataFrame(
        {
            "bytes": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
            "latency": ["1.5", "2", "", "3", "4", "7"],
            "ok": ["True", "false", "T", "f", None, "yes"],
            "status": ["a", "b", "a", None, "c", "b"],
            "_time": [
                "1700000000.000",
                "1700003600",
                "2024-01-01T00:00:00.000+00:00",
                None,
                "1700010000",
                "0",
            ],
            "seen": [
                "2024-01-01T00:00:00Z",
                "2024-02-01T10:00:00Z",
                "2024-03-01",
                None,
                "2024-01-05",
                "2024-01-01",
            ],
            "host": ["web"] * 6,
            "note": [None] * 6,
            "user": [f"u{i}" for i in range(6)],
        }
    )


def features(preprocessor: StandardPreprocessor, values: np.ndarray) -> pd.DataFrame:
    """Output as a DataFrame named by the preprocessor's feature names."""
    return pd.DataFrame(values, columns=preprocessor.get_feature_names_out())


# --- type routing and describe() -----------------------------------------------------------------


def test_routes_each_kind_and_describes_why() -> None:
    preprocessor = StandardPreprocessor(max_categories=4).fit(splunk_frame())
    summary = preprocessor.describe()
    kinds = {name: column["kind"] for name, column in summary["columns"].items()}
    assert kinds == {
        "bytes": "numeric",
        "latency": "numeric",
        "ok": "boolean",
        "status": "categorical",
        "_time": "datetime",
        "seen": "datetime",
        "host": "categorical",
        "note": "empty",
        "user": "high_cardinality",
    }
    assert summary["dropped_columns"] == ["host", "note"]
    assert "single value 'web'" in summary["columns"]["host"]["reason"]
    assert summary["columns"]["note"]["action"] == "drop"
    assert summary["columns"]["status"]["output_features"] == [
        "status_a",
        "status_b",
        "status_c",
        "status_nan",
    ]
    assert summary["n_features_out"] == len(preprocessor.get_feature_names_out())
    json.dumps(summary, allow_nan=False)


def test_boolean_tokens_are_case_insensitive() -> None:
    frame = pd.DataFrame({"flag": ["TRUE", "No", "t", "F", "1", "0", "Yes", "false"]})
    preprocessor = StandardPreprocessor()
    assert preprocessor.fit_transform(frame)[:, 0].tolist() == [1, 0, 1, 0, 1, 0, 1, 0]
    assert preprocessor.describe()["columns"]["flag"]["kind"] == "boolean"


def test_numeric_text_gives_the_same_features_as_numbers() -> None:
    numbers = pd.DataFrame({"a": [1.5, np.nan, -3.0, 1e6], "b": [0.0, 2.0, 2.0, 5.0]})
    text = pd.DataFrame({"a": ["1.5", "", " -3", "1e6"], "b": ["0", "2", "2.0", "5"]})
    expected = StandardPreprocessor().fit_transform(numbers)
    np.testing.assert_array_equal(StandardPreprocessor().fit_transform(text), expected)


def raw_datetime_parts(preprocessor: StandardPreprocessor, values: np.ndarray, column: str) -> pd.DataFrame:
    """Undo the scaling of a datetime column's parts using the fitted statistics from describe()."""
    out = features(preprocessor, values)
    parts = preprocessor.describe()["columns"][column]["stats"]["parts"]
    return pd.DataFrame(
        {part: out[f"{column}_{part}"] * stats["scale"] + stats["mean"] for part, stats in parts.items()}
    )


def test_time_accepts_epoch_seconds_and_iso_text() -> None:
    frame = pd.DataFrame(
        {
            "_time": [
                "1700000000.000",
                "2024-01-01T00:00:00.000+00:00",
                "1704067200",
                "2024-01-01T02:00:00+02:00",
            ]
        }
    )
    preprocessor = StandardPreprocessor()
    parts = raw_datetime_parts(preprocessor, preprocessor.fit_transform(frame), "_time")
    # 1700000000 is Tuesday 2023-11-14 22:13:20 UTC; the other three are Monday 2024-01-01 00:00 UTC.
    expected = [[1700000000, 22, 1, 11]] + [[1704067200, 0, 0, 1]] * 3
    np.testing.assert_allclose(parts[["epoch", "hour", "dayofweek", "month"]].to_numpy(), expected, atol=1e-6)


def test_datetime_dtype_columns_become_parts() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-03-05 07:30", "2024-07-14 23:00", None]))
    preprocessor = StandardPreprocessor()
    parts = raw_datetime_parts(preprocessor, preprocessor.fit_transform(stamps.to_frame("at")), "at")
    np.testing.assert_allclose(parts["hour"].to_numpy()[:2], [7, 23], atol=1e-9)
    assert preprocessor.get_feature_names_out()[-1] == "missingindicator_at"


def test_constant_columns_are_kept_on_request() -> None:
    frame = pd.DataFrame({"host": ["web"] * 3, "size": [2.0, 2.0, 2.0], "x": [1.0, 2.0, 3.0]})
    assert StandardPreprocessor().fit(frame).get_feature_names_out().tolist() == ["x"]
    kept = StandardPreprocessor(drop_constant=False).fit(frame)
    assert kept.get_feature_names_out().tolist() == ["host_web", "size", "x"]
    np.testing.assert_array_equal(kept.transform(frame)[:, :2], [[1, 0]] * 3)


def test_high_cardinality_text_is_frequency_encoded() -> None:
    fit = pd.DataFrame({"user": ["a", "a", "b", "c", None, "a"]})
    preprocessor = StandardPreprocessor(max_categories=2).fit(fit)
    assert preprocessor.get_feature_names_out().tolist() == ["user"]
    out = preprocessor.transform(pd.DataFrame({"user": ["a", "b", "zz", None]}))
    np.testing.assert_allclose(out[:, 0], [3 / 6, 1 / 6, 0.0, 1 / 6])
    assert preprocessor.last_transform_report_["columns"]["user"]["unseen_examples"] == ["zz"]


@pytest.mark.parametrize(
    ("add_indicator", "expected"),
    [
        ("auto", ["a", "missingindicator_a", "b"]),
        (True, ["a", "missingindicator_a", "b", "missingindicator_b"]),
        (False, ["a", "b"]),
    ],
)
def test_missing_indicators(add_indicator: Any, expected: list[str]) -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [1.0, 2.0, 4.0]})
    assert (
        StandardPreprocessor(add_indicator=add_indicator).fit(frame).get_feature_names_out().tolist()
        == expected
    )


@pytest.mark.parametrize(("strategy", "fill"), [("median", 2.5), ("mean", 4.0), ("most_frequent", 1.0)])
def test_impute_strategy(strategy: str, fill: float) -> None:
    frame = pd.DataFrame({"a": [1.0, 1.0, 4.0, 10.0, np.nan]})
    summary = StandardPreprocessor(impute_strategy=strategy).fit(frame).describe()
    assert summary["columns"]["a"]["stats"]["parts"]["value"]["fill"] == pytest.approx(fill)


# --- schema checks and reports at apply time ------------------------------------------------------


def test_missing_columns_are_named_in_the_error() -> None:
    preprocessor = StandardPreprocessor().fit(splunk_frame())
    with pytest.raises(ValueError, match=r"missing 2 column\(s\).*\['status', 'user'\]"):
        preprocessor.transform(splunk_frame().drop(columns=["status", "user"]))


def test_extra_and_reordered_columns_are_fine() -> None:
    frame = splunk_frame()
    preprocessor = StandardPreprocessor().fit(frame)
    expected = preprocessor.transform(frame)
    np.testing.assert_array_equal(
        preprocessor.transform(frame[frame.columns[::-1]].assign(extra=1)), expected
    )
    assert preprocessor.last_transform_report_["extra_columns"] == ["extra"]


def test_type_drift_is_coerced_and_reported() -> None:
    preprocessor = StandardPreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}))
    expected = preprocessor.transform(pd.DataFrame({"a": [1.0, 2.0]}))
    as_text = preprocessor.transform(pd.DataFrame({"a": ["1", "2.0", "oops", None]}))
    report = preprocessor.last_transform_report_
    np.testing.assert_array_equal(as_text[:2], expected)
    np.testing.assert_array_equal(as_text[2], as_text[3])  # both imputed with the median
    assert report["type_drift"] == ["a"]
    assert report["columns"]["a"] | {"unseen_examples": []} == {
        "missing": 1,
        "unparsable": 1,
        "infinite": 0,
        "unseen": 0,
        "unseen_examples": [],
        "dtype_at_fit": "numeric",
        "dtype": "text",
    }


def test_unseen_categories_are_ignored_and_reported() -> None:
    preprocessor = StandardPreprocessor().fit(pd.DataFrame({"c": ["a", "b", "a"]}))
    out = preprocessor.transform(pd.DataFrame({"c": ["b", "zz", None]}))
    np.testing.assert_array_equal(out, [[0, 1], [0, 0], [0, 0]])
    report = preprocessor.last_transform_report_
    assert report["unseen_categories"] == ["c"]
    assert report["columns"]["c"]["unseen"] == 1
    assert report["columns"]["c"]["missing"] == 1
    json.dumps(report, allow_nan=False)


def test_drift_report_psi() -> None:
    rng = np.random.default_rng(0)
    fit = pd.DataFrame({"a": rng.normal(size=5000), "c": rng.choice(["x", "y"], 5000)})
    preprocessor = StandardPreprocessor().fit(fit)
    same = preprocessor.drift_report(fit)
    shifted = preprocessor.drift_report(fit.assign(a=fit["a"] + 1.0))
    assert list(same["columns"]) == ["a"]
    assert same["columns"]["a"]["psi"] == pytest.approx(0.0)
    assert shifted["columns"]["a"]["psi"] > 0.25
    assert sum(same["columns"]["a"]["expected_shares"]) == pytest.approx(1.0)
    json.dumps(shifted, allow_nan=False)


# --- array input, output containers, persistence -----------------------------------------------------


def test_arrays_get_positional_names() -> None:
    preprocessor = StandardPreprocessor().fit(np.array([[1.0, 2.0], [3.0, np.nan], [5.0, 6.0]]))
    assert not hasattr(preprocessor, "feature_names_in_")
    assert preprocessor.get_feature_names_out().tolist() == ["x0", "x1", "missingindicator_x1"]
    assert preprocessor.get_feature_names_out(["a", "b"]).tolist() == ["a", "b", "missingindicator_b"]
    with pytest.raises(ValueError, match="X has 1 features, but StandardPreprocessor is expecting 2"):
        preprocessor.transform(np.ones((2, 1)))


def test_set_output_pandas_keeps_names_and_index() -> None:
    frame = splunk_frame().set_index(pd.Index(list("abcdef")))
    preprocessor = StandardPreprocessor().set_output(transform="pandas")
    out = preprocessor.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert out.columns.tolist() == preprocessor.get_feature_names_out().tolist()
    assert out.index.tolist() == list("abcdef")


def test_pickle_and_clone() -> None:
    frame = splunk_frame()
    preprocessor = StandardPreprocessor(max_categories=3).fit(frame)
    restored = pickle.loads(pickle.dumps(preprocessor))
    np.testing.assert_array_equal(restored.transform(frame), preprocessor.transform(frame))
    assert restored.describe() == preprocessor.describe()
    assert clone(preprocessor).get_params() == preprocessor.get_params()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_categories": 0}, "max_categories"),
        ({"max_categories": True}, "max_categories"),
        ({"impute_strategy": "zero"}, "impute_strategy"),
        ({"add_indicator": "yes"}, "add_indicator"),
        ({"datetime_columns": "_time"}, r"datetime_columns must be a tuple"),
        ({"datetime_columns": (1,)}, "datetime_columns"),
        ({"drop_constant": "no"}, "drop_constant"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StandardPreprocessor(**params).fit(splunk_frame())


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"a": []}), "0 sample"),
        (pd.DataFrame(index=[0, 1]), "0 feature"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate column names"),
        (pd.DataFrame({"a": [1j, 2j]}), "Complex data not supported"),
    ],
)
def test_bad_frames_are_explained(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StandardPreprocessor().fit(frame)


# --- scikit-learn conformance -----------------------------------------------------------------------


def expected_failed_checks(_estimator: StandardPreprocessor) -> dict[str, str]:
    """Checks this estimator does not pass by design."""
    return {
        # transform records last_transform_report_ (missing/unparsable/unseen counts) for telemetry, as
        # required; it is diagnostic only and never changes what later calls return.
        "check_dict_unchanged": "transform records last_transform_report_",
    }


@parametrize_with_checks([StandardPreprocessor()], expected_failed_checks=expected_failed_checks)
def test_check_estimator(estimator: StandardPreprocessor, check: Any) -> None:
    check(estimator)


# Not part of check_estimator; check_dataframe_column_names_consistency is deliberately not run:
# columns are matched by name, so reordered and extra columns are accepted rather than rejected.
@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_set_output_transform,
        estimator_checks.check_set_output_transform_pandas,
        estimator_checks.check_global_output_transform_pandas,
        estimator_checks.check_transformer_get_feature_names_out,
        estimator_checks.check_transformer_get_feature_names_out_pandas,
    ],
)
@pytest.mark.filterwarnings("ignore:X (has|does not have valid) feature names:UserWarning")
def test_output_and_feature_name_checks(check: Any) -> None:
    check("StandardPreprocessor", StandardPreprocessor())


# --- property tests -------------------------------------------------------------------------------


def quarter_values(n_rows: int, *, missing: bool) -> st.SearchStrategy[list[float]]:
    """Floats on a 0.25 grid (sums are exact, so both sides compute identical statistics)."""
    value = st.integers(-400, 400).map(lambda v: v / 4)
    element = st.one_of(st.just(np.nan), value) if missing else value
    return st.lists(element, min_size=n_rows, max_size=n_rows)


def category_values(n_rows: int, choices: list[str]) -> st.SearchStrategy[list[str | None]]:
    return st.lists(st.one_of(st.none(), st.sampled_from(choices)), min_size=n_rows, max_size=n_rows)


@st.composite
def numeric_and_categorical_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fit frame and an apply frame (new missing values, unseen categories) with the same columns."""
    n_numeric, n_categorical = draw(st.integers(1, 4)), draw(st.integers(0, 3))
    frames = []
    for n_rows, choices in (
        (draw(st.integers(2, 30)), CATEGORIES),
        (draw(st.integers(1, 10)), [*CATEGORIES, "new"]),
    ):
        columns: dict[str, Any] = {}
        for i in range(n_numeric):
            columns[f"n{i}"] = draw(
                quarter_values(n_rows, missing=True).filter(lambda v: not np.isnan(v).all())
            )
        for i in range(n_categorical):
            values = draw(category_values(n_rows, choices).filter(lambda v: any(x is not None for x in v)))
            columns[f"c{i}"] = pd.Series(values, dtype="str")
        frames.append(pd.DataFrame(columns))
    return frames[0], frames[1]


def reference_transformer(frame: pd.DataFrame, *, indicator: bool) -> ColumnTransformer:
    """The scikit-learn ColumnTransformer StandardPreprocessor must match on numeric/categorical data."""
    numeric = [name for name in frame.columns if name.startswith("n")]
    categorical = [name for name in frame.columns if name.startswith("c")]
    transformers: list[tuple[str, Any, list[str]]] = [
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
    ]
    if indicator:
        transformers.append(("ind", MissingIndicator(features="missing-only", error_on_new=False), numeric))
    if categorical:
        transformers.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical))
    return ColumnTransformer(transformers, verbose_feature_names_out=False)


@PROPERTY_SETTINGS
@given(numeric_and_categorical_frames(), st.booleans())
def test_matches_column_transformer(frames: tuple[pd.DataFrame, pd.DataFrame], indicator: bool) -> None:
    fit, apply = frames
    ours = StandardPreprocessor(add_indicator="auto" if indicator else False, drop_constant=False)
    reference = reference_transformer(fit, indicator=indicator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # OneHotEncoder: "Found unknown categories"
        expected = [reference.fit_transform(fit), reference.transform(apply)]
    actual = [ours.fit_transform(fit), ours.transform(apply)]
    names = ours.get_feature_names_out().tolist()
    reference_names = reference.get_feature_names_out().tolist()
    assert sorted(names) == sorted(reference_names)
    order = [names.index(name) for name in reference_names]
    for mine, theirs in zip(actual, expected, strict=True):
        np.testing.assert_allclose(mine[:, order], theirs, rtol=0, atol=1e-12)


def test_matches_column_transformer_on_arbitrary_floats() -> None:
    rng = np.random.default_rng(7)
    n_rows = 3000
    columns: dict[str, Any] = {
        f"n{i}": rng.normal(rng.normal() * 100, rng.uniform(0.01, 50), n_rows) for i in range(4)
    }
    for values in columns.values():
        values[rng.random(n_rows) < 0.2] = np.nan
    columns["c0"] = pd.Series(rng.choice(CATEGORIES, n_rows), dtype="str").mask(rng.random(n_rows) < 0.1)
    fit = pd.DataFrame(columns)
    ours = StandardPreprocessor(drop_constant=False)
    reference = reference_transformer(fit, indicator=True)
    expected = reference.fit_transform(fit)
    names = ours.fit(fit).get_feature_names_out().tolist()
    order = [names.index(name) for name in reference.get_feature_names_out()]
    np.testing.assert_allclose(ours.transform(fit)[:, order], expected, rtol=0, atol=1e-12)


SPLUNK_TEXT = st.one_of(
    st.sampled_from(["", "null", "NaN", "true", "F", "yes", "0", "1", "web", "db", "1700000000.000"]),
    st.sampled_from(["2024-01-01T00:00:00.000+00:00", "-3.5", "1e3", "inf", " 42 "]),
    st.text(max_size=6),
    st.none(),
)


@st.composite
def text_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two frames of arbitrary Splunk-like text with the same columns (one named _time)."""
    names = ["_time", *draw(st.lists(st.sampled_from(list("abcdef")), min_size=1, max_size=4, unique=True))]
    frames = []
    for n_rows in (draw(st.integers(1, 25)), draw(st.integers(1, 10))):
        column = st.lists(SPLUNK_TEXT, min_size=n_rows, max_size=n_rows)
        frames.append(pd.DataFrame({name: pd.Series(draw(column), dtype="str") for name in names}))
    return frames[0], frames[1]


@PROPERTY_SETTINGS
@given(text_frames(), st.integers(1, 5))
def test_any_text_gives_finite_features_and_json_reports(
    frames: tuple[pd.DataFrame, pd.DataFrame], max_categories: int
) -> None:
    fit, apply = frames
    preprocessor = StandardPreprocessor(max_categories=max_categories).fit(fit)
    names = preprocessor.get_feature_names_out()
    for frame in (fit, apply):
        out = preprocessor.transform(frame)
        assert out.shape == (len(frame), len(names))
        assert np.isfinite(out).all()
        json.dumps(preprocessor.last_transform_report_, allow_nan=False)
    json.dumps(preprocessor.describe(), allow_nan=False)
    json.dumps(preprocessor.drift_report(apply), allow_nan=False)


@PROPERTY_SETTINGS
@given(numeric_and_categorical_frames())
def test_numbers_sent_as_text_give_the_same_features(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    fit, apply = frames
    as_text = {
        name: fit[name].map(lambda v: None if np.isnan(v) else repr(v))
        for name in fit
        if name.startswith("n")
    }
    preprocessor = StandardPreprocessor(drop_constant=False).fit(fit)
    np.testing.assert_array_equal(
        StandardPreprocessor(drop_constant=False).fit_transform(fit.assign(**as_text)),
        preprocessor.transform(fit),
    )
    np.testing.assert_array_equal(
        preprocessor.transform(apply.astype(dict.fromkeys(as_text, "str"))), preprocessor.transform(apply)
    )


# --- standard_preprocessing, handle_missing, encode_categorical ---------------------------------------


def test_standard_preprocessing_fits_then_reuses() -> None:
    frame = splunk_frame().assign(label=[0, 1, 0, 1, 0, 1])
    features_df, preprocessor = standard_preprocessing(frame, target="label", max_categories=3)
    assert "label" not in preprocessor.feature_names_in_
    assert features_df.columns.tolist() == preprocessor.get_feature_names_out().tolist()
    assert preprocessor.max_categories == 3
    again, same = standard_preprocessing(
        frame.drop(columns="label"), target="label", preprocessor=preprocessor
    )
    assert same is preprocessor
    pd.testing.assert_frame_equal(again, features_df)


def test_standard_preprocessing_rejects_bad_calls() -> None:
    frame = splunk_frame()
    with pytest.raises(ValueError, match="target column 'label' is not in df"):
        standard_preprocessing(frame, target="label")
    _, preprocessor = standard_preprocessing(frame)
    with pytest.raises(ValueError, match=r"options \['max_categories'\] only apply when fitting"):
        standard_preprocessing(frame, preprocessor=preprocessor, max_categories=3)
    with pytest.raises(TypeError, match="df must be a pandas DataFrame"):
        standard_preprocessing(frame.to_numpy())


def missing_frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1.0, np.nan, 3.0, 10.0], "s": ["x", "", "y", "y"], "t": ["p", "q", None, "q"]})


@pytest.mark.parametrize(
    ("strategy", "options", "expected"),
    [
        ("median", {}, {"a": [1.0, 3.0, 3.0, 10.0], "s": ["x", "", "y", "y"]}),
        ("mean", {}, {"a": [1.0, 14 / 3, 3.0, 10.0]}),
        ("most_frequent", {"columns": ["s", "t"]}, {"s": ["x", "y", "y", "y"], "t": ["p", "q", "q", "q"]}),
        ("constant", {"fill_value": "?", "columns": ["t"]}, {"t": ["p", "q", "?", "q"]}),
    ],
)
def test_handle_missing_fills(strategy: Any, options: dict[str, Any], expected: dict[str, list[Any]]) -> None:
    frame = missing_frame()
    filled = handle_missing(frame, strategy, **options)
    for name, values in expected.items():
        assert filled[name].tolist() == values
    pd.testing.assert_frame_equal(frame, missing_frame())  # the input is left alone


def test_handle_missing_drop_and_errors() -> None:
    frame = missing_frame()
    assert handle_missing(frame, "drop").index.tolist() == [0, 3]
    assert handle_missing(frame, "drop", columns=["a"]).index.tolist() == [0, 2, 3]
    with pytest.raises(ValueError, match=r"columns \['s'\] are not numeric"):
        handle_missing(frame, "median", columns=["s"])
    with pytest.raises(ValueError, match=r"columns \['zz'\] are not in df"):
        handle_missing(frame, "drop", columns=["zz"])
    with pytest.raises(ValueError, match="needs fill_value"):
        handle_missing(frame, "constant")
    with pytest.raises(ValueError, match="strategy must be one of"):
        handle_missing(frame, "zero")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no observed values"):
        handle_missing(pd.DataFrame({"a": [np.nan, np.nan]}), "median")


def test_encode_categorical_methods() -> None:
    frame = pd.DataFrame({"n": [1, 2, 3, 4], "c": ["b", "a", None, "b"]})
    onehot = encode_categorical(frame)
    assert onehot.columns.tolist() == ["n", "c_a", "c_b", "c_nan"]
    assert onehot[["c_a", "c_b", "c_nan"]].to_numpy().tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert encode_categorical(frame, method="frequency")["c"].tolist() == [0.5, 0.25, 0.25, 0.5]
    ordinal = encode_categorical(frame, method="ordinal")["c"].tolist()
    assert ordinal[:2] + ordinal[3:] == [1.0, 0.0, 1.0]
    assert np.isnan(ordinal[2])
    assert encode_categorical(frame, columns=["n"]).columns.tolist() == ["n_1", "n_2", "n_3", "n_4", "c"]
    with pytest.raises(ValueError, match="method must be one of"):
        encode_categorical(frame, method="hash")  # type: ignore[arg-type]


# --- issue 10: unclear errors and silently wrong results ------------------------------------------

PUBLIC_CALLS = {
    "handle_missing": handle_missing,
    "handle_missing_most_frequent": lambda df: handle_missing(df, "most_frequent"),
    "handle_missing_drop": lambda df: handle_missing(df, "drop"),
    "encode_categorical": encode_categorical,
    "standard_preprocessing": standard_preprocessing,
    "StandardPreprocessor.fit": lambda df: StandardPreprocessor().fit(df),
}


@pytest.mark.parametrize("call", PUBLIC_CALLS.values(), ids=PUBLIC_CALLS.keys())
def test_duplicate_column_names_are_refused_everywhere(call: Any) -> None:
    frame = pd.DataFrame([[1.0, np.nan, "x", 2.0]], columns=["a", "a", "b", "b"])
    with pytest.raises(ValueError, match=r"duplicate column names \['a', 'b'\]; rename them"):
        call(frame)


def test_empty_frames() -> None:
    for empty in (
        pd.DataFrame(),
        pd.DataFrame(index=[0, 1]),
        pd.DataFrame({"a": pd.Series([], dtype=float)}),
    ):
        pd.testing.assert_frame_equal(encode_categorical(empty), empty)
        for method in ("frequency", "ordinal"):
            assert encode_categorical(empty, method=method).shape == empty.shape
        for strategy in ("median", "mean", "most_frequent", "drop"):
            pd.testing.assert_frame_equal(handle_missing(empty, strategy), empty)
    no_rows = pd.DataFrame({"s": pd.Series([], dtype=object)})
    assert encode_categorical(no_rows).columns.tolist() == []  # no categories seen, no columns
    with pytest.raises(ValueError, match="pass a DataFrame with at least one row"):
        standard_preprocessing(pd.DataFrame())


def test_most_frequent_of_mixed_types() -> None:
    mixed = pd.DataFrame({"m": ["a", 1, None, 1, "a", "b"], "n": ["a", 1, "a", None, 2.5, 1]})
    filled = handle_missing(mixed, "most_frequent")
    assert filled["m"].tolist() == ["a", 1, "a", 1, "a", "b"]  # tie, values not comparable: first seen
    assert filled["n"].tolist() == ["a", 1, "a", "a", 2.5, 1]
    text = pd.DataFrame({"t": ["y", "x", None, "x", "y"]})
    assert handle_missing(text, "most_frequent")["t"].tolist() == ["y", "x", "x", "x", "y"]  # smallest


def test_encoded_names_must_be_unique() -> None:
    frame = pd.DataFrame({"c": ["x", "y"], "c_x": [1.5, 2.5]})
    message = r"column 'c_x' twice: from column 'c' and from column 'c_x'"
    with pytest.raises(ValueError, match=message):
        encode_categorical(frame)
    with pytest.raises(ValueError, match=message):
        encode_categorical(frame, columns=["c"])
    with pytest.raises(ValueError, match=r"feature 'c_x' twice: from column 'c' and from column 'c_x'"):
        StandardPreprocessor().fit(frame)
    assert encode_categorical(frame, method="frequency").columns.tolist() == ["c", "c_x"]
    text = pd.DataFrame({"c": ["x", "y"], "c_x": ["p", "q"]})  # both encoded: c_x, c_y, c_x_p, c_x_q
    assert encode_categorical(text).columns.is_unique
    with pytest.raises(ValueError, match=r"column 'c_x_p' twice: from column 'c' and from column 'c_x'"):
        encode_categorical(pd.DataFrame({"c": ["x_p"], "c_x": ["p"]}))


def test_timedelta_columns_are_numeric_seconds() -> None:
    frame = pd.DataFrame({"d": pd.to_timedelta([1, 2, None, 4.5], unit="s"), "s": ["a", "b", "a", "b"]})
    preprocessor = StandardPreprocessor(add_indicator=False).fit(frame)
    column = preprocessor.describe()["columns"]["d"]
    assert column["kind"] == "numeric"
    assert column["stats"]["parts"]["value"]["fill"] == 2.0
    assert preprocessor.get_feature_names_out().tolist() == ["d", "s_a", "s_b"]
    expected = StandardScaler().fit_transform([[1.0], [2.0], [2.0], [4.5]])[:, 0]
    np.testing.assert_allclose(preprocessor.transform(frame)[:, 0], expected)
    assert encode_categorical(frame).columns.tolist() == ["d", "s_a", "s_b"]  # not text: left alone
    filled = handle_missing(frame, "median")
    assert filled["d"].tolist() == pd.to_timedelta([1, 2, 2, 4.5], unit="s").tolist()


def test_odd_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "tz": pd.to_datetime(["2024-01-01 01:00", None, "2024-01-03 01:00"]).tz_localize("Europe/Paris"),
            "quarter": pd.period_range("2024Q1", periods=3, freq="Q"),
            "flag": pd.array([True, None, False], dtype="boolean"),
            "count": pd.array([1, None, 3], dtype="Int64"),
            "cat": pd.Categorical(["a", None, "b"]),
            "plain": [True, False, True],
        }
    )
    columns = StandardPreprocessor(drop_constant=False).fit(frame).describe()["columns"]
    assert {name: column["kind"] for name, column in columns.items()} == {
        "tz": "datetime",
        "quarter": "datetime",
        "flag": "boolean",
        "count": "numeric",
        "cat": "categorical",
        "plain": "boolean",
    }
    assert columns["tz"]["stats"]["parts"]["hour"]["mean"] == 0.0  # 01:00 in Paris is 00:00 UTC
    assert columns["quarter"]["stats"]["parts"]["month"]["mean"] == 4.0  # start of each quarter
    assert encode_categorical(frame).columns.tolist() == [
        "tz",
        "quarter",
        "flag",
        "count",
        "cat_a",
        "cat_b",
        "cat_nan",
        "plain",
    ]
    filled = handle_missing(frame, "most_frequent")
    assert filled["flag"].tolist() == [True, False, False]
    assert filled["count"].tolist() == [1, 1, 3]
    assert filled["cat"].tolist() == ["a", "a", "b"]
    with pytest.raises(ValueError, match=r"cannot fill column 'tz' of dtype datetime64.* with 0"):
        handle_missing(frame, "constant", fill_value=0, columns=["tz"])
    with pytest.raises(ValueError, match=r"cannot fill column 'count' of dtype Int64 with '\?'"):
        handle_missing(frame, "constant", fill_value="?", columns=["count"])


def test_infinities_are_reported_apart_from_missing() -> None:
    frame = pd.DataFrame({"x": [1.0, np.inf, -np.inf, np.nan, 5.0], "t": ["1", "inf", "2", "", "4"]})
    preprocessor = StandardPreprocessor().fit(frame)
    assert "2 infinite values are treated as missing" in preprocessor.describe()["columns"]["x"]["reason"]
    assert "1 infinite values are treated as missing" in preprocessor.describe()["columns"]["t"]["reason"]
    preprocessor.transform(frame)
    report = preprocessor.last_transform_report_["columns"]
    assert (report["x"]["missing"], report["x"]["infinite"]) == (1, 2)
    assert (report["t"]["missing"], report["t"]["infinite"]) == (1, 1)
    json.dumps(preprocessor.last_transform_report_)
    with pytest.raises(ValueError, match=r"column 'x' holds 2 infinite values"):
        handle_missing(frame, "mean")
    assert handle_missing(frame, "drop").index.tolist() == [0, 1, 2, 4]  # infinities are not missing
