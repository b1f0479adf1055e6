"""Metrics behaviour users notice that the main suite's examples were too small or too regular to pin down."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn import metrics as skm

from dsdl_golden._metrics.curves import MAX_CURVE_POINTS
from dsdl_golden._metrics.display import MAX_HTML_LABELS, metrics_html
from dsdl_golden.metrics_calculator import (
    calculate_all_metrics,
    calculate_classification_metrics,
    calculate_regression_metrics,
)

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


# --- found by ./dev mutate metrics -----------------------------------------------------------------


def raises_exactly(message: str) -> pytest.RaisesExc[ValueError]:
    """The error users read, whole: a mutant that changes a word of it fails."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


@pytest.mark.parametrize(
    ("errors", "weight"),
    [
        ([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]),  # half the weight ends exactly at 2: average 2 and 3
        ([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 0.0, 2.0]),  # ... and the next value has no weight: 2 and 4
        ([4.0, 1.0, 3.0, 2.0], [2.0, 1.0, 0.0, 1.0]),  # the same, unsorted
    ],
)
def test_weighted_median_error_on_an_exact_half_matches_sklearn(
    errors: list[float], weight: list[float]
) -> None:
    y_true = np.zeros(len(errors))
    result = calculate_regression_metrics(y_true, errors, sample_weight=weight)
    assert result["median_absolute_error"] == skm.median_absolute_error(y_true, errors, sample_weight=weight)


def test_all_metrics_weighs_regression_rows() -> None:
    y_true, y_pred, weight = [1.5, 2.5, 3.5], [1.0, 2.0, 6.5], [1.0, 1.0, 8.0]
    result = calculate_all_metrics(y_true, y_pred, sample_weight=weight)
    assert result["mae"] == pytest.approx(skm.mean_absolute_error(y_true, y_pred, sample_weight=weight))
    assert result["mae"] != pytest.approx(skm.mean_absolute_error(y_true, y_pred))


@pytest.mark.parametrize(
    ("arguments", "named"),
    [({"y_proba": [0.2, 0.8]}, "y_proba"), ({"y_proba": [0.2, 0.8], "labels": [1, 2]}, "y_proba, labels")],
)
def test_all_metrics_names_the_classification_arguments_a_regression_refuses(
    arguments: dict[str, object], named: str
) -> None:
    with raises_exactly(
        f"{named}: classification arguments, but the task is regression; "
        "drop them or pass a classification task"
    ):
        calculate_all_metrics([1.5, 2.5], [1.0, 2.0], task="regression", **arguments)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([], [1], "y_true is empty: pass at least one sample"),
        ([1, 2], [[1, 2], [3, 4]], "y_pred must be 1-D (one value per sample), got shape (2, 2)"),
    ],
)
def test_all_metrics_names_the_input_that_is_wrong(y_true: object, y_pred: object, message: str) -> None:
    with raises_exactly(message):
        calculate_all_metrics(y_true, y_pred)


@pytest.mark.parametrize(
    ("cost_matrix", "message"),
    [
        (
            [[0, 1]],
            "cost_matrix must have shape (2, 2) (rows: true label, columns: predicted label, "
            "in the order ['no', 'yes']), got (1, 2)",
        ),
        ([["0", "x"], ["1", "0"]], "cost_matrix must hold numbers: could not convert string to float: 'x'"),
    ],
)
def test_cost_matrix_errors_say_what_to_fix(cost_matrix: object, message: str) -> None:
    with raises_exactly(message):
        calculate_classification_metrics(["no", "yes"], ["no", "no"], cost_matrix=cost_matrix)


def test_a_pos_label_outside_the_given_labels_is_named_with_them() -> None:
    with raises_exactly("pos_label='ja' is not one of the labels ['no', 'yes']: pass one of them"):
        calculate_classification_metrics(["no", "yes"], ["no", "no"], labels=["no", "yes"], pos_label="ja")


