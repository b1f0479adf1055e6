"""Metrics behaviour users notice that the main suite's examples were too small or too regular to pin down."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from dsdl_golden.metrics_calculator import calculate_classification_metrics, calculate_regression_metrics

pytestmark = pytest.mark.filterwarnings("error")  # our functions warn about nothing

#: MAPE is summed in blocks of this many rows (dsdl_golden._metrics.regression._BLOCK): inputs must cross it.
MAPE_BLOCK = 1 << 16


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_mape_over_more_than_one_block_counts_every_row_like_sklearn(weighted: bool) -> None:
    rng = np.random.default_rng(7)
    n = MAPE_BLOCK + 3
    y_true = rng.uniform(0.5, 2.0, n)
    y_pred = y_true + rng.normal(0.0, 0.1, n)
    # Each row on either side of the block boundary carries a large share of the error.
    for row in (MAPE_BLOCK - 2, MAPE_BLOCK - 1, MAPE_BLOCK, MAPE_BLOCK + 1):
        y_pred[row] = y_true[row] + 1000.0
    weight = rng.uniform(0.5, 1.5, n) if weighted else None
    result = calculate_regression_metrics(y_true, y_pred, sample_weight=weight)
    expected = skm.mean_absolute_percentage_error(y_true, y_pred, sample_weight=weight)
    assert result["mape"] == pytest.approx(expected, rel=1e-9)


def test_business_baseline_tie_for_majority_goes_to_first_label() -> None:
    # "ok" and "spam" are both the true label of 3 rows; "ok" comes first in labels order.
    y_true = ["ok", "spam", "ok", "spam", "ok", "spam"]
    y_pred = ["ok", "spam", "spam", "spam", "ok", "ok"]
    costs = [[0.0, 10.0], [1.0, 0.0]]  # rows: true ok/spam, columns: predicted ok/spam
    result = calculate_classification_metrics(y_true, y_pred, cost_matrix=costs)
    business = result["business"]
    assert result["labels"] == ["ok", "spam"]
    assert business["baseline_label"] == "ok"
    # Always predicting "ok": the 3 spam rows cost 1 each.
    assert business["baseline_cost"] == 3.0
    assert business["baseline_expected_cost"] == 0.5
    # Predictions: one ok predicted spam (10), one spam predicted ok (1).
    assert business["total_cost"] == 11.0
    assert business["savings"] == -8.0


def test_business_baseline_weighted_tie_goes_to_first_of_given_labels() -> None:
    # Weighted support: b = 2 + 2 = 4, a = 4: tied, and labels= puts "b" first.
    y_true = ["a", "b", "b"]
    y_pred = ["a", "b", "a"]
    result = calculate_classification_metrics(
        y_true,
        y_pred,
        labels=["b", "a"],
        sample_weight=[4.0, 2.0, 2.0],
        cost_matrix={("a", "b"): 3.0, ("b", "a"): 5.0},
    )
    business = result["business"]
    assert business["baseline_label"] == "b"
    assert business["baseline_cost"] == 12.0  # weight 4 of "a" predicted "b", at 3 each
    assert business["total_cost"] == 10.0  # weight 2 of "b" predicted "a", at 5 each
