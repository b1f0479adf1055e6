"""The model registry on the embedded SQLite store: logging, comparing, aliases, loading, errors."""

from __future__ import annotations

import doctest
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from golden_testing import child_environ
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

from dsdl_golden import lifecycle, model_registry
from dsdl_golden._lifecycle.params import splunk_meta
from dsdl_golden.metrics_calculator import calculate_all_metrics
from dsdl_golden.workspace import lay_out

X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0], [4.0, 1.0], [5.0, 3.0]])
Y = np.array([1.0, 2.1, 5.2, 7.1, 8.8, 11.5])


@pytest.fixture(scope="module")
def module_srv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One DSDL volume per module: the embedded store's first use creates its database (seconds)."""
    root = tmp_path_factory.mktemp("registry") / "srv"
    lay_out(root)
    return root


@pytest.fixture
def srv(module_srv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GOLDEN_SRV_DIR", str(module_srv))
    monkeypatch.setenv("GOLDEN_SPOOL_DIR", str(tmp_path / "spool"))
    return module_srv


@pytest.fixture
def two_versions(srv: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, LinearRegression, Ridge]]:
    """A model registered twice under this test's own name: version 1 fits better than version 2."""
    name = f"two_{request.node.name.split('[')[0][-60:]}"
    first = LinearRegression().fit(X, Y)
    second = Ridge(alpha=50.0).fit(X, Y)
    for model in (first, second):
        predicted = model.predict(X)
        model_registry.log_model(
            model,
            name,
            metrics={"rmse": float(np.sqrt(np.mean((predicted - Y) ** 2))), "r2": model.score(X, Y)},
            params={"model": type(model).__name__},
        )
    return name, first, second


def test_a_version_carries_its_run_and_what_was_logged(srv: Path) -> None:
    model = LinearRegression().fit(X, Y)
    info = model_registry.log_model(
        model,
        "carried",
        metrics={"rmse": 0.25, "n": float("nan"), "note": "text", "per_class": {"a": {"f1": 0.5}}},
        params={"alpha": 0.1, "grid": {"depth": 3}},
        tags={"team": "fraud"},
    )
    assert (info.name, info.version, info.aliases) == ("carried", 1, ())
    assert info.metrics == {"rmse": 0.25, "per_class.a.f1": 0.5}
    assert info.params == {"alpha": "0.1", "grid.depth": "3"}
    assert info.tags == {"team": "fraud"}
    assert info.run_id
    assert info.source
    assert "carried version 1" in str(info)
    assert "rmse=0.25" in str(info)
    assert info._repr_html_().startswith("<table><caption>carried version 1</caption>")


def test_the_embedded_store_lives_in_dsdls_volume_and_mlflow_globals_are_restored(srv: Path) -> None:
    import mlflow

    before = mlflow.get_tracking_uri()
    model_registry.log_model(LinearRegression().fit(X, Y), "placed")
    registry = srv / "app" / "model" / "registry"
    assert (registry / "mlflow.db").is_file()
    assert any(path.name == "MLmodel" for path in (registry / "artifacts").rglob("*"))
    assert mlflow.get_tracking_uri() == before
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert "MLFLOW_REGISTRY_URI" not in os.environ
    assert mlflow.active_run() is None


def test_metrics_results_log_their_finite_measurements_only(srv: Path) -> None:
    truth = np.array(["no", "yes", "yes", "no", "yes", "no"])
    predicted = np.array(["no", "yes", "no", "no", "yes", "yes"])
    metrics = calculate_all_metrics(truth, predicted)
    info = model_registry.log_model(LinearRegression().fit(X, Y), "measured", metrics=metrics)

    assert info.metrics["accuracy"] == pytest.approx(metrics["accuracy"])
    assert not set(info.metrics) & set(metrics.descriptor_keys)
    assert all(math.isfinite(value) for value in info.metrics.values())
    assert not [key for key in info.metrics if key.split(".")[0] in metrics.descriptor_keys]


def test_compare_ranks_versions_best_first_with_deltas(
    two_versions: tuple[str, LinearRegression, Ridge],
) -> None:
    name, first, second = two_versions
    by_rmse = model_registry.compare_models(name, metric="rmse")
    by_r2 = model_registry.compare_models(name, metric="r2")
    forced = model_registry.compare_models(name, metric="rmse", greater_is_better=True)

    assert list(by_rmse.columns) == ["version", "aliases", "run_id", "created", "rmse", "delta_to_best", "r2"]
    assert list(by_rmse["version"]) == [1, 2]
    assert by_rmse["delta_to_best"].iloc[0] == 0.0
    assert by_rmse["delta_to_best"].iloc[1] == pytest.approx(
        by_rmse["rmse"].iloc[1] - by_rmse["rmse"].iloc[0]
    )
    assert by_rmse["delta_to_best"].iloc[1] > 0
    assert list(by_r2["version"]) == [1, 2]
    assert by_r2["delta_to_best"].iloc[1] == pytest.approx(second.score(X, Y) - first.score(X, Y))
    assert list(forced["version"]) == [2, 1]
    only = model_registry.compare_models(name, metric="rmse", versions=[2])
    assert list(only["version"]) == [2]
    same = model_registry.compare_models(name, metric="rmse", versions=[2, "latest", 1])
    assert list(same["version"]) == [1, 2]  # "latest" is version 2: each version once


