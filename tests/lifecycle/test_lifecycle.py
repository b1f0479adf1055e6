"""The lifecycle around scikit-learn style models: fit, apply, save, load, summary and telemetry."""

from __future__ import annotations

import json
import logging
import operator
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_testing import churn_sample, events_of_type
from sklearn.ensemble import IsolationForest, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from dsdl_golden import lifecycle, telemetry_helper
from dsdl_golden._lifecycle.reporting import Reporter, scalar_metrics
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.metrics_calculator import calculate_all_metrics
from dsdl_golden.preprocessor import standard_preprocessing

FEATURES = ["tenure", "monthly_charges", "contract", "payment_method", "support_calls"]


def churn() -> tuple[pd.DataFrame, dict[str, Any]]:
    return churn_sample(algo="churn_nb", n_estimators="40")


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
    assert report["metrics"]["per_class.yes.recall"] == pytest.approx(expected["per_class"][1]["recall"])
    applied = lifecycle.apply(model, held)  # without refit, the model served is the one scored
    np.testing.assert_allclose(
        applied[["probability_no", "probability_yes"]].to_numpy(), expected_model.predict_proba(held_features)
    )
    holdout = model.holdout  # what the template's plots draw
    assert holdout is not None
    assert holdout["labels"] == ["no", "yes"]
    np.testing.assert_array_equal(holdout["y_true"], held["churn"].to_numpy())
    np.testing.assert_array_equal(holdout["y_pred"], expected_model.predict(held_features))
    np.testing.assert_allclose(holdout["y_proba"], expected_model.predict_proba(held_features), rtol=1e-12)


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
    assert summary["preprocessing"]["columns"]["contract"] == {
        "kind": "categorical",
        "action": "one-hot (missing values as their own category, unseen categories ignored)",
        "features": 3,
    }
    assert (summary["preprocessing"]["n_features_in"], summary["preprocessing"]["dropped_columns"]) == (5, [])
    assert facts["version"]["scikit-learn"]
    assert (summary["name"], summary["algo"], summary["model_name"]) == (
        "churn_nb_churn_sample",
        "churn_nb",
        "churn_sample",
    )
    assert summary["options"]["holdout"] == 0.2
    assert (summary["metrics"]["task"], summary["metrics"]["n_samples"]) == ("binary", 120)
    assert summary["registered"] is None  # the registry is off


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
        (
            lambda m, f: lifecycle.fit(m, f.to_numpy(), None),
            "^fit: df must be a pandas DataFrame, got ndarray$",
        ),
        (
            lambda m, f: lifecycle.fit({}, f, None),
            "^fit: model must be what lifecycle.init or lifecycle.load returned, got dict$",
        ),
        (
            lambda m, f: lifecycle.init(f.to_numpy(), None),
            "^init: df must be a pandas DataFrame, got ndarray$",
        ),
        (lambda m, f: lifecycle.init(f, None, "forest"), "^init: build_model must be a function, got str$"),
        (lambda m, f: lifecycle.load("never_saved"), "no saved model 'never_saved'"),
        (lambda m, f: lifecycle.load("../../etc/passwd"), "is not allowed"),
        (lambda m, f: lifecycle.apply({}, f, None), "^apply: model must be what lifecycle.init"),
        (lambda m, f: lifecycle.apply(m, f.to_numpy(), None), "^apply: df must be a pandas DataFrame"),
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
        (lambda params: None, "^build_model returned None: return the untrained model$"),
        # a callable whose signature cannot be read is given the parameters only
        (operator.methodcaller("copy"), "^dict has no fit or predict method"),
        (
            lambda params: "forest",
            r"^str has no fit or predict method: build_model must return a model with fit and predict "
            r"\(scikit-learn style\), a torch\.nn\.Module or a keras\.Model$",
        ),
        (None, r"^no build_model: pass lifecycle.init\(df, param, build_model\)$"),
    ]:
        model = lifecycle.init(frame, param, build)
        with pytest.raises(TypeError, match=message):
            lifecycle.fit(model, frame, param)


