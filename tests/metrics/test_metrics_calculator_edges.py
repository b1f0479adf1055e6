"""Metrics result fields users read beside the numbers: which average, which pos_label, the notes and
reasons word for word, zero-division listings, per-class supports, and the Jupyter table's edges."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sklearn import metrics as skm

from dsdl_golden._metrics.display import metrics_html
from dsdl_golden.metrics_calculator import (
    MetricsResult,
    calculate_all_metrics,
    calculate_classification_metrics,
    calculate_regression_metrics,
)

pytestmark = pytest.mark.filterwarnings("error")  # our functions warn about nothing


# --- what the top-level precision, recall and f1 are -----------------------------------------------


def test_binary_result_names_its_pos_label_and_binary_average() -> None:
    result = calculate_classification_metrics(["no", "yes", "yes"], ["no", "yes", "no"])
    assert result["task"] == "binary"
    assert result["pos_label"] == "yes"
    assert result["average"] == "binary"
    assert result["notes"] == {}
    assert result["precision"] == skm.precision_score(
        ["no", "yes", "yes"], ["no", "yes", "no"], pos_label="yes", average="binary"
    )


def test_multiclass_result_has_no_pos_label_and_macro_average() -> None:
    result = calculate_classification_metrics([0, 1, 2, 2], [0, 1, 1, 2])
    assert result["task"] == "multiclass"
    assert result["pos_label"] is None
    assert result["average"] == "macro"
    assert "pos_label" not in result["notes"]


@pytest.mark.parametrize("calculate", [calculate_classification_metrics, calculate_all_metrics])
def test_pos_label_of_a_multiclass_task_is_noted_as_ignored(calculate: Callable[..., MetricsResult]) -> None:
    result = calculate([0, 1, 2, 2], [0, 1, 1, 2], pos_label=2)
    assert result["pos_label"] is None
    assert result["notes"] == {"pos_label": "ignored: the task is multiclass"}


# --- notes and reasons, word for word ---------------------------------------------------------------


def test_label_absent_from_y_true_note_on_balanced_accuracy() -> None:
    y_true, y_pred = [0, 1, 1, 0], [0, 1, 2, 0]
    result = calculate_classification_metrics(y_true, y_pred)
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        expected = skm.balanced_accuracy_score(y_true, y_pred)
    assert result["balanced_accuracy"] == expected
    assert result["notes"] == {
        "balanced_accuracy": "labels absent from y_true are left out, as scikit-learn does"
    }


def test_single_common_label_gives_kappa_and_matthews_reasons_word_for_word() -> None:
    result = calculate_classification_metrics(["a", "a"], ["a", "a"])
    assert result["cohen_kappa"] is None
    assert result["undefined"]["cohen_kappa"] == (
        "chance disagreement is 0 (y_true and y_pred use a single common label)"
    )
    assert result["matthews_corrcoef"] == 0.0
    assert result["notes"] == {
        "matthews_corrcoef": "undefined for a constant y_true or y_pred: 0.0, as scikit-learn"
    }


def test_matthews_of_small_sample_weights_is_sklearns() -> None:
    # Total weight 0.3: the variance products are far below 1, yet the correlation is defined.
    y_true, y_pred, weight = [0, 1, 1], [0, 1, 0], [0.1, 0.1, 0.1]
    result = calculate_classification_metrics(y_true, y_pred, sample_weight=weight)
    expected = skm.matthews_corrcoef(y_true, y_pred, sample_weight=weight)
    assert result["matthews_corrcoef"] == pytest.approx(expected, rel=1e-9)
    assert result["matthews_corrcoef"] == pytest.approx(0.5)
    assert "matthews_corrcoef" not in result["notes"]


def test_overflowing_regression_metrics_are_none_with_the_reason() -> None:
    result = calculate_regression_metrics([1e300, -1e300], [-1e300, 1e300])
    assert result["mae"] == 2e300
    assert result["mse"] is None
    reason = "the result is not finite (overflow in the inputs)"
    assert result["undefined"] == dict.fromkeys(("mse", "rmse", "r2", "explained_variance"), reason)


def test_forced_task_mismatch_says_how_to_fix_it() -> None:
    message = (
        "task='multiclass' but the data is binary with 2 labels: "
        "pass task='auto', or labels= listing every class"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        calculate_all_metrics([0, 1], [1, 1], task="multiclass")


# --- zero division ----------------------------------------------------------------------------------


def test_binary_zero_division_of_the_other_label_leaves_top_precision_unlisted() -> None:
    # Nothing is predicted "no": its precision is 0/0, but that of pos_label "yes" is 1/3.
    y_true, y_pred = ["no", "yes", "no"], ["yes", "yes", "yes"]
    result = calculate_classification_metrics(y_true, y_pred)
    assert result["precision"] == pytest.approx(1 / 3)
    assert result["zero_division"] == {
        "convention": "warn->0.0",
        "metrics": ["precision_macro", "precision_weighted", "per_class[no].precision"],
    }


def test_binary_zero_division_of_pos_label_is_listed_first() -> None:
    result = calculate_classification_metrics(["no", "yes", "yes"], ["no", "no", "no"])
    assert result["zero_division"]["metrics"] == [
        "precision",
        "precision_macro",
        "precision_weighted",
        "per_class[yes].precision",
    ]


def test_multiclass_zero_division_lists_top_level_metrics_and_each_label() -> None:
    y_true, y_pred = [0, 1, 1], [0, 2, 2]
    result = calculate_classification_metrics(y_true, y_pred)
    assert result["zero_division"]["metrics"] == [
        "precision",
        "precision_macro",
        "precision_weighted",
        "per_class[1].precision",
        "recall",
        "recall_macro",
        "recall_weighted",
        "per_class[2].recall",
    ]
    assert result["precision"] == skm.precision_score(y_true, y_pred, average="macro", zero_division=0.0)


# --- per-class supports -----------------------------------------------------------------------------


def test_unweighted_per_class_support_is_a_whole_count() -> None:
    y_true, y_pred = ["a", "b", "b", "c"], ["a", "b", "c", "c"]
    result = calculate_classification_metrics(y_true, y_pred)
    supports = [row["support"] for row in result["per_class"]]
    expected = skm.precision_recall_fscore_support(y_true, y_pred)[3].tolist()
    assert supports == expected == [1, 2, 1]
    assert [type(support) for support in supports] == [int, int, int]


def test_weighted_per_class_support_is_the_weight_sum() -> None:
    result = calculate_classification_metrics([0, 1, 1], [0, 1, 0], sample_weight=[0.5, 1.0, 1.5])
    supports = [row["support"] for row in result["per_class"]]
    assert supports == [0.5, 2.5]
    assert [type(support) for support in supports] == [float, float]


# --- MetricsResult and its Jupyter view -------------------------------------------------------------


def test_metrics_result_without_curves_has_empty_curves() -> None:
    assert MetricsResult({"task": "regression", "mae": 0.5}).curves == {}


def test_html_view_shows_text_and_whole_numbers_as_they_are() -> None:
    page = calculate_classification_metrics(["a", "b", "b"], ["a", "b", "a"])._repr_html_()
    assert "<tr><td>task</td><td>binary</td></tr>" in page
    assert "<tr><td>n_samples</td><td>3</td></tr>" in page
    assert "<tr><td>pos_label</td><td>b</td></tr>" in page


def test_html_view_of_labels_without_a_matrix_is_the_metric_table_only() -> None:
    # A saved result the user trimmed of its confusion_matrix.
    page = metrics_html({"accuracy": 0.5, "labels": ["a", "b"]})
    assert page == (
        "<table><thead><tr><th>metric</th><th>value</th></tr></thead><tbody>"
        "<tr><td>accuracy</td><td>0.5</td></tr></tbody></table>"
    )


def test_html_view_of_a_matrix_whose_rows_do_not_match_the_labels_says_so() -> None:
    page = metrics_html({"accuracy": 0.5, "labels": ["a", "b"], "confusion_matrix": [[1, 0], [0, 1], [1, 1]]})
    assert page.endswith("</table><p>confusion_matrix: 3 rows for 2 labels, not shown</p>")