def test_savings_ratio_without_a_baseline_cost_gives_the_reason() -> None:
    result = calculate_classification_metrics(["a", "b"], ["b", "a"], cost_matrix=[[0, 1], [0, 0]])
    assert result["business"]["savings_ratio"] is None
    assert result["undefined"]["business.savings_ratio"] == "the baseline cost is 0"


def test_html_view_has_a_metric_table_and_a_labelled_confusion_matrix() -> None:
    page = metrics_html(
        {
            "accuracy": 0.5,
            "note": None,
            "labels": ["a", "b"],
            "confusion_matrix": [[1, 0], [1, 0]],
            "undefined": {},
        }
    )
    assert page == (
        "<table><thead><tr><th>metric</th><th>value</th></tr></thead><tbody>"
        "<tr><td>accuracy</td><td>0.5</td></tr><tr><td>note</td><td>none</td></tr></tbody></table>"
        "<table><caption>confusion_matrix (rows: true label, columns: predicted)</caption>"
        "<thead><tr><th></th><th>a</th><th>b</th></tr></thead><tbody>"
        "<tr><td>a</td><td>1</td><td>0</td></tr><tr><td>b</td><td>1</td><td>0</td></tr></tbody></table>"
    )


def test_html_view_of_a_regression_is_one_table() -> None:
    page = calculate_all_metrics([1.5, 2.5, 3.5], [1.0, 2.0, 3.0])._repr_html_()
    assert page.count("<table>") == 1
    assert page.endswith("</tbody></table>")


def test_html_view_draws_the_matrix_up_to_its_label_limit() -> None:
    labels = list(range(MAX_HTML_LABELS))
    drawn = calculate_all_metrics(labels, labels)._repr_html_()
    assert "<caption>confusion_matrix" in drawn
    assert f"<th>{MAX_HTML_LABELS - 1}</th>" in drawn


def test_regression_notes_name_the_conventions_users_should_know() -> None:
    eps = float(np.finfo(np.float64).eps)
    weighted = calculate_regression_metrics([0.0, 1.0, 2.0], [0.5, 1.0, 2.0], sample_weight=[1.0, 2.0, 3.0])
    assert weighted["notes"] == {
        "mape": "|y_true| below machine epsilon is replaced by epsilon, as scikit-learn",
        "max_error": "ignores sample_weight, as scikit-learn's max_error",
    }
    constant = calculate_regression_metrics([3.0, 3.0, 3.0], [3.0, 2.0, 4.0])
    assert constant["notes"] == dict.fromkeys(
        ("r2", "explained_variance"),
        "y_true is constant: 0.0 for imperfect predictions (scikit-learn force_finite)",
    )
    # |y_true| equal to epsilon is kept as it is (scikit-learn's max(|y|, eps)): no note.
    assert calculate_regression_metrics([eps, 1.0], [0.0, 1.0])["notes"] == {}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_small_curves_are_sklearns_curves_point_for_point(weighted: bool) -> None:
    # Tied scores, and the lowest score a positive: the last point adds positives, not only negatives.
    scores = np.array([0.9, 0.8, 0.8, 0.7, 0.6, 0.6, 0.6, 0.4, 0.3, 0.2, 0.1, 0.1])
    y_true = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1])
    weight = np.linspace(0.5, 2.0, scores.size) if weighted else None
    curves = calculate_classification_metrics(
        y_true, (scores > 0.5).astype(int), scores, sample_weight=weight
    ).curves
    fpr, tpr, thresholds = skm.roc_curve(y_true, scores, sample_weight=weight, drop_intermediate=False)
    assert curves["roc"]["thresholds"] == thresholds.tolist()
    assert curves["roc"]["fpr"] == pytest.approx(fpr.tolist(), abs=1e-12)
    assert curves["roc"]["tpr"] == pytest.approx(tpr.tolist(), abs=1e-12)
    precision, recall, pr_thresholds = skm.precision_recall_curve(
        y_true, scores, sample_weight=weight, drop_intermediate=False
    )
    assert curves["precision_recall"]["thresholds"] == pr_thresholds.tolist()
    assert curves["precision_recall"]["precision"] == pytest.approx(precision.tolist(), abs=1e-12)
    assert curves["precision_recall"]["recall"] == pytest.approx(recall.tolist(), abs=1e-12)


