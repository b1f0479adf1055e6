"""The task of a model, its holdout split, and its metrics on held-out or newly labelled rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from dsdl_golden._lifecycle.adapters import ModelAdapter
from dsdl_golden._lifecycle.params import LifecycleOptions
from dsdl_golden._lifecycle.reporting import logger
from dsdl_golden.metrics_calculator import calculate_all_metrics

__all__ = ["Split", "evaluate", "holdout_split", "infer_task", "sorted_labels"]

#: Whole-number targets with at most this many distinct values are read as classes.
MAX_INTEGER_CLASSES: Final = 20
#: Fewer rows than this are all used for training: a holdout would say nothing.
MIN_ROWS_FOR_HOLDOUT: Final = 10


def infer_task(requested: str, target: pd.Series | None) -> str:
    """The task: as requested, else from the target (none: unsupervised; text, booleans or at most
    20 whole numbers: classification; other numbers: regression)."""
    if requested != "auto":
        return requested
    if target is None:
        return "unsupervised"
    values = target.dropna()
    if pd.api.types.is_bool_dtype(values.dtype) or not pd.api.types.is_numeric_dtype(values.dtype):
        return "classification"
    numbers = values.to_numpy(dtype=np.float64)
    whole = bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)))
    return "classification" if whole and np.unique(numbers).size <= MAX_INTEGER_CLASSES else "regression"


@dataclass(frozen=True)
class Split:
    """Row positions for training and for the holdout."""

    train: np.ndarray
    holdout: np.ndarray


def holdout_split(frame: pd.DataFrame, target: str | None, task: str, options: LifecycleOptions) -> Split:
    """A seeded random split (stratified by class when every class has two rows or more)."""
    rows = np.arange(len(frame))
    if task == "unsupervised" or target is None or options.holdout == 0 or len(frame) < MIN_ROWS_FOR_HOLDOUT:
        return Split(rows, rows[:0])
    from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

    held = max(1, round(len(frame) * options.holdout))
    stratify = None
    if task == "classification":
        counts = frame[target].value_counts()
        if counts.min() >= 2 and held >= counts.size and len(frame) - held >= counts.size:
            stratify = frame[target].to_numpy()
    train, holdout = train_test_split(
        rows, test_size=held, random_state=options.random_state, stratify=stratify
    )
    return Split(np.sort(train), np.sort(holdout))


def sorted_labels(*groups: Any) -> list[Any]:
    """The distinct labels of all ``groups`` as Python values, sorted (by type name first if mixed)."""
    seen: dict[Any, None] = {}
    for group in groups:
        if group is not None:
            seen.update(dict.fromkeys(np.asarray(group, dtype=object).tolist()))
    return sorted(seen, key=lambda label: (type(label).__name__, label))


def _aligned(probabilities: np.ndarray, classes: list[Any], labels: list[Any]) -> np.ndarray:
    aligned = np.zeros((probabilities.shape[0], len(labels)))
    position = {label: index for index, label in enumerate(labels)}
    for column, label in enumerate(classes):
        aligned[:, position[label]] = probabilities[:, column]
    return aligned


def evaluate(
    adapter: ModelAdapter | None,
    features: pd.DataFrame | None,
    truth: pd.Series,
    task: str,
    *,
    predicted: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Metrics of predictions against ``truth`` and the arrays behind them (for plots).

    Predicts with ``adapter`` on ``features`` unless ``predicted`` is given. A failure of the metrics
    is logged and gives None: it never stops the model.
    """
    if predicted is None:
        assert adapter is not None
        assert features is not None
        predicted = adapter.predict(features)
        if task == "classification":
            probabilities = adapter.predict_proba(features)
    y_true = truth.to_numpy()
    try:
        if task == "classification":
            classes = None if adapter is None or adapter.classes_ is None else adapter.classes_.tolist()
            labels = sorted_labels(classes, y_true, predicted)
            if probabilities is not None and classes is not None:
                probabilities = _aligned(probabilities, classes, labels)
            metrics = calculate_all_metrics(
                y_true,
                predicted,
                probabilities,
                task="binary" if len(labels) <= 2 else "multiclass",
                labels=labels,
            )
        elif task in {"regression", "forecast"}:
            metrics = calculate_all_metrics(y_true, predicted, task="regression")
            labels = None
        else:
            return None, None
    except (ValueError, TypeError) as error:
        logger.warning("metrics skipped: %s", error)
        return None, None
    arrays = {"y_true": y_true, "y_pred": np.asarray(predicted), "y_proba": probabilities, "labels": labels}
    return metrics, arrays
