"""Class labels: the label set, integer codes of y_true / y_pred, the positive class, probabilities."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .core import FloatArray, IntArray, Undefined, to_python
from .inputs import label_vector, same_length, sample_weights

PROBA_SUM_TOLERANCE = 1e-6
_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Factorized:
    """Sorted distinct values of an array, the index of each sample's value and their counts."""

    uniques: np.ndarray[Any, Any]
    codes: IntArray
    counts: IntArray


@dataclass(frozen=True, slots=True)
class LabelledData:
    """Validated classification input; ``y_true``/``y_pred`` are indices into ``labels``."""

    labels: np.ndarray[Any, Any]
    y_true: IntArray
    y_pred: IntArray
    true_counts: IntArray
    pred_counts: IntArray
    weight: FloatArray | None
    proba: FloatArray | Undefined
    pos: int | None

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return self.y_true.size


def prepare_classification(
    y_true: Any, y_pred: Any, y_proba: Any, *, labels: Any, pos_label: Any, sample_weight: Any
) -> LabelledData:
    """Validate and encode classification input (see ``calculate_classification_metrics``)."""
    true = label_vector(y_true, "y_true")
    pred = label_vector(y_pred, "y_pred")
    same_length(true.size, pred, "y_pred")
    weight = sample_weights(sample_weight, true.size)
    true_values = factorize(true, "y_true")
    pred_values = factorize(pred, "y_pred")
    label_array = label_set(labels, true_values, pred_values, pos_label)
    pos = positive_index(label_array, pos_label)
    true_at = _positions(true_values.uniques, label_array, "y_true")
    pred_at = _positions(pred_values.uniques, label_array, "y_pred")
    return LabelledData(
        labels=label_array,
        y_true=_encode(true_values, true_at),
        y_pred=_encode(pred_values, pred_at),
        true_counts=_counts(true_values, true_at, label_array.size),
        pred_counts=_counts(pred_values, pred_at, label_array.size),
        weight=weight,
        proba=probability_matrix(y_proba, true.size, label_array, pos),
        pos=pos,
    )


def factorize(values: np.ndarray[Any, Any], name: str) -> Factorized:
    """Distinct values, codes and counts; small integer ranges take a bincount fast path."""
    kind, size = values.dtype.kind, values.dtype.itemsize
    if kind in "bi" or (kind == "u" and size <= 4):
        dense = _factorize_dense(values)
        if dense is not None:
            return dense
    uniques, codes, counts = _unique(values, name)
    return Factorized(uniques, codes.astype(np.intp, copy=False), counts.astype(np.intp, copy=False))


def _factorize_dense(values: np.ndarray[Any, Any]) -> Factorized | None:
    ints = values.astype(np.intp, copy=False)
    low = int(ints.min())
    span = int(ints.max()) - low + 1
    if span > 4 * ints.size + 1024:
        return None
    offsets = ints - low if low else ints
    counts = np.bincount(offsets, minlength=span)
    present = np.flatnonzero(counts)
    if present.size == span:
        codes = offsets
    else:
        lookup = np.zeros(span, dtype=np.intp)
        lookup[present] = np.arange(present.size)
        codes = lookup[offsets]
    return Factorized((present + low).astype(values.dtype), codes, counts[present])


def _unique(values: np.ndarray[Any, Any], name: str) -> tuple[np.ndarray[Any, Any], IntArray, IntArray]:
    try:
        uniques, codes, counts = np.unique(values, return_inverse=True, return_counts=True)
    except TypeError as error:
        raise ValueError(
            f"{name} must hold labels of one type and no missing values (None): convert them first"
        ) from error
    return uniques, codes, counts


def label_set(labels: Any, true: Factorized, pred: Factorized, pos_label: Any) -> np.ndarray[Any, Any]:
    """The given ``labels`` (checked), else the sorted union of y_true, y_pred and ``pos_label``."""
    named = {"y_true": true.uniques, "y_pred": pred.uniques}
    if pos_label is not None:
        named["pos_label"] = np.asarray([pos_label])
    if labels is not None:
        named["labels"] = label_vector(labels, "labels")
    _check_one_family(named)
    if labels is None:
        return _unique(np.concatenate(list(named.values())), "labels")[0]
    given = named["labels"]
    if _unique(given, "labels")[0].size != given.size:
        raise ValueError("labels contains duplicates: list each class once")
    return given


def _check_one_family(named: dict[str, np.ndarray[Any, Any]]) -> None:
    families = {name: _family(values, name) for name, values in named.items()}
    if len(set(families.values())) > 1:
        raise ValueError(
            f"labels must be all numbers or all strings, got {families}: convert them to one type"
        )


