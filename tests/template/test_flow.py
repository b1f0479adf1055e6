"""The scope's flow, literally: Save As, edit only the model cell, save (export), fit and apply from Splunk.

Splunk's side is played over HTTP: the request bodies are those of ``| fit MLTKContainer`` and
``| apply``, sent to the runtime on loopback; telemetry goes to the Splunk emulator over HTTPS.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from golden_testing import TEMPLATE, churn_request, events_of_type, save_template_as, serve

from dsdl_golden import telemetry_helper
from dsdl_golden.config import load_settings
from dsdl_golden.contract import check_module
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.export import export_notebook
from dsdl_golden.runtime import create_app

pytestmark = pytest.mark.integration

TOKEN = "api-61d0aa5e-flow-token"
NOTEBOOK = "SuNombre_Modelo_CasoUso_v1"

GRADIENT_BOOSTING = """\
from sklearn.ensemble import GradientBoostingClassifier


@lifecycle.model_defaults(n_estimators=60, learning_rate=0.1)
def build_model(params, data):
    return GradientBoostingClassifier(
        n_estimators=params["n_estimators"], learning_rate=params["learning_rate"], random_state=0
    )
"""

BROKEN = """\
from sklearn.ensemble import GradientBoostingClassifier


class Unlucky(GradientBoostingClassifier):
    def fit(self, X, y, sample_weight=None):
        raise RuntimeError("the data scientist's model failed on purpose")


def build_model(params, data):
    return Unlucky()
"""


def save_as(directory: Path, model_cell: str) -> Path:
    """File ▸ Save As a new name, then replace only the model cell's source."""
    return save_template_as(directory, NOTEBOOK, model_cell)


def splunk_request(frame: pd.DataFrame, model_name: str, **params: str) -> dict[str, Any]:
    return churn_request(frame, NOTEBOOK, model_name, **params)


def post(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(url + path, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
def runtime(telemetry_to_emulator: SplunkEmulator, srv: Path) -> Any:
    environment = {"api_token": TOKEN, "GOLDEN_SRV_DIR": str(srv)}
    with serve(create_app(load_settings(environment), environment)) as url:
        yield url


def test_save_as_edit_the_model_cell_export_fit_apply_and_summary(
    runtime: str, srv: Path, tmp_path: Path, telemetry_to_emulator: SplunkEmulator
) -> None:
    module = export_notebook(save_as(tmp_path, GRADIENT_BOOSTING), srv / "app" / "model")
    assert module == srv / "app" / "model" / f"{NOTEBOOK}.py"
    assert check_module(module) == []
    frame = pd.read_csv(TEMPLATE / "data" / "churn_sample.csv")

    fitted = post(runtime, "/fit", splunk_request(frame, "churn_v1", n_estimators="40"))
    assert (fitted["status"], fitted["message"]) == ("success", "/fit done successfully")
    scores = pd.read_csv(io.StringIO(fitted["results"]))
    assert list(scores.columns) == ["churn", "probability_no", "probability_yes"]
    assert len(scores) == len(frame)
    assert set(scores["churn"]) <= {"no", "yes"}

    saved = srv / "app" / "model" / "data" / f"{NOTEBOOK}_churn_v1"
    metadata = json.loads((saved / "golden.json").read_text())
    assert metadata["summary"]["model"] == "GradientBoostingClassifier(n_estimators=40, random_state=0)"
    assert metadata["summary"]["params"] == {"n_estimators": 40, "learning_rate": 0.1}

    new_rows = frame.drop(columns="churn").sample(25, random_state=1)
    applied = post(runtime, "/apply", splunk_request(new_rows, "churn_v1"))
    assert applied["status"] == "success", applied["message"]
    assert len(pd.read_csv(io.StringIO(applied["results"]))) == 25

    summary = json.loads(
        requests.get(runtime + "/summary", headers={"Authorization": TOKEN}, timeout=30).json()
    )
    facts = summary["model_summary"]["summary"]
    assert (facts["name"], facts["task"], facts["target"]) == (
        f"{NOTEBOOK}_churn_v1",
        "classification",
        "churn",
    )
    assert facts["metrics"]["accuracy"] == metadata["summary"]["metrics"]["accuracy"]
    assert facts["last_apply"]["rows_out"] == 25

    assert telemetry_helper.flush(30)
    splunk = telemetry_to_emulator
    (fit_event,) = events_of_type(splunk, "fit")
    assert fit_event["fields"]["model"] == f"{NOTEBOOK}_churn_v1"
    assert fit_event["event"]["rows_holdout"] == 120
    requests_seen = [
        (event["event"]["path"], event["event"]["status"]) for event in events_of_type(splunk, "request")
    ]
    assert requests_seen == [("/fit", "success"), ("/apply", "success")]
    holdout = {
        record["metric_name"]: record["value"]
        for record in splunk.events(index="golden_metrics", kind="metric")
        if record["fields"]["stage"] == "holdout"
    }
    assert holdout["accuracy"] == facts["metrics"]["accuracy"]
    assert holdout["roc_auc"] == facts["metrics"]["roc_auc"]


def test_a_model_that_raises_reaches_splunk_and_the_answer_says_what_failed(
    runtime: str, srv: Path, tmp_path: Path, telemetry_to_emulator: SplunkEmulator
) -> None:
    export_notebook(save_as(tmp_path, BROKEN), srv / "app" / "model")
    frame = pd.read_csv(TEMPLATE / "data" / "churn_sample.csv")
    answer = post(runtime, "/fit", splunk_request(frame, "broken"))
    assert answer == {
        "status": "error",
        "message": "/fit: ERROR: unable to fit model. Ended with exception: "
        "RuntimeError: the data scientist's model failed on purpose",
    }
    assert telemetry_helper.flush(30)
    errors = [
        record
        for record in telemetry_to_emulator.events(index="main")
        if record["event"].get("type") == "error"
    ]
    assert [(error["fields"]["phase"], error["fields"]["model"]) for error in errors] == [
        ("fit", f"{NOTEBOOK}_broken")
    ]
    assert "failed on purpose" in errors[0]["event"]["traceback"]
    (request,) = events_of_type(telemetry_to_emulator, "request")
    assert request["event"]["status"] == "error"
    assert not (srv / "app" / "model" / "data" / f"{NOTEBOOK}_broken").exists()
