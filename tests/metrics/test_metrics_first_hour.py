"""The data scientist's first hour: what the metrics result tells them.

MetricsResult stays a plain dict while carrying curves, a Jupyter table and its descriptor keys;
``y_prob`` is accepted.
"""

from __future__ import annotations

import copy
import doctest
import json
import pickle
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from dsdl_golden import metrics_calculator
from dsdl_golden.metrics_calculator import (
    MetricsResult,
    calculate_all_metrics,
    calculate_classification_metrics,
    calculate_regression_metrics,
)


def binary_data(n: int, seed: int = 7) -> tuple[np.ndarray[Any, Any], ...]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, n)
    proba = np.clip(0.35 * y_true + 0.65 * rng.random(n), 0.0, 1.0)
    return y_true, (proba > 0.5).astype(int), proba


# --- MetricsResult is still the plain dict everyone uses -------------------------------------------


def test_result_is_a_plain_dict_for_json_equality_pickle_and_copy() -> None:
    y_true, y_pred, proba = binary_data(300)
    result = calculate_all_metrics(y_true, y_pred, proba)
    assert isinstance(result, MetricsResult)
    plain = json.loads(json.dumps(result, allow_nan=False))
    assert plain == result
    assert result == dict(result)
    for clone in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result)):
        assert type(clone) is MetricsResult
        assert clone == result
        assert clone.curves == result.curves


def test_every_public_function_returns_a_metrics_result() -> None:
    results = [
        calculate_regression_metrics([1.0, 2.0, 3.0], [1.5, 2.0, 2.0]),
        calculate_classification_metrics([0, 1, 2], [0, 2, 2]),
        calculate_all_metrics([0.5, 1.5], [0.5, 1.0]),
    ]
    assert all(type(result) is MetricsResult for result in results)
    assert all(result.curves == {} for result in results)


# --- curves -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [40, 5_000])
def test_binary_curves_lie_on_sklearns_curves_within_200_points(n: int) -> None:
    y_true, y_pred, proba = binary_data(n)
    curves = calculate_all_metrics(y_true, y_pred, proba).curves
    roc, pr = curves["roc"], curves["precision_recall"]
    assert all(len(values) <= 200 for values in (*roc.values(), *pr.values()))
    fpr, tpr, thresholds = skm.roc_curve(y_true, proba, drop_intermediate=False)
    on_sklearn = dict(zip(thresholds.tolist(), zip(fpr.tolist(), tpr.tolist(), strict=True), strict=True))
    for threshold, x, y in zip(roc["thresholds"], roc["fpr"], roc["tpr"], strict=True):
        assert on_sklearn[threshold] == pytest.approx((x, y), abs=1e-12)
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0.0, 0.0, 1.0, 1.0)
    precision, recall, pr_thresholds = skm.precision_recall_curve(y_true, proba, drop_intermediate=False)
    sklearn_pr = dict(zip(pr_thresholds.tolist(), zip(precision[:-1], recall[:-1], strict=True), strict=True))
    for threshold, p, r in zip(pr["thresholds"], pr["precision"], pr["recall"], strict=False):
        assert sklearn_pr[threshold] == pytest.approx((p, r), abs=1e-12)
    assert (pr["precision"][-1], pr["recall"][-1]) == (1.0, 0.0)
    assert len(pr["thresholds"]) == len(pr["precision"]) - 1


def test_weighted_curves_reach_the_corners() -> None:
    y_true, y_pred, proba = binary_data(500)
    weight = np.random.default_rng(1).random(500)
    roc = calculate_classification_metrics(y_true, y_pred, proba, sample_weight=weight).curves["roc"]
    fpr, tpr, _ = skm.roc_curve(y_true, proba, sample_weight=weight)
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(np.trapezoid(tpr, fpr), abs=0.01)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)


def test_no_curves_without_probabilities_multiclass_or_a_single_class() -> None:
    assert calculate_all_metrics([0, 1, 1], [0, 1, 0]).curves == {}
    multiclass = calculate_all_metrics([0, 1, 2], [0, 1, 1], np.eye(3))
    assert multiclass.curves == {}
    single = calculate_all_metrics([1, 1, 1], [1, 0, 1], [0.9, 0.2, 0.8], labels=[0, 1])
    assert single["roc_auc"] is None
    assert single.curves == {}


# --- y_prob alias -----------------------------------------------------------------------------------


def test_y_prob_is_an_alias_of_y_proba() -> None:
    y_true, y_pred, proba = binary_data(100)
    assert calculate_all_metrics(y_true, y_pred, y_prob=proba) == calculate_all_metrics(y_true, y_pred, proba)
    alias = calculate_classification_metrics(y_true, y_pred, y_prob=proba)
    assert alias["roc_auc"] == pytest.approx(skm.roc_auc_score(y_true, proba))


def test_y_prob_and_y_proba_together_are_refused() -> None:
    with pytest.raises(ValueError, match="y_proba and y_prob are the same argument: pass only one"):
        calculate_all_metrics([0, 1], [0, 1], [0.2, 0.7], y_prob=[0.2, 0.7])
    with pytest.raises(ValueError, match="y_proba and y_prob"):
        calculate_classification_metrics([0, 1], [0, 1], [0.2, 0.7], y_prob=[0.2, 0.7])


# --- descriptor keys and naming ---------------------------------------------------------------------


def test_descriptor_keys_are_what_is_not_a_number_series() -> None:
    result = calculate_all_metrics(["no", "yes", "yes"], ["no", "yes", "no"])
    assert {"labels", "pos_label", "class_counts", "confusion_matrix"} <= result.descriptor_keys
    assert MetricsResult.descriptor_keys == result.descriptor_keys
    measured = {key for key in result if key not in result.descriptor_keys}
    assert {"accuracy", "f1", "matthews_corrcoef", "mae", "per_class", "n_samples"} <= measured


def test_help_explains_each_key_and_its_sklearn_function() -> None:
    text = metrics_calculator.__doc__ or ""
    for key, function in [("mae", "mean_absolute_error"), ("matthews_corrcoef", "matthews_corrcoef")]:
        row = next(line for line in text.splitlines() if line.startswith(f"{key} "))
        assert row.split()[-1] == function


def test_module_doctests_pass() -> None:
    result = doctest.testmod(metrics_calculator, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# --- Jupyter view -----------------------------------------------------------------------------------


def test_html_view_rounds_escapes_and_shows_the_confusion_matrix() -> None:
    result = calculate_all_metrics(["<b>", "ok", "ok", "ok"], ["<b>", "ok", "<b>", "ok"])
    page = result._repr_html_()
    assert "<td>0.75</td>" in page  # accuracy
    assert "&lt;b&gt;" in page
    assert "<b>" not in page
    assert "confusion_matrix" in page
    assert "undefined: y_proba not given" in page
    assert f"<td>{result['matthews_corrcoef']:.4g}</td>" in page


def test_html_view_of_many_labels_skips_the_matrix() -> None:
    labels = list(range(30))
    page = calculate_all_metrics(labels, labels)._repr_html_()
    assert "30 x 30 labels, not shown" in page