def test_a_volume_where_the_registry_cannot_be_created_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOLDEN_SRV_DIR", "/proc/golden")  # nobody, root included, creates files there
    with pytest.raises(
        model_registry.RegistryUnavailableError,
        match=r"cannot create the embedded registry in /proc/golden/app/model/registry: .*set GOLDEN_SRV_DIR",
    ):
        model_registry.list_models()


def test_promote_then_load_champion_gives_that_version(
    two_versions: tuple[str, LinearRegression, Ridge],
) -> None:
    name, first, second = two_versions
    promoted = model_registry.promote(name, 2)
    assert promoted.aliases == ("champion",)
    np.testing.assert_array_equal(
        model_registry.load_model_version(name, "@champion").predict(X), second.predict(X)
    )

    model_registry.set_alias(name, "challenger", "@champion")
    model_registry.promote(name, 1)
    table = model_registry.compare_models(name, metric="rmse").set_index("version")
    assert table.loc[1, "aliases"] == "champion"
    assert table.loc[2, "aliases"] == "challenger"
    np.testing.assert_array_equal(
        model_registry.load_model_version(name, "@champion").predict(X), first.predict(X)
    )
    np.testing.assert_array_equal(model_registry.load_model_version(name).predict(X), second.predict(X))
    np.testing.assert_array_equal(model_registry.load_model_version(name, 1).predict(X), first.predict(X))


def test_a_torch_module_round_trips_with_its_state(srv: Path) -> None:
    import torch

    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    model_registry.log_model(network, "torch_net")
    loaded = model_registry.load_model_version("torch_net")

    assert isinstance(loaded, torch.nn.Module)
    expected, actual = network.state_dict(), loaded.state_dict()
    assert list(actual) == list(expected)
    for key, value in expected.items():
        assert torch.equal(actual[key], value)


def test_a_lifecycle_model_round_trips_through_its_saved_form(srv: Path) -> None:
    frame = pd.DataFrame({"x": np.linspace(0.0, 1.0, 40), "k": ["a", "b"] * 20})
    frame["y"] = 3.0 * frame["x"] + (frame["k"] == "b")
    param = {
        "feature_variables": ["x", "k"],
        "target_variables": ["y"],
        "options": {"params": {"algo": "reg"}},
    }
    model = lifecycle.init(frame, param, lambda params: LinearRegression())
    report = lifecycle.fit(model, frame, param)
    info = model_registry.log_model(model, "lifecycle_reg", metrics=report["metrics"])
    loaded = model_registry.load_model_version("lifecycle_reg", info.version)

    assert isinstance(loaded, lifecycle.GoldenModel)
    assert (loaded.name, loaded.spec.features, loaded.spec.params) == (
        model.name,
        ("x", "k"),
        model.spec.params,
    )
    pd.testing.assert_frame_equal(lifecycle.apply(loaded, frame, param), lifecycle.apply(model, frame, param))
    assert info.metrics["r2"] == pytest.approx(report["metrics"]["r2"])


def test_mlflow_pyfunc_serves_a_lifecycle_model_through_our_loader(
    srv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.pyfunc

    frame = pd.DataFrame({"x": np.linspace(0.0, 1.0, 30)})
    frame["y"] = 2.0 * frame["x"]
    param = {"feature_variables": ["x"], "target_variables": ["y"], "options": {"params": {"algo": "served"}}}
    model = lifecycle.init(frame, param, lambda params: LinearRegression())
    lifecycle.fit(model, frame, param)
    info = model_registry.log_model(model, "served_reg")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{srv / 'app' / 'model' / 'registry' / 'mlflow.db'}")
    served = mlflow.pyfunc.load_model(f"models:/served_reg/{info.version}")

    pd.testing.assert_frame_equal(served.predict(frame[["x"]]), lifecycle.apply(model, frame[["x"]], param))


def test_a_statsmodels_result_round_trips_through_our_loader(srv: Path) -> None:
    import statsmodels.api as sm

    result = sm.OLS(Y, sm.add_constant(X)).fit()
    model_registry.log_model(result, "ols")
    loaded = model_registry.load_model_version("ols")
    np.testing.assert_array_equal(loaded.predict(sm.add_constant(X)), result.predict(sm.add_constant(X)))


@pytest.mark.slow
def test_a_keras_model_round_trips(srv: Path) -> None:
    import keras

    network = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model_registry.log_model(network, "keras_net")
    loaded = model_registry.load_model_version("keras_net")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), network.predict(X, verbose=0))


