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
- records the lineage of each ``fit`` (the Splunk search that produced the data when known, a
  content hash of the training frame, columns, parameters, holdout metrics, library and image
  versions; :mod:`dsdl_golden._lifecycle.lineage`): one ``lineage`` event, kept on the model and in
  :func:`summary`, saved beside the model as ``<name>.lineage.json``;
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
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from dsdl_golden._error_text import USER_CODE_FAILURES, exception_text
from dsdl_golden._lifecycle.forecasting import StatsmodelsForecaster
from dsdl_golden._lifecycle.lineage import record_lineage
from dsdl_golden._lifecycle.model import (
    BuildModel,
    DataInfo,
    GoldenModel,
    plain,
    require_frame,
    require_model,
)
from dsdl_golden._lifecycle.params import check_name, read_request
from dsdl_golden._lifecycle.persistence import load_model, save_model
from dsdl_golden._lifecycle.prediction import apply_model
from dsdl_golden._lifecycle.registration import register_fit, requested_version, served_model
from dsdl_golden._lifecycle.reporting import logger
from dsdl_golden._lifecycle.training import fit_model
from dsdl_golden._lifecycle.versions import library_versions
from dsdl_golden.config import load_settings

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


@contextlib.contextmanager
def _phase(model: GoldenModel, phase: str, rows: int) -> Iterator[dict[str, Any]]:
    """Time one call, send its start and end, and send any error with its context before re-raising."""
    reporter = model.reporter
    started = time.perf_counter()
    facts: dict[str, Any] = {}
    reporter.event("run_start", phase, rows=rows, algo=model.spec.algo, model_name=model.spec.model_name)
    try:
        yield facts
    except USER_CODE_FAILURES as error:
        duration = time.perf_counter() - started
        reporter.error(error, phase, rows=rows, duration_s=duration)
        text = exception_text(error)
        reporter.event("run_end", phase, status="error", duration_s=duration, rows=rows, error=text[:500])
        logger.error("%s of %s failed after %.2f s: %s", phase, model.name, duration, text)
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
    frame = require_frame(df, "init")
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
        params={key: plain(value) for key, value in spec.params.items()},
    )
    return model


def fit(model: GoldenModel, df: pd.DataFrame, param: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Preprocess, train on the training share, score the holdout, report (DSDL's ``fit``).

    The fit's lineage is sent as a ``lineage`` event and kept as ``model.lineage``; a lineage that
    cannot be built is logged once and never fails the fit.

    Parameters
    ----------
    model : GoldenModel
        What :func:`init` returned.
    df : DataFrame
        The training data.
    param : dict, optional
        DSDL's ``meta`` (already read at ``init``; its ``options`` say whether DSDL sent the data).

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
    model = require_model(model, "fit")
    frame = require_frame(df, "fit")
    with _phase(model, "fit", len(frame)) as facts:
        report = fit_model(model, frame)
        model.lineage = record_lineage(model, frame, param)
        model.registered = register_fit(model)
        facts.update(
            task=report["task"], rows_train=report["rows_train"], rows_holdout=report["rows_holdout"]
        )
    if model.registered is not None:
        report["registered"] = model.registered
    report["duration_s"] = facts["duration_s"]
    return report


def apply(model: GoldenModel, df: pd.DataFrame, param: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Predict one row per input row (DSDL's ``apply``), with drift and, given the target, metrics.

    Parameters
    ----------
    model : GoldenModel
        Fitted by :func:`fit` or returned by :func:`load`.
    df : DataFrame
        Must hold the feature columns the model was fitted on (extra columns are ignored).
    param : dict, optional
        DSDL's ``meta``. The model knows its columns; ``options.params.model_version`` (SPL
        ``| apply <model> model_version=champion``, a version number or ``latest``) serves that
        version of the model from the model registry instead.

    Returns
    -------
    DataFrame
        Column ``<target>`` (``prediction`` without a target) and, for classifiers with
        probabilities, ``probability_<class>`` columns; same row order as ``df``.

    Raises
    ------
    ValueError
        The model is not fitted, or ``df`` lacks a feature column.
    dsdl_golden.model_registry.RegistryError
        ``model_version`` names no registered version (the message lists those that exist).

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
    model = require_model(model, "apply")
    frame = require_frame(df, "apply")
    version = requested_version(param)
    if not model.fitted or model.adapter is None:
        raise ValueError(f"model {model.name} is not fitted: call fit (or load a saved model) before apply")
    with _phase(model, "apply", len(frame)) as facts:
        served = model
        if version is not None:
            served, number = served_model(model, version)
            facts["model_version"] = number
        result, report = apply_model(served, frame)
        facts.update(report)
    model.last_apply = {**facts, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    return result


def save(model: GoldenModel, name: str) -> GoldenModel:
    """Save the model, its preprocessor and its metadata as ``name`` in :func:`model_directory`.

    The fit's lineage goes beside it as ``<name>.lineage.json`` (a failure to write it is logged
    once and never fails the save).

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
    model = require_model(model, "save")
    check_name(name, "model name")
    if not model.fitted or model.adapter is None:
        raise ValueError(f"model {model.name} is not fitted: call fit before save")
    started = time.perf_counter()
    path = save_model(model, name, model_directory())
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
    return load_model(model_directory(), name, build_model)


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
        "image": settings.image,
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
