"""Business metrics from a cost matrix: expected cost and savings against the majority class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .core import FloatArray, MetricSet, Undefined, to_python
from .inputs import require_finite


def cost_matrix_array(cost_matrix: Any, labels: np.ndarray[Any, Any]) -> FloatArray:
    """The cost of predicting column label for row label, both in ``labels`` order.

    ``cost_matrix`` is a square array-like or a mapping ``{(true, predicted): cost}`` whose
    missing pairs cost 0.
    """
    costs = _from_mapping(cost_matrix, labels) if isinstance(cost_matrix, Mapping) else _numbers(cost_matrix)
    shape = (labels.size, labels.size)
    if costs.shape != shape:
        raise ValueError(
            f"cost_matrix must have shape {shape} (rows: true label, columns: predicted label, "
            f"in the order {[to_python(v) for v in labels.tolist()]}), got {costs.shape}"
        )
    require_finite(costs, "cost_matrix")
    return costs


def _numbers(values: Any) -> FloatArray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"cost_matrix must hold numbers: {error}") from error


def _from_mapping(mapping: Mapping[Any, Any], labels: np.ndarray[Any, Any]) -> FloatArray:
    index = {to_python(value): position for position, value in enumerate(labels.tolist())}
    costs = np.zeros((labels.size, labels.size))
    for key, cost in mapping.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(label in index for label in key)):
            raise ValueError(
                f"cost_matrix key {key!r} must be a (true label, predicted label) pair of labels "
                f"{list(index)}: fix the key or pass labels="
            )
        costs[index[key[0]], index[key[1]]] = _number(cost)
    return costs


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"cost_matrix costs must be numbers, got {value!r}") from error


def business_metrics(
    out: MetricSet, counts: FloatArray, costs: FloatArray, labels: np.ndarray[Any, Any]
) -> dict[str, Any]:
    """Costs of the predictions and of always predicting the (weighted) majority true label.

    ``counts`` is the confusion matrix; a tie for the majority goes to the first label.
    """
    total_weight = counts.sum()
    total_cost = float(np.sum(counts * costs))
    support = counts.sum(axis=1)
    majority = int(np.argmax(support))
    baseline_cost = float(support @ costs[:, majority])
    savings = baseline_cost - total_cost
    values: dict[str, float | Undefined] = {
        "expected_cost": total_cost / total_weight,
        "total_cost": total_cost,
        "baseline_expected_cost": baseline_cost / total_weight,
        "baseline_cost": baseline_cost,
        "savings": savings,
        "savings_ratio": Undefined("the baseline cost is 0")
        if baseline_cost == 0
        else savings / baseline_cost,
    }
    resolved = {name: out.resolve(f"business.{name}", value) for name, value in values.items()}
    return {"baseline_label": to_python(labels[majority]), **resolved}
