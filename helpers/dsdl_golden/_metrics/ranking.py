"""ROC AUC and average precision from one sort of the scores, with scikit-learn's tie handling.

Tied scores form one threshold, as in ``roc_curve``/``precision_recall_curve``: the curves are the
cumulative weighted positives (``tps``) and negatives (``fps``) at the last sample of each group of
equal scores, highest score first. The order inside a group never matters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import BoolArray, FloatArray, IntArray, MetricSet, Undefined, to_python
from .curves import Curve, binary_curves
from .labels import LabelledData

_BLOCK = 1 << 14


def add_ranking_metrics(out: MetricSet, data: LabelledData, proba: FloatArray) -> None:
    """``roc_auc`` and ``average_precision``: of the positive class, or macro one-vs-rest.

    A binary task with a defined ROC AUC also gets its downsampled curves (``out.curves``).
    """
    classes = [data.pos] if data.pos is not None else list(range(data.labels.size))
    aucs: list[float | None] = []
    precisions: list[float] = []
    no_positive: list[int] = []
    for row, c in zip(_score_rows(proba, classes), classes, strict=True):
        curve = _curve(row, data.y_true == c, data.weight)
        aucs.append(roc_auc(curve.tps, curve.fps))
        precisions.append(average_precision(curve.tps, curve.fps))
        no_positive += [c] if curve.tps[-1] <= 0 else []
    if no_positive:
        out.note("average_precision", f"0.0 for labels without positive samples {_names(data, no_positive)}")
    undefined = [c for c, auc in zip(classes, aucs, strict=True) if auc is None]
    if undefined:
        reason = f"y_true lacks positive or negative samples of {_names(data, undefined)}"
        out.put("roc_auc", Undefined(reason))
    else:
        out.put("roc_auc", float(np.mean([auc for auc in aucs if auc is not None])))
        if data.pos is not None:
            out.curves.update(binary_curves(curve))
    out.put("average_precision", float(np.mean(precisions)))


def _names(data: LabelledData, classes: list[int]) -> list[object]:
    return [to_python(data.labels[c]) for c in classes]


def _score_rows(proba: FloatArray, classes: list[int]) -> FloatArray:
    """A fresh copy of ``proba[:, classes].T`` with -0.0 made 0.0 (so that it ties with 0.0).

    The copy goes by blocks of rows, which is much faster than reading strided columns.
    """
    rows = np.empty((len(classes), proba.shape[0]))
    for start in range(0, proba.shape[0], _BLOCK):
        block = slice(start, start + _BLOCK)
        np.add(proba[block][:, classes].T, 0.0, out=rows[:, block])
    return rows


def _curve(scores: FloatArray, positive: BoolArray, weight: FloatArray | None) -> Curve:
    if weight is None:
        return _counted_curve(scores, positive)
    return _weighted_curve(scores, positive, weight)


def _counted_curve(scores: FloatArray, positive: BoolArray) -> Curve:
    """Unweighted curve from a value sort of 64-bit keys: score bits, then the positive flag.

    Scores are probabilities in [0, 1] without -0.0, whose bit patterns order like the values and
    leave the top bit free. ``scores`` is overwritten by the keys.
    """
    keys = scores.view(np.uint64)
    keys <<= np.uint64(1)
    keys |= positive
    keys.sort()
    descending = keys[::-1]
    tps = np.cumsum(descending & np.uint64(1)).astype(np.float64)
    seen = np.arange(1.0, keys.size + 1.0)
    sorted_scores = (descending >> np.uint64(1)).view(np.float64)
    ends = _group_ends(sorted_scores)
    if ends is not None:
        tps, seen = tps[ends], seen[ends]
    return Curve(tps, np.subtract(seen, tps, out=seen), sorted_scores, ends)


def _weighted_curve(scores: FloatArray, positive: BoolArray, weight: FloatArray) -> Curve:
    order = np.argsort(scores)[::-1]
    sorted_weight = weight[order]
    positive_weight = np.where(positive[order], sorted_weight, 0.0)
    tps, fps = np.cumsum(positive_weight), np.cumsum(sorted_weight - positive_weight)
    sorted_scores = scores[order]
    ends = _group_ends(sorted_scores)
    if ends is not None:
        tps, fps = tps[ends], fps[ends]
    return Curve(tps, fps, sorted_scores, ends)


def _group_ends(sorted_values: np.ndarray[Any, Any]) -> IntArray | None:
    """Index of the last element of each run of equal values; None when all values differ."""
    differ = sorted_values[1:] != sorted_values[:-1]
    if differ.all():
        return None
    return np.append(np.flatnonzero(differ), sorted_values.size - 1)


def roc_auc(tps: FloatArray, fps: FloatArray) -> float | None:
    """Area under the ROC curve (trapezoids from (0, 0)); None without positives or negatives."""
    positives, negatives = tps[-1], fps[-1]
    if positives <= 0 or negatives <= 0:
        return None
    area = fps[0] * tps[0] + np.einsum("i,i->", fps[1:] - fps[:-1], tps[1:] + tps[:-1])
    return float(area / 2.0 / (positives * negatives))


def average_precision(tps: FloatArray, fps: FloatArray) -> float:
    """Step-wise area under the precision-recall curve; 0.0 without positives (scikit-learn)."""
    positives = tps[-1]
    if positives <= 0:
        return 0.0
    precision = tps + fps
    precision[precision == 0] = 1.0  # no sample (of positive weight) yet: tps is 0 there too
    np.divide(tps, precision, out=precision)
    gains = np.empty_like(tps)
    gains[0] = tps[0]
    np.subtract(tps[1:], tps[:-1], out=gains[1:])
    return float(np.einsum("i,i->", gains, precision) / positives)
