"""Probability metrics of inputs larger than one block of rows, against scikit-learn.

ROC AUC and average precision read the score columns in blocks of ``dsdl_golden._metrics.ranking._BLOCK``
rows (16,384). Every input here crosses that boundary, with tied scores on both sides of it and
decisive rows right at it, so that a row skipped, duplicated or zeroed at a block edge changes the
result. (MAPE's blocks of 65,536 rows are pinned by ``test_metrics_survivors.py``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from dsdl_golden._metrics import ranking
from dsdl_golden.metrics_calculator import calculate_classification_metrics

pytestmark = pytest.mark.filterwarnings("error")  # our functions warn about nothing

#: Rows per block of the ranking metrics: the inputs must cross it.
RANKING_BLOCK = 1 << 14
REL = 1e-9
#: The rows on either side of each block edge of an input of ``rows`` rows.
EDGE = (-2, -1, 0, 1)


def test_the_block_size_is_the_one_these_inputs_cross() -> None:
    assert ranking._BLOCK == RANKING_BLOCK


def edge_rows(rows: int) -> list[int]:
    edges = range(RANKING_BLOCK, rows, RANKING_BLOCK)
    return [edge + offset for edge in edges for offset in EDGE if edge + offset < rows]


def binary_case(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels 0/1 and p(1) on a 1/64 grid (many ties, every block), decisive at the block edges."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, rows)
    scores = rng.integers(0, 65, rows) / 64.0
    for position, row in enumerate(edge_rows(rows)):
        # A tie across the edge, positives and negatives mixed, at a score off the grid: a row lost
        # (or read as 0.0) at the edge moves from near the top of the ranking to the bottom.
        scores[row] = 0.995
        y_true[row] = position % 2
    return y_true, scores


def multiclass_case(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three labels; probability rows from small integer weights (rows repeat: ties across blocks)."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 3, rows)
    weights = rng.integers(0, 4, (rows, 3)).astype(np.float64)
    weights[weights.sum(axis=1) == 0] = 1.0
    for position, row in enumerate(edge_rows(rows)):
        weights[row] = [0.0, 0.0, 1.0] if position % 2 else [1.0, 0.0, 0.0]
        y_true[row] = 2 if position % 2 else 1  # confident and right, then confident and wrong
    return y_true, weights / weights.sum(axis=1, keepdims=True)


def sample_weights(rows: int, weighted: bool) -> np.ndarray | None:
    if not weighted:
        return None
    weight = np.random.default_rng(99).integers(1, 5, rows).astype(np.float64)
    weight[edge_rows(rows)] = 50.0  # the edge rows carry much of the weight
    return weight


def assert_close(result: Any, expected: dict[str, float]) -> None:
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, rel=REL), key


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("rows", [RANKING_BLOCK + 1, 2 * RANKING_BLOCK + 3])
def test_binary_ranking_metrics_over_several_blocks_match_sklearn(rows: int, weighted: bool) -> None:
    y_true, scores = binary_case(rows, seed=rows)
    weight = sample_weights(rows, weighted)
    y_pred = (scores >= 0.5).astype(int)

    result = calculate_classification_metrics(y_true, y_pred, scores, sample_weight=weight)

    proba = np.column_stack([1.0 - scores, scores])
    assert_close(
        result,
        {
            "roc_auc": skm.roc_auc_score(y_true, scores, sample_weight=weight),
            "average_precision": skm.average_precision_score(y_true, scores, sample_weight=weight),
            "log_loss": skm.log_loss(y_true, proba, sample_weight=weight),
            "brier_score": skm.brier_score_loss(y_true, scores, sample_weight=weight),
        },
    )
    # The ROC curve ends where scikit-learn's does, having counted every row once.
    roc = result.curves["roc"]
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert result["n_samples"] == rows


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_multiclass_one_vs_rest_metrics_over_several_blocks_match_sklearn(weighted: bool) -> None:
    rows = 2 * RANKING_BLOCK + 3
    y_true, proba = multiclass_case(rows, seed=5)
    weight = sample_weights(rows, weighted)
    labels = [0, 1, 2]

    result = calculate_classification_metrics(y_true, proba.argmax(axis=1), proba, sample_weight=weight)

    indicator = label_binarize(y_true, classes=labels)
    assert_close(
        result,
        {
            "roc_auc": skm.roc_auc_score(
                y_true, proba, multi_class="ovr", labels=labels, sample_weight=weight
            ),
            "average_precision": skm.average_precision_score(indicator, proba, sample_weight=weight),
            "log_loss": skm.log_loss(y_true, proba, labels=labels, sample_weight=weight),
            "brier_score": skm.brier_score_loss(y_true, proba, labels=labels, sample_weight=weight),
        },
    )