@pytest.mark.integration
def test_telemetry_of_a_run_reaches_splunk(telemetry_to_emulator: SplunkEmulator) -> None:
    splunk = telemetry_to_emulator
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    report = lifecycle.fit(model, frame, param)
    lifecycle.apply(model, frame, param)
    lifecycle.save(model, "churn_nb_churn_sample")
    drifted = frame.assign(tenure=frame["tenure"] + 200)
    lifecycle.apply(lifecycle.load("churn_nb_churn_sample"), drifted, param)
    assert telemetry_helper.flush(20)

    fit_event = events_of_type(splunk, "fit")[0]
    assert (fit_event["fields"]["model"], fit_event["fields"]["phase"]) == ("churn_nb_churn_sample", "fit")
    assert fit_event["event"]["versions"]["pandas"] == pd.__version__
    assert fit_event["fields"]["run_id"] == model.run_id
    assert fit_event["event"]["metrics"]["accuracy"] == model.metrics["accuracy"]
    assert fit_event["event"]["preprocessing"]["n_features_out"] == 9
    (init,) = events_of_type(splunk, "init")
    assert init["fields"]["phase"] == "init"
    assert (init["event"]["rows"], init["event"]["columns"], init["event"]["target"]) == (600, 6, "churn")
    assert (init["event"]["features"], init["event"]["params"]) == (FEATURES, {"n_estimators": 40})
    assert init["event"]["options"]["holdout"] == 0.2
    ends = [event["event"] for event in events_of_type(splunk, "run_end")]
    assert (ends[0]["task"], ends[0]["rows_train"], ends[0]["rows_holdout"]) == ("classification", 480, 120)
    assert report["duration_s"] == ends[0]["duration_s"]
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
    assert stages["apply"]["roc_auc"] > 0.5  # scored from the class probabilities
    assert [end["fields"]["phase"] for end in events_of_type(splunk, "run_end")] == ["fit", "apply", "apply"]
    phases = {
        (measurement["fields"]["stage"], measurement["fields"]["phase"])
        for measurement in splunk.events(index="golden_metrics", kind="metric")
        if measurement["metric_name"] == "accuracy"
    }
    assert phases == {("holdout", "fit"), ("train", "apply"), ("apply", "apply")}


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


class ExitsWhenTold(RandomForestClassifier):
    """A model whose fit or predict calls ``sys.exit(3)``, as a notebook's leftover ``exit()`` does."""

    exit_in = ""

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:  # noqa: N803
        if self.exit_in == "fit":
            sys.exit(3)
        return super().fit(X, y, sample_weight)

    def predict(self, X: Any) -> Any:  # noqa: N803
        if self.exit_in == "apply":
            sys.exit(3)
        return super().predict(X)


@pytest.mark.integration
@pytest.mark.parametrize("phase", ["fit", "apply"])
def test_a_sys_exit_in_the_model_is_reported_like_an_error_and_raised_unchanged(
    telemetry_to_emulator: SplunkEmulator, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, lambda params: ExitsWhenTold(n_estimators=5, random_state=0))
    if phase == "apply":
        lifecycle.fit(model, frame, param)
    monkeypatch.setattr(ExitsWhenTold, "exit_in", phase)
    with pytest.raises(SystemExit) as exited:
        getattr(lifecycle, phase)(model, frame, param)
    assert exited.value.code == 3
    assert telemetry_helper.flush(20)
    (error,) = events_of_type(telemetry_to_emulator, "error")
    assert (error["event"]["exception_type"], error["fields"]["phase"]) == ("builtins.SystemExit", phase)
    end = events_of_type(telemetry_to_emulator, "run_end")[-1]
    assert (end["fields"]["phase"], end["event"]["status"], end["event"]["error"]) == (phase, "error", "3")


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


