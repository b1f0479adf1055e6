"""Training: preprocessing, the user's model built and fitted, the holdout scored, the fit reported."""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from dsdl_golden._lifecycle.adapters import (
    ModelAdapter,
    SavedModel,
    TrainingRun,
    adapt,
    seed_frameworks,
)
from dsdl_golden._lifecycle.evaluation import evaluate, holdout_split, infer_task, sorted_labels
from dsdl_golden._lifecycle.forecasting import Forecaster
from dsdl_golden._lifecycle.model import (
    BuildModel,
    DataInfo,
    GoldenModel,
    metrics_summary,
    preprocessing_summary,
    require_columns,
)
from dsdl_golden._lifecycle.profile import profile
from dsdl_golden._lifecycle.store import jsonable
from dsdl_golden._lifecycle.versions import library_versions
from dsdl_golden.preprocessor import StandardPreprocessor, standard_preprocessing

__all__ = ["build_adapter", "features_of", "fit_model", "time_order"]


def build_adapter(build: BuildModel | None, params: Mapping[str, Any], data: DataInfo) -> SavedModel:
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
    return None if target is None or task != "classification" else sorted_labels(target.dropna())


def features_of(
    model: GoldenModel, frame: pd.DataFrame, preprocessor: StandardPreprocessor | None
) -> pd.DataFrame:
    columns = frame[list(model.spec.features)]
    if not model.spec.options.preprocess:
        return columns
    transformed, _ = standard_preprocessing(columns, preprocessor=preprocessor)
    return transformed


def fit_model(model: GoldenModel, frame: pd.DataFrame) -> dict[str, Any]:
    spec, options = model.spec, model.spec.options
    require_columns(frame, spec.features, "feature")
    if spec.target is not None:
        require_columns(frame, [spec.target], "target")
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
    features = features_of(model, train, preprocessor)
    if features.shape[1] == 0:
        raise ValueError(
            f"preprocessing kept no feature: each of {list(spec.features)} is empty or holds one value in "
            f"the {len(train)} training row(s); fit on more varied rows, lower holdout, or pass "
            "preprocess=False"
        )
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
    adapter = build_adapter(model.build, spec.params, data)
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
        held_features = features_of(model, held, preprocessor)
        metrics, holdout = evaluate(adapter, held_features, held[spec.target], task)
    if options.refit and split.holdout.size:
        preprocessor = (
            StandardPreprocessor().fit(labelled[list(spec.features)]) if options.preprocess else None
        )
        adapter.fit(
            features_of(model, labelled, preprocessor), None if target is None else labelled[spec.target], run
        )
    model.adapter, model.preprocessor, model.task, model.data_info = adapter, preprocessor, task, data
    model.metrics, model.holdout = metrics, holdout
    model.training = jsonable(training)
    model.profile = profile(frame[[*spec.features, *([spec.target] if spec.target else [])]])
    model.trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    model._fit_frame = weak_reference(frame)
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
        "metrics": None if metrics is None else metrics_summary(metrics),
        "training": model.training,
        "refit": bool(options.refit and split.holdout.size),
    }
    _report_fit(model, report)
    return jsonable(report)


def weak_reference(frame: pd.DataFrame) -> weakref.ReferenceType[pd.DataFrame] | None:
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
        preprocessing=preprocessing_summary(model.preprocessor),
        versions=library_versions(model.adapter.framework if model.adapter else None),
    )
    if model.metrics is not None:
        reporter.metrics(model.metrics, stage="holdout", phase="fit")


def time_order(frame: pd.DataFrame) -> np.ndarray:
    if "_time" not in frame.columns:
        return np.arange(len(frame))
    times = pd.to_datetime(frame["_time"], errors="coerce", utc=True, format="mixed")
    if times.isna().all():
        times = pd.to_datetime(pd.to_numeric(frame["_time"], errors="coerce"), unit="s", utc=True)
    # datetime64 in UTC, not Timestamp objects (which NaT does not compare with): rows whose time does
    # not parse go last, in their order
    return np.argsort(times.dt.tz_convert(None).to_numpy(), kind="stable")


def _fit_forecaster(model: GoldenModel, frame: pd.DataFrame, target: pd.Series | None) -> dict[str, Any]:
    assert target is not None
    spec, options = model.spec, model.spec.options
    series = pd.to_numeric(target, errors="coerce").to_numpy(dtype=np.float64)[time_order(frame)]
    if np.isnan(series).all():
        raise ValueError(f"the target column {spec.target!r} holds no numbers to forecast")
    data = DataInfo(
        n_features=0, feature_names=[], task="forecast", n_classes=None, classes=None, n_rows=series.size
    )
    forecaster = build_adapter(model.build, spec.params, data)
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
    model._fit_frame = weak_reference(frame)
    report = {
        "task": "forecast",
        "model": forecaster.describe(),
        "framework": forecaster.framework,
        "rows": len(frame),
        "rows_train": int(series.size - held),
        "rows_holdout": held,
        "metrics": None if metrics is None else metrics_summary(metrics),
        "training": model.training,
        "refit": bool(held),
    }
    _report_fit(model, report)
    return jsonable(report)
