"""What a save writes (golden.json, version directories, the link) and what a load gives back."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
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
from dsdl_golden._lifecycle.store import write_model
from dsdl_golden._lifecycle.versions import library_versions
from dsdl_golden.emulator import SplunkEmulator

SAVED_AS = "churn_nb_churn_sample"
IMAGE = {
    "GOLDEN_IMAGE_NAME": "registry.example/dsdl-golden",
    "GOLDEN_IMAGE_VERSION": "5.2.4-golden.3",
    "GOLDEN_IMAGE_REVISION": "0123abc",
    "GOLDEN_IMAGE_DIGEST": "sha256:" + "e" * 64,
}
NAME_RULE = (
    "is not allowed: use 1 to 128 letters, digits, '_' or '-' (no dots, slashes or spaces), "
    "starting with a letter, digit or '_'"
)


def churn() -> tuple[pd.DataFrame, dict[str, Any]]:
    return churn_sample(algo="churn_nb", n_estimators="20", criterion="entropy")


def forest(params: dict[str, Any], data: lifecycle.DataInfo) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=params["n_estimators"], random_state=0)


def fitted_churn() -> lifecycle.GoldenModel:
    frame, param = churn()
    model = lifecycle.init(frame, param, forest)
    lifecycle.fit(model, frame, param)
    return model


def model_dir(srv: Path) -> Path:
    return srv / "app" / "model" / "data"


def metadata_of(srv: Path, name: str = SAVED_AS) -> dict[str, Any]:
    saved: dict[str, Any] = json.loads((model_dir(srv) / name / "golden.json").read_text())
    return saved


def test_golden_json_holds_everything_a_load_needs(srv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in IMAGE.items():
        monkeypatch.setenv(name, value)
    model = fitted_churn()
    before = datetime.now(UTC).replace(microsecond=0)
    lifecycle.save(model, SAVED_AS)
    after = datetime.now(UTC)

    text = (model_dir(srv) / SAVED_AS / "golden.json").read_text()
    assert text.startswith('{\n  "format": "dsdl-golden-model/1",\n  "name": "churn_nb_churn_sample",\n')
    saved = json.loads(text)
    assert set(saved) == {
        "format",
        "name",
        "adapter",
        "adapter_state",
        "classes",
        "spec",
        "data_info",
        "summary",
        "metrics",
        "versions",
        "image",
        "saved_at",
    }
    assert (saved["adapter"], saved["adapter_state"], saved["classes"]) == ("estimator", {}, ["no", "yes"])
    assert model.data_info is not None
    assert saved["data_info"] == asdict(model.data_info)
    assert saved["spec"] == {
        "algo": "churn_nb",
        "model_name": "churn_sample",
        "features": ["tenure", "monthly_charges", "contract", "payment_method", "support_calls"],
        "target": "churn",
        "options": asdict(model.spec.options),
        "params": {"n_estimators": 20, "criterion": "entropy"},
    }
    assert saved["summary"] == model.summary()
    assert saved["metrics"] == json.loads(json.dumps(model.metrics))
    assert saved["versions"] == library_versions("sklearn")
    assert saved["image"] == {
        "name": IMAGE["GOLDEN_IMAGE_NAME"],
        "version": IMAGE["GOLDEN_IMAGE_VERSION"],
        "revision": IMAGE["GOLDEN_IMAGE_REVISION"],
        "digest": IMAGE["GOLDEN_IMAGE_DIGEST"],
    }
    assert saved["saved_at"].endswith("+00:00")
    assert before <= datetime.fromisoformat(saved["saved_at"]) <= after


def test_a_regression_model_is_saved_without_classes(srv: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(30.0), "y": 3 * np.arange(30.0)})
    model = lifecycle.init(frame, {"target_variables": ["y"]}, lambda params: LinearRegression())
    lifecycle.fit(model, frame, {"target_variables": ["y"]})
    lifecycle.save(model, "line")
    assert metadata_of(srv, "line")["classes"] is None


def test_a_load_gives_back_the_model_that_was_saved(srv: Path) -> None:
    model = fitted_churn()
    model.registered = {"name": SAVED_AS, "version": "3", "run_id": "f" * 32}  # as a registering fit sets it
    lifecycle.save(model, SAVED_AS)
    path = model_dir(srv) / SAVED_AS / "golden.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "saved_at": "2031-01-01T00:00:00+00:00"}))  # saved long after

    loaded = lifecycle.load(SAVED_AS, forest)

    assert loaded.summary() == model.summary()
    assert loaded.spec == model.spec
    assert loaded.data_info == model.data_info
    assert loaded.build is forest
    assert (loaded.trained_at, loaded.registered, loaded.run_id) == (
        model.trained_at,
        model.registered,
        model.run_id,
    )
    assert (loaded.training, loaded.profile, loaded.lineage) == (model.training, model.profile, model.lineage)
    assert loaded.last_apply is None


def test_a_golden_json_with_only_the_required_keys_loads(srv: Path) -> None:
    lifecycle.save(fitted_churn(), SAVED_AS)
    path = model_dir(srv) / SAVED_AS / "golden.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({key: saved[key] for key in ("format", "spec", "adapter", "saved_at")}))

    loaded = lifecycle.load(SAVED_AS)

    assert loaded.trained_at == saved["saved_at"]
    assert re.fullmatch("[0-9a-f]{32}", loaded.run_id)
    assert loaded.run_id != saved["summary"]["run_id"]
    assert (loaded.data_info, loaded.metrics, loaded.task, loaded.registered) == (None, None, None, None)
    assert loaded.estimator.n_estimators == 20


@pytest.mark.integration
def test_a_save_is_reported_with_where_it_went(telemetry_to_emulator: SplunkEmulator) -> None:
    splunk = telemetry_to_emulator
    model = fitted_churn()
    started = time.perf_counter()
    lifecycle.save(model, "churn_v2")
    elapsed = time.perf_counter() - started
    assert telemetry_helper.flush(20)

    (event,) = events_of_type(splunk, "save")
    assert (event["fields"]["phase"], event["fields"]["model"]) == ("save", SAVED_AS)
    assert event["event"]["saved_as"] == "churn_v2"
    assert event["event"]["path"] == str(lifecycle.model_directory() / "churn_v2")
    assert 0 < event["event"]["duration_s"] <= elapsed


@pytest.mark.parametrize("name", ["../x", "a b", ".hidden", ""])
def test_a_save_under_a_name_that_is_not_allowed_says_which_names_are(srv: Path, name: str) -> None:
    model = fitted_churn()
    message = f"^{re.escape(f'model name {name!r} {NAME_RULE}')}$"
    with pytest.raises(ValueError, match=message):
        lifecycle.save(model, name)
    with pytest.raises(ValueError, match=message):
        write_model(model_dir(srv), name, lambda version_dir: {})
    assert list(model_dir(srv).iterdir()) == []


def test_a_save_creates_the_model_directory_and_keeps_one_version(srv: Path) -> None:
    (srv / "app").rename(srv / "app-before")  # DSDL's volume is empty until the first save
    model = fitted_churn()
    lifecycle.save(model, SAVED_AS)
    lifecycle.save(model, SAVED_AS)

    directory = model_dir(srv)
    link = directory / SAVED_AS
    assert re.fullmatch(rf"\.{SAVED_AS}\.v[0-9]+-[0-9a-f]{{8}}", str(link.readlink()))
    assert sorted(path.name for path in directory.iterdir()) == sorted(
        [SAVED_AS, f".{SAVED_AS}.lock", str(link.readlink()), f"{SAVED_AS}.lineage.json"]
    )


def test_a_directory_in_the_models_place_is_moved_aside_not_deleted(srv: Path) -> None:
    directory = model_dir(srv)
    older = directory / SAVED_AS
    older.mkdir(parents=True)
    (older / "model.pkl").write_bytes(b"saved by an older container")

    lifecycle.save(fitted_churn(), SAVED_AS)

    assert (directory / SAVED_AS).is_symlink()
    (aside,) = directory.glob(f".{SAVED_AS}.replaced-*")
    assert re.fullmatch(rf"\.{SAVED_AS}\.replaced-[0-9]+", aside.name)
    assert (aside / "model.pkl").read_bytes() == b"saved by an older container"


def test_loading_a_name_never_saved_lists_the_saved_models(srv: Path) -> None:
    directory = model_dir(srv)
    with pytest.raises(FileNotFoundError) as raised:
        lifecycle.load("churn_v9")
    assert str(raised.value) == (
        f"no saved model 'churn_v9' in {directory}: fit it first (| fit MLTKContainer ... into app:...)"
    )
    model = fitted_churn()
    for name in ("zeta", "alpha"):
        lifecycle.save(model, name)
    (directory / "notes").mkdir()  # not a model: no golden.json

    with pytest.raises(FileNotFoundError) as raised:
        lifecycle.load("churn_v9")
    assert str(raised.value) == (
        f"no saved model 'churn_v9' in {directory}: fit it first (| fit MLTKContainer ... into app:...); "
        "saved models: alpha, zeta"
    )
    with pytest.raises(ValueError, match=re.escape(f"model name 'a/b' {NAME_RULE}")):
        lifecycle.load("a/b")


def test_a_model_saved_in_another_format_says_to_fit_it_again(srv: Path) -> None:
    lifecycle.save(fitted_churn(), SAVED_AS)
    path = model_dir(srv) / SAVED_AS / "golden.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": "dsdl-golden-model/2"}))

    message = (
        f"{path.parent.resolve()} holds format 'dsdl-golden-model/2'; this dsdl-golden reads "
        "'dsdl-golden-model/1': fit the model again"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        lifecycle.load(SAVED_AS)


def test_save_given_something_other_than_a_model_names_itself_and_what_it_got(srv: Path) -> None:
    message = "save: model must be what lifecycle.init or lifecycle.load returned, got DataFrame"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        lifecycle.save(pd.DataFrame(), SAVED_AS)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        # orjson's own words say where the file breaks off; the test pins only that it says so
        (b'{"format": "dsdl-golden-model/1", "spec": {', r"is damaged \(.+: line 1 column 44 \(char 43\)\)"),
        (b"\x00\x00\x00\x00", r"is damaged \(.+: line 1 column 1 \(char 0\)\)"),
        (b"[1, 2]", "holds a JSON list, not an object"),
    ],
    ids=["truncated", "zeroed", "not-an-object"],
)
def test_a_damaged_golden_json_names_the_file_and_says_to_fit_again(
    srv: Path, content: bytes, problem: str
) -> None:
    lifecycle.save(fitted_churn(), SAVED_AS)
    path = (model_dir(srv) / SAVED_AS).resolve() / "golden.json"
    path.write_bytes(content)  # a disk that filled up, a crash of the host, an edit by hand

    with pytest.raises(ValueError, match=f"^{re.escape(str(path))} {problem}: fit the model again$"):
        lifecycle.load(SAVED_AS)