def test_apply_scores_new_rows_that_carry_the_target_and_says_which_rows_it_scored(srv: Path) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    lifecycle.apply(model, frame, param)
    assert model.last_apply is not None
    assert model.last_apply["metrics_stage"] == "train"  # the frame fit was given: in-sample
    later = frame.copy()
    lifecycle.apply(model, later, param)
    assert model.last_apply["metrics_stage"] == "apply"
    scored = calculate_all_metrics(later["churn"], lifecycle.apply(model, later)["churn"], task="binary")
    assert model.last_apply["metrics"]["accuracy"] == scored["accuracy"]
    assert 0.5 < model.last_apply["metrics"]["roc_auc"] <= 1


def test_apply_refuses_a_model_whose_fit_failed(srv: Path) -> None:
    class Broken(RandomForestClassifier):
        def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> Any:  # noqa: N803
            raise ArithmeticError("the model's own bug")

    frame, param = churn()
    model = lifecycle.init(frame, param, lambda params: Broken())
    with pytest.raises(ArithmeticError):
        lifecycle.fit(model, frame, param)
    with pytest.raises(ValueError, match="is not fitted") as raised:
        lifecycle.apply(model, frame, param)
    assert str(raised.value) == (
        "model churn_nb_churn_sample is not fitted: call fit (or load a saved model) before apply"
    )


def test_apply_names_the_missing_feature_columns_and_a_model_that_drops_rows(srv: Path) -> None:
    class DropsARow(LinearRegression):
        dropping = False

        def predict(self, X: Any) -> Any:  # noqa: N803
            predicted = super().predict(X)
            return predicted[:-1] if self.dropping else predicted

    frame = pd.DataFrame({"x": np.arange(20.0), "y": 2 * np.arange(20.0)})
    param = {"feature_variables": ["x"], "target_variables": ["y"], "options": {"params": {"holdout": "0"}}}
    model = lifecycle.init(frame, param, lambda params: DropsARow())
    lifecycle.fit(model, frame, param)
    with pytest.raises(ValueError, match="no feature column") as raised:
        lifecycle.apply(model, frame.rename(columns={"x": "z"}))
    assert str(raised.value) == "the data has no feature column(s) ['x']; its columns are ['z', 'y']"

    model.estimator.dropping = True
    with pytest.raises(ValueError, match="predictions for") as raised:
        lifecycle.apply(model, frame)
    assert str(raised.value) == "the model returned 19 predictions for 20 rows"


def test_the_module_gives_dsdls_model_directory_and_the_network_classes_when_asked(srv: Path) -> None:
    from dsdl_golden._lifecycle import keras_adapter, torch_adapter

    model_directory = srv / "app" / "model" / "data"
    assert f"{model_directory}/" == lifecycle.MODEL_DIRECTORY
    assert lifecycle.TorchModel is torch_adapter.TorchModel
    assert lifecycle.KerasModel is keras_adapter.KerasModel
    with pytest.raises(AttributeError) as raised:
        _ = lifecycle.TorchModule
    assert str(raised.value) == "module 'dsdl_golden.lifecycle' has no attribute 'TorchModule'"


@pytest.mark.integration
def test_a_training_step_sends_its_finite_numbers_under_the_fit_phase(
    telemetry_to_emulator: SplunkEmulator,
) -> None:
    reporter = Reporter("churn_nb_churn_sample", "run-7")
    reporter.step(3, loss=0.25, accuracy=float("nan"), converged=True, note="x")
    reporter.step(4, loss=float("inf"))  # nothing finite: nothing sent
    assert telemetry_helper.flush(20)
    measurements = [
        (record["metric_name"], record["value"], record["fields"])
        for record in telemetry_to_emulator.events(index="golden_metrics", kind="metric")
    ]
    assert [(name, value) for name, value, _ in measurements] == [("loss", 0.25)]
    fields = measurements[0][2]
    assert (fields["step"], fields["stage"], fields["phase"]) == (3, "train", "fit")
    assert (fields["model"], fields["run_id"]) == ("churn_nb_churn_sample", "run-7")


