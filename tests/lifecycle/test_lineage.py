"""The lineage of a fit: sent to Splunk, kept on the model, saved beside it, and never in the model's way."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import platform
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from golden_testing import churn_sample, events_of_type
from sklearn.ensemble import RandomForestClassifier

from dsdl_golden import lifecycle, splunk_connector, telemetry_helper
from dsdl_golden._lifecycle.profile import content_hash
from dsdl_golden._lifecycle.versions import library_versions
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import SplunkEmulator

SAVED_AS = "churn_nb_churn_sample"
SEARCH_TOKEN = "search-token-lineage-3f9a"
RECORD_FIELDS = {
    "lineage_id",
    "run_id",
    "model",
    "algo",
    "model_name",
    "created_at",
    "trained_at",
    "data_source",
    "search",
    "rows",
    "n_columns",
    "content_hash",
    "features",
    "target",
    "task",
    "params",
    "options",
    "metrics",
    "versions",
    "image",
}


def churn() -> tuple[pd.DataFrame, dict[str, Any]]:
    return churn_sample(algo="churn_nb", n_estimators="20")


def forest(params: dict[str, Any]) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=params["n_estimators"], random_state=0)


def fitted(frame: pd.DataFrame, param: dict[str, Any]) -> lifecycle.GoldenModel:
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    return model


def saved_lineage(srv: Path) -> dict[str, Any]:
    path = srv / "app" / "model" / "data" / f"{SAVED_AS}.lineage.json"
    text = path.read_text()
    assert text.startswith('{\n  "lineage_id": ')  # indented, for people reading it
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@pytest.mark.integration
def test_the_lineage_event_is_the_record_saved_beside_the_model_and_shown_by_summary(
    telemetry_to_emulator: SplunkEmulator, srv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOLDEN_IMAGE_NAME", "dsdl-golden-cpu")
    monkeypatch.setenv("GOLDEN_IMAGE_VERSION", "1.4.0")
    monkeypatch.setenv("GOLDEN_IMAGE_DIGEST", "sha256:" + "ab" * 32)
    frame, param = churn()
    model = fitted(frame, param)
    lifecycle.save(model, SAVED_AS)
    assert telemetry_helper.flush(20)

    (sent,) = events_of_type(telemetry_to_emulator, "lineage")
    assert (sent["fields"]["model"], sent["fields"]["run_id"], sent["fields"]["phase"]) == (
        SAVED_AS,
        model.run_id,
        "fit",
    )
    event = {key: value for key, value in sent["event"].items() if key not in {"type", "level"}}
    record = saved_lineage(srv)
    assert set(record) == RECORD_FIELDS
    for name in RECORD_FIELDS:
        assert event[name] == record[name], name
        assert lifecycle.summary(model)["summary"]["lineage"][name] == record[name], name
    assert set(event) == RECORD_FIELDS
    assert lifecycle.load(SAVED_AS).lineage == record

    assert uuid.UUID(record["lineage_id"]).version == 4
    assert (record["run_id"], record["model"], record["algo"], record["model_name"]) == (
        model.run_id,
        SAVED_AS,
        "churn_nb",
        "churn_sample",
    )
    assert record["trained_at"] == model.trained_at
    assert record["data_source"] == "dsdl_fit"  # the param is DSDL's meta, which carries no SPL
    assert record["search"] == {
        "query": None,
        "earliest": None,
        "latest": None,
        "sid": None,
        "rows": 600,
        "method": "dsdl_fit",
    }
    assert (record["rows"], record["n_columns"]) == (600, frame.shape[1])
    assert record["content_hash"] == content_hash(frame)
    assert record["features"] == ["tenure", "monthly_charges", "contract", "payment_method", "support_calls"]
    assert (record["target"], record["task"]) == ("churn", "classification")
    assert record["params"] == {"n_estimators": 20}
    assert record["options"]["holdout"] == 0.2
    assert model.metrics is not None
    assert record["metrics"]["accuracy"] == model.metrics["accuracy"]
    assert all(isinstance(value, int | float) for value in record["metrics"].values())
    assert record["versions"]["scikit-learn"]
    assert record["versions"]["pandas"] == pd.__version__
    assert record["created_at"].endswith("+00:00")
    assert record["image"] == {"name": "dsdl-golden-cpu", "version": "1.4.0", "digest": "sha256:" + "ab" * 32}


def test_the_content_hash_follows_the_values_not_the_index(srv: Path) -> None:
    frame, param = churn()
    again, _ = churn()
    changed = frame.copy()
    changed.loc[17, "monthly_charges"] = changed.loc[17, "monthly_charges"] + 0.01

    assert content_hash(frame) == content_hash(again) == content_hash(frame.set_axis(range(1000, 1600)))
    assert content_hash(changed) != content_hash(frame)
    assert content_hash(frame.rename(columns={"tenure": "months"})) != content_hash(frame)
    assert content_hash(frame.astype({"tenure": "float64"})) != content_hash(frame)

    first, second, third = fitted(frame, param), fitted(again, param), fitted(changed, param)
    assert first.lineage is not None
    assert second.lineage is not None
    assert third.lineage is not None
    assert first.lineage["content_hash"] == second.lineage["content_hash"] == content_hash(frame)
    assert third.lineage["content_hash"] == content_hash(changed)
    assert first.lineage["lineage_id"] != second.lineage["lineage_id"]


@pytest.mark.integration
@pytest.mark.parametrize("method", ["job", "export"])
def test_a_frame_from_get_data_carries_its_search_into_the_lineage(
    fresh_emulator: SplunkEmulator, srv: Path, method: str
) -> None:
    frame, param = churn()
    multivalue = frame.assign(tags=[["promo", "web"] if row % 3 else "store" for row in range(len(frame))])
    fresh_emulator.add_auth_token(SEARCH_TOKEN)
    fresh_emulator.add_dataset("index=churn", multivalue)
    access = load_settings(
        {
            "splunk_access_enabled": "1",
            "splunk_access_host": "127.0.0.1",
            "splunk_access_port": str(fresh_emulator.rest_port),
            "splunk_access_token": SEARCH_TOKEN,
            "GOLDEN_TLS_VERIFY": str(fresh_emulator.ca_bundle),
        }
    )
    searched = splunk_connector.get_data(
        "index=churn", earliest="0", method=method, settings=access, progress=False
    )
    model = fitted(searched, param)

    assert model.lineage is not None
    search = model.lineage["search"]
    sid = search.pop("sid")
    assert search == {
        "query": "search index=churn",
        "earliest": "0",
        "latest": "now",
        "rows": 600,
        "method": method,
    }
    assert model.lineage["data_source"] == "splunk_search"
    assert model.lineage["content_hash"] == content_hash(searched)
    if method == "job":
        paths = [entry["path"] for entry in fresh_emulator.requests_log("rest")]
        assert isinstance(sid, str)
        assert sid
        assert any(path.endswith(f"/jobs/{sid}/results") for path in paths), paths  # the job read
    else:
        assert sid is None


def test_a_lineage_that_cannot_be_built_never_fails_the_fit(
    srv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame, param = churn()
    unhashable = frame.assign(raw=[{"source": "crm"}] * len(frame))  # dicts: pandas cannot hash them
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.lifecycle"):
        model = lifecycle.init(unhashable, param, forest)
        report = lifecycle.fit(model, unhashable, param)
        lifecycle.fit(model, unhashable, param)

    assert report["rows_train"] == 480
    assert model.lineage is None
    assert lifecycle.summary(model)["summary"]["lineage"] is None
    warnings = [record.getMessage() for record in caplog.records if "lineage" in record.getMessage()]
    assert warnings == [
        f"lineage of model {SAVED_AS} is skipped (the fit goes on): TypeError: unhashable type: 'dict'"
    ]  # logged once

    lineage_file = srv / "app" / "model" / "data" / f"{SAVED_AS}.lineage.json"
    lifecycle.save(fitted(frame, param), SAVED_AS)
    assert lineage_file.is_file()
    lifecycle.save(model, SAVED_AS)
    assert not lineage_file.exists()  # the file of the earlier fit does not stay beside this model
    assert lifecycle.load(SAVED_AS).lineage is None
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.lifecycle"):
        lifecycle.save(model, SAVED_AS)  # again: there is no lineage file to remove, and that is fine
    assert [record.getMessage() for record in caplog.records if "lineage file" in record.getMessage()] == []


def test_an_unwritable_lineage_file_never_fails_the_save(srv: Path, caplog: pytest.LogCaptureFixture) -> None:
    frame, param = churn()
    model = fitted(frame, param)
    directory = srv / "app" / "model" / "data"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{SAVED_AS}.lineage.json").mkdir()  # the file's place is taken by a directory

    with caplog.at_level(logging.WARNING, logger="dsdl_golden.lifecycle"):
        assert lifecycle.save(model, SAVED_AS) is model

    (warning,) = [record.getMessage() for record in caplog.records if "lineage" in record.getMessage()]
    lineage_file = directory / f"{SAVED_AS}.lineage.json"
    expected = f"lineage file {lineage_file} is not written (the save goes on): IsADirectoryError: "
    assert warning.startswith(expected)
    assert str(lineage_file) in warning.split("IsADirectoryError: ", 1)[1]  # the error names the file
    assert lifecycle.load(SAVED_AS).lineage == model.lineage  # the model's metadata holds it too
    assert sorted(path.name for path in directory.iterdir() if ".tmp" in path.name) == []


def test_the_lineage_keeps_dsdls_job_id_and_knows_a_notebooks_own_frame(srv: Path) -> None:
    frame, param = churn()
    param["options"]["search_info"] = {"sid": "1700000000.42", "app": "search"}
    assert fitted(frame, param).lineage["search"]["sid"] == "1700000000.42"

    notebook_param = {
        "feature_variables": param["feature_variables"],
        "target_variables": ["churn"],
        "options": {"params": {"holdout": "0", "n_estimators": "20"}},  # no algo_name: not from DSDL
    }
    for given in (notebook_param, None):
        model = lifecycle.init(frame, notebook_param, forest)
        lifecycle.fit(model, frame, given)
        assert model.lineage is not None
        assert (model.lineage["data_source"], model.lineage["search"]) == ("dataframe", None)
        assert model.lineage["metrics"] is None  # no holdout, no metrics


def test_the_versions_recorded_are_those_of_the_models_framework() -> None:
    assert library_versions()["python"] == platform.python_version()
    assert set(library_versions()) == {"python", "dsdl-golden", "numpy", "pandas", "scikit-learn", "scipy"}
    assert library_versions("statsmodels")["statsmodels"] == importlib.metadata.version("statsmodels")
    assert library_versions("pytest")["pytest"] == pytest.__version__  # a framework named as its package
    installed = {name for name in ("tensorflow-cpu", "tensorflow") if _installed(name)}
    assert set(library_versions("keras")) - set(library_versions()) == {"keras", *installed}


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True
