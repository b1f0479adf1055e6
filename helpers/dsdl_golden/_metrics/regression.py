"""Regression metrics with scikit-learn's conventions (``force_finite=True``, MAPE epsilon)."""

from __future__ import annotations

import math

import numpy as np

from .core import FloatArray, MetricSet, Undefined, weighted_mean

_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).tiny)  # the smallest normal float
_SAMPLE_SIZE = 16_384
_BLOCK = 1 << 16
_CANCELLATION = 1e-4


def add_regression_metrics(
    out: MetricSet, y_true: FloatArray, y_pred: FloatArray, weight: FloatArray | None
) -> None:
    """mae, mse, rmse, r2, explained_variance, mape, median_absolute_error and max_error.

    ``y_pred - y_true`` is the only full-size temporary.
    """
    error = y_pred - y_true
    total_weight = float(y_true.size if weight is None else weight.sum())
    residual = _square_sum(error, weight)
    centred = _centred_square_sum(y_true, _square_sum(y_true, weight), weight, total_weight)
    spread = _centred_square_sum(error, residual, weight, total_weight)
    absolute = np.abs(error, out=error)
    out.put("mae", weighted_mean(absolute, weight))
    out.put("mse", residual / total_weight)
    out.put("rmse", math.sqrt(residual / total_weight))
    out.put("r2", _r2(out, y_true.size, residual, centred))
    out.put("explained_variance", _explained(out, "explained_variance", spread, centred))
    out.put("mape", _mape(out, absolute, y_true, weight) / total_weight)
    out.put("max_error", float(absolute.max()))
    if weight is not None:
        out.note("max_error", "ignores sample_weight, as scikit-learn's max_error")
    out.put(
        "median_absolute_error", median(absolute) if weight is None else weighted_median(absolute, weight)
    )


def _square_sum(values: FloatArray, weight: FloatArray | None) -> float:
    """Weighted sum of squares by einsum (BLAS threads stall when the cores are busy)."""
    if weight is None:
        return float(np.einsum("i,i->", values, values))
    return float(np.einsum("i,i,i->", weight, values, values))


def _centred_square_sum(
    values: FloatArray, square_sum: float, weight: FloatArray | None, total_weight: float
) -> float:
    """Weighted sum of (values - mean)**2, the mean being numpy's as in scikit-learn.

    ``square_sum`` is the weighted sum of values**2; the result is square_sum - W mean**2 unless
    that cancels too much, or the squares are subnormal floats with a few bits left (then, and for
    the exact zeros that decide r2 and explained_variance for constant input, it is summed term by
    term).
    """
    mean = weighted_mean(values, weight)
    shortcut = square_sum - total_weight * mean * mean
    if shortcut > _CANCELLATION * square_sum and square_sum >= _TINY:
        return shortcut
    return _square_sum(values - mean, weight)


def _mape(out: MetricSet, absolute: FloatArray, y_true: FloatArray, weight: FloatArray | None) -> float:
    """Weighted sum of |error| / max(|y_true|, eps), block by block."""
    total = 0.0
    for start in range(0, y_true.size, _BLOCK):
        block = slice(start, start + _BLOCK)
        scale = np.abs(y_true[block])
        if scale.min() < _EPS:
            out.note("mape", "|y_true| below machine epsilon is replaced by epsilon, as scikit-learn")
            np.maximum(scale, _EPS, out=scale)
        ratio = np.divide(absolute[block], scale, out=scale)
        total += float(ratio.sum() if weight is None else np.einsum("i,i->", ratio, weight[block]))
    return total


def _r2(out: MetricSet, n_samples: int, residual_sum: float, centred_sum: float) -> float | Undefined:
    if n_samples < 2:
        return Undefined("r2 needs at least two samples")
    return _explained(out, "r2", residual_sum, centred_sum)


def _explained(out: MetricSet, name: str, residual: float, total: float) -> float:
    """1 - residual / total with scikit-learn's force_finite rules for a constant y_true."""
    if residual == 0:
        return 1.0
    if total == 0:
        out.note(name, "y_true is constant: 0.0 for imperfect predictions (scikit-learn force_finite)")
        return 0.0
    return 1.0 - residual / total


def median(values: FloatArray) -> float:
    """``np.median(values)``: the middle order statistics, selected inside a window of a sample."""
    low, high = _middle(values)
    return low if values.size % 2 else (low + high) / 2


def _middle(values: FloatArray) -> tuple[float, float]:
    """The ((n - 1) // 2)-th and (n // 2)-th smallest values.

    A strided sample brackets them; only the values inside the bracket are partitioned. A bracket
    that misses them (an unlucky sample) falls back to a full partition: the result is exact.
    """
    n = values.size
    ranks = ((n - 1) // 2, n // 2)
    if n > 4 * _SAMPLE_SIZE:
        low, high = _bracket(values, ranks[0])
        under = values < low
        below = int(np.count_nonzero(under))
        window = np.compress(np.logical_xor(values <= high, under, out=under), values)
        if below <= ranks[0] and ranks[1] < below + window.size:
            return _select(window, (ranks[0] - below, ranks[1] - below))
    return _select(values, ranks)


def _bracket(values: FloatArray, rank: int) -> tuple[float, float]:
    """Two values of a strided sample that very likely enclose the rank-th smallest value."""
    sample = values[:: values.size // _SAMPLE_SIZE]
    centre, margin = rank * sample.size // values.size, 3 * math.isqrt(sample.size)
    at = (max(centre - margin, 0), min(centre + margin, sample.size - 1))
    return _select(sample, at)


def _select(values: FloatArray, ranks: tuple[int, int]) -> tuple[float, float]:
    part = np.partition(values, ranks)
    return float(part[ranks[0]]), float(part[ranks[1]])


def weighted_median(values: FloatArray, weight: FloatArray) -> float:
    """scikit-learn's ``_weighted_percentile(values, weight, 50, average=True)`` for 1-D input."""
    order = np.argsort(values)
    cdf = np.cumsum(weight[order])
    rank = 0.5 * cdf[-1]
    last = values.size - 1
    index = min(int(np.searchsorted(cdf, rank)), last)
    value = float(values[order[index]])
    if cdf[index] - rank > _EPS:
        return value
    following = min(index + 1, last)
    if weight[order[following]] == 0:
        following = int(np.searchsorted(cdf, cdf[index], side="right"))
        following = index if following > last else following
    return (value + float(values[order[following]])) / 2
