"""The framework hooks of the lifecycle through DSDL's calls: PyTorch, Keras, statsmodels and aeon.

Each framework is imported inside its tests (TensorFlow alone takes about 15 s to import), so that
collecting the suite stays fast; the tests that import torch, keras or aeon are marked slow.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from forecast_testing import START, arima
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from dsdl_golden import lifecycle, telemetry_helper
from dsdl_golden._csv_codec import read_csv
from dsdl_golden._lifecycle.networks import as_probabilities
from dsdl_golden.config import load_settings
from dsdl_golden.metrics_calculator import calculate_all_metrics
from dsdl_golden.preprocessor import standard_preprocessing

DATA = Path(__file__).resolve().parents[2] / "template" / "data"
Build = Callable[..., Any]


def staged(name: str, **params: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Sample data and DSDL's ``param`` for it, with SPL ``key=value`` pairs (as strings, as Splunk sends)."""
    frame = read_csv((DATA / f"{name}.csv").read_bytes())
    param = json.loads((DATA / f"{name}.json").read_text())
    param["options"]["params"] = {"algo": "fw", **{key: str(value) for key, value in params.items()}}
    return frame, param


def linear(seed: int, n: int = 400) -> pd.DataFrame:
    """A target linear in two features, in units far from 1 (a network trained on it raw would not fit)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.uniform(0, 10, n)})
    frame["y"] = 1000 + 250 * frame["a"] - 40 * frame["b"] + rng.normal(0, 5, n)
    return frame


def linear_param(**params: Any) -> dict[str, Any]:
    return {
        "feature_variables": ["a", "b"],
        "target_variables": ["y"],
        "options": {
            "model_name": "linear",
            "params": {"algo": "fw", **{key: str(value) for key, value in params.items()}},
        },
    }


def network_inputs(model: lifecycle.GoldenModel, frame: pd.DataFrame) -> np.ndarray:
    """What the network receives for ``frame``: the features through the fitted preprocessor."""
    features, _ = standard_preprocessing(frame[list(model.spec.features)], preprocessor=model.preprocessor)
    return features.to_numpy(dtype=np.float32, copy=True)


def softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))


def sigmoid(values: np.ndarray) -> np.ndarray:
    positive = 1 / (1 + np.exp(-values.reshape(-1)))
    return np.column_stack([1 - positive, positive])


def assert_classified(result: pd.DataFrame, rows: int, target: str, classes: list[str]) -> np.ndarray:
    """The target and one probability column per class; probabilities sum to 1, label = argmax."""
    columns = [f"probability_{label}" for label in classes]
    assert list(result.columns) == [target, *columns]
    assert len(result) == rows
    probabilities = result[columns].to_numpy(dtype=np.float64)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-6)
    assert (result[target].to_numpy() == np.asarray(classes)[probabilities.argmax(axis=1)]).all()
    return probabilities


def assert_row_by_row(
    model: lifecycle.GoldenModel, frame: pd.DataFrame, param: dict[str, Any], whole: pd.DataFrame
) -> None:
    """A row's prediction (``whole``: those of ``frame``) does not depend on the rows applied with it."""
    alone = pd.concat([lifecycle.apply(model, frame.iloc[[row]], param) for row in range(6)])
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), whole.iloc[:6], rtol=1e-5)


def saved_files(srv: Path, name: str) -> list[str]:
    return sorted(path.name for path in (srv / "app" / "model" / "data" / name).iterdir())


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread: tiny networks train ten times faster than on two busy cores."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def telemetry_off(srv: Path) -> Iterator[telemetry_helper.Telemetry]:
    """The process-wide telemetry built from the test's settings, which enable no delivery."""
    telemetry = telemetry_helper.configure(load_settings())
    assert not telemetry.enabled
    yield telemetry
    telemetry_helper.configure(load_settings({}))


# --- Network outputs as class probabilities ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("outputs", "read_as"),
    [
        ([0.2, 0.9], "probabilities"),
        ([0.0, 1.0], "probabilities"),  # the bounds are probabilities
        ([-0.1, 0.5], "logits"),
        ([0.5, 1.5], "logits"),
        ([1.5, 2.5], "logits"),
    ],
)
def test_one_network_output_is_read_as_the_second_class_probability_or_its_logit(
    outputs: list[float], read_as: str
) -> None:
    column = np.array(outputs).reshape(-1, 1)
    expected = one_probability(column) if read_as == "probabilities" else sigmoid(column)
    np.testing.assert_allclose(as_probabilities(column, 2), expected, rtol=1e-12)
    np.testing.assert_allclose(as_probabilities(column.reshape(-1), 2), expected, rtol=1e-12)
    told = as_probabilities(column, 2, logits=read_as == "logits")  # the last layer told: no guess
    np.testing.assert_allclose(told, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("outputs", "read_as"),
    [
        ([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], "probabilities"),
        ([[0.2, 0.3, 0.50005], [1.0, 0.0, 0.0]], "probabilities"),  # float32 rounding of a softmax
        ([[0.2, 0.3, 0.6], [1.0, 0.0, 0.0]], "logits"),  # a row that does not sum to 1
        ([[-0.5, 1.0, 0.5], [1.0, 0.0, 0.0]], "logits"),  # sums to 1, but below 0
    ],
)
def test_several_network_outputs_are_read_as_probabilities_or_logits(
    outputs: list[list[float]], read_as: str
) -> None:
    values = np.array(outputs)
    expected = values if read_as == "probabilities" else softmax(values)
    np.testing.assert_allclose(as_probabilities(values, 3), expected, rtol=1e-12)
    np.testing.assert_allclose(as_probabilities(values, 3, logits=read_as == "logits"), expected, rtol=1e-12)