@pytest.mark.parametrize(
    ("kind", "send"),
    [
        ("step", lambda reporter: reporter.step(1, loss=0.5)),
        ("metrics", lambda reporter: reporter.metrics({"accuracy": 0.5}, stage="apply", phase="apply")),
    ],
)
def test_telemetry_of_steps_and_metrics_that_fails_is_skipped_with_one_warning(
    srv: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    send: Callable[[Reporter], None],
) -> None:
    monkeypatch.setenv("GOLDEN_EVENTS_INDEX", f"Not A {kind} Index")  # a new failure: warned once more
    telemetry_helper._telemetry = None  # the next use reads the broken settings
    try:
        with caplog.at_level(logging.WARNING, logger="dsdl_golden.lifecycle"):
            for _ in range(2):
                send(Reporter("churn_nb_churn_sample", "run-7"))
    finally:
        telemetry_helper.configure(load_settings({}))
    (warning,) = [record.getMessage() for record in caplog.records]
    assert warning.startswith(f"telemetry ({kind} of model churn_nb_churn_sample) is skipped: ")
    assert f"Not A {kind} Index" in warning


def test_the_models_own_kind_decides_between_classification_and_regression(srv: Path) -> None:
    # Fifteen integer classes look like a regression target, two values like classes: the model decides.
    frame = pd.DataFrame({"x": np.arange(30.0), "y": np.repeat(np.arange(15), 2)})
    param = {"feature_variables": ["x"], "target_variables": ["y"], "options": {"params": {"holdout": "0"}}}
    classifier = lifecycle.init(frame, param, lambda params: DecisionTreeClassifier(random_state=0))
    assert lifecycle.fit(classifier, frame, param)["task"] == "classification"
    binary = frame.assign(y=np.arange(30) % 2)
    regressor = lifecycle.init(binary, param, lambda params: LinearRegression())
    assert lifecycle.fit(regressor, binary, param)["task"] == "regression"


def test_a_classifier_without_probabilities_gives_its_classes_only(srv: Path) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, lambda params: LinearSVC(random_state=0))
    lifecycle.fit(model, frame, param)
    assert list(lifecycle.apply(model, frame, param).columns) == ["churn"]
    with_probabilities = lifecycle.init(frame, param, lambda params: LogisticRegression())
    lifecycle.fit(with_probabilities, frame, param)
    assert list(lifecycle.apply(with_probabilities, frame, param).columns) == [
        "churn",
        "probability_no",
        "probability_yes",
    ]


def test_summary_describes_a_model_in_at_most_300_characters(srv: Path) -> None:
    class Wordy(LinearRegression):
        def __repr__(self) -> str:
            return "Wordy(" + "  coefficient=1.0,\n" * 40 + ")"

    frame = pd.DataFrame({"x": np.arange(20.0), "y": 2 * np.arange(20.0)})
    param = {"feature_variables": ["x"], "target_variables": ["y"]}
    model = lifecycle.init(frame, param, lambda params: Wordy())
    lifecycle.fit(model, frame, param)
    described = lifecycle.summary(model)["summary"]["model"]
    assert described == ("Wordy( " + "coefficient=1.0, " * 40)[:300]
    assert len(described) == 300
    assert lifecycle.summary(model.estimator)["summary"] == {"model": repr(model.estimator)[:300]}


@pytest.mark.parametrize(
    ("rows", "params", "split"),
    [
        (10, {"holdout": "0.2"}, (8, 2)),  # ten rows: the fewest that get a holdout
        (9, {"holdout": "0.2"}, (9, 0)),
        (10, {"holdout": "0"}, (10, 0)),
        (10, {"task": "unsupervised"}, (10, 0)),  # a target given to an unsupervised model: no holdout
    ],
)
def test_a_holdout_needs_ten_rows_a_share_above_0_and_a_supervised_model(
    srv: Path, rows: int, params: dict[str, str], split: tuple[int, int]
) -> None:
    frame = pd.DataFrame({"x": np.arange(float(rows)), "y": 2 * np.arange(float(rows))})
    param = {"feature_variables": ["x"], "target_variables": ["y"], "options": {"params": params}}
    unsupervised = params.get("task") == "unsupervised"
    model = lifecycle.init(
        frame, param, lambda p: IsolationForest(random_state=0) if unsupervised else LinearRegression()
    )
    report = lifecycle.fit(model, frame, param)
    assert (report["rows_train"], report["rows_holdout"]) == split


