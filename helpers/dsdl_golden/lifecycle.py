"""DSDL's module contract, implemented once around the data scientist's model.

DSDL calls six functions of an exported notebook: ``init(df, param)``, ``fit(model, df, param)``,
``apply(model, df, param)``, ``save(model, name)``, ``load(name)`` and ``summary(model=None)``.
The template's cells hand each of them to this module together with ``build_model``, the one
function the data scientist writes::

    from dsdl_golden import lifecycle

    def build_model(params, data):              # the model cell: the only cell to edit
        return RandomForestClassifier(n_estimators=params.get("n_estimators", 200))

    def init(df, param):
        return lifecycle.init(df, param, build_model)

    def fit(model, df, param):
        return lifecycle.fit(model, df, param)
    ...

Around the model, every call:

- reads the columns and parameters from ``param`` as Splunk sends it (``feature_variables``,
  ``target_variables``, the ``options`` forms, ``options.params`` strings parsed);
- fits :class:`~dsdl_golden.preprocessor.StandardPreprocessor` at ``fit`` and reuses it at ``apply``,
  where the schema is checked and drift is reported;
- trains scikit-learn style estimators and aeon models directly, PyTorch and Keras models through
  :class:`TorchModel` and :class:`KerasModel`, statsmodels forecasters through
  :class:`StatsmodelsForecaster`;
- computes :func:`~dsdl_golden.metrics_calculator.calculate_all_metrics` on a holdout at ``fit``
  and at ``apply`` when the target column is present;
- sends telemetry (start and end of each call, durations, rows, parameters, metrics, preprocessing,
  drift, errors) and re-raises any error so that DSDL reports it;
- saves the model, the preprocessor and the metadata under DSDL's ``<algo>_<model_name>`` name in
  the model directory (:data:`MODEL_DIRECTORY`), each framework in its own format.

``apply`` returns one row per input row: the prediction in a column named after the target
(``prediction`` without one; Splunk shows it as ``predicted_<name>``), plus ``probability_<class>``
columns for classifiers that give probabilities.

Lifecycle options (SPL ``key=value`` or :func:`model_defaults`): ``holdout`` (default 0.2),
``preprocess`` (true), ``task`` (auto), ``random_state`` (42), ``refit`` (false). Every other
parameter goes to ``build_model`` in ``params``.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dsdl_golden._lifecycle.adapters import (
    ADAPTERS,
    ModelAdapter,
    SavedModel,
    TrainingRun,
    adapt,
    seed_frameworks,
)
from dsdl_golden._lifecycle.evaluation import evaluate, holdout_split, infer_task
from dsdl_golden._lifecycle.forecasting import Forecaster, StatsmodelsForecaster
from dsdl_golden._lifecycle.params import LifecycleOptions, RequestSpec, check_name, read_request
from dsdl_golden._lifecycle.profile import profile
from dsdl_golden._lifecycle.reporting import Reporter, logger, scalar_metrics
from dsdl_golden._lifecycle.store import jsonable, read_metadata, saved_model_dir, write_model
from dsdl_golden._lifecycle.versions import library_versions
from dsdl_golden.config import load_settings
from dsdl_golden.preprocessor import StandardPreprocessor, standard_preprocessing

__all__ = [
    "MODEL_DIRECTORY",
    "DataInfo",
    "GoldenModel",
    "KerasModel",
    "StatsmodelsForecaster",
    "TorchModel",
    "apply",
    "fit",
    "init",
    "load",
    "model_defaults",
    "model_directory",
    "save",
    "stage",
    "summary",
]

BuildModel = Callable[..., Any]
_PROBABILITY_PREFIX = "probability_"

if TYPE_CHECKING:
    from dsdl_golden._lifecycle.keras_adapter import KerasModel
    from dsdl_golden._lifecycle.torch_adapter import TorchModel

#: DSDL's constant: the model directory with a trailing ``/`` (read from the settings when used).
MODEL_DIRECTORY: str


def __getattr__(name: str) -> Any:
    if name == "MODEL_DIRECTORY":  # DSDL's constant, read from the settings when first used
        return f"{model_directory()}/"
    if name in {"TorchModel", "KerasModel"}:  # their frameworks are imported only when used
        import importlib

        module = "torch_adapter" if name == "TorchModel" else "keras_adapter"
        return getattr(importlib.import_module(f"dsdl_golden._lifecycle.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def model_directory() -> Path:
    """Where models are saved: ``<GOLDEN_SRV_DIR>/app/model/data`` (DSDL: ``/srv/app/model/data``)."""
    return load_settings().model_data_dir


@dataclass(frozen=True)
class DataInfo:
    """What ``build_model(params, data)`` knows about the training data.

    Attributes
    ----------
    n_features : int
        Columns the model receives (after preprocessing).
    feature_names : list of str
    task : str
        ``classification``, ``regression``, ``forecast`` or ``unsupervised``.
    n_classes : int or None
        Number of classes for classification.
    classes : list or None
        The class labels, sorted.
    n_rows : int
        Training rows.
    """

    n_features: int
    feature_names: list[str]
    task: str
    n_classes: int | None
    classes: list[Any] | None
    n_rows: int


def model_defaults(**defaults: Any) -> Callable[[BuildModel], BuildModel]:
    """Decorate ``build_model`` with default parameters; the SPL's ``key=value`` override them.

    Lifecycle options (``holdout``, ``preprocess``, ``task``, ``random_state``, ``refit``) and the
    model's own parameters both go here.

    Examples
    --------
    >>> @model_defaults(preprocess=False, holdout=0.25, n_estimators=50)
    ... def build_model(params, data):
    ...     ...
    >>> build_model.golden_defaults
    {'preprocess': False, 'holdout': 0.25, 'n_estimators': 50}
    """

    def decorate(build: BuildModel) -> BuildModel:
        build.golden_defaults = dict(defaults)  # type: ignore[attr-defined]
        return build

    return decorate


@dataclass(eq=False)
class GoldenModel:
    """What ``init`` returns and the other calls receive: the user's model and everything around it.

    Attributes
    ----------
    spec : RequestSpec
        Columns, options and parameters read from ``param`` at ``init``.
    adapter : the framework adapter holding the user's model (None before ``fit``).
    estimator : the user's own model object (property).
    preprocessor : StandardPreprocessor or None
    task : str or None
    metrics : dict or None
        Holdout metrics of the last ``fit`` (``calculate_all_metrics``).
    last_apply : dict or None
        Rows, drift and metrics of the last ``apply`` in this process.
    """

    spec: RequestSpec
    build: BuildModel | None
    run_id: str
    adapter: SavedModel | None = None
    preprocessor: StandardPreprocessor | None = None
    task: str | None = None
    data_info: DataInfo | None = None
    metrics: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    trained_at: str | None = None
    last_apply: dict[str, Any] | None = None
    holdout: dict[str, Any] | None = None
    _fit_frame: weakref.ReferenceType[pd.DataFrame] | None = None

    @property
    def name(self) -> str:
        """DSDL's name of this model, ``<algo>_<model_name>``."""
        return self.spec.name

    @property
    def estimator(self) -> Any:
        """The data scientist's own model object (None before ``fit``)."""
        return None if self.adapter is None else self.adapter.model

    @property
    def fitted(self) -> bool:
        """True once ``fit`` succeeded or the model was loaded."""
        return self.trained_at is not None

    @property
    def reporter(self) -> Reporter:
        """The telemetry of this model's run."""
        return Reporter(self.name, self.run_id)

    def __repr__(self) -> str:
        model = self.adapter.describe() if self.adapter is not None else "not built yet"
        state = f"task={self.task!r}, fitted={self.fitted}"
        return f"GoldenModel({self.name!r}, {model}, {state})"

    def summary(self) -> dict[str, Any]:
        """JSON-ready facts: framework, task, features, target, parameters, metrics, data profile, run id."""
        return jsonable(
            {
                "name": self.name,
                "algo": self.spec.algo,
                "model_name": self.spec.model_name,
                "framework": None if self.adapter is None else self.adapter.framework,
                "model": None if self.adapter is None else self.adapter.describe(),
                "task": self.task,
                "features": list(self.spec.features),
                "target": self.spec.target,
                "options": asdict(self.spec.options),
                "params": {key: _plain(value) for key, value in self.spec.params.items()},
                "preprocessing": _preprocessing_summary(self.preprocessor),
                "metrics": None if self.metrics is None else _metrics_summary(self.metrics),
                "training": self.training,
                "training_data": self.profile,
                "run_id": self.run_id,
                "trained_at": self.trained_at,
                "last_apply": self.last_apply,
            }
        )


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | list | dict | type(None)) else repr(value)


