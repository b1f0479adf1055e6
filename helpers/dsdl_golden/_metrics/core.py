"""Shared types: the metric collector, the "undefined" marker and array aliases."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.intp]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Undefined:
    """A metric that cannot be computed, and why."""

    reason: str


@dataclass(slots=True)
class MetricSet:
    """Collects JSON-ready values, the reason of every None, notes on conventions applied and curves.

    ``curves`` holds plot-ready points that are not metrics (see ``MetricsResult.curves``).
    """

    values: dict[str, Any] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def resolve(self, name: str, value: float | Undefined) -> float | None:
        """Return ``value`` as a float, or None with its reason recorded under ``name``."""
        if isinstance(value, Undefined):
            self.undefined[name] = value.reason
            return None
        if not math.isfinite(value):
            self.undefined[name] = "the result is not finite (overflow in the inputs)"
            return None
        return float(value)

    def put(self, name: str, value: float | Undefined) -> None:
        """Store metric ``name`` (see :meth:`resolve`)."""
        self.values[name] = self.resolve(name, value)

    def note(self, name: str, text: str) -> None:
        """Record that ``name`` was computed under a convention worth knowing."""
        self.notes[name] = text

    def as_dict(self) -> dict[str, Any]:
        """The values followed by ``undefined`` and ``notes``."""
        return {**self.values, "undefined": self.undefined, "notes": self.notes}


def weighted_mean(values: FloatArray, weight: FloatArray | None) -> float:
    """``np.average(values, weights=weight)``, the mean scikit-learn uses."""
    return float(np.mean(values) if weight is None else np.average(values, weights=weight))


def to_python(value: Any) -> Any:
    """A numpy scalar as the matching Python scalar; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value