def test_a_regression_target_with_fractions_only_after_its_first_rows_is_a_regression() -> None:
    y_true = np.r_[np.arange(2000.0), 2000.5]  # whole numbers for 2,000 rows, then a fraction
    result = calculate_all_metrics(y_true, y_true + 1.0)
    assert result["task"] == "regression"
    assert result["n_samples"] == 2001
    assert result["mae"] == 1.0


def test_regression_inputs_of_different_lengths_are_named() -> None:
    with raises_exactly("y_true and y_pred have different lengths (3 vs 2): pass one y_pred row per sample"):
        calculate_regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("y_proba", "message"),
    [
        (
            [0.2, 0.5, 0.7],
            "y_proba is 1-D but there are 3 labels: pass an (n_samples, 3) array, one column per label",
        ),
        (
            [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]],
            "y_proba has 2 columns but there are 3 labels ['a', 'b', 'c']: "
            "pass labels= naming the class of each column, in column order",
        ),
    ],
)
def test_probabilities_of_the_wrong_shape_say_what_to_pass(y_proba: object, message: str) -> None:
    with raises_exactly(message):
        calculate_classification_metrics(["a", "b", "c"], ["a", "b", "b"], y_proba)


def test_one_known_label_leaves_the_probability_metrics_undefined_with_the_reason() -> None:
    result = calculate_classification_metrics([1, 1, 1], [1, 1, 1], [0.9, 0.8, 0.7])
    assert result["roc_auc"] is None
    assert result["undefined"]["log_loss"] == (
        "only one label is known, so the class y_proba refers to is ambiguous: pass labels= or pos_label="
    )


@pytest.mark.parametrize("distinct", [MAX_CURVE_POINTS, 5_000])
def test_a_long_curve_keeps_the_first_point_to_reach_each_level_and_its_end(distinct: int) -> None:
    rng = np.random.default_rng(11)
    scores = rng.permutation(np.linspace(0.001, 0.999, distinct))
    y_true = (rng.random(distinct) < 0.3 + 0.4 * scores).astype(int)
    roc = calculate_classification_metrics(y_true, (scores > 0.5).astype(int), scores).curves["roc"]
    assert len(roc["thresholds"]) <= MAX_CURVE_POINTS  # the origin, then at most 199 sampled points
    fpr, tpr, thresholds = skm.roc_curve(y_true, scores, drop_intermediate=False)
    kept = set(roc["thresholds"])
    # Levels of the positives and of the negatives, as the docstring of curves.sampled_points says.
    levels = np.linspace(0.0, 1.0, (MAX_CURVE_POINTS - 2) // 2)
    for rate in (tpr[1:], fpr[1:]):
        first = np.minimum(np.searchsorted(rate, levels), rate.size - 1)
        assert set(thresholds[1:][first].tolist()) <= kept
    assert roc["thresholds"][-1] == thresholds[-1]
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)


@pytest.mark.parametrize("prediction", [0.0, 1.0])
@pytest.mark.parametrize("n", [2, 3, 5])
def test_a_constant_target_of_subnormal_squares_scores_as_sklearn(n: int, prediction: float) -> None:
    # Found by hypothesis under ./dev mutate: 9e-162 squared is a subnormal float with 4 bits left,
    # so sum(y**2) - n * mean**2 left garbage where the centred sum is exactly 0 (r2 -33 or None).
    y_true, y_pred = [9.050515914246773e-162] * n, [prediction] * n
    result = calculate_regression_metrics(y_true, y_pred)
    assert result["r2"] == skm.r2_score(y_true, y_pred) == 0.0
    assert result["explained_variance"] == skm.explained_variance_score(y_true, y_pred)
