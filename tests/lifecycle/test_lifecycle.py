"""The lifecycle around scikit-learn style models: fit, apply, save, load, summary and telemetry."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_testing import events_of_type
from sklearn.ensemble import IsolationForest, RandomForestClassifier
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

from dsdl_golden import lifecycle, telemetry_helper
from dsdl_golden._csv_codec import read_csv
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.metrics_calculator import calculate_all_metrics
from dsdl_golden.preprocessor import standard_preprocessing

DATA = Path(__file__).resolve().parents[2] / "template" / "data"
FEATURES = ["tenure", "monthly_charges", "contract", "payment_method", "support_calls"]


def churn() -> tuple[pd.DataFrame, dict[str, Any]]:
    frame = read_csv((DATA / "churn_sample.csv").read_bytes())
    param = json.loads((DATA / "churn_sample.json").read_text())
    param["options"]["params"] = {"algo": "churn_nb", "n_estimators": "40"}
    return frame, param


def forest(params: dict[str, Any], data: lifecycle.DataInfo) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=params["n_estimators"], random_state=0)


def test_holdout_metrics_are_those_of_the_same_model_on_a_stratified_split(srv: Path) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    report = lifecycle.fit(model, frame, param)

    train, held = train_test_split(frame, test_size=120, random_state=42, stratify=frame["churn"].to_numpy())
    train, held = (
        frame.iloc[np.sort(frame.index.get_indexer(train.index))],
        frame.iloc[np.sort(frame.index.get_indexer(held.index))],
    )
    features, preprocessor = standard_preprocessing(train[FEATURES])
    expected_model = RandomForestClassifier(n_estimators=40, random_state=0).fit(features, train["churn"])
    held_features, _ = standard_preprocessing(held[FEATURES], preprocessor=preprocessor)
    expected = calculate_all_metrics(
        held["churn"].to_numpy(),
        expected_model.predict(held_features),
        expected_model.predict_proba(held_features),
        task="binary",
        labels=["no", "yes"],
    )
    assert (report["task"], report["rows_train"], report["rows_holdout"]) == ("classification", 480, 120)
    assert report["features_in"] == 5
    for name in ("accuracy", "f1", "roc_auc", "log_loss", "matthews_corrcoef"):
        assert report["metrics"][name] == pytest.approx(expected[name], rel=1e-12)
    assert model.metrics is not None
    assert model.metrics["confusion_matrix"] == expected["confusion_matrix"]


def test_apply_gives_the_target_and_class_probabilities_row_for_row(srv: Path) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    scored = frame.drop(columns="churn").iloc[::-1].reset_index(drop=True)
    result = lifecycle.apply(model, scored, param)

    assert list(result.columns) == ["churn", "probability_no", "probability_yes"]
    assert len(result) == len(scored)
    np.testing.assert_allclose(result[["probability_no", "probability_yes"]].sum(axis=1), 1.0)
    features, _ = standard_preprocessing(scored[FEATURES], preprocessor=model.preprocessor)
    assert (result["churn"].to_numpy() == model.estimator.predict(features)).all()
    assert (result["churn"] == np.where(result["probability_yes"] > 0.5, "yes", "no")).all()


def test_save_and_load_round_trip_the_model_exactly(srv: Path) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    assert lifecycle.save(model, "churn_nb_churn_sample") is model

    loaded = lifecycle.load("churn_nb_churn_sample", forest)
    pd.testing.assert_frame_equal(lifecycle.apply(loaded, frame, param), lifecycle.apply(model, frame, param))
    assert loaded.run_id == model.run_id
    assert loaded.spec.features == tuple(FEATURES)
    assert loaded.metrics == json.loads(json.dumps(model.metrics))

    saved = srv / "app" / "model" / "data" / "churn_nb_churn_sample"
    assert saved.is_symlink()
    metadata = json.loads((saved / "golden.json").read_text())
    assert metadata["format"] == "dsdl-golden-model/1"
    assert metadata["versions"]["scikit-learn"]
    assert metadata["summary"]["training_data"]["rows"] == 600
    assert metadata["summary"]["training_data"]["data_hash"].startswith("sha256:")
    assert sorted(path.name for path in saved.iterdir()) == [
        "golden.json",
        "model.joblib",
        "preprocessor.joblib",
    ]


def test_a_failed_save_keeps_the_previous_model_and_leaves_no_debris(srv: Path) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    lifecycle.save(model, "churn_nb_churn_sample")
    directory = srv / "app" / "model" / "data"
    before = sorted(path.name for path in directory.iterdir())

    model.estimator.unpicklable = lambda: None  # joblib cannot pickle a lambda
    with pytest.raises(Exception, match="lambda"):
        lifecycle.save(model, "churn_nb_churn_sample")
    assert sorted(path.name for path in directory.iterdir()) == before
    assert len(lifecycle.apply(lifecycle.load("churn_nb_churn_sample"), frame, param)) == len(frame)


def test_summary_is_json_and_describes_the_model(srv: Path) -> None:
    frame, param = churn()
    assert set(lifecycle.summary()) == {"version", "image"}
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    facts = lifecycle.summary(model)
    assert json.loads(json.dumps(facts)) == facts
    summary = facts["summary"]
    assert (summary["framework"], summary["task"], summary["target"]) == (
        "sklearn",
        "classification",
        "churn",
    )
    assert summary["features"] == FEATURES
    assert summary["params"] == {"n_estimators": 40}
    assert summary["metrics"]["labels"] == ["no", "yes"]
    assert summary["training_data"]["column_profiles"]["contract"]["distinct"] == 3
    assert summary["preprocessing"]["columns"]["contract"]["kind"] == "categorical"
    assert facts["version"]["scikit-learn"]


def test_regression_and_unsupervised_models(srv: Path) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=200), "z": rng.normal(size=200)})
    frame["y"] = 3 * frame["x"] - frame["z"] + 0.5
    regression = lifecycle.init(frame, {"target_variables": ["y"]}, lambda params: LinearRegression())
    report = lifecycle.fit(regression, frame, None)
    assert report["task"] == "regression"
    assert report["metrics"]["r2"] == pytest.approx(1.0)
    assert list(lifecycle.apply(regression, frame, None).columns) == ["y"]

    outliers = lifecycle.init(frame[["x", "z"]], {}, lambda params: IsolationForest(random_state=0))
    report = lifecycle.fit(outliers, frame[["x", "z"]], {})
    assert (report["task"], report["metrics"], report["rows_holdout"]) == ("unsupervised", None, 0)
    result = lifecycle.apply(outliers, frame, {})
    assert list(result.columns) == ["prediction"]
    assert set(result["prediction"]) <= {-1, 1}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, f: lifecycle.apply(m, f, None), "is not fitted: call fit"),
        (lambda m, f: lifecycle.save(m, "x"), "is not fitted: call fit before save"),
        (
            lambda m, f: lifecycle.fit(m, f.drop(columns="tenure"), None),
            r"no feature column\(s\) \['tenure'\]",
        ),
        (lambda m, f: lifecycle.fit(m, f.drop(columns="churn"), None), r"no target column\(s\) \['churn'\]"),
        (lambda m, f: lifecycle.fit(m, f.assign(churn=np.nan), None), "no row has a value in the target"),
        (lambda m, f: lifecycle.fit(m, f.to_numpy(), None), "df must be a pandas DataFrame"),
        (lambda m, f: lifecycle.fit({}, f, None), "model must be what lifecycle.init"),
        (lambda m, f: lifecycle.load("never_saved"), "no saved model 'never_saved'"),
        (lambda m, f: lifecycle.load("../../etc/passwd"), "is not allowed"),
    ],
)
def test_misuse_gets_an_error_that_says_what_to_do(srv: Path, call: Any, message: str) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    with pytest.raises((ValueError, TypeError, FileNotFoundError), match=message):
        call(model, frame)


def test_build_model_must_return_a_model(srv: Path) -> None:
    frame, param = churn()
    for build, message in [
        (lambda params: None, "build_model returned None"),
        (lambda params: "forest", "str has no fit or predict method"),
        (None, "no build_model"),
    ]:
        model = lifecycle.init(frame, param, build)
        with pytest.raises(TypeError, match=message):
            lifecycle.fit(model, frame, param)


@pytest.mark.integration
def test_telemetry_of_a_run_reaches_splunk(telemetry_to_emulator: SplunkEmulator) -> None:
    splunk = telemetry_to_emulator
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    lifecycle.apply(model, frame, param)
    lifecycle.save(model, "churn_nb_churn_sample")
    drifted = frame.assign(tenure=frame["tenure"] + 200)
    lifecycle.apply(lifecycle.load("churn_nb_churn_sample"), drifted, param)
    assert telemetry_helper.flush(20)

    fit_event = events_of_type(splunk, "fit")[0]
    assert fit_event["fields"]["model"] == "churn_nb_churn_sample"
    assert fit_event["fields"]["run_id"] == model.run_id
    assert fit_event["event"]["metrics"]["accuracy"] == model.metrics["accuracy"]
    assert fit_event["event"]["preprocessing"]["n_features_out"] == 9
    ends = [event["event"] for event in events_of_type(splunk, "run_end")]
    assert [(end["status"], end["rows"]) for end in ends] == [("success", 600)] * 3
    assert all(end["duration_s"] > 0 for end in ends)
    assert len(events_of_type(splunk, "save")) == 1
    drift = events_of_type(splunk, "drift")[-1]["event"]
    assert drift["drifted_columns"] == ["tenure"]

    stages: dict[str, dict[str, float]] = {}
    for measurement in splunk.events(index="golden_metrics", kind="metric"):
        stages.setdefault(measurement["fields"]["stage"], {})[measurement["metric_name"]] = measurement[
            "value"
        ]
    assert stages["holdout"]["accuracy"] == model.metrics["accuracy"]
    assert "accuracy" in stages["train"]  # apply on the training frame: in-sample metrics
    assert stages["apply"]["psi.tenure"] > 0.25
    assert "labels" not in " ".join(stages["holdout"])


@pytest.mark.integration
def test_an_error_in_the_model_reaches_splunk_and_is_raised_unchanged(
    telemetry_to_emulator: SplunkEmulator,
) -> None:
    class Broken(RandomForestClassifier):
        def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:  # noqa: N803
            raise ArithmeticError("the model's own bug")

    frame, param = churn()
    model = lifecycle.init(frame, param, lambda params: Broken())
    with pytest.raises(ArithmeticError, match="the model's own bug"):
        lifecycle.fit(model, frame, param)
    assert telemetry_helper.flush(20)
    (error,) = [
        record
        for record in telemetry_to_emulator.events(index="main")
        if record["event"].get("type") == "error"
    ]
    assert error["event"]["exception_type"] == "builtins.ArithmeticError"
    assert "the model's own bug" in error["event"]["traceback"]
    assert (error["fields"]["phase"], error["fields"]["model"], error["fields"]["rows"]) == (
        "fit",
        "churn_nb_churn_sample",
        600,
    )
    (end,) = events_of_type(telemetry_to_emulator, "run_end")
    assert end["event"]["status"] == "error"


class UnprintableError(Exception):
    """An exception of the data scientist's whose ``__str__`` itself fails."""

    def __str__(self) -> str:
        raise ValueError("no text")


