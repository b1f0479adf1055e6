"""Metrics of predicted probabilities: log loss, Brier score, expected calibration error."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .core import FloatArray, IntArray, MetricSet, Undefined, weighted_mean
from .labels import LabelledData
from .ranking import add_ranking_metrics

ECE_BINS = 10
_ECE_EDGES = np.linspace(0.0, 1.0, ECE_BINS + 1)
PROBABILITY_METRICS = (
    "roc_auc",
    "average_precision",
    "log_loss",
    "brier_score",
    "expected_calibration_error",
)


def add_probability_metrics(out: MetricSet, data: LabelledData) -> None:
    """The metrics of ``PROBABILITY_METRICS``, all None with the reason when there is no y_proba."""
    proba = data.proba
    if isinstance(proba, Undefined):
        for name in PROBABILITY_METRICS:
            out.put(name, proba)
        return
    add_ranking_metrics(out, data, proba)
    rows = np.arange(0, proba.size, proba.shape[1])
    true_cells = rows + data.y_true
    out.put("log_loss", log_loss(proba, true_cells, data.weight))
    out.put("brier_score", brier_score(proba, true_cells, data.weight))
    out.put("expected_calibration_error", expected_calibration_error(proba, rows, data.y_true, data.weight))


def log_loss(proba: FloatArray, true_cells: IntArray, weight: FloatArray | None) -> float:
    """Mean -log p(true class), p clipped to [eps, 1 - eps] as in scikit-learn.

    ``true_cells`` are the flat (C order) indices of the true class cells of ``proba``.
    """
    eps = np.finfo(np.float64).eps
    p = np.clip(np.take(proba, true_cells), eps, 1.0 - eps)
    return -weighted_mean(np.log(p, out=p), weight)


def brier_score(proba: FloatArray, true_cells: IntArray, weight: FloatArray | None) -> float:
    """Mean squared distance to the one-hot truth; halved for two columns (scikit-learn's "auto")."""
    error = proba.copy()
    error.reshape(-1)[true_cells] -= 1.0
    score = weighted_mean(np.einsum("ij,ij->i", error, error), weight)
    return score / 2.0 if proba.shape[1] == 2 else score


def expected_calibration_error(
    proba: FloatArray, rows: IntArray, y_true: IntArray, weight: FloatArray | None
) -> float:
    """Top-label ECE over ``ECE_BINS`` equal-width confidence bins (lo, hi].

    The prediction is the argmax of ``proba`` (first column on ties), its confidence the maximum;
    ``rows`` are the flat indices of the first cell of each row.
    ECE = sum over bins of |bin weight| / total weight * |accuracy - mean confidence|.
    """
    top = np.argmax(proba, axis=1)
    confidence = np.take(proba, rows + top)
    bins = _confidence_bins(confidence)
    correct = (top == y_true).astype(np.float64)
    if weight is not None:
        confidence *= weight
        correct *= weight
    gap = np.bincount(bins, weights=correct, minlength=ECE_BINS) - np.bincount(
        bins, weights=confidence, minlength=ECE_BINS
    )
    total = y_true.size if weight is None else weight.sum()
    return float(np.abs(gap).sum() / total)


def _confidence_bins(confidence: FloatArray) -> npt.NDArray[np.uint8]:
    """Bin b with edge b < confidence <= edge b + 1: the number of inner edges below it."""
    bins = np.zeros(confidence.size, dtype=np.uint8)
    for edge in _ECE_EDGES[1:-1]:
        bins += confidence > edge
    return bins
