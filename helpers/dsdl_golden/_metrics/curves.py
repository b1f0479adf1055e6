"""Plot-ready ROC and precision-recall points of a binary task, downsampled from the ranking curve.

The ranking metrics already sort the scores once (``ranking.py``); the points here reuse that sort
and pick at most ``MAX_CURVE_POINTS`` thresholds by binary search, so they cost O(points x log n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from .core import FloatArray, IntArray

#: Upper bound of the points of each curve (the ROC curve's origin included).
MAX_CURVE_POINTS: Final = 200
#: Evenly spaced shares of the positives, and of the negatives, whose first threshold is kept.
_LEVELS: Final = np.linspace(0.0, 1.0, (MAX_CURVE_POINTS - 2) // 2)


@dataclass(frozen=True, slots=True)
class Curve:
    """Cumulative positives (``tps``) and negatives (``fps``) at each distinct score, highest first.

    ``sorted_scores`` are the scores of every sample, highest first; ``ends`` the index in it of the
    last sample of each distinct score, None when all scores differ.
    """

    tps: FloatArray
    fps: FloatArray
    sorted_scores: FloatArray
    ends: IntArray | None

    def thresholds(self, points: IntArray) -> FloatArray:
        """The score of each curve point in ``points``."""
        return self.sorted_scores[points if self.ends is None else self.ends[points]]


def binary_curves(curve: Curve) -> dict[str, dict[str, list[float]]]:
    """``roc`` (``fpr``, ``tpr``, ``thresholds``) and ``precision_recall`` (``precision``,
    ``recall``, ``thresholds``) in scikit-learn's orders: ``roc_curve`` (from the origin, whose
    threshold is inf) and ``precision_recall_curve`` (rising thresholds, ending at recall 0 and
    precision 1, one threshold fewer than points). Needs positives and negatives."""
    points = sampled_points(curve.tps, curve.fps)
    tps, fps, thresholds = curve.tps[points], curve.fps[points], curve.thresholds(points)
    recall = tps / curve.tps[-1]
    return {
        "roc": {
            "fpr": [0.0, *(fps / curve.fps[-1]).tolist()],
            "tpr": [0.0, *recall.tolist()],
            "thresholds": [math.inf, *thresholds.tolist()],
        },
        "precision_recall": {
            "precision": [*_precision(tps, fps)[::-1].tolist(), 1.0],
            "recall": [*recall[::-1].tolist(), 0.0],
            "thresholds": thresholds[::-1].tolist(),
        },
    }


def sampled_points(tps: FloatArray, fps: FloatArray) -> IntArray:
    """Indices of at most ``MAX_CURVE_POINTS - 1`` points: all of them, or the first to reach each
    of ``_LEVELS`` of the positives and of the negatives, and the last one."""
    if tps.size < MAX_CURVE_POINTS:
        return np.arange(tps.size)
    reached = np.concatenate(
        (np.searchsorted(tps, _LEVELS * tps[-1]), np.searchsorted(fps, _LEVELS * fps[-1]), [tps.size - 1])
    )
    return np.unique(np.minimum(reached, tps.size - 1))


def _precision(tps: FloatArray, fps: FloatArray) -> FloatArray:
    """tps / (tps + fps), 1.0 before the first sample of positive weight (as average_precision)."""
    predicted = tps + fps
    return np.divide(tps, predicted, out=np.ones_like(tps), where=predicted > 0)