@pytest.mark.integration
def test_an_error_that_cannot_be_printed_is_raised_unchanged_and_still_reported(
    telemetry_to_emulator: SplunkEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    def unprintable(params: dict[str, Any]) -> Any:
        raise UnprintableError()

    frame, param = churn()
    model = lifecycle.init(frame, param, unprintable)
    with caplog.at_level(logging.ERROR, logger="dsdl_golden.lifecycle"), pytest.raises(UnprintableError):
        lifecycle.fit(model, frame, param)
    assert telemetry_helper.flush(20)
    (error,) = events_of_type(telemetry_to_emulator, "error")
    assert error["event"]["message"] == "<its str() failed with ValueError>"
    assert error["event"]["exception_type"].endswith("test_lifecycle.UnprintableError")
    (end,) = events_of_type(telemetry_to_emulator, "run_end")
    assert (end["event"]["status"], end["event"]["error"]) == ("error", "<its str() failed with ValueError>")
    assert [record.getMessage() for record in caplog.records] == [
        "fit of churn_nb_churn_sample failed after "
        f"{end['event']['duration_s']:.2f} s: <its str() failed with ValueError>"
    ]


def test_broken_telemetry_settings_never_stop_the_model(
    srv: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GOLDEN_EVENTS_INDEX", "Not An Index")
    telemetry_helper._telemetry = None  # the next use reads the broken settings
    try:
        frame, param = churn()
        with caplog.at_level(logging.WARNING, logger="dsdl_golden.lifecycle"):
            model = lifecycle.init(frame, param, forest)
            lifecycle.fit(model, frame, param)
        assert len(lifecycle.apply(model, frame, param)) == len(frame)
        warnings = [record.getMessage() for record in caplog.records if "telemetry" in record.getMessage()]
        assert len(warnings) == 1
        assert "GOLDEN_EVENTS_INDEX" in warnings[0]
    finally:
        telemetry_helper.configure(load_settings({}))
