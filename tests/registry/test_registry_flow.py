"""The template's flow with the registry on (``GOLDEN_REGISTRY=mlflow``), played from Splunk's side.

Two ``| fit`` of the same model register two versions; they are compared and the older one promoted;
``| apply ... model_version=champion`` serves it, while a plain ``| apply`` serves the file DSDL
loads (the newer fit). The registry is the embedded SQLite store in the test's DSDL volume; requests
go over HTTP to the runtime, telemetry to the Splunk emulator.
"""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from golden_testing import TEMPLATE, churn_request, events_of_type, save_template_as, serve

from dsdl_golden import lifecycle, model_registry, telemetry_helper
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.export import export_notebook
from dsdl_golden.runtime import create_app

pytestmark = pytest.mark.integration

TOKEN = "api-2b7c41d9-registry-token"
NOTEBOOK = "Registro_Modelo_Churn_v1"
NAME = f"{NOTEBOOK}_churn"
BOOSTING = """\
from sklearn.ensemble import GradientBoostingClassifier


@lifecycle.model_defaults(n_estimators=60)
def build_model(params, data):
    return GradientBoostingClassifier(n_estimators=params["n_estimators"], random_state=0)
"""


def post(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(url + path, json=body, headers={"Authorization": TOKEN}, timeout=120)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def results_of(answer: dict[str, Any]) -> pd.DataFrame:
    assert answer["status"] == "success", answer["message"]
    return pd.read_csv(io.StringIO(answer["results"]))


@pytest.fixture
def runtime(
    telemetry_to_emulator: SplunkEmulator, srv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("GOLDEN_REGISTRY", "mlflow")
    export_notebook(save_template_as(tmp_path, NOTEBOOK, BOOSTING), srv / "app" / "model")
    environment = {"api_token": TOKEN, "GOLDEN_SRV_DIR": str(srv), "GOLDEN_REGISTRY": "mlflow"}
    with serve(create_app(load_settings(environment), environment)) as url:
        # The runtime's registry warm-up reads MLFLOW_TRACKING_URI and puts it back when it is done: a
        # test that sets it while the warm-up still runs (a loaded machine) would see it removed.
        for thread in threading.enumerate():
            if thread.name == "registry-warm-up":
                thread.join(120)
        yield url


def test_two_fits_register_two_versions_and_apply_serves_the_promoted_one(
    runtime: str, srv: Path, telemetry_to_emulator: SplunkEmulator
) -> None:
    frame = pd.read_csv(TEMPLATE / "data" / "churn_sample.csv")
    rows = frame.drop(columns="churn").sample(40, random_state=3)
    for trees in ("3", "80"):
        results_of(post(runtime, "/fit", churn_request(frame, NOTEBOOK, "churn", n_estimators=trees)))

    table = model_registry.compare_models(NAME, metric="roc_auc")
    assert sorted(table["version"]) == [1, 2]
    assert table["delta_to_best"].iloc[0] == 0.0
    assert model_registry.get_version(NAME, 1).params["n_estimators"] == "3"
    assert model_registry.get_version(NAME, 2).params["n_estimators"] == "80"

    promoted = model_registry.promote(NAME, 1)
    assert promoted.aliases == ("champion",)
    champion = results_of(
        post(runtime, "/apply", churn_request(rows, NOTEBOOK, "churn", model_version="champion"))
    )
    on_disk = results_of(post(runtime, "/apply", churn_request(rows, NOTEBOOK, "churn")))
    by_number = results_of(post(runtime, "/apply", churn_request(rows, NOTEBOOK, "churn", model_version="2")))

    version_one = model_registry.load_model_version(NAME, 1)
    expected = lifecycle.apply(version_one, rows).reset_index(drop=True)
    pd.testing.assert_frame_equal(champion, expected, check_dtype=False)
    pd.testing.assert_frame_equal(on_disk, by_number)  # the file DSDL loads is the newer fit
    assert not champion["probability_yes"].equals(on_disk["probability_yes"])

    model_registry.promote(NAME, 2)  # moving the alias serves the other version at the next call
    moved = results_of(
        post(runtime, "/apply", churn_request(rows, NOTEBOOK, "churn", model_version="champion"))
    )
    pd.testing.assert_frame_equal(moved, on_disk)

    assert telemetry_helper.flush(30)
    registered = [event["event"] for event in events_of_type(telemetry_to_emulator, "registered")]
    assert [(event["name"], event["version"]) for event in registered] == [(NAME, 1), (NAME, 2)]
    served = [
        event["event"]["model_version"]
        for event in events_of_type(telemetry_to_emulator, "run_end")
        if "model_version" in event["event"]
    ]
    assert served == [1, 2, 2]  # champion, version 2, champion moved


def test_each_version_carries_the_lineage_of_its_fit(runtime: str, srv: Path) -> None:
    frame = pd.read_csv(TEMPLATE / "data" / "churn_sample.csv")
    results_of(post(runtime, "/fit", churn_request(frame, NOTEBOOK, "churn")))
    lineage = json.loads((srv / "app" / "model" / "data" / f"{NAME}.lineage.json").read_text())
    tags = model_registry.get_version(NAME).tags
    assert tags["golden.lineage_id"] == lineage["lineage_id"]
    assert tags["golden.content_hash"] == lineage["content_hash"]
    assert tags["golden.run_id"] == lineage["run_id"]
    metadata = json.loads((srv / "app" / "model" / "data" / NAME / "golden.json").read_text())
    assert metadata["summary"]["registered"]["version"] == 1


def test_an_alias_that_names_nothing_is_an_error_that_lists_the_aliases(runtime: str) -> None:
    frame = pd.read_csv(TEMPLATE / "data" / "churn_sample.csv")
    results_of(post(runtime, "/fit", churn_request(frame, NOTEBOOK, "churn")))
    model_registry.set_alias(NAME, "challenger", 1)
    answer = post(
        runtime, "/apply", churn_request(frame.head(5), NOTEBOOK, "churn", model_version="champion")
    )
    assert answer["status"] == "error"
    assert "no version of 'Registro_Modelo_Churn_v1_churn' has the alias 'champion'" in answer["message"]
    assert "@challenger (version 1)" in answer["message"]
    answer = post(runtime, "/apply", churn_request(frame.head(5), NOTEBOOK, "churn", model_version="7"))
    assert answer["status"] == "error"
    assert "has no version 7; its versions: 1" in answer["message"]


def test_a_registry_that_does_not_answer_never_fails_the_fit(
    runtime: str, monkeypatch: pytest.MonkeyPatch, telemetry_to_emulator: SplunkEmulator
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://ops:hunter2@127.0.0.1:{port}")
    frame = pd.read_csv(TEMPLATE / "data" / "churn_sample.csv")
    fitted = post(runtime, "/fit", churn_request(frame, NOTEBOOK, "churn"))
    assert fitted["status"] == "success", fitted["message"]
    summary = json.loads(
        requests.get(runtime + "/summary", headers={"Authorization": TOKEN}, timeout=30).json()
    )
    registered = summary["model_summary"]["summary"]["registered"]
    assert registered["name"] == NAME
    assert "does not answer" in registered["error"]
    assert "hunter2" not in json.dumps(summary)
    assert telemetry_helper.flush(30)
    errors = [
        event for event in events_of_type(telemetry_to_emulator, "error") if event["fields"]["phase"] == "fit"
    ]
    assert len(errors) == 1
    assert errors[0]["fields"]["step"] == "register"
    assert "hunter2" not in json.dumps(errors)
