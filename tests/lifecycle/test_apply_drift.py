"""The drift facts of an apply: kept on the model, sent to Splunk, worst columns first, at most 50."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_testing import churn_sample, events_of_type
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression

from dsdl_golden import lifecycle, telemetry_helper
from dsdl_golden.emulator import SplunkEmulator

FEATURES = ["tenure", "monthly_charges", "contract", "payment_method", "support_calls"]


def churn() -> tuple[pd.DataFrame, dict[str, Any]]:
    return churn_sample(algo="churn_nb", n_estimators="20")


def forest(params: dict[str, Any]) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=params["n_estimators"], random_state=0)


def psi_worst_first(model: lifecycle.GoldenModel, frame: pd.DataFrame) -> list[tuple[str, float]]:
    """The preprocessor's own PSI of each numeric feature of ``frame``, highest first."""
    assert model.preprocessor is not None
    columns = model.preprocessor.drift_report(frame[list(model.spec.features)])["columns"]
    return sorted(((name, column["psi"]) for name, column in columns.items()), key=lambda item: -item[1])


@pytest.mark.integration
def test_apply_reports_each_numeric_features_drift_worst_first(telemetry_to_emulator: SplunkEmulator) -> None:
    splunk = telemetry_to_emulator
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    drifted = frame.assign(
        tenure=frame["tenure"] + 200,  # far outside the fit's range: PSI about 8
        monthly_charges=frame["monthly_charges"] * 1.3,  # a major shift: PSI about 0.56
        note="extra",
    )
    drifted.loc[:9, "contract"] = "lifetime"  # a category the fit never saw
    lifecycle.apply(model, drifted, param)
    assert telemetry_helper.flush(20)

    worst_first = psi_worst_first(model, drifted)
    assert [name for name, _ in worst_first] == ["tenure", "monthly_charges", "support_calls"]
    assert 0.25 < worst_first[1][1] < 1.25
    assert model.last_apply is not None
    drift = model.last_apply["drift"]
    assert list(drift["psi"].items()) == worst_first
    assert drift["max_psi"] == worst_first[0][1]
    assert drift["drifted_columns"] == ["tenure", "monthly_charges"]  # PSI above 0.25
    assert (drift["type_drift"], drift["unseen_categories"], drift["extra_columns"]) == ([], ["contract"], [])

    (event,) = events_of_type(splunk, "drift")
    assert (event["fields"]["phase"], event["fields"]["model"]) == ("apply", "churn_nb_churn_sample")
    assert event["event"]["rows"] == len(drifted)
    assert {key: event["event"][key] for key in drift} == drift
    psi_metrics = {
        measurement["metric_name"]: (measurement["value"], measurement["fields"]["phase"])
        for measurement in splunk.events(index="golden_metrics", kind="metric")
        if measurement["metric_name"].startswith("psi.")
    }
    assert psi_metrics == {f"psi.{name}": (value, "apply") for name, value in worst_first}


def test_the_drift_of_an_apply_without_shift_has_no_drifted_column(srv: Path) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    before = datetime.now(UTC).replace(microsecond=0)
    lifecycle.apply(model, frame, param)
    assert model.last_apply is not None
    assert model.last_apply["at"].endswith("+00:00")
    assert before <= datetime.fromisoformat(model.last_apply["at"]) <= datetime.now(UTC)
    drift = model.last_apply["drift"]
    assert drift["drifted_columns"] == []
    assert drift["max_psi"] == max(value for _, value in psi_worst_first(model, frame)) < 0.25


def test_drift_lists_the_50_most_drifted_of_more_columns(srv: Path) -> None:
    rng = np.random.default_rng(7)
    names = [f"x{i}" for i in range(60)]
    frame = pd.DataFrame(rng.normal(size=(400, 60)), columns=names)
    frame["y"] = frame.sum(axis=1)
    model = lifecycle.init(frame, {"target_variables": ["y"]}, lambda params: LinearRegression())
    lifecycle.fit(model, frame, {"target_variables": ["y"]})
    shifted = frame + np.arange(61) * 0.04  # x59 moved most, x0 not at all

    lifecycle.apply(model, shifted, {"target_variables": ["y"]})

    worst_first = psi_worst_first(model, shifted)
    assert model.last_apply is not None
    drift = model.last_apply["drift"]
    assert list(drift["psi"].items()) == worst_first[:50]
    assert {"x0", "x1", "x2"}.isdisjoint(drift["psi"])
    assert drift["max_psi"] == worst_first[0][1]
    assert drift["drifted_columns"] == [name for name, value in worst_first[:50] if value > 0.25]


def test_a_model_without_preprocessing_reports_no_drift(srv: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(40.0), "y": 2 * np.arange(40.0)})
    param = {"target_variables": ["y"], "options": {"params": {"preprocess": "false"}}}
    model = lifecycle.init(frame, param, lambda params: LinearRegression())
    lifecycle.fit(model, frame, param)
    assert model.preprocessor is None
    lifecycle.apply(model, frame.assign(x=frame["x"] + 100), param)
    assert model.last_apply is not None
    assert "drift" not in model.last_apply


def test_apply_scores_rows_of_one_class_against_every_class_the_model_knows(srv: Path) -> None:
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    predicted = lifecycle.apply(model, frame, param)["churn"]
    only_no = frame[(frame["churn"] == "no") & (predicted == "no")].reset_index(drop=True)

    lifecycle.apply(model, only_no, param)

    assert model.last_apply is not None
    metrics = model.last_apply["metrics"]
    assert (metrics["task"], metrics["labels"], metrics["n_samples"]) == (
        "binary",
        ["no", "yes"],
        len(only_no),
    )
    assert metrics["accuracy"] == 1.0


def test_a_model_without_numeric_features_reports_no_psi(srv: Path) -> None:
    frame, param = churn()
    param["feature_variables"] = ["contract", "payment_method"]
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    lifecycle.apply(model, frame, param)
    assert model.last_apply is not None
    drift = model.last_apply["drift"]
    assert (drift["max_psi"], drift["psi"], drift["drifted_columns"]) == (None, {}, [])
