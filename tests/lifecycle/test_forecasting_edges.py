"""Forecasters at fit: the rows in the order of Splunk's ``_time`` whatever its format, the holdout size
by series length, what ``build_model`` and the forecaster receive, the fit report and the model's
facts, the messages of a target without numbers and of a model that is no forecaster; and the float
array an aeon estimator is given."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from forecast_testing import START, arima, wavy
from sklearn.linear_model import LinearRegression

from dsdl_golden import lifecycle, telemetry_helper
from dsdl_golden._lifecycle.adapters import AeonModel, TrainingRun


class RecordingForecaster(lifecycle.StatsmodelsForecaster):
    """An ARIMA(1, 0, 0) forecaster that keeps each series and run it is trained with and reports a step."""

    def __init__(self) -> None:
        super().__init__(arima)
        self.calls: list[tuple[np.ndarray, TrainingRun]] = []

    def fit_series(self, series: np.ndarray, run: TrainingRun) -> dict[str, Any]:
        self.calls.append((series.copy(), run))
        run.log_step(len(self.calls), observations=series.size)
        return super().fit_series(series, run)


class Built:
    """A ``build_model(params, data)`` that returns a recording forecaster and keeps what it was given."""

    def __init__(self) -> None:
        self.forecaster = RecordingForecaster()
        self.data: list[lifecycle.DataInfo] = []

    def __call__(self, params: dict[str, Any], data: lifecycle.DataInfo) -> RecordingForecaster:
        self.data.append(data)
        return self.forecaster


def series_param(**params: str) -> dict[str, Any]:
    return {
        "feature_variables": ["_time"],
        "target_variables": ["value"],
        "options": {"model_name": "series", "params": {"algo": "fw", "task": "forecast", **params}},
    }


def fitted(frame: pd.DataFrame, **params: str) -> tuple[Built, lifecycle.GoldenModel, dict[str, Any]]:
    build = Built()
    param = series_param(**params)
    if "_time" not in frame.columns:
        param["feature_variables"] = []
    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)
    return build, model, report


def trained_series(build: Built) -> np.ndarray:
    """The series of the final training (every row)."""
    return build.forecaster.calls[-1][0]


# --- what build_model and the forecaster receive -----------------------------------------------------------


def test_forecaster_gets_float_values_in_time_order_and_the_run_of_the_model(
    srv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def spy(metrics: dict[str, Any], **context: Any) -> None:
        sent.append((dict(metrics), context))

    monkeypatch.setattr(telemetry_helper, "log_metrics", spy)
    values = 10 * np.arange(12)  # integers, in time order
    frame = pd.DataFrame({"_time": START + 60 * np.arange(12), "value": values})
    frame = frame.iloc[[5, 0, 11, 3, 8, 1, 10, 2, 7, 4, 9, 6]].reset_index(drop=True)
    build, model, _ = fitted(frame, random_state="7", window="3")

    expected = lifecycle.DataInfo(
        n_features=0, feature_names=[], task="forecast", n_classes=None, classes=None, n_rows=12
    )
    assert build.data == [expected]
    assert model.data_info == expected
    calls = build.forecaster.calls
    assert [series.dtype for series, _ in calls] == [np.float64, np.float64]
    np.testing.assert_array_equal(calls[0][0], values[:10])  # the last round(12 * 0.2) = 2 held out
    np.testing.assert_array_equal(calls[1][0], values)
    for _, run in calls:
        assert (run.task, run.random_state) == ("forecast", 7)
        assert run.params == model.spec.params
        assert run.params["window"] == 3
    steps = [(context["step"], context["run_id"]) for metrics, context in sent if context["stage"] == "train"]
    assert steps == [(1, model.run_id), (2, model.run_id)]
    assert [metrics for metrics, context in sent if context["stage"] == "train"] == [
        {"observations": 10.0},
        {"observations": 12.0},
    ]


def test_target_values_that_are_not_numbers_are_forecast_as_missing(srv: Path) -> None:
    frame = pd.DataFrame(
        {"_time": START + 60 * np.arange(12), "value": [str(value) for value in wavy(12)]}
    ).astype(object)
    frame.loc[4, "value"] = "n/a"
    build, _, report = fitted(frame)
    expected = wavy(12)
    expected[4] = np.nan
    np.testing.assert_array_equal(trained_series(build), expected)
    assert report["rows"] == 12


# --- holdout by series length -----------------------------------------------------------------------------


def test_a_series_of_nine_rows_has_no_holdout_and_no_metrics(srv: Path) -> None:
    frame = pd.DataFrame({"_time": START + 60 * np.arange(9), "value": wavy(9)})
    build, model, report = fitted(frame)
    assert (report["rows"], report["rows_train"], report["rows_holdout"]) == (9, 9, 0)
    assert report["metrics"] is None
    assert report["refit"] is False
    assert model.metrics is None
    assert len(build.forecaster.calls) == 1  # trained once, on every row
    np.testing.assert_array_equal(trained_series(build), wavy(9))


def test_a_series_of_ten_rows_holds_out_a_fifth_and_reports_the_final_training(srv: Path) -> None:
    frame = pd.DataFrame({"_time": START + 60 * np.arange(10), "value": wavy(10)})
    build, model, report = fitted(frame)
    assert (report["rows"], report["rows_train"], report["rows_holdout"]) == (10, 8, 2)
    assert report["refit"] is True
    assert report["metrics"]["n_samples"] == 2
    assert [series.size for series, _ in build.forecaster.calls] == [8, 10]
    training = report["training"]
    assert training["n_observations"] == 10
    assert set(training) == {"n_observations", "aic", "bic"}
    assert lifecycle.summary(model)["summary"]["training"] == training


# --- the model's facts ------------------------------------------------------------------------------------


def test_the_profile_of_a_forecaster_covers_the_target_and_the_time(srv: Path) -> None:
    frame = pd.DataFrame({"_time": START + 60 * np.arange(12), "value": wavy(12), "host": "web-1"})
    _, model, _ = fitted(frame)
    facts = lifecycle.summary(model)["summary"]
    profile = facts["training_data"]
    assert (profile["rows"], profile["columns"]) == (12, 2)
    assert list(profile["column_profiles"]) == ["value", "_time"]
    assert profile["column_profiles"]["value"]["max"] == pytest.approx(wavy(12).max())
    assert facts["trained_at"].endswith("+00:00")  # UTC, with its offset


def test_the_profile_of_a_forecaster_without_time_covers_the_target_alone(srv: Path) -> None:
    frame = pd.DataFrame({"value": wavy(12)})
    build, model, _ = fitted(frame)
    profile = lifecycle.summary(model)["summary"]["training_data"]
    assert list(profile["column_profiles"]) == ["value"]
    assert profile["columns"] == 1
    np.testing.assert_array_equal(trained_series(build), wavy(12))  # rows in their order


# --- messages ---------------------------------------------------------------------------------------------


def test_a_target_without_numbers_says_there_is_nothing_to_forecast(srv: Path) -> None:
    frame = pd.DataFrame({"_time": START + 60 * np.arange(12), "value": ["n/a", "down"] * 6})
    param = series_param()
    model = lifecycle.init(frame, param, Built())
    message = "the target column 'value' holds no numbers to forecast"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        lifecycle.fit(model, frame, param)


def test_a_model_that_is_no_forecaster_says_what_to_return_for_task_forecast(srv: Path) -> None:
    frame = pd.DataFrame({"_time": START + 60 * np.arange(12), "value": wavy(12)})
    param = series_param()
    model = lifecycle.init(frame, param, lambda params: LinearRegression())
    message = (
        "task=forecast needs a forecaster, build_model returned LinearRegression: "
        "return lifecycle.StatsmodelsForecaster(lambda y: ARIMA(y, order=(1, 0, 0)))"
    )
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        lifecycle.fit(model, frame, param)


def test_an_unfitted_forecaster_shows_its_factory_as_its_model() -> None:
    forecaster = lifecycle.StatsmodelsForecaster(arima)
    assert forecaster.model is arima
    assert forecaster.results is None
    assert forecaster.describe() == "StatsmodelsForecaster (not fitted)"


# --- time order -------------------------------------------------------------------------------------------


def test_iso_times_in_mixed_formats_and_offsets_are_ordered_by_their_instant(srv: Path) -> None:
    times = [
        "2024-01-01T03:00:00+02:00",  # 01:00 UTC
        "2024-01-01T00:30:00Z",
        "2024-01-01 00:45:00",  # no offset: UTC
        "2024-01-01T00:15:00.500+00:00",
        "2024-01-01T01:30:00-00:30",  # 02:00 UTC
        "2024-01-01T00:00:00+00:00",
        "2024/01/01 01:15:00",
        "2023-12-31T23:50:00-01:00",  # 00:50 UTC
        "2024-01-01T00:20:00+00:00",
        "2024-01-01T05:00:00+05:00",  # 00:00 UTC exactly: after the row above at 00:00 (input order)
        "2024-01-01T01:45:00Z",
        "2024-01-01T00:05:00Z",
    ]
    instants = pd.to_datetime(pd.Series(times), utc=True, format="mixed")
    assert instants.notna().all()
    values = np.arange(len(times), dtype=np.float64)
    build, _, _ = fitted(pd.DataFrame({"_time": times, "value": values}))
    order = np.argsort(instants.to_numpy(), kind="stable")
    np.testing.assert_array_equal(trained_series(build), values[order])
    assert list(values[order][:3]) == [5.0, 9.0, 11.0]


def test_epoch_seconds_as_text_are_ordered_to_the_fraction_despite_unparseable_times(srv: Path) -> None:
    times = [
        "1700000120",
        "1700000000.5",
        "1700000000.25",
        "1700000060",
        "1700000300.75",
        "1700000180",
        "1700000240",
        "1700000000.125",
        "1700000360",
        "1700000420",
        "n/a",
        "",
    ]
    values = np.arange(len(times), dtype=np.float64)
    build, _, _ = fitted(pd.DataFrame({"_time": times, "value": values}))
    expected = [7, 2, 1, 3, 0, 5, 6, 4, 8, 9, 10, 11]  # by time, the rows without one last
    np.testing.assert_array_equal(trained_series(build), values[expected])


def test_rows_sharing_a_time_keep_their_input_order(srv: Path) -> None:
    n = 40
    times = np.where(np.arange(n) < n // 2, START + 60, START)  # the first half is the later minute
    values = np.arange(n, dtype=np.float64)
    build, _, _ = fitted(pd.DataFrame({"_time": times, "value": values}))
    np.testing.assert_array_equal(trained_series(build), np.concatenate([values[n // 2 :], values[: n // 2]]))


# --- aeon ---------------------------------------------------------------------------------------------------


class RecordingEstimator:
    """A scikit-learn style estimator that keeps what it is given."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def fit(self, data: Any, target: Any) -> RecordingEstimator:
        self.seen.append(data)
        return self

    def predict(self, data: Any) -> np.ndarray:
        self.seen.append(data)
        return np.zeros(len(data))


def test_an_aeon_estimator_gets_each_row_as_a_float_series() -> None:
    estimator = RecordingEstimator()
    adapter = AeonModel(estimator)
    frame = pd.DataFrame({"t0": [1, 2, 3], "t1": [4, 5, 6], "t2": [7, 8, 9]})
    adapter.fit(frame, pd.Series(["a", "b", "a"]), TrainingRun(task="classification"))
    adapter.predict(frame)
    for data in estimator.seen:
        assert isinstance(data, np.ndarray)
        assert data.dtype == np.float64
        np.testing.assert_array_equal(data, [[1, 4, 7], [2, 5, 8], [3, 6, 9]])
