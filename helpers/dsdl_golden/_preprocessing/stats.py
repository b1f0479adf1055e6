"""Imputation and standard scaling with scikit-learn's semantics, and the population stability index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

Strategy = Literal["median", "mean", "most_frequent"]
STRATEGIES: tuple[Strategy, ...] = ("median", "mean", "most_frequent")
DECILES = np.linspace(0.1, 0.9, 9)
#: Bin shares are floored here before the PSI's logarithm, the usual guard against empty bins.
PSI_FLOOR = 1e-4
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Scaling:
    """Replace missing entries by ``fill``, then output ``(x - mean) / scale``."""

    fill: float
    mean: float = 0.0
    scale: float = 1.0


def fill_value(observed: NDArray[np.float64], strategy: Strategy) -> float:
    """Median, mean or most frequent value (smallest on ties, like SimpleImputer) of the observed values."""
    if strategy == "median":
        return float(np.median(observed))
    if strategy == "mean":
        return float(observed.mean())
    values, counts = np.unique(observed, return_counts=True)
    return float(values[np.argmax(counts)])


def fit_scaling(
    values: NDArray[np.float64], missing: NDArray[np.bool_], strategy: Strategy, *, standardize: bool
) -> Scaling:
    """Fill value and, when ``standardize``, StandardScaler's mean and scale of the imputed column."""
    fill = fill_value(values[~missing], strategy)
    if not standardize:
        return Scaling(fill)
    return Scaling(fill, *standard_moments(np.where(missing, fill, values)))


def standard_moments(column: NDArray[np.float64]) -> tuple[float, float]:
    """Mean and scale as StandardScaler computes them: corrected two-pass variance, near-constant -> 1."""
    n = column.size
    mean = column.sum() / n
    deviations = column - mean
    correction = deviations.sum()
    np.square(deviations, out=deviations)
    variance = (deviations.sum() - correction**2 / n) / n
    near_constant = variance <= n * _EPS * variance + (n * mean * _EPS) ** 2
    return float(mean), 1.0 if near_constant else float(np.sqrt(variance))


def apply_scaling(
    values: NDArray[np.float64], missing: NDArray[np.bool_], scaling: Scaling, out: NDArray[np.float64]
) -> None:
    """Write the imputed and scaled column into ``out``."""
    column = np.where(missing, scaling.fill, values)
    column -= scaling.mean
    column /= scaling.scale
    out[...] = column


@dataclass(frozen=True, eq=False)
class DriftReference:
    """Fit-time decile bin edges and the share of rows per bin; the last bin holds the missing rows."""

    edges: NDArray[np.float64]
    expected: NDArray[np.float64]

    @classmethod
    def fit(cls, values: NDArray[np.float64], missing: NDArray[np.bool_]) -> DriftReference:
        """Reference distribution of a numeric column."""
        edges = np.unique(np.quantile(values[~missing], DECILES))
        return cls(edges, bin_shares(values, missing, edges))

    def psi(
        self, values: NDArray[np.float64], missing: NDArray[np.bool_]
    ) -> tuple[float, NDArray[np.float64]]:
        """Population stability index of new values against the reference, and their bin shares."""
        actual = bin_shares(values, missing, self.edges)
        return population_stability_index(self.expected, actual), actual


def bin_shares(
    values: NDArray[np.float64], missing: NDArray[np.bool_], edges: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Share of rows in each bin ``edges[i-1] <= x < edges[i]``, then the share of missing rows."""
    bins = np.searchsorted(edges, values[~missing], side="right")
    counts = np.append(np.bincount(bins, minlength=edges.size + 1), np.count_nonzero(missing))
    return counts / max(values.size, 1)


def population_stability_index(expected: NDArray[np.float64], actual: NDArray[np.float64]) -> float:
    """PSI = sum((actual - expected) * ln(actual / expected)) over bins, shares floored at PSI_FLOOR."""
    expected = np.maximum(expected, PSI_FLOOR)
    actual = np.maximum(actual, PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))
