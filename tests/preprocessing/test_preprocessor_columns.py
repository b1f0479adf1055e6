"""Which columns a fitted preprocessor takes at transform and drift time: by name when it was fitted
on a DataFrame, by position otherwise, with scikit-learn's warning when the two differ (pointing at
the user's line) and errors that say what to pass."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dsdl_golden.preprocessor import StandardPreprocessor

FRAME = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [10.0, 20.0, 30.0, 50.0]})
POSITIONAL = "columns are matched by position."


class ChurnPreprocessor(StandardPreprocessor):
    """A subclass: messages name it, as scikit-learn's do."""


def recorded(call: object, *args: object) -> tuple[object, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(*args)  # type: ignore[operator]
    return result, caught


@pytest.mark.parametrize("method", ["transform", "drift_report"])
def test_an_array_given_to_a_preprocessor_fitted_on_names_is_matched_by_position_with_a_warning(
    method: str,
) -> None:
    preprocessor = ChurnPreprocessor().fit(FRAME)
    by_position, caught = recorded(getattr(preprocessor, method), FRAME.to_numpy())
    assert [(warning.category, str(warning.message)) for warning in caught] == [
        (
            UserWarning,
            "X does not have valid feature names, but ChurnPreprocessor was fitted with feature names; "
            + POSITIONAL,
        )
    ]
    assert caught[0].filename == __file__  # the user's line, not scikit-learn's wrapper or ours
    by_name = getattr(preprocessor, method)(FRAME)
    if method == "transform":
        np.testing.assert_array_equal(by_position, by_name)
    else:
        assert by_position["columns"] == by_name["columns"]


def test_a_frame_given_to_a_preprocessor_fitted_on_an_array_is_matched_by_position_with_a_warning() -> None:
    preprocessor = ChurnPreprocessor().fit(FRAME.to_numpy())
    renamed = FRAME.set_axis(["b", "a"], axis=1)  # names are ignored: positions decide
    out, caught = recorded(preprocessor.transform, renamed)
    assert [(warning.category, str(warning.message)) for warning in caught] == [
        (
            UserWarning,
            "X has feature names, but ChurnPreprocessor was fitted without feature names; " + POSITIONAL,
        )
    ]
    assert caught[0].filename == __file__
    np.testing.assert_array_equal(out, preprocessor.transform(FRAME.to_numpy()))


@pytest.mark.parametrize("fitted_on", ["frame", "array"])
def test_data_of_the_kind_fitted_on_gives_no_warning(fitted_on: str) -> None:
    data = FRAME if fitted_on == "frame" else FRAME.to_numpy()
    preprocessor = StandardPreprocessor().fit(data)
    _, caught = recorded(preprocessor.transform, data)
    assert caught == []
    _, caught = recorded(preprocessor.drift_report, data)
    assert caught == []


def test_columns_are_taken_by_name_in_any_order_and_extra_ones_are_ignored_and_reported() -> None:
    preprocessor = StandardPreprocessor().fit(FRAME)
    shuffled = FRAME[["b", "a"]].assign(note=["x", "y", "z", "w"], n=1)
    by_name = preprocessor.transform(shuffled)
    assert preprocessor.last_transform_report_["extra_columns"] == ["note", "n"]
    np.testing.assert_array_equal(by_name, preprocessor.transform(FRAME))
    assert preprocessor.drift_report(shuffled)["extra_columns"] == ["note", "n"]


def test_missing_columns_are_named_with_what_to_pass() -> None:
    preprocessor = StandardPreprocessor().fit(FRAME.assign(c="k"))
    message = (
        "X is missing 2 column(s) the preprocessor was fitted on: ['a', 'c']. "
        "Pass a DataFrame that has them (extra columns are ignored)."
    )
    for method in (preprocessor.transform, preprocessor.drift_report):
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            method(FRAME[["b"]].assign(z=0))


@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
@pytest.mark.parametrize("fitted_on", ["frame", "array"])
def test_an_array_of_another_width_says_how_many_features_are_expected(fitted_on: str) -> None:
    preprocessor = ChurnPreprocessor().fit(FRAME if fitted_on == "frame" else FRAME.to_numpy())
    message = "X has 3 features, but ChurnPreprocessor is expecting 2 features as input."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        preprocessor.transform(np.ones((2, 3)))


def test_kept_constant_columns_scale_new_values_as_standard_scaler_does() -> None:
    fit = pd.DataFrame({"zero": [0.0] * 4, "five": [5.0] * 4, "x": [1.0, 2.0, 3.0, 4.0]})
    new = pd.DataFrame({"zero": [3.0, 0.0, -1.5], "five": [7.0, 5.0, 4.0], "x": [1.0, 2.0, 9.0]})
    preprocessor = StandardPreprocessor(drop_constant=False).fit(fit)
    assert preprocessor.get_feature_names_out().tolist() == ["zero", "five", "x"]
    np.testing.assert_allclose(
        preprocessor.transform(new), StandardScaler().fit(fit).transform(new), rtol=1e-12
    )
    np.testing.assert_array_equal(preprocessor.transform(new)[:, :2], [[3.0, 2.0], [0.0, 0.0], [-1.5, -1.0]])


@pytest.mark.parametrize("n_rows", [1, 3, 7])
def test_the_transform_report_counts_the_rows_transformed(n_rows: int) -> None:
    preprocessor = StandardPreprocessor().fit(FRAME.assign(c=["k", "l", "k", "l"]))
    preprocessor.transform(pd.concat([FRAME.assign(c="k")] * 2).head(n_rows))
    assert preprocessor.last_transform_report_["n_rows"] == n_rows


def test_the_warning_points_at_the_users_line_through_a_pipeline_too() -> None:
    pipeline = make_pipeline(StandardPreprocessor(), LinearRegression()).fit(FRAME, [1.0, 2.0, 3.0, 5.0])
    _, caught = recorded(pipeline.predict, FRAME.to_numpy())
    assert [str(warning.message).split(",")[0] for warning in caught] == [
        "X does not have valid feature names"
    ]
    assert caught[0].filename == __file__
