"""Prediction: one row per input row, with class probabilities, drift and, given the target, metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from dsdl_golden._lifecycle.adapters import (
    ModelAdapter,
)
from dsdl_golden._lifecycle.evaluation import evaluate
from dsdl_golden._lifecycle.forecasting import Forecaster
from dsdl_golden._lifecycle.model import GoldenModel, metrics_summary, require_columns
from dsdl_golden._lifecycle.reporting import logger
from dsdl_golden._lifecycle.training import features_of, time_order

__all__ = ["apply_model"]

_PROBABILITY_PREFIX = "probability_"


def _output_name(model: GoldenModel) -> str:
    return model.spec.target or "prediction"


def apply_model(model: GoldenModel, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    adapter = model.adapter
    report: dict[str, Any] = {"rows_out": len(frame)}
    target_name = model.spec.target
    if isinstance(adapter, Forecaster):
        order = time_order(frame)
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
        require_columns(frame, model.spec.features, "feature")
        features = features_of(model, frame, model.preprocessor)
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
            report["metrics"] = metrics_summary(metrics)
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
