"""Metrics of the confusion matrix, computed as scikit-learn does from one ``np.bincount``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import BoolArray, FloatArray, MetricSet, Undefined, to_python
from .labels import LabelledData

ZERO_DIVISION = "warn->0.0"


def confusion_counts(data: LabelledData) -> np.ndarray[Any, Any]:
    """Rows: true label, columns: predicted label, in ``data.labels`` order (weighted if weights)."""
    k = data.labels.size
    flat = np.bincount(data.y_true * k + data.y_pred, weights=data.weight, minlength=k * k)
    return flat.reshape(k, k)


def add_confusion_metrics(out: MetricSet, counts: np.ndarray[Any, Any], data: LabelledData) -> None:
    """Accuracy, balanced accuracy, precision/recall/F1 (per class and averaged), MCC, kappa."""
    cm = counts.astype(np.float64)
    out.put("accuracy", np.trace(cm) / cm.sum())
    out.put("balanced_accuracy", _balanced_accuracy(out, cm))
    _add_precision_recall_f1(out, cm, data)
    out.put("matthews_corrcoef", _matthews(out, cm))
    out.put("cohen_kappa", _cohen_kappa(cm))
    out.values["confusion_matrix"] = counts.tolist()


def _balanced_accuracy(out: MetricSet, cm: FloatArray) -> float:
    support = cm.sum(axis=1)
    seen = support > 0
    if not seen.all():
        out.note("balanced_accuracy", "labels absent from y_true are left out, as scikit-learn does")
    return float(np.mean(np.diag(cm)[seen] / support[seen]))


def _matthews(out: MetricSet, cm: FloatArray) -> float:
    true_sum, pred_sum = cm.sum(axis=1), cm.sum(axis=0)
    n = pred_sum.sum()
    cov_true_pred = np.trace(cm) * n - true_sum @ pred_sum
    cov_pred_pred = n**2 - pred_sum @ pred_sum
    cov_true_true = n**2 - true_sum @ true_sum
    if cov_pred_pred * cov_true_true <= 0:  # 0, or below by rounding: a constant y_true or y_pred
        out.note("matthews_corrcoef", "undefined for a constant y_true or y_pred: 0.0, as scikit-learn")
        return 0.0
    return float(cov_true_pred / np.sqrt(cov_pred_pred * cov_true_true))


def _cohen_kappa(cm: FloatArray) -> float | Undefined:
    expected = np.outer(cm.sum(axis=0), cm.sum(axis=1)) / cm.sum()
    disagree = 1.0 - np.eye(cm.shape[0])
    denominator = np.sum(disagree * expected)
    if denominator == 0:
        return Undefined("chance disagreement is 0 (y_true and y_pred use a single common label)")
    return float(1.0 - np.sum(disagree * cm) / denominator)


def _add_precision_recall_f1(out: MetricSet, cm: FloatArray, data: LabelledData) -> None:
    tp, true_sum, pred_sum = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    scores = {
        "precision": _ratio(tp, pred_sum),
        "recall": _ratio(tp, true_sum),
        "f1": _ratio(2.0 * tp, true_sum + pred_sum),
    }
    micro = {
        "precision": tp.sum() / pred_sum.sum(),
        "recall": tp.sum() / true_sum.sum(),
        "f1": 2.0 * tp.sum() / (true_sum.sum() + pred_sum.sum()),
    }
    out.values["average"] = "binary" if data.pos is not None else "macro"
    hit: list[str] = []
    for name, (values, zero) in scores.items():
        macro = float(np.mean(values))
        out.put(name, values[data.pos] if data.pos is not None else macro)
        out.put(f"{name}_macro", macro)
        out.put(f"{name}_micro", micro[name])
        out.put(f"{name}_weighted", np.average(values, weights=true_sum))
        hit += _zero_division_hits(name, zero, data)
    out.values["per_class"] = _per_class(scores, true_sum, data)
    out.values["zero_division"] = {"convention": ZERO_DIVISION, "metrics": hit}


def _ratio(numerator: FloatArray, denominator: FloatArray) -> tuple[FloatArray, BoolArray]:
    """numerator / denominator with 0/0 -> 0.0 (scikit-learn's zero_division="warn"), and where."""
    zero = denominator == 0
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=~zero), zero


def _zero_division_hits(name: str, zero: BoolArray, data: LabelledData) -> list[str]:
    if not zero.any():
        return []
    top = zero[data.pos] if data.pos is not None else True
    classes = [f"per_class[{to_python(label)}].{name}" for label in data.labels[zero].tolist()]
    return [name] * bool(top) + [f"{name}_macro", f"{name}_weighted", *classes]


def _per_class(
    scores: dict[str, tuple[FloatArray, BoolArray]], support: FloatArray, data: LabelledData
) -> list[dict[str, Any]]:
    supports = support.tolist() if data.weight is not None else support.astype(np.int64).tolist()
    return [
        {
            "label": to_python(label),
            **{name: float(values[index]) for name, (values, _) in scores.items()},
            "support": supports[index],
        }
        for index, label in enumerate(data.labels.tolist())
    ]