def test_build_model_is_told_the_classes_sorted_and_none_for_regression(srv: Path) -> None:
    seen: list[lifecycle.DataInfo] = []

    def remember(params: dict[str, Any], data: lifecycle.DataInfo) -> DecisionTreeClassifier:
        seen.append(data)
        return DecisionTreeClassifier() if data.task == "classification" else LinearRegression()

    frame = pd.DataFrame({"x": np.arange(12.0), "y": ["b", "a", "b", None] * 3})
    param = {"feature_variables": ["x"], "target_variables": ["y"], "options": {"params": {"holdout": "0"}}}
    report = lifecycle.fit(lifecycle.init(frame, param, remember), frame, param)
    assert (report["rows_without_target"], report["rows_train"]) == (3, 9)
    assert (seen[0].n_rows, seen[0].n_features, seen[0].feature_names) == (9, 1, ["x"])
    numbers = frame.assign(y=np.arange(12.0) + 0.5)
    lifecycle.fit(lifecycle.init(numbers, param, remember), numbers, param)
    assert [(data.task, data.classes, data.n_classes) for data in seen] == [
        ("classification", ["a", "b"], 2),
        ("regression", None, None),
    ]


def test_fit_seeds_the_network_frameworks_already_imported_and_imports_none(
    srv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds: list[tuple[str, int]] = []
    frameworks = {
        "torch": SimpleNamespace(manual_seed=lambda seed: seeds.append(("torch", seed))),
        "keras": SimpleNamespace(
            utils=SimpleNamespace(set_random_seed=lambda seed: seeds.append(("keras", seed)))
        ),
    }
    frame, param = churn()
    param["options"]["params"]["random_state"] = "7"
    for name in frameworks:
        monkeypatch.delitem(sys.modules, name, raising=False)
    lifecycle.fit(lifecycle.init(frame, param, forest), frame, param)
    assert seeds == []
    assert not {"torch", "keras"} & set(sys.modules)
    for name, stand_in in frameworks.items():
        monkeypatch.setitem(sys.modules, name, stand_in)
    lifecycle.fit(lifecycle.init(frame, param, forest), frame, param)
    assert seeds == [("torch", 7), ("keras", 7)]


@pytest.mark.parametrize(
    ("labels", "holdout", "held"),
    [
        ("aaaaaaaabb", "0.2", "aa"),  # stratified: a class of two rows, as many held rows as classes
        ("aaaaaaabbb", "0.8", "aaaaaabb"),  # stratified: as many training rows as classes
        ("aaaaaaaaab", "0.2", "aa"),  # a class of one row: a plain random split (sklearn would refuse)
        ("aaaabbbccc", "0.2", "ac"),  # fewer held rows than classes: a plain random split
        ("aaaaabbbbb", "0.9", "aaaaabbbb"),  # fewer training rows than classes: a plain random split
        ("aaaaabbbbb", "0.01", "b"),  # at least one row is held out
    ],
)
def test_a_classification_holdout_is_stratified_when_every_class_fits_both_sides(
    srv: Path, labels: str, holdout: str, held: str
) -> None:
    frame = pd.DataFrame({"x": np.arange(10.0), "y": list(labels)})
    param = {
        "feature_variables": ["x"],
        "target_variables": ["y"],
        "options": {"params": {"holdout": holdout, "preprocess": "false"}},  # one training row keeps x
    }
    model = lifecycle.init(frame, param, lambda params: DecisionTreeClassifier(random_state=0))
    report = lifecycle.fit(model, frame, param)
    assert (report["rows_train"], report["rows_holdout"]) == (10 - len(held), len(held))
    assert model.holdout is not None
    assert "".join(sorted(model.holdout["y_true"])) == held


def test_scalar_metrics_flatten_classes_and_business_values_to_safe_finite_names() -> None:
    metrics = {
        "task": "binary",
        "labels": ["a b", "c"],
        "accuracy": 0.5,
        "roc_auc": None,
        "log_loss": float("nan"),
        "converged": True,
        "per_class": [
            {"label": "a b/c", "precision": 1.0, "recall": float("inf"), "support": 2},
            *({"label": f"class{index}", "f1": 0.5} for index in range(60)),
        ],
        "business": {"revenue": 12.5, "note": "text", "loss": float("-inf")},
    }
    values = scalar_metrics(metrics)
    assert {name: value for name, value in values.items() if not name.startswith("per_class.class")} == {
        "accuracy": 0.5,
        "per_class.a_b_c.precision": 1.0,
        "per_class.a_b_c.support": 2,
        "business.revenue": 12.5,
    }
    assert sorted(name for name in values if name.startswith("per_class.class")) == sorted(
        f"per_class.class{index}.f1" for index in range(49)
    )


def test_features_that_preprocessing_drops_entirely_are_named_in_the_error(srv: Path) -> None:
    frame = pd.DataFrame({"x": [1.0] * 12, "empty": [np.nan] * 12, "y": np.arange(12.0) + 0.5})
    param = {"feature_variables": ["x", "empty"], "target_variables": ["y"]}
    model = lifecycle.init(frame, param, lambda params: LinearRegression())
    with pytest.raises(ValueError, match="preprocessing kept no feature") as raised:
        lifecycle.fit(model, frame, param)
    assert str(raised.value) == (
        "preprocessing kept no feature: each of ['x', 'empty'] is empty or holds one value in the 10 "
        "training row(s); fit on more varied rows, lower holdout, or pass preprocess=False"
    )


@pytest.mark.parametrize("task", ["classification", "regression", "forecast"])
def test_a_supervised_task_without_a_target_says_how_to_name_one(srv: Path, task: str) -> None:
    frame = pd.DataFrame({"x": np.arange(12.0)})
    param = {"feature_variables": ["x"], "options": {"params": {"task": task}}}
    model = lifecycle.init(frame, param, lambda params: LinearRegression())
    with pytest.raises(ValueError, match="needs a target column") as raised:
        lifecycle.fit(model, frame, param)
    assert str(raised.value) == (
        f"task {task!r} needs a target column: | fit MLTKContainer algo=... <target> from <features> ..."
    )


def test_a_requested_task_wins_over_the_models_own_kind(srv: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(30.0), "y": np.arange(30) % 3})
    param = {
        "feature_variables": ["x"],
        "target_variables": ["y"],
        "options": {"params": {"task": "regression"}},
    }
    model = lifecycle.init(frame, param, lambda params: DecisionTreeClassifier(random_state=0))
    report = lifecycle.fit(model, frame, param)
    assert report["task"] == "regression"
    assert "r2" in report["metrics"]


def test_refit_scores_the_holdout_then_trains_again_on_every_labelled_row(srv: Path) -> None:
    frame, param = churn()
    param["options"]["params"]["refit"] = "true"
    frame.loc[frame.index[:10], "churn"] = None  # unlabelled rows are left out of both trainings
    model = lifecycle.init(frame, param, forest)
    report = lifecycle.fit(model, frame, param)
    assert (report["refit"], report["rows_train"], report["rows_holdout"]) == (True, 472, 118)

    labelled = frame.iloc[10:]
    features, preprocessor = standard_preprocessing(labelled[FEATURES])
    everything = RandomForestClassifier(n_estimators=40, random_state=0).fit(features, labelled["churn"])
    applied = lifecycle.apply(model, frame)
    expected, _ = standard_preprocessing(frame[FEATURES], preprocessor=preprocessor)
    np.testing.assert_allclose(
        applied[["probability_no", "probability_yes"]].to_numpy(), everything.predict_proba(expected)
    )
    assert model.metrics is not None
    assert model.metrics["n_samples"] == 118  # the metrics are those of the holdout, scored before