def _family(values: np.ndarray[Any, Any], name: str) -> str:
    kind = values.dtype.kind
    if kind in "biuf":
        return "numbers"
    if kind in "US" or all(isinstance(value, str) for value in values):
        return "strings"
    if all(isinstance(value, numbers.Real | np.bool_) and not math.isnan(value) for value in values):
        return "numbers"
    raise ValueError(
        f"{name} mixes label types or has missing values (None, NaN): use one type and drop missing rows"
    )


def positive_index(labels: np.ndarray[Any, Any], pos_label: Any) -> int | None:
    """Index of the positive class for at most two labels (default: the last one), else None."""
    binary = labels.size <= 2
    if pos_label is None:
        return labels.size - 1 if binary else None
    matches = [index for index, value in enumerate(labels.tolist()) if value == pos_label]
    if not matches:
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the labels {_show(labels)}: pass one of them"
        )
    return matches[0] if binary else None


def _positions(uniques: np.ndarray[Any, Any], labels: np.ndarray[Any, Any], name: str) -> IntArray:
    index = {to_python(value): position for position, value in enumerate(labels.tolist())}
    values = [to_python(value) for value in uniques.tolist()]
    missing = [value for value in values if value not in index]
    if missing:
        raise ValueError(
            f"{name} contains labels not in labels: {missing[:_SHOWN]}: add them to labels or drop those rows"
        )
    return np.array([index[value] for value in values], dtype=np.intp)


def _encode(values: Factorized, positions: IntArray) -> IntArray:
    if np.array_equal(positions, np.arange(positions.size)):
        return values.codes
    return positions[values.codes]


def _counts(values: Factorized, positions: IntArray, n_labels: int) -> IntArray:
    counts = np.zeros(n_labels, dtype=np.intp)
    counts[positions] = values.counts
    return counts


def probability_matrix(
    y_proba: Any, n_samples: int, labels: np.ndarray[Any, Any], pos: int | None
) -> FloatArray | Undefined:
    """``y_proba`` as an (n_samples, n_labels) float64 array, columns in ``labels`` order.

    A 1-D array is the probability of the positive class of a binary task.
    """
    if y_proba is None:
        return Undefined("y_proba not given")
    try:
        proba = np.asarray(y_proba, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"y_proba must hold numeric probabilities: {error}") from error
    if proba.ndim == 2 and proba.shape[1] == 1:
        proba = proba[:, 0]
    if proba.ndim not in (1, 2):
        raise ValueError(f"y_proba must be 1-D or 2-D (samples x labels), got shape {proba.shape}")
    same_length(n_samples, proba, "y_proba")
    _check_range(proba)
    if proba.ndim == 1:
        return _binary_columns(proba, labels.size, pos)
    _check_columns(proba, labels)
    _check_row_sums(proba)
    return proba


def _check_range(proba: FloatArray) -> None:
    low, high = float(proba.min()), float(proba.max())
    if math.isnan(low) or math.isnan(high):
        raise ValueError("y_proba contains NaN: drop or impute those rows first")
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"y_proba must hold probabilities in [0, 1], got values from {low} to {high}: "
            "pass predict_proba output, not scores or logits"
        )


def _binary_columns(proba: FloatArray, n_labels: int, pos: int | None) -> FloatArray | Undefined:
    if n_labels == 1:
        return Undefined(
            "only one label is known, so the class y_proba refers to is ambiguous: pass labels= or pos_label="
        )
    if pos is None:
        raise ValueError(
            f"y_proba is 1-D but there are {n_labels} labels: pass an (n_samples, {n_labels}) array, "
            "one column per label"
        )
    columns = np.empty((proba.size, 2))
    columns[:, pos] = proba
    np.subtract(1.0, proba, out=columns[:, 1 - pos])
    return columns


def _check_columns(proba: FloatArray, labels: np.ndarray[Any, Any]) -> None:
    if proba.shape[1] != labels.size:
        raise ValueError(
            f"y_proba has {proba.shape[1]} columns but there are {labels.size} labels {_show(labels)}: "
            "pass labels= naming the class of each column, in column order"
        )


def _check_row_sums(proba: FloatArray) -> None:
    sums = np.einsum("ij->i", proba)
    bad = np.flatnonzero(np.abs(sums - 1.0) > PROBA_SUM_TOLERANCE)
    if bad.size:
        raise ValueError(
            f"y_proba rows must sum to 1 (tolerance {PROBA_SUM_TOLERANCE}); row {bad[0]} sums to "
            f"{sums[bad[0]]!r}: normalise each row, e.g. divide it by its sum"
        )


def _show(labels: np.ndarray[Any, Any]) -> list[Any]:
    return [to_python(value) for value in labels[:_SHOWN].tolist()]
