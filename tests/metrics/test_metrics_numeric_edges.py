"""Numeric edge cases of the metrics a user reads, against scikit-learn where it is the reference.

Medians of more than ``4 * regression._SAMPLE_SIZE`` absolute errors are selected inside a bracket
taken from a strided sample of the errors; the inputs here place chosen values at the sampled rows,
so that the bracket lands where the exactness checks of ``regression._middle`` must catch it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from sklearn import metrics as skm

from dsdl_golden._metrics import regression
from dsdl_golden._metrics.curves import MAX_CURVE_POINTS
from dsdl_golden.metrics_calculator import (
    calculate_all_metrics,
    calculate_classification_metrics,
    calculate_regression_metrics,
)

pytestmark = pytest.mark.filterwarnings("error")  # our functions warn about nothing

REL = 1e-9
#: An even number of errors above the size where the median works from a sample.
N_LARGE = 80_000


# --- medians of absolute errors ------------------------------------------------------------------


def test_the_median_inputs_here_take_the_sampled_path() -> None:
    assert N_LARGE > 4 * regression._SAMPLE_SIZE
    assert N_LARGE // (N_LARGE // regression._SAMPLE_SIZE) == 20_000  # rows 0, 4, 8, ... are sampled


def errors_with_sample(sampled: np.ndarray) -> np.ndarray:
    """The errors 0, 1, ..., N_LARGE - 1, with ``sampled`` at the rows the median samples."""
    step = N_LARGE // regression._SAMPLE_SIZE
    errors = np.empty(N_LARGE)
    errors[::step] = sampled
    rest = np.ones(N_LARGE, dtype=bool)
    rest[sampled.astype(np.intp)] = False
    errors[np.arange(N_LARGE) % step != 0] = np.flatnonzero(rest)
    return errors


@pytest.mark.parametrize(
    "sampled",
    [
        # The sample's bracket starts exactly at the upper middle value (40,000 values below it).
        np.r_[0:9576, 40_000:50_424],
        # The bracket ends exactly at the lower middle value: the upper one lies just past it.
        np.r_[29_577:40_000, 50_000:59_577],
        # The bracket holds most values, starting well above the smallest ones.
        np.r_[0:9576, 10_000:10_846, 70_000:79_578],
    ],
    ids=["bracket-starts-at-upper-middle", "bracket-ends-at-lower-middle", "wide-bracket-above-zero"],
)
def test_median_absolute_error_of_many_rows_is_exact_whatever_the_sample(sampled: np.ndarray) -> None:
    errors = errors_with_sample(sampled.astype(np.float64))
    assert np.array_equal(np.sort(errors), np.arange(N_LARGE))  # each error once
    y_true = np.zeros(N_LARGE)
    result = calculate_regression_metrics(y_true, errors)
    assert result["median_absolute_error"] == skm.median_absolute_error(y_true, errors) == 39_999.5


def test_median_absolute_error_of_four_rows_averages_the_middle_two() -> None:
    result = calculate_regression_metrics([0.0, 0.0, 0.0, 0.0], [4.0, 1.0, 2.0, 8.0])
    assert result["median_absolute_error"] == 3.0


def test_huge_errors_whose_sum_overflows_are_accepted_and_their_median_is_finite() -> None:
    y_true, y_pred = [0.0, 0.0, 0.0], [1e308, 1.5e308, 1.7e308]  # sum(y_pred) overflows
    with np.errstate(over="ignore"):
        result = calculate_regression_metrics(y_true, y_pred)
        expected = skm.median_absolute_error(y_true, y_pred)
    assert result["median_absolute_error"] == expected == 1.5e308
    assert result["max_error"] == 1.7e308


@pytest.mark.parametrize(
    ("errors", "weight", "expected"),
    [
        ([1.0, 2.0], [1e-17, 3e-17], 2.0),  # tiny weights, the half inside the last value
        ([1.0, 2.0, 3.0], [1e-17, 0.0, 0.0], 1.0),  # tiny weights, nothing weighed after the first
        ([1.0, 2.0], [1.0 + 2.0**-51, 1.0], 1.5),  # the first value passes the half by exactly eps
    ],
)
def test_weighted_median_error_at_rounding_edges_matches_sklearn(
    errors: list[float], weight: list[float], expected: float
) -> None:
    y_true = np.zeros(len(errors))
    result = calculate_regression_metrics(y_true, errors, sample_weight=weight)
    assert result["median_absolute_error"] == skm.median_absolute_error(y_true, errors, sample_weight=weight)
    assert result["median_absolute_error"] == expected


# --- r2 and explained variance --------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0.0, 1e6], ids=["centred", "large-offset"])
def test_weighted_r2_and_explained_variance_match_sklearn(offset: float) -> None:
    rng = np.random.default_rng(3)
    y_true = offset + rng.normal(size=50)
    y_pred = y_true + 0.3 + rng.normal(scale=0.5, size=50)
    weight = rng.uniform(0.1, 5.0, size=50)
    weight[:10] = 20.0  # far from uniform
    result = calculate_regression_metrics(y_true, y_pred, sample_weight=weight)
    r2 = skm.r2_score(y_true, y_pred, sample_weight=weight)
    explained = skm.explained_variance_score(y_true, y_pred, sample_weight=weight)
    assert result["r2"] == pytest.approx(r2, rel=REL)
    assert result["explained_variance"] == pytest.approx(explained, rel=REL)
    assert result["r2"] != pytest.approx(skm.r2_score(y_true, y_pred), rel=1e-3)


def test_r2_of_one_sample_gives_its_reason_word_for_word() -> None:
    result = calculate_regression_metrics([1.5], [2.5])
    assert result["undefined"] == {"r2": "r2 needs at least two samples"}


# --- input shapes and messages --------------------------------------------------------------------


def test_single_column_inputs_are_read_as_one_value_per_sample() -> None:
    column = calculate_regression_metrics([[1.0], [2.0], [4.0]], [[1.5], [2.0], [3.0]])
    flat = calculate_regression_metrics([1.0, 2.0, 4.0], [1.5, 2.0, 3.0])
    assert column == flat
    assert column["mae"] == 0.5


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: calculate_classification_metrics([1 + 1j, 2.0], [1, 2]),
            "y_true must hold class labels (numbers or strings), got dtype complex128",
        ),
        (
            lambda: calculate_classification_metrics([0, 1], [0.5, 1.0]),
            "y_pred holds non-integer floats, which are regression targets, not class labels: "
            "use calculate_regression_metrics, or pass integer or string labels",
        ),
        (
            lambda: calculate_all_metrics([0, 1], [0, 1], [0.2, 0.7], y_prob=[0.2, 0.7]),
            "y_proba and y_prob are the same argument: pass only one of them",
        ),
        (
            lambda: calculate_regression_metrics([0.5, 1.0], [0.0, 1.0], sample_weight=[1.0, -1.0]),
            "sample_weight must be non-negative: drop or fix the negative weights",
        ),
        (
            lambda: calculate_regression_metrics([0.5, 1.0], [0.0, 1.0], sample_weight=[0.0, 0.0]),
            "sample_weight is all zero: give at least one sample a positive weight",
        ),
    ],
    ids=["complex-labels", "fractional-labels", "proba-twice", "negative-weight", "zero-weights"],
)
def test_bad_input_message_is_given_word_for_word(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):  # the whole message
        call()


# --- probability metrics --------------------------------------------------------------------------


def test_log_loss_of_certain_right_answers_is_sklearns_clipped_value() -> None:
    y_true, proba = [0, 1, 1], np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    result = calculate_classification_metrics(y_true, y_true, proba)
    assert result["log_loss"] == skm.log_loss(y_true, proba)
    assert result["log_loss"] > 0.0  # p = 1 counts as 1 - eps


def test_expected_calibration_error_keeps_the_two_lowest_confidence_bins_apart() -> None:
    # Ten labels: confidence 0.1 falls in bin (0, 0.1], 0.15 in bin (0.1, 0.2].
    uniform = [0.1] * 10
    peaked = [0.15] + [0.1] * 7 + [0.075, 0.075]
    y_true = [0, 1]  # the first row right (gap +0.9), the second wrong (gap -0.15)
    result = calculate_classification_metrics(y_true, [0, 0], [uniform, peaked], labels=list(range(10)))
    assert result["expected_calibration_error"] == pytest.approx((0.9 + 0.15) / 2, rel=REL)


def test_roc_auc_with_a_single_negative_matches_sklearn() -> None:
    y_true, scores = [1, 1, 0], [0.9, 0.4, 0.6]
    result = calculate_classification_metrics(y_true, [1, 0, 1], scores)
    assert result["roc_auc"] == skm.roc_auc_score(y_true, scores) == 0.5


def test_average_precision_note_lists_every_label_without_positives() -> None:
    y_true, y_pred = [0, 0, 1], [0, 1, 1]
    proba = [[0.7, 0.1, 0.1, 0.1], [0.4, 0.3, 0.2, 0.1], [0.1, 0.6, 0.2, 0.1]]
    result = calculate_classification_metrics(y_true, y_pred, proba, labels=[0, 1, 2, 3])
    assert result["notes"]["average_precision"] == "0.0 for labels without positive samples [2, 3]"
    assert result["roc_auc"] is None


# --- curves --------------------------------------------------------------------------------------


def test_precision_recall_curve_when_the_top_score_is_a_negative_is_sklearns() -> None:
    y_true, scores = [0, 1, 0, 1, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.3, 0.2]
    curve = calculate_classification_metrics(y_true, [1, 1, 1, 1, 0, 0], scores).curves["precision_recall"]
    precision, recall, thresholds = skm.precision_recall_curve(y_true, scores, drop_intermediate=False)
    assert curve["precision"] == pytest.approx(precision.tolist(), rel=REL)
    assert curve["precision"][-2] == 0.0  # only the negative at 0.9
    assert curve["recall"] == pytest.approx(recall.tolist(), rel=REL)
    assert curve["thresholds"] == thresholds.tolist()


def test_precision_at_a_top_score_of_zero_weight_is_one() -> None:
    y_true, scores = [0, 1, 0, 1, 1, 0], [0.9, 0.8, 0.7, 0.6, 0.3, 0.2]
    weight = [0.0, 1.0, 2.0, 1.0, 1.0, 1.0]
    result = calculate_classification_metrics(y_true, [1, 1, 1, 1, 0, 0], scores, sample_weight=weight)
    curve = result.curves["precision_recall"]
    # scikit-learn drops the zero-weight row; its threshold 0.9 is a point of precision 1, recall 0.
    precision, recall, thresholds = skm.precision_recall_curve(
        y_true, scores, sample_weight=weight, drop_intermediate=False
    )
    assert curve["thresholds"] == [*thresholds.tolist(), 0.9]
    assert curve["precision"] == pytest.approx([*precision[:-1].tolist(), 1.0, 1.0], rel=REL)
    assert curve["recall"] == pytest.approx([*recall[:-1].tolist(), 0.0, 0.0], rel=REL)


def test_long_roc_curve_keeps_exactly_the_first_point_of_each_level_and_the_last() -> None:
    rng = np.random.default_rng(5)
    n = 1000
    scores = rng.permutation(np.linspace(0.001, 0.999, n))  # all distinct
    y_true = (rng.random(n) < scores).astype(int)
    y_true[np.argsort(scores)[:2]] = 0  # the two lowest scores are negatives
    roc = calculate_classification_metrics(y_true, (scores > 0.5).astype(int), scores).curves["roc"]
    # The cumulative positives and negatives at each score, highest first.
    ranked = y_true[np.argsort(scores)[::-1]]
    tps = np.cumsum(ranked)
    fps = np.arange(1, n + 1) - tps
    levels = np.linspace(0.0, 1.0, (MAX_CURVE_POINTS - 2) // 2)
    kept = np.unique(
        np.r_[np.searchsorted(tps, levels * tps[-1]), np.searchsorted(fps, levels * fps[-1]), n - 1]
    )
    assert roc["thresholds"][1:] == np.sort(scores)[::-1][kept].tolist()
    assert roc["fpr"][1:] == (fps[kept] / fps[-1]).tolist()
