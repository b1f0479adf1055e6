"""Edges of the lifecycle a data scientist meets: staged data, forecasters' facts and messages, time
order of the rows, field lists with wildcards, the model's repr and telemetry that fails."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from forecast_testing import START, arima, wavy
from sklearn.linear_model import LinearRegression

from dsdl_golden import lifecycle, telemetry_helper
from dsdl_golden._lifecycle.adapters import ADAPTERS, adapt, adapter_class, framework_of
from dsdl_golden._lifecycle.evaluation import infer_task, sorted_labels
from dsdl_golden._lifecycle.params import read_request
from dsdl_golden.config import load_settings

SERIES_PARAM: dict[str, Any] = {
    "feature_variables": ["_time"],
    "target_variables": ["value"],
    "options": {"model_name": "series", "params": {"algo": "edge", "task": "forecast"}},
}
NO_HOLDOUT_PARAM: dict[str, Any] = {
    **SERIES_PARAM,
    "options": {"model_name": "series", "params": {"algo": "edge", "task": "forecast", "holdout": "0"}},
}


def series_frame(n: int = 60) -> pd.DataFrame:
    """``wavy`` with ``_time`` in epoch seconds, one row per minute."""
    return pd.DataFrame({"_time": START + 60 * np.arange(n), "value": wavy(n)})


def arima_forecaster(params: dict[str, Any]) -> lifecycle.StatsmodelsForecaster:
    return lifecycle.StatsmodelsForecaster(arima)


def forecaster_of(frame: pd.DataFrame, make: Any) -> lifecycle.GoldenModel:
    """``init`` of a model whose build_model returns a statsmodels forecaster made by ``make(y)``."""
    return lifecycle.init(frame, SERIES_PARAM, lambda params: lifecycle.StatsmodelsForecaster(make))


def trained_series(model: lifecycle.GoldenModel) -> np.ndarray:
    """The series the forecaster was trained on last (statsmodels keeps it on the results)."""
    return np.asarray(model.estimator.model.endog, dtype=np.float64).reshape(-1)


# --- stage -------------------------------------------------------------------------------------------------


def write_staged(folder: Path, name: str, frame: pd.DataFrame, param: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / f"{name}.json").write_text(json.dumps(param))


def test_stage_reads_the_data_staged_next_to_the_notebook_first(srv: Path, tmp_path: Path) -> None:
    here = pd.DataFrame({"x": [1.5, 2.5, 3.5], "y": [0, 1, 0]})
    param = {"feature_variables": ["x"], "target_variables": ["y"], "options": {"model_name": "here"}}
    write_staged(tmp_path / "data", "churn_stage", here, param)
    write_staged(load_settings().staging_dir, "churn_stage", here.assign(x=-1.0), {"options": {}})

    frame, staged_param = lifecycle.stage("churn_stage")
    pd.testing.assert_frame_equal(frame, here)
    assert staged_param == param


def test_stage_falls_back_to_the_staging_directory_when_the_notebook_has_only_the_csv(
    srv: Path, tmp_path: Path
) -> None:
    staged = pd.DataFrame({"x": [7.0, 8.0], "y": [1, 0]})
    (tmp_path / "data").mkdir()
    staged.assign(x=0.0).to_csv(tmp_path / "data" / "half_staged.csv", index=False)
    write_staged(load_settings().staging_dir, "half_staged", staged, {"options": {"model_name": "there"}})

    frame, param = lifecycle.stage("half_staged")
    pd.testing.assert_frame_equal(frame, staged)
    assert param == {"options": {"model_name": "there"}}


def test_stage_without_staged_data_names_both_places_and_the_staging_search(
    srv: Path, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        lifecycle.stage("never_staged")
    assert str(raised.value) == (
        f"no staged data 'never_staged' in {tmp_path / 'data'} or {srv / 'notebooks' / 'data'}: run "
        "| fit MLTKContainer mode=stage algo=<notebook> <target> from <features> into app:never_staged"
    )


def test_stage_refuses_a_name_that_could_leave_the_data_folder(srv: Path) -> None:
    with pytest.raises(ValueError, match="is not allowed") as raised:
        lifecycle.stage("../secrets")
    assert str(raised.value) == (
        "staged data name '../secrets' is not allowed: use 1 to 128 letters, digits, '_' or '-' "
        "(no dots, slashes or spaces), starting with a letter, digit or '_'"
    )


# --- forecasters -------------------------------------------------------------------------------------------


def test_forecaster_fit_reports_observations_aic_and_bic_of_the_final_training(srv: Path) -> None:
    frame = series_frame()
    model = lifecycle.init(frame, SERIES_PARAM, arima_forecaster)
    report = lifecycle.fit(model, frame, SERIES_PARAM)
    final = model.estimator
    assert report["training"] == {"n_observations": 60, "aic": final.aic, "bic": final.bic}
    assert np.isfinite([final.aic, final.bic]).all()


def test_forecaster_without_information_criteria_reports_only_its_observations(srv: Path) -> None:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    frame = series_frame()
    model = forecaster_of(frame, lambda y: ThetaModel(y, deseasonalize=False))
    report = lifecycle.fit(model, frame, SERIES_PARAM)
    assert report["training"] == {"n_observations": 60}
    assert (report["model"], report["rows_holdout"]) == ("ThetaModel", 12)


def test_a_model_without_an_order_is_described_by_its_class_name_alone(srv: Path) -> None:
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    frame = series_frame()
    model = forecaster_of(frame, lambda y: UnobservedComponents(y, level="llevel"))
    assert repr(model) == "GoldenModel('edge_series', not built yet, task=None, fitted=False)"
    report = lifecycle.fit(model, frame, SERIES_PARAM)
    assert report["model"] == "UnobservedComponents"
    assert repr(model) == "GoldenModel('edge_series', UnobservedComponents, task='forecast', fitted=True)"


def test_repr_of_a_fitted_arima_model_shows_its_order(srv: Path) -> None:
    frame = series_frame()
    model = lifecycle.init(frame, SERIES_PARAM, arima_forecaster)
    lifecycle.fit(model, frame, SERIES_PARAM)
    assert repr(model) == "GoldenModel('edge_series', ARIMA (1, 0, 0), task='forecast', fitted=True)"


def test_an_unfitted_forecaster_says_so() -> None:
    forecaster = lifecycle.StatsmodelsForecaster(lambda y: None)
    assert forecaster.describe() == "StatsmodelsForecaster (not fitted)"


def test_a_forecaster_without_a_factory_says_how_to_make_one(srv: Path) -> None:
    frame = series_frame()
    model = lifecycle.init(frame, SERIES_PARAM, lambda params: lifecycle.StatsmodelsForecaster())
    with pytest.raises(TypeError) as raised:
        lifecycle.fit(model, frame, SERIES_PARAM)
    assert str(raised.value) == (
        "StatsmodelsForecaster needs a factory: StatsmodelsForecaster(lambda y: ARIMA(y, ...))"
    )


def test_a_model_that_cannot_take_new_data_names_the_models_that_can(srv: Path) -> None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    frame = series_frame()
    model = forecaster_of(frame, lambda y: ExponentialSmoothing(y, trend="add"))
    lifecycle.fit(model, frame, SERIES_PARAM)
    with pytest.raises(TypeError) as raised:
        lifecycle.apply(model, frame, SERIES_PARAM)
    assert str(raised.value) == (
        "ExponentialSmoothing cannot be applied to new data: use a state-space model "
        "(statsmodels.tsa.arima.model.ARIMA, SARIMAX, UnobservedComponents, ETSModel)"
    )


# --- time order of the rows ---------------------------------------------------------------------------------


def test_a_forecaster_without_a_time_column_takes_the_rows_in_their_order(srv: Path) -> None:
    values = wavy(24)
    frame = pd.DataFrame({"value": values})
    param = {"target_variables": ["value"], "options": {"params": {"task": "forecast", "holdout": "0"}}}
    model = lifecycle.init(frame, param, arima_forecaster)
    lifecycle.fit(model, frame, param)
    np.testing.assert_array_equal(trained_series(model), values)


@pytest.mark.parametrize(
    "times",
    [
        # epoch seconds as text (no date format reads them)
        [str(1_700_000_000 + 60 * step) for step in range(12)],
        # ISO times across a change of UTC offset (daylight saving time)
        [
            (pd.Timestamp("2024-03-31T00:00:00Z") + pd.Timedelta(minutes=20 * step))
            .tz_convert("Europe/Madrid")
            .isoformat()
            for step in range(12)
        ],
        # ISO times with and without fractions of a second
        [
            (pd.Timestamp("2024-01-01T00:00:00Z") + pd.Timedelta(seconds=60 * step + 0.5 * (step % 2)))
            .isoformat()
            .replace("+00:00", "Z")
            for step in range(12)
        ],
    ],
    ids=["epoch-text", "utc-offsets-change", "fractional-seconds-in-some-rows"],
)
def test_a_forecaster_trains_on_the_rows_in_time_order(srv: Path, times: list[str]) -> None:
    values = wavy(12)
    order = np.random.default_rng(3).permutation(12)
    frame = pd.DataFrame({"_time": np.asarray(times, dtype=object)[order], "value": values[order]})
    model = lifecycle.init(frame, NO_HOLDOUT_PARAM, arima_forecaster)
    lifecycle.fit(model, frame, NO_HOLDOUT_PARAM)
    np.testing.assert_array_equal(trained_series(model), values)


def test_a_forecaster_trains_on_rows_whose_time_does_not_parse_after_the_others(srv: Path) -> None:
    values = wavy(12)
    times = [f"2026-01-01T00:{minute:02d}:00Z" for minute in range(12)]
    times[4] = times[9] = "not a time"
    order = np.random.default_rng(5).permutation(12)
    frame = pd.DataFrame({"_time": np.asarray(times, dtype=object)[order], "value": values[order]})
    model = lifecycle.init(frame, NO_HOLDOUT_PARAM, arima_forecaster)
    lifecycle.fit(model, frame, NO_HOLDOUT_PARAM)
    unparsed_in_frame_order = [values[row] for row in order if row in (4, 9)]
    expected = [values[row] for row in range(12) if row not in (4, 9)] + unparsed_in_frame_order
    np.testing.assert_array_equal(trained_series(model), expected)


# --- field lists -------------------------------------------------------------------------------------------


def test_field_lists_expand_each_wildcard_and_keep_plain_names_the_data_lacks() -> None:
    columns = ["churn", "tenure", "total_charges", "total_calls", "contract"]
    param = {
        "options": {
            "params": {"algo": "m"},
            "target_variable": ["churn"],
            "feature_variables": ["tenure*", "total*", "MAX_load"],
        }
    }
    spec = read_request(param, columns)
    # the missing column stays, so that fit names it ("no feature column(s) ['MAX_load']")
    assert spec.features == ("tenure", "total_charges", "total_calls", "MAX_load")


def test_framework_is_the_top_level_package_of_the_model_class() -> None:
    assert framework_of(LinearRegression()) == "sklearn"
    assert framework_of(lifecycle.StatsmodelsForecaster()) == "dsdl_golden"


# --- telemetry that fails ----------------------------------------------------------------------------------


def test_a_failure_to_send_an_error_is_logged_once_and_the_models_error_is_raised(
    srv: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable(error: BaseException, **context: Any) -> None:
        raise ConnectionError(f"cannot send {error}")

    def broken(message: str) -> Any:
        def build(params: dict[str, Any]) -> Any:
            raise ArithmeticError(message)

        return build

    monkeypatch.setattr(telemetry_helper, "log_error", unreachable)
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]})
    param = {"target_variables": ["y"], "options": {"model_name": "demo", "params": {"algo": "edge"}}}
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.lifecycle"):
        for message in ["first bug", "first bug", "second bug"]:
            model = lifecycle.init(frame, param, broken(message))
            with pytest.raises(ArithmeticError, match=message):
                lifecycle.fit(model, frame, param)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [
        "telemetry (error of model edge_demo) is skipped: ConnectionError: cannot send first bug",
        "telemetry (error of model edge_demo) is skipped: ConnectionError: cannot send second bug",
    ]


# --- saved models ---------------------------------------------------------------------------------------


def test_each_saved_adapter_name_loads_the_class_that_saves_under_it() -> None:
    # one test, not one per name: the lifecycle's mutation run deselects test ids with "torch" or "keras"
    assert {name: adapter_class(name).name for name in ADAPTERS} == {name: name for name in ADAPTERS}


def test_a_model_saved_by_an_adapter_this_version_lacks_says_to_fit_it_again(srv: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(20.0), "y": 2 * np.arange(20.0)})
    param = {
        "feature_variables": ["x"],
        "target_variables": ["y"],
        "options": {"model_name": "later", "params": {"algo": "edge"}},
    }
    model = lifecycle.init(frame, param, lambda params: LinearRegression())
    lifecycle.fit(model, frame, param)
    lifecycle.save(model, "later")
    metadata_file = srv / "app" / "model" / "data" / "later" / "golden.json"
    metadata = json.loads(metadata_file.read_text())
    metadata_file.unlink()  # the saved folder's files may be read-only links into a version folder
    metadata_file.write_text(json.dumps({**metadata, "adapter": "onnx"}))

    with pytest.raises(
        ValueError, match="made by adapter 'onnx', which this dsdl-golden does not know"
    ) as error:
        lifecycle.load("later")
    assert "(it knows estimator, aeon, torch, keras, statsmodels): fit the model again" in str(error.value)


def test_labels_of_mixed_types_sort_by_type_name_then_value_and_keep_their_types() -> None:
    assert sorted_labels([2, "b", 1], None, pd.Series(["a", 2], dtype=object)) == [1, 2, "a", "b"]
    assert [type(label) for label in sorted_labels(np.array([3, 1]))] == [int, int]


@pytest.mark.parametrize(
    ("requested", "target", "task"),
    [
        ("auto", None, "unsupervised"),
        ("regression", pd.Series(["a", "b"]), "regression"),  # asked for: taken as it is
        ("auto", pd.Series([True, False, None], dtype=object), "classification"),
        ("auto", pd.Series([True, False]), "classification"),
        ("auto", pd.Series(["a", "b"]), "classification"),
        ("auto", pd.Series(range(20)), "classification"),  # up to 20 whole numbers are classes
        ("auto", pd.Series(range(21)), "regression"),
        ("auto", pd.Series([1.0, 2.0, np.nan]), "classification"),
        ("auto", pd.Series([1, 2, None], dtype="Int64"), "classification"),
        ("auto", pd.Series([0.5, 0.5]), "regression"),
        ("auto", pd.Series([1.0, np.inf]), "regression"),
    ],
)
def test_the_task_is_read_from_the_target(requested: str, target: pd.Series | None, task: str) -> None:
    assert infer_task(requested, target) == task


class GapsRegression(LinearRegression):
    """A regression whose every fifth prediction is NaN, as a model that cannot score some rows."""

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803 (scikit-learn API)
        predicted = np.asarray(super().predict(X), dtype=np.float64)
        predicted[::5] = np.nan
        return predicted


def test_metrics_that_cannot_be_computed_are_skipped_with_the_reason(
    srv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = pd.DataFrame({"x": np.arange(50.0), "y": 2 * np.arange(50.0) + 1})
    param = {"target_variables": ["y"]}
    model = lifecycle.init(frame, param, lambda params: GapsRegression())
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.lifecycle"):
        report = lifecycle.fit(model, frame, param)
        result = lifecycle.apply(model, frame, param)

    assert (report["rows_holdout"], report["metrics"], model.metrics) == (10, None, None)
    assert result["y"].isna().sum() == 10  # the predictions stay as the model gave them
    assert model.last_apply is not None
    assert "metrics" not in model.last_apply
    skipped = [record.getMessage() for record in caplog.records if "metrics skipped" in record.getMessage()]
    assert (
        skipped
        == ["metrics skipped: y_pred contains NaN or infinite values: drop or impute those rows first"] * 2
    )


def _instance_of_a_class_from(package_module: str, **methods: Any) -> object:
    """An object whose class says it comes from ``package_module``, subclassed in the notebook."""
    library_class = type("LibraryModel", (), {"__module__": package_module, **methods})
    return type("NotebookModel", (library_class,), {"__module__": "__main__"})()


@pytest.mark.parametrize(
    ("package_module", "adapter"),
    [
        ("torch.nn.modules.module", "TorchModel"),
        ("keras.src.models.model", "KerasModel"),
        ("tf_keras.src.engine.training", "KerasModel"),  # Keras 2 as TensorFlow ships it
        ("aeon.classification.base", "AeonModel"),
        ("xgboost.sklearn", "EstimatorModel"),
    ],
    ids=["network-1", "network-2", "network-3", "series", "estimator"],  # the lifecycle's mutation run
    # leaves out tests whose ids name the two network frameworks
)
def test_a_model_gets_the_adapter_of_the_package_its_class_derives_from(
    package_module: str, adapter: str
) -> None:
    model = _instance_of_a_class_from(package_module, fit=lambda self: self, predict=lambda self: None)
    adapted = adapt(model)
    assert type(adapted).__name__ == adapter
    assert adapted.model is model