def test_outputs_the_last_layer_says_are_logits_are_never_guessed() -> None:
    probabilities_like = np.array([[0.2, 0.3, 0.5]])
    np.testing.assert_allclose(
        as_probabilities(probabilities_like, 3, logits=True), softmax(probabilities_like)
    )
    logits_like = np.array([[-1.0, 3.0, 0.5]])
    np.testing.assert_array_equal(as_probabilities(logits_like, 3, logits=False), logits_like)


def test_float32_logits_become_float64_probabilities_without_overflow() -> None:
    logits = np.array([[-100.0], [0.0], [100.0]], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # float32 exp(100) overflows
        probabilities = as_probabilities(logits, 2)
    assert probabilities.dtype == np.float64
    np.testing.assert_allclose(probabilities[:, 1], [np.exp(-100.0), 0.5, 1.0], rtol=1e-12)


def test_large_logits_of_several_classes_give_probabilities_without_overflow() -> None:
    logits = np.array([[1000.0, 0.0, -1000.0], [-800.0, -790.0, -800.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exp(1000) overflows: the softmax shifts by the row's maximum
        probabilities = as_probabilities(logits, 3)
    np.testing.assert_allclose(probabilities, [[1, 0, 0], [4.5397e-5, 0.9999092, 4.5397e-5]], rtol=1e-4)


def test_an_empty_batch_gives_no_probabilities() -> None:
    assert as_probabilities(np.empty((0, 1)), 2).shape == (0, 2)
    assert as_probabilities(np.empty((0, 3)), 3, logits=True).shape == (0, 3)


@pytest.mark.parametrize(
    ("outputs", "classes", "message"),
    [
        (1, 3, "the network has one output but the target has 3 classes"),
        (
            4,
            3,
            "the network has 4 outputs but the target has 3 classes: give the last layer one unit per class",
        ),
    ],
)
def test_outputs_that_do_not_match_the_classes_say_what_to_change(
    outputs: int, classes: int, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        as_probabilities(np.zeros((2, outputs)), classes)


# --- PyTorch -----------------------------------------------------------------------------------------------


def torch_network(n_features: int, outputs: int) -> Any:
    import torch

    return torch.nn.Sequential(torch.nn.Linear(n_features, 16), torch.nn.ReLU(), torch.nn.Linear(16, outputs))


def torch_wrapped(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    return lifecycle.TorchModel(torch_network(data.n_features, data.n_classes or 1))


def torch_bare(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    return torch_network(data.n_features, data.n_classes or 1)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("build", [torch_wrapped, torch_bare], ids=["TorchModel", "bare-module"])
@pytest.mark.parametrize(
    ("data", "classes", "score"),
    [
        ("churn_sample", ["no", "yes"], ("roc_auc", 0.65)),
        ("network_sessions", ["backup", "dns", "web"], ("accuracy", 0.95)),
    ],
    ids=["binary", "multiclass"],
)
def test_torch_classifier_gives_class_probabilities_of_its_logits(
    srv: Path, build: Build, data: str, classes: list[str], score: tuple[str, float]
) -> None:
    import torch

    frame, param = staged(data, epochs=30, learning_rate=0.01)
    target = param["target_variables"][0]
    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)

    assert (report["task"], report["framework"]) == ("classification", "torch")
    assert isinstance(model.adapter, lifecycle.TorchModel)
    assert isinstance(model.estimator, torch.nn.Sequential)
    assert report["training"]["epochs"] == 30
    assert report["training"]["learning_rate"] == 0.01
    assert report["metrics"]["labels"] == classes
    metric, minimum = score
    assert report["metrics"][metric] > minimum
    assert model.data_info is not None
    assert model.data_info.classes == classes

    result = lifecycle.apply(model, frame, param)
    probabilities = assert_classified(result, len(frame), target, classes)
    with torch.no_grad():
        logits = model.estimator(torch.from_numpy(network_inputs(model, frame))).numpy()
    np.testing.assert_allclose(probabilities, softmax(logits.astype(np.float64)), rtol=1e-5, atol=1e-7)
    assert_row_by_row(model, frame, param, result)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("build", [torch_wrapped, torch_bare], ids=["TorchModel", "bare-module"])
def test_torch_regression_learns_a_target_in_any_units(srv: Path, build: Build) -> None:
    import torch

    frame, param = linear(seed=1), linear_param(epochs=40, learning_rate=0.01)
    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)

    assert (report["task"], report["framework"]) == ("regression", "torch")
    assert report["metrics"]["r2"] > 0.9
    new = linear(seed=2, n=200)
    predicted = lifecycle.apply(model, new.drop(columns="y"), param)
    assert list(predicted.columns) == ["y"]
    assert r2_score(new["y"], predicted["y"]) > 0.9
    # the network was trained on the standardised target: its raw outputs have mean 0 and std 1
    with torch.no_grad():
        raw = model.estimator(torch.from_numpy(network_inputs(model, frame))).numpy().reshape(-1)
    assert abs(raw.mean()) < 0.1
    assert raw.std() == pytest.approx(1.0, abs=0.1)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("build", [torch_wrapped, torch_bare], ids=["TorchModel", "bare-module"])
def test_torch_model_is_saved_as_a_state_dict_and_rebuilt_by_build_model(srv: Path, build: Build) -> None:
    import torch

    frame, param = staged("network_sessions", epochs=5)
    model = lifecycle.init(frame, param, build)
    lifecycle.fit(model, frame, param)
    lifecycle.save(model, "fw_network_sessions")

    assert saved_files(srv, "fw_network_sessions") == ["golden.json", "model.pt", "preprocessor.joblib"]
    saved = srv / "app" / "model" / "data" / "fw_network_sessions"
    weights = torch.load(saved / "model.pt", weights_only=True)
    state = model.estimator.state_dict()
    assert list(weights) == list(state)
    assert all(torch.equal(weights[key], state[key]) for key in state)
    metadata = json.loads((saved / "golden.json").read_text())
    assert (metadata["adapter"], metadata["versions"]["torch"]) == ("torch", torch.__version__)

    loaded = lifecycle.load("fw_network_sessions", build)
    assert loaded.estimator is not model.estimator
    pd.testing.assert_frame_equal(lifecycle.apply(loaded, frame, param), lifecycle.apply(model, frame, param))
    facts = lifecycle.summary(loaded)
    assert json.loads(json.dumps(facts)) == facts
    assert (facts["summary"]["framework"], facts["summary"]["task"]) == ("torch", "classification")
    assert facts["version"]["torch"] == torch.__version__


def saved_torch_classifier(
    data: str, name: str, epochs: int
) -> tuple[lifecycle.GoldenModel, pd.DataFrame, dict[str, Any]]:
    """A PyTorch classifier of the staged sample ``data``, fitted and saved as ``name``."""
    frame, param = staged(data, epochs=epochs)
    model = lifecycle.init(frame, param, torch_wrapped)
    lifecycle.fit(model, frame, param)
    lifecycle.save(model, name)
    return model, frame, param


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_loading_a_torch_model_needs_the_build_model_that_made_it(srv: Path) -> None:
    saved_torch_classifier("churn_sample", "fw_churn_sample", epochs=2)

    with pytest.raises(TypeError, match=r"torch model.*lifecycle\.load\('fw_churn_sample', build_model\)"):
        lifecycle.load("fw_churn_sample")
    with pytest.raises(TypeError, match="build_model now returns LinearRegression"):
        lifecycle.load("fw_churn_sample", lambda params: LinearRegression())


class RecordedLoss:
    """A loss module that records the labels of each batch it scores (to see what each epoch trained on)."""

    def __init__(self, loss: Any) -> None:
        self.loss = loss
        self.batches: list[np.ndarray] = []

    def __call__(self, outputs: Any, labels: Any) -> Any:
        self.batches.append(labels.numpy().copy())
        return self.loss(outputs, labels)


def frozen_sgd(rates: list[float]) -> Callable[..., Any]:
    """An optimizer factory that records the learning rate it is given and never moves a weight."""
    import torch

    def make(parameters: Any, lr: float) -> Any:
        rates.append(lr)
        return torch.optim.SGD(parameters, lr=0.0)

    return make


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize(
    ("spl", "given", "expected"),
    [
        ({}, {}, (10, 64, 0.001)),  # the documented defaults
        ({"epochs": 3, "batch_size": 50, "learning_rate": 0.05}, {}, (3, 50, 0.05)),
        (
            {"epochs": 3, "batch_size": 50},
            {"epochs": 2, "batch_size": 40, "learning_rate": 0.2},
            (2, 40, 0.2),
        ),
    ],
    ids=["defaults", "spl-params", "given-to-the-model"],
)
def test_torch_training_takes_every_row_once_an_epoch_in_batches_and_reports_the_mean_loss(
    srv: Path, spl: dict[str, Any], given: dict[str, Any], expected: tuple[int, int, float]
) -> None:
    import torch

    rows = 150
    rates: list[float] = []
    loss = RecordedLoss(torch.nn.MSELoss())

    def build(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
        network = torch_network(data.n_features, 1)
        return lifecycle.TorchModel(network, loss=loss, optimizer=frozen_sgd(rates), **given)

    frame, param = linear(seed=3, n=rows), linear_param(holdout=0, **spl)
    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)

    epochs, batch_size, rate = expected
    training = report["training"]
    assert (training["epochs"], training["batch_size"], training["learning_rate"]) == expected
    assert rates == [rate]
    sizes = [len(batch) for batch in loss.batches]
    per_epoch = [batch_size] * (rows // batch_size) + ([rows % batch_size] if rows % batch_size else [])
    assert sizes == per_epoch * epochs
    target = ((frame["y"] - frame["y"].mean()) / frame["y"].std(ddof=0)).to_numpy(dtype=np.float32)
    epoch_labels = np.split(np.concatenate(loss.batches), epochs)
    for labels in epoch_labels:  # every row once, in a shuffled order
        np.testing.assert_allclose(np.sort(labels), np.sort(target), rtol=1e-6)
        assert not np.array_equal(labels, target)
    # the weights never moved: the last epoch's loss is the mean squared error over every row
    with torch.no_grad():
        outputs = model.estimator(torch.from_numpy(network_inputs(model, frame))).numpy().reshape(-1)
    assert training["final_loss"] == pytest.approx(float(np.mean((outputs - target) ** 2)), rel=1e-5)


@pytest.fixture
def torch_warns_every_time() -> Iterator[None]:
    """Torch's once-per-process warnings raised at each occurrence, so a test sees them whatever ran
    before it in the process."""
    import torch

    before = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    yield
    torch.set_warn_always(before)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread", "torch_warns_every_time")
@pytest.mark.parametrize("preprocess", [True, False], ids=["torch-preprocessed", "torch-raw-float32"])
def test_torch_gets_writable_arrays_and_never_warns_they_are_not(srv: Path, preprocess: bool) -> None:
    # Without preprocessing, a float32 frame's values reach the network as they are: pandas 3 hands
    # them out as a read-only view.
    frame, param = linear(seed=1).astype(np.float32), linear_param(epochs=2, preprocess=preprocess)
    model = lifecycle.init(frame, param, torch_wrapped)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lifecycle.fit(model, frame, param)
        predicted = lifecycle.apply(model, linear(seed=2, n=50).drop(columns="y").astype(np.float32), param)
    assert len(predicted) == 50
    assert (model.preprocessor is None) is not preprocess
    # "The given NumPy array is not writable, and PyTorch does not support non-writable tensors"
    # (writing through one is undefined)
    assert not [warning for warning in caught if "not writable" in str(warning.message)]


class Planted:
    """What a tampered model.pt could unpickle: creating a file stands for running any code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_loading_a_torch_model_never_runs_code_planted_in_its_weights(srv: Path, tmp_path: Path) -> None:
    import torch

    saved_torch_classifier("network_sessions", "fw_planted", epochs=1)
    marker = tmp_path / "code-ran"
    torch.save({"weight": Planted(marker)}, srv / "app" / "model" / "data" / "fw_planted" / "model.pt")

    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        lifecycle.load("fw_planted", torch_wrapped)
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_torch_classifier_saved_without_a_target_scale_still_loads(srv: Path) -> None:
    model, frame, param = saved_torch_classifier("network_sessions", "fw_older", epochs=1)
    metadata_file = srv / "app" / "model" / "data" / "fw_older" / "golden.json"
    metadata = json.loads(metadata_file.read_text())
    del metadata["adapter_state"]["target_scale"]  # a classifier's own state does not need it
    metadata_file.write_text(json.dumps(metadata))

    loaded = lifecycle.load("fw_older", torch_wrapped)
    pd.testing.assert_frame_equal(lifecycle.apply(loaded, frame, param), lifecycle.apply(model, frame, param))


def keras_linear_classifier(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    import keras

    network = keras.Sequential(
        [keras.Input(shape=(data.n_features,)), keras.layers.Dense(data.n_classes or 1)]
    )
    return lifecycle.KerasModel(network)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_random_state_seeds_the_weights_a_network_is_built_with(srv: Path, framework: str) -> None:
    frame, param = staged("network_sessions", epochs=2)

    def fitted(seed_before: int) -> pd.DataFrame:
        if framework == "torch":
            import torch

            torch.manual_seed(seed_before)
        else:
            import keras

            keras.utils.set_random_seed(seed_before)
        build = torch_wrapped if framework == "torch" else keras_compiled_softmax
        model = lifecycle.init(frame, param, build)  # both networks get their weights when built
        lifecycle.fit(model, frame, param)
        return lifecycle.apply(model, frame, param)

    pd.testing.assert_frame_equal(fitted(1), fitted(2))


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize(("build", "framework"), [(torch_bare, "torch"), (keras_linear_classifier, "keras")])
def test_each_epoch_is_reported_and_telemetry_off_never_gets_in_the_way(
    telemetry_off: telemetry_helper.Telemetry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    build: Build,
    framework: str,
) -> None:
    sent: list[tuple[dict[str, Any], dict[str, Any]]] = []
    deliver = telemetry_helper.log_metrics

    def spy(metrics: dict[str, Any], **context: Any) -> None:
        sent.append((dict(metrics), context))
        deliver(metrics, **context)

    monkeypatch.setattr(telemetry_helper, "log_metrics", spy)
    frame, param = staged("churn_sample", epochs=4)
    model = lifecycle.init(frame, param, build)
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.lifecycle"):
        report = lifecycle.fit(model, frame, param)

    steps = [(context, metrics) for metrics, context in sent if context.get("stage") == "train"]
    assert [context["step"] for context, _ in steps] == [1, 2, 3, 4]
    assert all(np.isfinite(metrics["loss"]) for _, metrics in steps)
    assert {(context["phase"], context["run_id"]) for context, _ in steps} == {("fit", model.run_id)}
    assert report["framework"] == framework
    if framework == "torch":
        assert report["training"]["final_loss"] == steps[-1][1]["loss"]
    else:
        assert report["training"]["final"]["loss"] == pytest.approx(steps[-1][1]["loss"])
    assert not [record for record in caplog.records if "telemetry" in record.getMessage()]


# --- Keras -------------------------------------------------------------------------------------------------


def keras_compiled_softmax(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    import keras

    network = keras.Sequential(
        [
            keras.Input(shape=(data.n_features,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(data.n_classes, activation="softmax"),
        ]
    )
    network.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return lifecycle.KerasModel(network)


def keras_logits(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    import keras

    return keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(data.n_classes)])


def keras_softmax_layer(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    import keras

    return keras.Sequential(
        [
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(data.n_classes),
            keras.layers.Softmax(),
        ]
    )


def keras_sigmoid(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    import keras

    return keras.Sequential(
        [keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
    )


def keras_one_logit(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    import keras

    return keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])


def identity(values: np.ndarray) -> np.ndarray:
    return values


def one_probability(values: np.ndarray) -> np.ndarray:
    return np.column_stack([1 - values.reshape(-1), values.reshape(-1)])


@dataclass(frozen=True)
class KerasCase:
    """A Keras classifier: its build_model, its data, the loss the lifecycle compiles it with (None:
    compiled by the user), its outputs as probabilities, and a holdout metric it must exceed (the
    networks the lifecycle compiles train with Adam's default learning rate: slower than the user's)."""

    build: Build
    data: str
    from_logits: bool | None
    probabilities_of: Callable[[np.ndarray], np.ndarray]
    score: tuple[str, float]


KERAS_CLASSIFIERS = {
    "compiled-softmax": KerasCase(
        keras_compiled_softmax, "network_sessions", None, identity, ("accuracy", 0.95)
    ),
    "logits": KerasCase(keras_logits, "network_sessions", True, softmax, ("accuracy", 0.7)),
    "softmax-layer": KerasCase(keras_softmax_layer, "network_sessions", False, identity, ("accuracy", 0.7)),
    # a logistic regression scores roc_auc 0.70 on this holdout
    "binary-sigmoid": KerasCase(keras_sigmoid, "churn_sample", False, one_probability, ("roc_auc", 0.6)),
    "binary-one-logit": KerasCase(keras_one_logit, "churn_sample", True, sigmoid, ("roc_auc", 0.6)),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", KERAS_CLASSIFIERS.values(), ids=KERAS_CLASSIFIERS.keys())
def test_keras_classifier_gives_class_probabilities_and_round_trips(srv: Path, case: KerasCase) -> None:
    import keras

    data = case.data
    frame, param = staged(data, epochs=20, batch_size=64)
    target = param["target_variables"][0]
    model = lifecycle.init(frame, param, case.build)
    report = lifecycle.fit(model, frame, param)

    assert (report["task"], report["framework"]) == ("classification", "keras")
    assert isinstance(model.adapter, lifecycle.KerasModel)
    assert isinstance(model.estimator, keras.Sequential)
    assert model.estimator.compiled
    if case.from_logits is not None:  # compiled by the lifecycle: the loss matches the last layer
        assert model.estimator.loss.get_config()["from_logits"] is case.from_logits
        assert isinstance(model.estimator.optimizer, keras.optimizers.Adam)  # as documented
        assert sorted(report["training"]["final"]) == ["accuracy", "loss"]
    assert report["training"]["epochs"] == 20
    metric, minimum = case.score
    assert report["metrics"][metric] > minimum
    assert model.data_info is not None
    classes = model.data_info.classes
    assert classes is not None

    result = lifecycle.apply(model, frame, param)
    probabilities = assert_classified(result, len(frame), target, classes)
    outputs = model.estimator.predict(network_inputs(model, frame), verbose=0).astype(np.float64)
    np.testing.assert_allclose(probabilities, case.probabilities_of(outputs), rtol=1e-5, atol=1e-7)
    assert_row_by_row(model, frame, param, result)

    lifecycle.save(model, f"fw_{data}")
    assert saved_files(srv, f"fw_{data}") == ["golden.json", "model.keras", "preprocessor.joblib"]
    loaded = lifecycle.load(f"fw_{data}")  # Keras saves the whole model: no build_model needed
    pd.testing.assert_frame_equal(lifecycle.apply(loaded, frame, param), result)
    facts = lifecycle.summary(loaded)["summary"]
    assert (facts["framework"], facts["task"], facts["metrics"]["labels"]) == (
        "keras",
        "classification",
        classes,
    )


def keras_functional_small_logit(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    """A functional network whose one output, a logit, starts at 0.3 for every row and stays in [0, 1]
    through a short training: values a guess would read as probabilities."""
    import keras

    inputs = keras.Input(shape=(data.n_features,))
    logit = keras.layers.Dense(
        1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(0.3)
    )(inputs)
    return keras.Model(inputs, logit)


def keras_dropout_last(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    """A network whose last layer has no activation to read (a dropout after the softmax)."""
    import keras

    return keras.Sequential(
        [keras.layers.Dense(data.n_classes, activation="softmax"), keras.layers.Dropout(0.1)]
    )


def classified_by(
    build: Build, data: str, classes: list[str]
) -> tuple[lifecycle.GoldenModel, pd.DataFrame, np.ndarray]:
    """A network classifier fitted on the staged sample ``data`` (two epochs), and its probabilities."""
    frame, param = staged(data, epochs=2)
    model = lifecycle.init(frame, param, build)
    lifecycle.fit(model, frame, param)
    result = lifecycle.apply(model, frame, param)
    return model, frame, assert_classified(result, len(frame), param["target_variables"][0], classes)


@pytest.mark.slow
def test_keras_functional_network_with_a_linear_output_gives_the_sigmoid_of_its_logit(srv: Path) -> None:
    model, frame, probabilities = classified_by(keras_functional_small_logit, "churn_sample", ["no", "yes"])
    logits = model.estimator.predict(network_inputs(model, frame), verbose=0).astype(np.float64)
    assert ((logits >= 0) & (logits <= 1)).all()  # the last layer, not the values, says they are logits
    np.testing.assert_allclose(probabilities, sigmoid(logits), rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_keras_network_whose_last_layer_has_no_activation_reads_its_outputs(srv: Path) -> None:
    model, frame, probabilities = classified_by(
        keras_dropout_last, "network_sessions", ["backup", "dns", "web"]
    )
    outputs = model.estimator.predict(network_inputs(model, frame), verbose=0).astype(np.float64)
    np.testing.assert_allclose(probabilities, outputs, rtol=1e-5, atol=1e-7)  # already probabilities


def keras_regressor(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    import keras

    network = keras.Sequential(
        [
            keras.Input(shape=(data.n_features,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    network.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return lifecycle.KerasModel(network)


def keras_uncompiled_regressor(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
    import keras

    return keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("build", "epochs"),
    [(keras_regressor, 20), (keras_uncompiled_regressor, 40)],  # Adam's default rate learns slower
    ids=["compiled", "uncompiled"],
)
def test_keras_regression_learns_a_target_in_any_units_and_round_trips(
    srv: Path, build: Build, epochs: int
) -> None:
    import keras

    frame, param = linear(seed=1), linear_param(epochs=epochs, batch_size=64)
    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)

    assert (report["task"], report["framework"]) == ("regression", "keras")
    assert report["metrics"]["r2"] > 0.9
    assert isinstance(model.estimator.optimizer, keras.optimizers.Adam)  # the user's, or Adam as documented
    new = linear(seed=2, n=200)
    predicted = lifecycle.apply(model, new.drop(columns="y"), param)
    assert r2_score(new["y"], predicted["y"]) > 0.9
    raw = model.estimator.predict(network_inputs(model, frame), verbose=0).reshape(-1)
    assert abs(raw.mean()) < 0.1
    assert raw.std() == pytest.approx(1.0, abs=0.1)

    lifecycle.save(model, "fw_linear")
    assert saved_files(srv, "fw_linear") == ["golden.json", "model.keras", "preprocessor.joblib"]
    loaded = lifecycle.load("fw_linear")
    pd.testing.assert_frame_equal(lifecycle.apply(loaded, new, param), lifecycle.apply(model, new, param))


def torch_outputs(model: lifecycle.GoldenModel, frame: pd.DataFrame) -> np.ndarray:
    """The raw float32 outputs of a PyTorch model's network for ``frame``."""
    import torch

    with torch.no_grad():
        return np.asarray(model.estimator(torch.from_numpy(network_inputs(model, frame))).numpy())


def keras_outputs(model: lifecycle.GoldenModel, frame: pd.DataFrame) -> np.ndarray:
    """The raw float32 outputs of a Keras model's network for ``frame``."""
    return np.asarray(model.estimator.predict(network_inputs(model, frame), verbose=0))


NETWORK_REGRESSORS = {
    "torch": (torch_wrapped, torch_outputs, "PyTorch"),
    "keras": (keras_uncompiled_regressor, keras_outputs, "Keras"),
}


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("framework", NETWORK_REGRESSORS)
def test_network_regression_predictions_are_scaled_back_in_float64(srv: Path, framework: str) -> None:
    build, outputs_of, _ = NETWORK_REGRESSORS[framework]
    frame, param = linear(seed=1), linear_param(epochs=3, holdout=0)  # scaled by every row's mean and std
    frame["y"] += 1e9  # bytes, say: float32 would keep only the first seven digits
    model = lifecycle.init(frame, param, build)
    lifecycle.fit(model, frame, param)

    predicted = lifecycle.apply(model, frame.drop(columns="y"), param)["y"].to_numpy()
    assert predicted.dtype == np.float64
    raw = outputs_of(model, frame).reshape(-1).astype(np.float64)
    y = frame["y"].to_numpy()
    np.testing.assert_allclose(predicted, raw * np.std(y) + np.mean(y), rtol=1e-12)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("framework", NETWORK_REGRESSORS)
def test_a_network_needs_a_target_column(srv: Path, framework: str) -> None:
    build, _, library = NETWORK_REGRESSORS[framework]
    frame, param = linear(seed=1), linear_param(epochs=2, holdout=0)
    param["target_variables"] = []  # task auto: unsupervised, which a network cannot learn
    model = lifecycle.init(frame, param, build)
    message = f"a {library} model needs a target column: | fit MLTKContainer ... <target> from ..."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        lifecycle.fit(model, frame, param)


class BatchCount:
    """A Keras callback that counts the batches of each epoch."""

    def __init__(self) -> None:
        import keras

        self.per_epoch: list[int] = []
        self.callback = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: self.per_epoch.append(0),
            on_train_batch_end=lambda batch, logs: self.per_epoch.__setitem__(-1, self.per_epoch[-1] + 1),
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("spl", "given", "expected"),
    [
        ({}, {}, (10, 32)),  # the documented defaults
        ({"epochs": 3, "batch_size": 50}, {}, (3, 50)),
        ({"epochs": 3, "batch_size": 50}, {"epochs": 2, "batch_size": 40}, (2, 40)),  # over the SPL ones
    ],
    ids=["defaults", "spl-params", "given-to-the-model"],
)
def test_keras_training_takes_its_epochs_and_batches_and_reports_the_last_loss(
    srv: Path,
    capsys: pytest.CaptureFixture[str],
    spl: dict[str, Any],
    given: dict[str, Any],
    expected: tuple[int, int],
) -> None:
    rows = 150
    count = BatchCount()

    def build(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
        network = keras_uncompiled_regressor(params, data)
        return lifecycle.KerasModel(network, fit_kwargs={"callbacks": [count.callback]}, **given)

    frame, param = linear(seed=3, n=rows), linear_param(holdout=0, **spl)
    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)

    epochs, batch_size = expected
    training = report["training"]
    assert (training["epochs"], training["batch_size"]) == (epochs, batch_size)
    assert list(training["final"]) == ["loss"]
    assert np.isfinite(training["final"]["loss"])
    assert count.per_epoch == [-(-rows // batch_size)] * epochs  # the last batch of an epoch may be short
    network = model.estimator
    assert report["model"] == f"Sequential({network.name}, {network.count_params()} parameters)"
    lifecycle.apply(model, frame, param)
    assert capsys.readouterr().out == ""  # no progress bars in the notebook or the container log


@pytest.mark.slow
def test_keras_fit_kwargs_reach_the_training(srv: Path) -> None:
    def build(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
        network = keras_uncompiled_regressor(params, data)
        return lifecycle.KerasModel(network, epochs=2, fit_kwargs={"validation_split": 0.25})

    frame, param = linear(seed=3, n=100), linear_param()
    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)
    assert sorted(report["training"]["final"]) == ["loss", "val_loss"]


@pytest.mark.slow
def test_keras_callbacks_of_the_user_run_in_every_training(srv: Path) -> None:
    import keras

    epochs_seen: list[int] = []
    count = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch))

    def build(params: dict[str, Any], data: lifecycle.DataInfo) -> Any:
        network = keras.Sequential([keras.layers.Dense(data.n_classes)])
        return lifecycle.KerasModel(network, epochs=3, fit_kwargs={"callbacks": [count]})

    frame, param = staged("churn_sample", refit="true")
    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)
    assert report["refit"]
    assert epochs_seen == [0, 1, 2, 0, 1, 2]  # trained on the training share, then on every row


# --- statsmodels -------------------------------------------------------------------------------------------


def ar1(n: int = 200, seed: int = 5) -> pd.DataFrame:
    """An AR(1) series around 50, one row per minute, with ``_time`` in epoch seconds."""
    rng = np.random.default_rng(seed)
    values = np.zeros(n)
    for step in range(1, n):
        values[step] = 0.7 * values[step - 1] + rng.normal()
    return pd.DataFrame({"_time": START + 60 * np.arange(n), "value": 50 + values})


def shuffled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sample(frac=1, random_state=1).reset_index(drop=True)


@lifecycle.model_defaults(task="forecast")
def forecaster(params: dict[str, Any]) -> lifecycle.StatsmodelsForecaster:
    return lifecycle.StatsmodelsForecaster(arima)


SERIES_PARAM: dict[str, Any] = {
    "feature_variables": ["_time"],
    "target_variables": ["value"],
    "options": {"model_name": "series", "params": {"algo": "fw"}},
}


def test_forecaster_orders_rows_by_time_and_scores_the_last_ones(srv: Path) -> None:
    series = ar1()
    frame = shuffled(series)
    model = lifecycle.init(frame, SERIES_PARAM, forecaster)
    report = lifecycle.fit(model, frame, SERIES_PARAM)

    values = series["value"].to_numpy()
    trained = arima(values[:160]).fit()
    expected = calculate_all_metrics(values[160:], trained.forecast(40), task="regression")
    assert (report["task"], report["framework"], report["model"]) == (
        "forecast",
        "statsmodels",
        "ARIMA (1, 0, 0)",
    )
    assert (report["rows_train"], report["rows_holdout"], report["refit"]) == (160, 40, True)
    for name in ("rmse", "mae", "r2"):
        assert report["metrics"][name] == pytest.approx(expected[name], rel=1e-9)
    final = arima(values).fit()  # trained again on the whole series
    np.testing.assert_allclose(model.estimator.params, final.params, rtol=1e-9)
    assert model.estimator.nobs == 200

    # rows with a known target get the one-step predictions in time order, aligned back to the input rows
    result = lifecycle.apply(model, frame, SERIES_PARAM)
    assert list(result.columns) == ["value"]
    in_sample = pd.Series(final.fittedvalues, index=series["_time"])
    np.testing.assert_allclose(result["value"], in_sample[frame["_time"]].to_numpy(), rtol=1e-9)
    assert model.last_apply is not None
    assert model.last_apply["metrics_stage"] == "train"


def test_forecaster_forecasts_the_rows_after_the_last_known_value(srv: Path) -> None:
    series = ar1()
    model = lifecycle.init(series, SERIES_PARAM, forecaster)
    lifecycle.fit(model, series, SERIES_PARAM)
    final = model.estimator
    future = pd.DataFrame({"_time": START + 60 * np.arange(200, 210), "value": np.nan})
    ahead = pd.Series(final.forecast(10), index=future["_time"])

    extended = shuffled(pd.concat([series, future], ignore_index=True))
    result = lifecycle.apply(model, extended, SERIES_PARAM)
    expected = pd.concat([pd.Series(final.fittedvalues, index=series["_time"]), ahead])
    np.testing.assert_allclose(result["value"], expected[extended["_time"]].to_numpy(), rtol=1e-9)
    assert model.last_apply is not None
    assert model.last_apply["metrics"]["n_samples"] == 200  # scored on the known rows only

    # without the target column every row is a step after the training series, in time order
    steps = shuffled(future[["_time"]])
    result = lifecycle.apply(model, steps, SERIES_PARAM)
    np.testing.assert_allclose(result["value"], ahead[steps["_time"]].to_numpy(), rtol=1e-9)
    assert "metrics" not in model.last_apply


def test_forecaster_holdout_scores_only_the_rows_with_a_value(srv: Path) -> None:
    series = ar1()
    series.loc[190:, "value"] = np.nan  # rows to forecast, sent with the training rows
    model = lifecycle.init(series, SERIES_PARAM, forecaster)
    report = lifecycle.fit(model, series, SERIES_PARAM)

    values = series["value"].to_numpy()
    predicted = arima(values[:160]).fit().forecast(40)
    expected = calculate_all_metrics(values[160:190], predicted[:30], task="regression")
    assert report["rows_holdout"] == 40
    assert report["metrics"]["n_samples"] == 30
    assert report["metrics"]["rmse"] == pytest.approx(expected["rmse"], rel=1e-9)


def test_forecaster_of_staged_data_round_trips_through_save_and_load(srv: Path) -> None:
    from statsmodels.tsa.arima.model import ARIMA

    frame, param = staged("web_traffic", task="forecast", holdout=0.1, p=2)
    frame = shuffled(frame)

    def build(params: dict[str, Any]) -> lifecycle.StatsmodelsForecaster:
        return lifecycle.StatsmodelsForecaster(lambda y: ARIMA(y, order=(params["p"], 0, 0)))

    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)
    assert (report["task"], report["rows_holdout"], report["model"]) == ("forecast", 50, "ARIMA (2, 0, 0)")
    lifecycle.save(model, "fw_web_traffic")
    assert saved_files(srv, "fw_web_traffic") == ["golden.json", "model.statsmodels"]

    loaded = lifecycle.load("fw_web_traffic")  # the fitted results are saved: no build_model needed
    pd.testing.assert_frame_equal(lifecycle.apply(loaded, frame, param), lifecycle.apply(model, frame, param))
    future = pd.DataFrame({"_time": frame["_time"].max() + 3600 * np.arange(1, 25)})
    pd.testing.assert_frame_equal(
        lifecycle.apply(loaded, future, param), lifecycle.apply(model, future, param)
    )
    facts = lifecycle.summary(loaded)
    assert json.loads(json.dumps(facts)) == facts
    assert (facts["summary"]["framework"], facts["summary"]["task"]) == ("statsmodels", "forecast")
    assert facts["summary"]["metrics"]["n_samples"] == 50
    assert facts["version"]["statsmodels"]


def test_a_model_that_cannot_take_new_data_says_so_at_apply(srv: Path) -> None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    series = ar1()
    param = {**SERIES_PARAM, "options": {"params": {"algo": "fw", "task": "forecast"}}}
    model = lifecycle.init(
        series,
        param,
        lambda params: lifecycle.StatsmodelsForecaster(lambda y: ExponentialSmoothing(y, trend="add")),
    )
    report = lifecycle.fit(model, series, param)
    assert report["metrics"]["n_samples"] == 40
    assert len(lifecycle.apply(model, series[["_time"]].iloc[:5], param)) == 5  # forecasts still work
    with pytest.raises(
        TypeError, match="ExponentialSmoothing cannot be applied to new data: use a state-space"
    ):
        lifecycle.apply(model, series, param)


def test_forecasters_and_task_forecast_go_together(srv: Path) -> None:
    series = ar1()
    auto = lifecycle.init(series, SERIES_PARAM, lambda params: lifecycle.StatsmodelsForecaster(arima))
    with pytest.raises(
        TypeError,
        match=r"^build_model returned a forecaster \(StatsmodelsForecaster\): pass task=forecast "
        r"\(SPL task=forecast or @model_defaults\(task='forecast'\)\)$",
    ):
        lifecycle.fit(auto, series, SERIES_PARAM)
    forecast = lifecycle.init(
        series, SERIES_PARAM, lifecycle.model_defaults(task="forecast")(lambda params: LinearRegression())
    )
    with pytest.raises(
        TypeError, match="task=forecast needs a forecaster, build_model returned LinearRegression"
    ):
        lifecycle.fit(forecast, series, SERIES_PARAM)


# --- aeon --------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_aeon_classifier_takes_each_row_as_a_series_and_round_trips(srv: Path) -> None:
    from aeon.classification.convolution_based import RocketClassifier

    @lifecycle.model_defaults(preprocess=False, n_kernels=200)
    def build(params: dict[str, Any]) -> RocketClassifier:
        return RocketClassifier(n_kernels=params["n_kernels"], random_state=0)

    frame, param = staged("cpu_windows")
    model = lifecycle.init(frame, param, build)
    report = lifecycle.fit(model, frame, param)

    classes = ["normal", "ramp", "spike"]
    assert (report["task"], report["framework"]) == ("classification", "aeon")
    assert (report["features_in"], report["features_out"]) == (24, 24)
    assert model.preprocessor is None
    assert report["metrics"]["labels"] == classes
    assert report["metrics"]["accuracy"] > 0.9
    result = lifecycle.apply(model, frame, param)
    assert_classified(result, len(frame), "pattern", classes)
    series = frame[list(model.spec.features)].to_numpy(dtype=np.float64)
    assert (result["pattern"].to_numpy() == model.estimator.predict(series)).all()

    lifecycle.save(model, "fw_cpu_windows")
    assert saved_files(srv, "fw_cpu_windows") == ["golden.json", "model.joblib"]
    loaded = lifecycle.load("fw_cpu_windows", build)
    pd.testing.assert_frame_equal(lifecycle.apply(loaded, frame, param), result)
    assert lifecycle.summary(loaded)["summary"]["framework"] == "aeon"
