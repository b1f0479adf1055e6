"""Validation of the arrays given to the metric functions; errors name the argument and the fix."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import FloatArray

LABEL_KINDS = "biufUSO"


def vector(values: Any, name: str) -> np.ndarray[Any, Any]:
    """``values`` as a non-empty 1-D array (a single column is flattened)."""
    try:
        array = np.asarray(values)
    except ValueError as error:
        raise ValueError(f"{name} must be array-like with one value per sample: {error}") from error
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per sample), got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: pass at least one sample")
    return array


def label_vector(values: Any, name: str) -> np.ndarray[Any, Any]:
    """Class labels: integers (possibly as floats) or strings."""
    array = vector(values, name)
    if array.dtype.kind not in LABEL_KINDS:
        raise ValueError(f"{name} must hold class labels (numbers or strings), got dtype {array.dtype}")
    if array.dtype.kind == "f":
        require_finite(array, name)
        if has_fraction(array):
            raise ValueError(
                f"{name} holds non-integer floats, which are regression targets, not class labels: "
                "use calculate_regression_metrics, or pass integer or string labels"
            )
    return array


def float_vector(values: Any, name: str) -> FloatArray:
    """Finite numbers as float64."""
    array = vector(values, name)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    floats = array.astype(np.float64, copy=False)
    require_finite(floats, name)
    return floats


def require_finite(array: np.ndarray[Any, Any], name: str) -> None:
    """Raise if ``array`` holds NaN or infinity (a finite sum proves there is none)."""
    if not (math.isfinite(np.sum(array)) or np.isfinite(array).all()):
        raise ValueError(f"{name} contains NaN or infinite values: drop or impute those rows first")


def same_length(n_samples: int, array: np.ndarray[Any, Any], name: str) -> None:
    """Raise unless ``array`` has one row per sample of ``y_true``."""
    if array.shape[0] != n_samples:
        raise ValueError(
            f"y_true and {name} have different lengths ({n_samples} vs {array.shape[0]}): "
            f"pass one {name} row per sample"
        )


def sample_weights(sample_weight: Any, n_samples: int) -> FloatArray | None:
    """Finite, non-negative weights with a positive sum, or None."""
    if sample_weight is None:
        return None
    weight = float_vector(sample_weight, "sample_weight")
    same_length(n_samples, weight, "sample_weight")
    if weight.min() < 0:
        raise ValueError("sample_weight must be non-negative: drop or fix the negative weights")
    if not weight.any():
        raise ValueError("sample_weight is all zero: give at least one sample a positive weight")
    return weight


def has_fraction(values: np.ndarray[Any, Any]) -> bool:
    """True for floats that are not all whole numbers (NaN counts as a fraction)."""
    if values.dtype.kind != "f":
        return False
    head = values[:1024]
    return bool(np.any(head != np.round(head))) or bool(np.any(values != np.round(values)))


def proba_argument(y_proba: Any, y_prob: Any) -> Any:
    """The probabilities given as ``y_proba`` or under its alias ``y_prob``; both is an error."""
    if y_prob is None:
        return y_proba
    if y_proba is not None:
        raise ValueError("y_proba and y_prob are the same argument: pass only one of them")
    return y_prob