def _metrics_summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "task": metrics.get("task"),
        "n_samples": metrics.get("n_samples"),
        "labels": metrics.get("labels"),
        **scalar_metrics(metrics),
    }


def _preprocessing_summary(preprocessor: StandardPreprocessor | None) -> dict[str, Any] | None:
    if preprocessor is None:
        return None
    described = preprocessor.describe()
    return {
        "n_features_in": described["n_features_in"],
        "n_features_out": described["n_features_out"],
        "dropped_columns": described["dropped_columns"],
        "columns": {
            name: {
                "kind": column["kind"],
                "action": column["action"],
                "features": len(column["output_features"]),
            }
            for name, column in described["columns"].items()
        },
    }


def _require_frame(df: Any, call: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{call}: df must be a pandas DataFrame, got {type(df).__name__}")
    return df


def _require_model(model: Any, call: str) -> GoldenModel:
    if not isinstance(model, GoldenModel):
        raise TypeError(
            f"{call}: model must be what lifecycle.init or lifecycle.load returned, "
            f"got {type(model).__name__}"
        )
    return model


def _require_columns(frame: pd.DataFrame, names: tuple[str, ...] | list[str], what: str) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ValueError(f"the data has no {what} column(s) {missing}; its columns are {list(frame.columns)}")


@contextlib.contextmanager
def _phase(model: GoldenModel, phase: str, rows: int) -> Iterator[dict[str, Any]]:
    """Time one call, send its start and end, and send any error with its context before re-raising."""
    reporter = model.reporter
    started = time.perf_counter()
    facts: dict[str, Any] = {}
    reporter.event("run_start", phase, rows=rows, algo=model.spec.algo, model_name=model.spec.model_name)
    try:
        yield facts
    except Exception as error:
        duration = time.perf_counter() - started
        reporter.error(error, phase, rows=rows, duration_s=duration)
        reporter.event(
            "run_end", phase, status="error", duration_s=duration, rows=rows, error=str(error)[:500]
        )
        logger.error("%s of %s failed after %.2f s: %s", phase, model.name, duration, error)
        raise
    duration = time.perf_counter() - started
    facts["duration_s"] = round(duration, 6)
    reporter.event("run_end", phase, status="success", rows=rows, **facts)
    logger.info("%s of %s: %d rows in %.2f s", phase, model.name, rows, duration)


def init(
    df: pd.DataFrame, param: Mapping[str, Any] | None, build_model: BuildModel | None = None
) -> GoldenModel:
    """Read the request and prepare the model (DSDL's ``init``); the model is built at :func:`fit`.

    Parameters
    ----------
    df : DataFrame
        The data DSDL sends (or :func:`stage` returns).
    param : dict
        DSDL's ``meta``: ``feature_variables``, ``target_variables``, ``options``.
    build_model : callable
        ``build_model(params)`` or ``build_model(params, data)`` returning an untrained model;
        ``data`` is a :class:`DataInfo`. Defaults from :func:`model_defaults` apply.

    Returns
    -------
    GoldenModel

    Raises
    ------
    ValueError
        A parameter or column name that cannot be used, with what to fix.
    TypeError
        ``df`` is not a DataFrame or ``build_model`` is not callable.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> df = pd.DataFrame({"x": [0.1, 0.9, 0.2, 0.8], "y": [0, 1, 0, 1]})
    >>> param = {"feature_variables": ["x"], "target_variables": ["y"],
    ...          "options": {"params": {"algo": "demo", "C": "0.5"}, "model_name": "m"}}
    >>> model = init(df, param, lambda params: LogisticRegression(C=params["C"]))
    >>> model.name, model.spec.features, model.spec.target, model.spec.params
    ('demo_m', ('x',), 'y', {'C': 0.5})
    """
    frame = _require_frame(df, "init")
    if build_model is not None and not callable(build_model):
        raise TypeError(f"init: build_model must be a function, got {type(build_model).__name__}")
    defaults = getattr(build_model, "golden_defaults", None)
    spec = read_request(param, [str(name) for name in frame.columns], defaults)
    model = GoldenModel(spec=spec, build=build_model, run_id=uuid.uuid4().hex)
    model.reporter.event(
        "init",
        "init",
        rows=len(frame),
        columns=frame.shape[1],
        features=list(spec.features),
        target=spec.target,
        options=asdict(spec.options),
        params={key: _plain(value) for key, value in spec.params.items()},
    )
    return model


def _build(build: BuildModel | None, params: Mapping[str, Any], data: DataInfo) -> SavedModel:
    if build is None:
        raise TypeError("no build_model: pass lifecycle.init(df, param, build_model)")
    try:
        positional = [
            p
            for p in inspect.signature(build).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        positional = []
    built = build(dict(params), data) if len(positional) >= 2 else build(dict(params))
    if built is None:
        raise TypeError("build_model returned None: return the untrained model")
    return adapt(built)


def _classes_of(target: pd.Series | None, task: str) -> list[Any] | None:
    if target is None or task != "classification":
        return None
    return sorted(pd.unique(target.dropna()).tolist(), key=lambda label: (str(type(label)), label))


def _features(
    model: GoldenModel, frame: pd.DataFrame, preprocessor: StandardPreprocessor | None
) -> pd.DataFrame:
    columns = frame[list(model.spec.features)]
    if not model.spec.options.preprocess:
        return columns
    transformed, _ = standard_preprocessing(columns, preprocessor=preprocessor)
    return transformed


def fit(model: GoldenModel, df: pd.DataFrame, param: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Preprocess, train on the training share, score the holdout, report (DSDL's ``fit``).

    Parameters
    ----------
    model : GoldenModel
        What :func:`init` returned.
    df : DataFrame
        The training data.
    param : dict, optional
        DSDL's ``meta`` (already read at ``init``).

    Returns
    -------
    dict
        JSON-ready fit report: task, rows, features, holdout metrics, training facts, duration.

    Raises
    ------
    ValueError
        Missing columns, no target for a supervised model, too few rows.
    Exception
        Whatever the model raised; it is sent to telemetry first.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> df = pd.DataFrame({"x": range(20), "y": [2.0 * v + 1 for v in range(20)]})
    >>> param = {"feature_variables": ["x"], "target_variables": ["y"], "options": {"params": {}}}
    >>> model = init(df, param, lambda params: LinearRegression())
    >>> report = fit(model, df, param)
    >>> report["task"], report["rows_train"], round(report["metrics"]["r2"], 6)
    ('regression', 16, 1.0)
    """
    model = _require_model(model, "fit")
    frame = _require_frame(df, "fit")
    with _phase(model, "fit", len(frame)) as facts:
        report = _fit(model, frame)
        facts.update(
            task=report["task"], rows_train=report["rows_train"], rows_holdout=report["rows_holdout"]
        )
    report["duration_s"] = facts["duration_s"]
    return report


def _fit(model: GoldenModel, frame: pd.DataFrame) -> dict[str, Any]:
    spec, options = model.spec, model.spec.options
    _require_columns(frame, spec.features, "feature")
    if spec.target is not None:
        _require_columns(frame, [spec.target], "target")
    target = frame[spec.target] if spec.target is not None else None
    task = infer_task(options.task, target)
    if task in {"classification", "regression", "forecast"} and target is None:
        raise ValueError(
            f"task {task!r} needs a target column: | fit MLTKContainer algo=... <target> from <features> ..."
        )
    if task == "forecast":
        return _fit_forecaster(model, frame, target)
    labelled = frame if target is None else frame[target.notna()]
    dropped = len(frame) - len(labelled)
    if len(labelled) == 0:
        raise ValueError(f"no row has a value in the target column {spec.target!r}")
    split = holdout_split(labelled, spec.target, task, options)
    train = labelled.iloc[split.train]
    preprocessor = StandardPreprocessor().fit(train[list(spec.features)]) if options.preprocess else None
    features = _features(model, train, preprocessor)
    train_target = None if spec.target is None else train[spec.target]
    classes = _classes_of(train_target, task)
    data = DataInfo(
        n_features=features.shape[1],
        feature_names=[str(name) for name in features.columns],
        task=task,
        n_classes=None if classes is None else len(classes),
        classes=classes,
        n_rows=len(train),
    )
    seed_frameworks(options.random_state)
    adapter = _build(model.build, spec.params, data)
    if not isinstance(adapter, ModelAdapter):
        raise TypeError(
            f"build_model returned a forecaster ({type(adapter).__name__}): pass task=forecast "
            "(SPL task=forecast or @model_defaults(task='forecast'))"
        )
    hint = adapter.task_hint()
    if options.task == "auto" and hint is not None and target is not None and hint != task:
        task = hint
    run = TrainingRun(
        task=task, params=spec.params, random_state=options.random_state, log_step=model.reporter.step
    )
    training = adapter.fit(features, train_target, run)
    metrics, holdout = None, None
    if split.holdout.size and target is not None:
        held = labelled.iloc[split.holdout]
        held_features = _features(model, held, preprocessor)
        metrics, holdout = evaluate(adapter, held_features, held[spec.target], task)
    if options.refit and split.holdout.size:
        preprocessor = (
            StandardPreprocessor().fit(labelled[list(spec.features)]) if options.preprocess else None
        )
        adapter.fit(
            _features(model, labelled, preprocessor), None if target is None else labelled[spec.target], run
        )
    model.adapter, model.preprocessor, model.task, model.data_info = adapter, preprocessor, task, data
    model.metrics, model.holdout = metrics, holdout
    model.training = jsonable(training)
    model.profile = profile(frame[[*spec.features, *([spec.target] if spec.target else [])]])
    model.trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    model._fit_frame = _weak(frame)
    report = {
        "task": task,
        "model": adapter.describe(),
        "framework": adapter.framework,
        "rows": len(frame),
        "rows_without_target": dropped,
        "rows_train": int(split.train.size),
        "rows_holdout": int(split.holdout.size),
        "features_in": len(spec.features),
        "features_out": data.n_features,
        "metrics": None if metrics is None else _metrics_summary(metrics),
        "training": model.training,
        "refit": bool(options.refit and split.holdout.size),
    }
    _report_fit(model, report)
    return jsonable(report)


def _weak(frame: pd.DataFrame) -> weakref.ReferenceType[pd.DataFrame] | None:
    try:
        return weakref.ref(frame)
    except TypeError:
        return None


def _report_fit(model: GoldenModel, report: dict[str, Any]) -> None:
    reporter = model.reporter
    reporter.event(
        "fit",
        "fit",
        **{key: value for key, value in report.items() if key != "metrics"},
        metrics=report["metrics"],
        preprocessing=_preprocessing_summary(model.preprocessor),
        versions=library_versions(model.adapter.framework if model.adapter else None),
    )
    if model.metrics is not None:
        reporter.metrics(model.metrics, stage="holdout", phase="fit")


def _time_order(frame: pd.DataFrame) -> np.ndarray:
    if "_time" not in frame.columns:
        return np.arange(len(frame))
    times = pd.to_datetime(frame["_time"], errors="coerce", utc=True, format="mixed")
    if times.isna().all():
        times = pd.to_datetime(pd.to_numeric(frame["_time"], errors="coerce"), unit="s", utc=True)
    return np.argsort(times.to_numpy(), kind="stable")


def _fit_forecaster(model: GoldenModel, frame: pd.DataFrame, target: pd.Series | None) -> dict[str, Any]:
    assert target is not None
    spec, options = model.spec, model.spec.options
    series = pd.to_numeric(target, errors="coerce").to_numpy(dtype=np.float64)[_time_order(frame)]
    if np.isnan(series).all():
        raise ValueError(f"the target column {spec.target!r} holds no numbers to forecast")
    data = DataInfo(
        n_features=0, feature_names=[], task="forecast", n_classes=None, classes=None, n_rows=series.size
    )
    forecaster = _build(model.build, spec.params, data)
    if not isinstance(forecaster, Forecaster):
        raise TypeError(
            f"task=forecast needs a forecaster, build_model returned {type(forecaster.model).__name__}: "
            "return lifecycle.StatsmodelsForecaster(lambda y: ARIMA(y, order=(1, 0, 0)))"
        )
    run = TrainingRun(
        task="forecast", params=spec.params, random_state=options.random_state, log_step=model.reporter.step
    )
    held = round(series.size * options.holdout) if series.size >= 10 else 0
    metrics, holdout = None, None
    if held:
        forecaster.fit_series(series[:-held], run)
        predicted, truth = forecaster.forecast(held), series[-held:]
        known = ~np.isnan(truth)  # rows without a value (e.g. future rows) are forecast, not scored
        if known.any():
            metrics, holdout = evaluate(
                None, None, pd.Series(truth[known]), "forecast", predicted=predicted[known]
            )
    training = forecaster.fit_series(series, run)
    model.adapter, model.task, model.data_info = forecaster, "forecast", data
    model.metrics, model.holdout = metrics, holdout
    model.training = jsonable(training)
    model.profile = profile(frame[[spec.target, *(["_time"] if "_time" in frame.columns else [])]])
    model.trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    model._fit_frame = _weak(frame)
    report = {
        "task": "forecast",
        "model": forecaster.describe(),
        "framework": forecaster.framework,
        "rows": len(frame),
        "rows_train": int(series.size - held),
        "rows_holdout": held,
        "metrics": None if metrics is None else _metrics_summary(metrics),
        "training": model.training,
        "refit": bool(held),
    }
    _report_fit(model, report)
    return jsonable(report)


def apply(model: GoldenModel, df: pd.DataFrame, param: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Predict one row per input row (DSDL's ``apply``), with drift and, given the target, metrics.

    Parameters
    ----------
    model : GoldenModel
        Fitted by :func:`fit` or returned by :func:`load`.
    df : DataFrame
        Must hold the feature columns the model was fitted on (extra columns are ignored).
    param : dict, optional
        DSDL's ``meta`` (not needed: the model knows its columns).

    Returns
    -------
    DataFrame
        Column ``<target>`` (``prediction`` without a target) and, for classifiers with
        probabilities, ``probability_<class>`` columns; same row order as ``df``.

    Raises
    ------
    ValueError
        The model is not fitted, or ``df`` lacks a feature column.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> df = pd.DataFrame({"x": [0, 1, 2, 3] * 5, "y": ["a", "a", "b", "b"] * 5})
    >>> param = {"target_variables": ["y"], "options": {"params": {"holdout": "0"}}}
    >>> model = init(df, param, lambda params: DecisionTreeClassifier())
    >>> _ = fit(model, df, param)
    >>> apply(model, pd.DataFrame({"x": [0, 3]}), param)
       y  probability_a  probability_b
    0  a            1.0            0.0
    1  b            0.0            1.0
    """
    model = _require_model(model, "apply")
    frame = _require_frame(df, "apply")
    if not model.fitted or model.adapter is None:
        raise ValueError(f"model {model.name} is not fitted: call fit (or load a saved model) before apply")
    with _phase(model, "apply", len(frame)) as facts:
        result, report = _apply(model, frame)
        facts.update(report)
    model.last_apply = {**report, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    return result


def _output_name(model: GoldenModel) -> str:
    return model.spec.target or "prediction"


def _apply(model: GoldenModel, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    adapter = model.adapter
    report: dict[str, Any] = {"rows_out": len(frame)}
    target_name = model.spec.target
    if isinstance(adapter, Forecaster):
        order = _time_order(frame)
        known = (
            pd.to_numeric(frame[target_name], errors="coerce").to_numpy(dtype=np.float64)
            if target_name in frame.columns
            else np.full(len(frame), np.nan)
        )
        predicted = np.empty(len(frame))
        predicted[order] = adapter.predict_series(known[order])
        result = pd.DataFrame({_output_name(model): predicted})
        probabilities = None
    else:
        assert isinstance(adapter, ModelAdapter)
        _require_columns(frame, model.spec.features, "feature")
        features = _features(model, frame, model.preprocessor)
        report.update(_drift(model, frame))
        predictions = adapter.predict(features)
        probabilities = adapter.predict_proba(features) if model.task == "classification" else None
        result = pd.DataFrame({_output_name(model): predictions})
        if probabilities is not None and adapter.classes_ is not None:
            for index, label in enumerate(adapter.classes_):
                result[f"{_PROBABILITY_PREFIX}{label}"] = probabilities[:, index]
    if len(result) != len(frame):
        raise ValueError(f"the model returned {len(result)} predictions for {len(frame)} rows")
    if target_name is not None and target_name in frame.columns and frame[target_name].notna().any():
        stage = "train" if model._fit_frame is not None and model._fit_frame() is frame else "apply"
        metrics = _apply_metrics(model, frame[target_name], result[_output_name(model)], probabilities)
        if metrics is not None:
            model.reporter.metrics(metrics, stage=stage, phase="apply")
            report["metrics"] = _metrics_summary(metrics)
            report["metrics_stage"] = stage
    return result, report


def _apply_metrics(
    model: GoldenModel, truth: pd.Series, predicted: pd.Series, probabilities: np.ndarray | None
) -> dict[str, Any] | None:
    known = truth.notna().to_numpy()
    adapter = model.adapter
    task = model.task or "auto"
    metrics, _ = evaluate(
        adapter if isinstance(adapter, ModelAdapter) else None,
        None,
        truth[known],
        task,
        predicted=predicted.to_numpy()[known],
        probabilities=None if probabilities is None else probabilities[known],
    )
    return metrics


def _drift(model: GoldenModel, frame: pd.DataFrame) -> dict[str, Any]:
    preprocessor = model.preprocessor
    if preprocessor is None:
        return {}
    try:
        transform = preprocessor.last_transform_report_
        drift = preprocessor.drift_report(frame[list(model.spec.features)])
    except Exception as error:
        logger.warning("drift report of %s skipped: %s", model.name, error)
        return {}
    psi = {name: column["psi"] for name, column in drift["columns"].items() if column["psi"] is not None}
    top = dict(sorted(psi.items(), key=lambda item: -item[1])[:50])
    summary = {
        "max_psi": max(psi.values(), default=None),
        "drifted_columns": [name for name, value in top.items() if value > 0.25],
        "psi": top,
        "type_drift": transform["type_drift"],
        "unseen_categories": transform["unseen_categories"],
        "extra_columns": transform["extra_columns"][:50],
    }
    reporter = model.reporter
    reporter.event("drift", "apply", rows=len(frame), **summary)
    if top:
        reporter.metrics({f"psi.{name}": value for name, value in top.items()}, stage="apply", phase="apply")
    return {"drift": summary}


def save(model: GoldenModel, name: str) -> GoldenModel:
    """Save the model, its preprocessor and its metadata as ``name`` in :func:`model_directory`.

    Parameters
    ----------
    model : GoldenModel
        A fitted model.
    name : str
        DSDL's ``<algo>_<model_name>``: letters, digits, ``_`` and ``-``.

    Returns
    -------
    GoldenModel
        ``model``, as DSDL's contract asks.

    Raises
    ------
    ValueError
        The model is not fitted, or ``name`` is not allowed.

    Examples
    --------
    >>> save(object(), "x")
    Traceback (most recent call last):
    TypeError: save: model must be what lifecycle.init or lifecycle.load returned, got object
    """
    model = _require_model(model, "save")
    check_name(name, "model name")
    if not model.fitted or model.adapter is None:
        raise ValueError(f"model {model.name} is not fitted: call fit before save")
    adapter = model.adapter
    started = time.perf_counter()

    def write(directory: Path) -> dict[str, Any]:
        state = adapter.save(directory)
        if model.preprocessor is not None:
            import joblib

            joblib.dump(model.preprocessor, directory / "preprocessor.joblib")
        settings = load_settings()
        return {
            "name": name,
            "adapter": adapter.name,
            "adapter_state": state,
            "classes": None
            if not isinstance(adapter, ModelAdapter) or adapter.classes_ is None
            else adapter.classes_.tolist(),
            "spec": {
                "algo": model.spec.algo,
                "model_name": model.spec.model_name,
                "features": list(model.spec.features),
                "target": model.spec.target,
                "options": asdict(model.spec.options),
                "params": {key: _plain(value) for key, value in model.spec.params.items()},
            },
            "data_info": None if model.data_info is None else asdict(model.data_info),
            "summary": model.summary(),
            "metrics": model.metrics,
            "versions": library_versions(adapter.framework),
            "image": {"version": settings.image_version, "digest": settings.image_digest},
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    path = write_model(model_directory(), name, write)
    model.reporter.event(
        "save", "save", saved_as=name, path=str(path), duration_s=time.perf_counter() - started
    )
    return model


def load(name: str, build_model: BuildModel | None = None) -> GoldenModel:
    """Load the model saved as ``name`` (DSDL's ``load``).

    Parameters
    ----------
    name : str
        DSDL's ``<algo>_<model_name>``.
    build_model : callable, optional
        Needed for PyTorch models (the weights are loaded into a newly built module).

    Returns
    -------
    GoldenModel
        Ready for :func:`apply`.

    Raises
    ------
    FileNotFoundError
        No model of that name was saved (the message lists the saved ones).
    TypeError
        A PyTorch model and no ``build_model``.

    Examples
    --------
    >>> load("../etc")
    Traceback (most recent call last):
    ValueError: model name '../etc' is not allowed: use 1 to 128 letters, digits, '_' or '-' ...
    """
    directory = saved_model_dir(model_directory(), name)
    metadata = read_metadata(directory)
    saved = metadata["spec"]
    spec = RequestSpec(
        algo=saved["algo"],
        model_name=saved["model_name"],
        features=tuple(saved["features"]),
        target=saved["target"],
        options=LifecycleOptions(**saved["options"]),
        params=dict(saved["params"]),
    )
    data = None if metadata.get("data_info") is None else DataInfo(**metadata["data_info"])
    adapter_class = ADAPTERS[metadata["adapter"]]()

    def rebuild() -> SavedModel:
        if build_model is None:
            raise TypeError(
                f"the saved model {name!r} is a {adapter_class.framework} model: its weights are loaded into "
                f"the model build_model builds, call lifecycle.load({name!r}, build_model)"
            )
        assert data is not None
        return _build(build_model, spec.params, data)

    adapter = adapter_class.restore(directory, metadata.get("adapter_state") or {}, rebuild)
    preprocessor = None
    if (directory / "preprocessor.joblib").is_file():
        import joblib

        preprocessor = joblib.load(directory / "preprocessor.joblib")
    summary_saved = metadata.get("summary") or {}
    return GoldenModel(
        spec=spec,
        build=build_model,
        run_id=summary_saved.get("run_id") or uuid.uuid4().hex,
        adapter=adapter,
        preprocessor=preprocessor,
        task=summary_saved.get("task"),
        data_info=data,
        metrics=metadata.get("metrics"),
        training=summary_saved.get("training"),
        profile=summary_saved.get("training_data"),
        trained_at=summary_saved.get("trained_at") or metadata.get("saved_at"),
    )


def summary(model: Any = None) -> dict[str, Any]:
    """DSDL's ``summary``: library and image versions, and the model's facts when given one.

    Parameters
    ----------
    model : GoldenModel, optional

    Returns
    -------
    dict
        JSON-serialisable: ``version`` (libraries), ``image`` and, with a model, ``summary``
        (framework, task, features, metrics, training-data profile, run id...).

    Examples
    --------
    >>> facts = summary()
    >>> sorted(facts)
    ['image', 'version']
    >>> "dsdl-golden" in facts["version"]
    True
    """
    settings = load_settings()
    framework = None
    if isinstance(model, GoldenModel) and model.adapter is not None:
        framework = model.adapter.framework
    facts: dict[str, Any] = {
        "version": library_versions(framework),
        "image": {"version": settings.image_version, "digest": settings.image_digest},
    }
    if isinstance(model, GoldenModel):
        facts["summary"] = model.summary()
    elif model is not None:
        facts["summary"] = {"model": repr(model)[:300]}
    return facts


def stage(name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Data and parameters staged by ``| fit MLTKContainer mode=stage ... into app:<name>``.

    Reads ``data/<name>.csv`` and ``data/<name>.json`` next to the notebook, else from the staging
    directory (``<GOLDEN_SRV_DIR>/notebooks/data``).

    Parameters
    ----------
    name : str
        The model name of the staging search.

    Returns
    -------
    (DataFrame, dict)
        ``df`` and ``param``, as DSDL would pass them to ``fit``.

    Raises
    ------
    FileNotFoundError
        Naming both places looked at and how to stage the data.

    Examples
    --------
    >>> stage("no_such_data")
    Traceback (most recent call last):
    FileNotFoundError: no staged data 'no_such_data' ...
    """
    from dsdl_golden._csv_codec import read_csv

    check_name(name, "staged data name")
    places = [Path("data"), load_settings().staging_dir]
    for place in places:
        csv_path, json_path = place / f"{name}.csv", place / f"{name}.json"
        if csv_path.is_file() and json_path.is_file():
            return read_csv(csv_path.read_bytes()), json.loads(json_path.read_text())
    raise FileNotFoundError(
        f"no staged data {name!r} in {' or '.join(str(place.absolute()) for place in places)}: run "
        f"| fit MLTKContainer mode=stage algo=<notebook> <target> from <features> into app:{name}"
    )