def test_unknown_names_versions_and_aliases_list_what_exists(
    two_versions: tuple[str, LinearRegression, Ridge],
) -> None:
    name, _, _ = two_versions
    with pytest.raises(
        model_registry.ModelNotRegisteredError, match="no registered model 'nothing_here'"
    ) as raised:
        model_registry.load_model_version("nothing_here")
    message = str(raised.value)
    listed = message.split("; registered models: ")[1].removesuffix(", ...").split(", ")
    assert 1 <= len(listed) <= 10
    assert listed == sorted(listed)
    assert name in listed or message.endswith(", ...")
    with pytest.raises(model_registry.VersionNotFoundError, match=r"no version 9; its versions: 1, 2$"):
        model_registry.load_model_version(name, 9)
    with pytest.raises(model_registry.AliasNotFoundError, match="has no alias yet: set one with promote"):
        model_registry.load_model_version(name, "@champion")
    model_registry.set_alias(name, "challenger", 2)
    with pytest.raises(
        model_registry.AliasNotFoundError, match=r"'champion'; its aliases: @challenger \(version 2\)"
    ):
        model_registry.promote(name, "@champion")
    with pytest.raises(model_registry.RegistryError, match="logged the metric 'f1'; their metrics: r2, rmse"):
        model_registry.compare_models(name, metric="f1")


def test_bad_arguments_say_what_to_fix(srv: Path) -> None:
    with pytest.raises(model_registry.UnsupportedModelError, match=r"cannot register a builtins\.dict"):
        model_registry.log_model({"weights": [1]}, "unsupported")
    with pytest.raises(ValueError, match="model name 'a b' is not allowed"):
        model_registry.log_model(LinearRegression(), "a b")
    with pytest.raises(ValueError, match="version 0 is not understood"):
        model_registry.load_model_version("any", 0)
    with pytest.raises(ValueError, match="version True is not understood"):
        model_registry.load_model_version("any", True)
    with pytest.raises(ValueError, match="alias 'v2' is not allowed"):
        model_registry.set_alias("any", "v2", 1)
    with pytest.raises(TypeError, match="metrics must be a dict"):
        model_registry.log_model(LinearRegression(), "any", metrics=[0.5])
    with pytest.raises(TypeError, match=r"tags must map names to text, but \['nested'\]"):
        model_registry.log_model(LinearRegression(), "any", tags={"nested": {"a": 1}})


def test_docstring_examples(srv: Path, tmp_path: Path) -> None:
    result = doctest.testmod(
        model_registry, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.attempted > 0
    assert result.failed == 0


def run_python(code: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=child_environ(**variables),
        check=False,
    )


def test_importing_the_module_does_not_import_mlflow() -> None:
    run = run_python("import json, sys, dsdl_golden.model_registry; print(json.dumps(sorted(sys.modules)))")
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout)
    assert not [
        name for name in loaded if name.split(".")[0] in {"mlflow", "torch", "tensorflow", "keras", "sklearn"}
    ]


def test_without_mlflow_the_error_says_how_to_install_it(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['mlflow'] = None\n"
        "from dsdl_golden import model_registry\n"
        "try:\n"
        "    model_registry.load_model_version('any')\n"
        "except model_registry.RegistryUnavailableError as error:\n"
        "    print(error)\n"
    )
    run = run_python(code, GOLDEN_SRV_DIR=str(tmp_path / "srv"))
    assert run.returncode == 0, run.stderr
    assert "pip install 'dsdl-golden[registry]'" in run.stdout


def test_a_fit_with_the_registry_on_registers_a_version_that_apply_serves(
    srv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOLDEN_REGISTRY", "mlflow")
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 5, "y": [0, 0, 1, 1] * 5})
    param = splunk_meta("algo", ["x"], "y", "m", {"C": "0.5"})
    model = lifecycle.init(frame, param, lambda params: LogisticRegression(C=params["C"]))
    report = lifecycle.fit(model, frame, param)
    assert model.registered is not None
    assert (model.registered["name"], model.registered["version"]) == ("algo_m", 1)
    assert report["registered"] == model.registered == lifecycle.summary(model)["summary"]["registered"]

    on_disk = lifecycle.apply(model, frame, param)
    assert model.last_apply is not None
    assert "model_version" not in model.last_apply
    served = lifecycle.apply(model, frame, splunk_meta("algo", ["x"], "y", "m", {"model_version": "1"}))
    pd.testing.assert_frame_equal(served, on_disk)
    assert model.last_apply["model_version"] == 1
