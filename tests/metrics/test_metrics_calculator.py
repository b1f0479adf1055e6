"""dsdl_golden.metrics_calculator against scikit-learn, the oracle, on generated and edge-case data."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from golden_testing import child_environ, examples
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

from dsdl_golden.metrics_calculator import (
    CLASSIFICATION_KEYS,
    REGRESSION_KEYS,
    STANDARD_KEYS,
    MetricsResult,
    calculate_all_metrics,
    calculate_classification_metrics,
    calculate_regression_metrics,
)

pytestmark = pytest.mark.filterwarnings("error")  # our functions warn about nothing

REL, ABS = 1e-9, 1e-12
PROPERTY = settings(max_examples=examples(80), deadline=None)
BINARY_LABELS = [[0, 1], [-1, 1], ["no", "yes"], [0.0, 1.0], [-(10**12), 10**12]]
MULTICLASS_LABELS = [[0, 1, 2], ["ant", "bee", "cat", "dog"], [1, 5, 10, 20, 40]]
PROBABILITY_KEYS = ("roc_auc", "average_precision", "log_loss", "brier_score", "expected_calibration_error")


# --- the oracle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Classification input; ``proba`` has one column per label of ``labels``."""

    y_true: list[Any]
    y_pred: list[Any]
    labels: list[Any]
    labels_arg: list[Any] | None
    proba: np.ndarray[Any, Any] | None
    one_dimensional: bool
    pos_label_arg: Any
    weight: list[float] | None

    @property
    def y_proba(self) -> Any:
        if self.proba is None or not self.one_dimensional:
            return self.proba
        return self.proba[:, self.labels.index(self.pos_label())]

    def pos_label(self) -> Any:
        return self.labels[-1] if self.pos_label_arg is None else self.pos_label_arg

    @property
    def proba_given(self) -> Any:
        """The two-column probabilities that ``y_proba`` stands for (a 1-D input carries only p(pos))."""
        if self.proba is None or not self.one_dimensional:
            return self.proba
        positive = self.y_proba
        pos = self.labels.index(self.pos_label())
        return np.column_stack([positive, 1.0 - positive] if pos == 0 else [1.0 - positive, positive])

    def ours(self) -> dict[str, Any]:
        return calculate_classification_metrics(
            self.y_true,
            self.y_pred,
            self.y_proba,
            labels=self.labels_arg,
            pos_label=self.pos_label_arg,
            sample_weight=self.weight,
        )


def finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def sklearn_classification(case: Case) -> dict[str, Any]:
    """The same dict from scikit-learn calls (warnings silenced)."""
    y_true, y_pred, labels, w = case.y_true, case.y_pred, case.labels, case.weight
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected: dict[str, Any] = {
            "accuracy": skm.accuracy_score(y_true, y_pred, sample_weight=w),
            "balanced_accuracy": skm.balanced_accuracy_score(y_true, y_pred, sample_weight=w),
            "matthews_corrcoef": skm.matthews_corrcoef(y_true, y_pred, sample_weight=w),
            "cohen_kappa": finite_or_none(skm.cohen_kappa_score(y_true, y_pred, sample_weight=w)),
            "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels, sample_weight=w).tolist(),
        }
        prfs = skm.precision_recall_fscore_support
        for average in ("macro", "micro", "weighted"):
            scores = prfs(y_true, y_pred, labels=labels, average=average, sample_weight=w)
            expected |= {
                f"{name}_{average}": value
                for name, value in zip(("precision", "recall", "f1"), scores[:3], strict=True)
            }
        if len(labels) <= 2:
            top = prfs(
                y_true, y_pred, labels=labels, average="binary", pos_label=case.pos_label(), sample_weight=w
            )
            expected |= dict(zip(("precision", "recall", "f1"), top[:3], strict=True))
        else:
            expected |= {name: expected[f"{name}_macro"] for name in ("precision", "recall", "f1")}
        per_class = prfs(y_true, y_pred, labels=labels, average=None, sample_weight=w)
        expected["per_class"] = [
            {"label": label, "precision": p, "recall": r, "f1": f, "support": s}
            for label, p, r, f, s in zip(labels, *per_class, strict=True)
        ]
        if case.proba is not None:
            expected |= sklearn_probability(case)
    return expected


def sklearn_probability(case: Case) -> dict[str, Any]:
    y_true, proba, labels, w = case.y_true, case.proba_given, case.labels, case.weight
    assert proba is not None
    if len(labels) == 2:
        pos = labels.index(case.pos_label())
        positive = np.asarray(y_true, dtype=object) == labels[pos]
        roc_auc = skm.roc_auc_score(positive, proba[:, pos], sample_weight=w)
        average_precision = skm.average_precision_score(positive, proba[:, pos], sample_weight=w)
    else:
        roc_auc = skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=labels, sample_weight=w)
        indicator = label_binarize(y_true, classes=labels)
        average_precision = skm.average_precision_score(indicator, proba, sample_weight=w)
    return {
        "roc_auc": finite_or_none(roc_auc),
        "average_precision": average_precision,
        "log_loss": skm.log_loss(y_true, proba, labels=labels, sample_weight=w),
        "brier_score": skm.brier_score_loss(y_true, proba, labels=labels, sample_weight=w),
        "expected_calibration_error": reference_ece(proba, [labels.index(y) for y in y_true], w),
    }


def reference_ece(proba: np.ndarray[Any, Any], truth: list[int], weight: list[float] | None) -> float:
    """Textbook top-label ECE: 10 bins (lo, hi], sum of bin weight share * |accuracy - confidence|."""
    weight = [1.0] * len(truth) if weight is None else weight
    edges = np.linspace(0.0, 1.0, 11)
    members: list[list[tuple[float, bool, float]]] = [[] for _ in range(10)]
    for row, true_index, w in zip(proba, truth, weight, strict=True):
        predicted = int(np.argmax(row))
        confidence = row[predicted]
        index = next((b for b in range(10) if edges[b] < confidence <= edges[b + 1]), 0)
        members[index].append((w, predicted == true_index, confidence))
    total = sum(weight)
    ece = 0.0
    for bin_members in members:
        bin_weight = sum(w for w, _, _ in bin_members)
        if bin_weight > 0:
            accuracy = sum(w for w, correct, _ in bin_members if correct) / bin_weight
            confidence = sum(w * c for w, _, c in bin_members) / bin_weight
            ece += bin_weight / total * abs(accuracy - confidence)
    return ece


def sklearn_regression(y_true: Any, y_pred: Any, weight: Any) -> dict[str, Any]:
    w = weight
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "mae": skm.mean_absolute_error(y_true, y_pred, sample_weight=w),
            "mse": skm.mean_squared_error(y_true, y_pred, sample_weight=w),
            "rmse": skm.root_mean_squared_error(y_true, y_pred, sample_weight=w),
            "r2": finite_or_none(skm.r2_score(y_true, y_pred, sample_weight=w)),
            "explained_variance": skm.explained_variance_score(y_true, y_pred, sample_weight=w),
            "mape": skm.mean_absolute_percentage_error(y_true, y_pred, sample_weight=w),
            "median_absolute_error": skm.median_absolute_error(y_true, y_pred, sample_weight=w),
            "max_error": skm.max_error(y_true, y_pred),
        }


def assert_matches(result: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every expected value equals ours to 1e-9 relative; a None of ours has its reason."""
    for key, value in expected.items():
        assert_close(result[key], value, key)
        if result[key] is None:
            assert key in result["undefined"]


def assert_close(ours: Any, theirs: Any, where: str) -> None:
    if isinstance(theirs, dict):
        assert ours.keys() == theirs.keys(), where
        for key in theirs:
            assert_close(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            assert_close(mine, other, f"{where}[{index}]")
    elif theirs is None or isinstance(theirs, str):
        assert ours == theirs, where
    else:
        assert ours is not None, where
        assert math.isclose(ours, float(theirs), rel_tol=REL, abs_tol=ABS), (where, ours, theirs)


def assert_json_ready(value: Any) -> None:
    """Plain Python types only (no numpy scalars), and strict JSON (no NaN) round-trips.

    A whole result is a MetricsResult, the dict subclass whose extras are attributes.
    """
    assert_plain(dict(value) if type(value) is MetricsResult else value)
    assert json.loads(json.dumps(value, allow_nan=False)) == value


def assert_plain(value: Any) -> None:
    assert type(value) in (dict, list, str, int, float, bool, type(None)), type(value)
    if isinstance(value, dict):
        assert all(type(key) is str for key in value)
        for item in value.values():
            assert_plain(item)
    elif isinstance(value, list):
        for item in value:
            assert_plain(item)


# --- generated data ---------------------------------------------------------------------------


@st.composite
def classification_cases(draw: st.DrawFn, label_sets: list[list[Any]]) -> Case:
    values = draw(st.sampled_from(label_sets))
    n = draw(st.integers(1, 25))
    codes = st.integers(0, len(values) - 1)
    true_codes = draw(st.lists(codes, min_size=n, max_size=n) | codes.map(lambda c: [c] * n))
    pred_codes = draw(st.lists(codes, min_size=n, max_size=n) | codes.map(lambda c: [c] * n))
    y_true, y_pred = [values[c] for c in true_codes], [values[c] for c in pred_codes]
    labels_arg = values if draw(st.booleans()) else None
    labels = values if labels_arg is not None else sorted(set(y_true) | set(y_pred))
    pos_label_arg = draw(st.sampled_from([None, labels[0]])) if len(labels) <= 2 else None
    proba = draw(probabilities(n, len(labels))) if len(labels) >= 2 and draw(st.booleans()) else None
    one_dimensional = len(labels) == 2 and draw(st.booleans())
    weight = draw(st.none() | weights(n))
    return Case(y_true, y_pred, labels, labels_arg, proba, one_dimensional, pos_label_arg, weight)


def probabilities(n: int, k: int) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    """Rows of small integers (many ties) or floats, normalised to sum to 1."""
    cell = st.integers(0, 3) | st.floats(0.0, 1.0)
    rows = st.lists(st.lists(cell, min_size=k, max_size=k), min_size=n, max_size=n)
    return rows.map(_normalised)


def _normalised(rows: list[list[float]]) -> np.ndarray[Any, Any]:
    raw = np.asarray(rows, dtype=np.float64)
    raw[raw.sum(axis=1) == 0] = 1.0
    return raw / raw.sum(axis=1, keepdims=True)


def weights(n: int) -> st.SearchStrategy[list[float]]:
    cell = st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0.0, 10.0)
    return st.lists(cell, min_size=n, max_size=n).map(lambda w: w if sum(w) > 0 else [1.0, *w[1:]])


@st.composite
def regression_cases(draw: st.DrawFn) -> tuple[list[float], list[float], list[float] | None]:
    n = draw(st.integers(1, 30))
    value = st.floats(-1e3, 1e3, allow_subnormal=False) | st.integers(-5, 5).map(float)
    column = st.lists(value, min_size=n, max_size=n) | value.map(lambda v: [v] * n)
    y_true = draw(column)
    y_pred = draw(column | st.just(y_true))
    return y_true, y_pred, draw(st.none() | weights(n))


# --- properties -------------------------------------------------------------------------------


@PROPERTY
@given(classification_cases(BINARY_LABELS))
def test_binary_metrics_equal_sklearn(case: Case) -> None:
    result = case.ours()
    assert result["labels"] == case.labels
    assert result["task"] == "binary"
    assert_matches(result, sklearn_classification(case))
    assert_json_ready(result)


@PROPERTY
@given(classification_cases(MULTICLASS_LABELS))
def test_multiclass_metrics_equal_sklearn(case: Case) -> None:
    result = case.ours()
    assert result["labels"] == case.labels
    assert result["task"] == ("multiclass" if len(case.labels) > 2 else "binary")
    assert_matches(result, sklearn_classification(case))
    assert_json_ready(result)


@PROPERTY
@given(classification_cases(MULTICLASS_LABELS))
def test_zero_division_lists_what_sklearn_warns_about(case: Case) -> None:
    result = case.ours()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        skm.precision_recall_fscore_support(
            case.y_true, case.y_pred, labels=case.labels, average="macro", sample_weight=case.weight
        )
    messages = " ".join(str(warning.message) for warning in caught)
    hit = result["zero_division"]["metrics"]
    for name, start in (("precision", "Precision"), ("recall", "Recall"), ("f1", "F-score")):
        assert (f"{name}_macro" in hit) == (f"{start} is ill-defined" in messages)


@PROPERTY
@given(regression_cases())
@example(([9.695431912861592e-145] * 3, [1.0] * 3, [0.5, 1.0, 1.0]))
@example(([9.695431912861592e-145] * 2, [3.0] * 2, [1.0, 9.675868471517358]))
def test_regression_metrics_equal_sklearn(case: tuple[list[float], list[float], list[float] | None]) -> None:
    y_true, y_pred, weight = case
    result = calculate_regression_metrics(y_true, y_pred, sample_weight=weight)
    expected = sklearn_regression(y_true, y_pred, weight)
    if weight is not None and len(set(y_true)) == 1:
        # The weighted mean of equal values can be off by an ulp: r2 and explained_variance then divide
        # by rounding noise (scikit-learn gave -inf and -9.7453140e288 where we gave None and
        # -9.7453936e288); any finite value or None is as right as another.
        for key in ("r2", "explained_variance"):
            assert result[key] is None or math.isfinite(result[key])
            del expected[key]
    assert_matches(result, expected)
    assert_json_ready(result)


# --- edge cases -------------------------------------------------------------------------------


def test_one_label_without_labels_leaves_probabilities_undefined() -> None:
    result = calculate_classification_metrics([1, 1, 1], [1, 1, 1], [0.9, 0.8, 0.7])
    assert result["labels"] == [1]
    assert result["accuracy"] == 1.0
    assert result["cohen_kappa"] is None
    assert "single common label" in result["undefined"]["cohen_kappa"]
    assert result["matthews_corrcoef"] == 0.0
    assert "matthews_corrcoef" in result["notes"]
    for key in PROBABILITY_KEYS:
        assert result[key] is None
        assert "labels=" in result["undefined"][key]


def test_single_class_present_gives_undefined_roc_auc_and_sklearn_values() -> None:
    case = Case([1, 1, 1], [1, 0, 1], [0, 1], [0, 1], _normalised([[1, 3], [2, 1], [0, 1]]), True, None, None)
    result = case.ours()
    assert result["roc_auc"] is None
    assert "lacks positive or negative" in result["undefined"]["roc_auc"]
    assert_matches(result, sklearn_classification(case))


def test_pos_label_extends_the_labels_of_a_single_class() -> None:
    result = calculate_classification_metrics(["no", "no"], ["no", "no"], [0.2, 0.4], pos_label="yes")
    assert result["labels"] == ["no", "yes"]
    assert result["average_precision"] == 0.0
    assert "average_precision" in result["notes"]
    assert result["precision"] == 0.0
    assert {"precision", "recall", "f1"} <= set(result["zero_division"]["metrics"])
    assert result["zero_division"]["convention"] == "warn->0.0"


def test_without_probabilities_each_probability_metric_says_why() -> None:
    result = calculate_all_metrics([0, 1, 1], [0, 1, 0])
    for key in PROBABILITY_KEYS:
        assert result[key] is None
        assert result["undefined"][key] == "y_proba not given"


def test_multiclass_label_absent_from_y_true() -> None:
    proba = _normalised([[3, 1, 1], [1, 3, 1], [1, 1, 3], [2, 1, 1]])
    case = Case([0, 1, 1, 0], [0, 1, 2, 0], [0, 1, 2], [0, 1, 2], proba, False, None, None)
    result = case.ours()
    assert result["roc_auc"] is None
    assert "[2]" in result["undefined"]["roc_auc"]
    assert "balanced_accuracy" in result["notes"]
    assert_matches(result, sklearn_classification(case))


def test_unsorted_labels_order_every_per_label_output() -> None:
    y_true, y_pred = ["b", "a", "c", "c", "a"], ["a", "a", "c", "b", "c"]
    result = calculate_classification_metrics(y_true, y_pred, labels=["c", "a", "b"])
    assert result["labels"] == ["c", "a", "b"]
    assert result["confusion_matrix"] == skm.confusion_matrix(y_true, y_pred, labels=["c", "a", "b"]).tolist()
    assert [row["label"] for row in result["per_class"]] == ["c", "a", "b"]
    assert result["class_counts"] == {"y_true": [2, 2, 1], "y_pred": [2, 2, 1]}


def test_one_dimensional_proba_is_that_of_pos_label() -> None:
    y_true, y_pred, p_yes = ["yes", "no", "yes", "no"], ["yes", "no", "no", "no"], [0.8, 0.3, 0.4, 0.6]
    one = calculate_classification_metrics(y_true, y_pred, p_yes, pos_label="yes")
    two = calculate_classification_metrics(y_true, y_pred, [[1 - p, p] for p in p_yes], labels=["no", "yes"])
    assert one == two
    flipped = calculate_classification_metrics(y_true, y_pred, [1 - p for p in p_yes], pos_label="no")
    assert flipped["log_loss"] == pytest.approx(one["log_loss"], rel=REL)


def test_negative_zero_scores_tie_with_zero() -> None:
    y_true, scores = [0, 1, 0, 1, 1], np.array([0.0, -0.0, -0.0, 0.0, 0.5])
    for weight in (None, [1.0, 2.0, 1.0, 1.0, 3.0]):
        result = calculate_classification_metrics(y_true, [0, 0, 0, 0, 1], scores, sample_weight=weight)
        assert result["roc_auc"] == pytest.approx(
            skm.roc_auc_score(y_true, scores, sample_weight=weight), rel=REL
        )
        expected_ap = skm.average_precision_score(y_true, scores, sample_weight=weight)
        assert result["average_precision"] == pytest.approx(expected_ap, rel=REL)


def test_rows_summing_to_one_within_tolerance_are_accepted() -> None:
    proba = np.array([[0.2, 0.3, 0.5 + 5e-7], [0.6, 0.4 - 5e-7, 0.0]])
    result = calculate_classification_metrics([2, 0], [2, 0], proba, labels=[0, 1, 2])
    with pytest.warns(UserWarning, match="do not sum to one"):  # scikit-learn's tolerance is 1.5e-8
        expected = skm.log_loss([2, 0], proba, labels=[0, 1, 2])
    assert result["log_loss"] == pytest.approx(expected, rel=REL)


def test_expected_calibration_error_on_bin_edges() -> None:
    proba = np.array([[0.7, 0.3], [0.3, 0.7], [0.5, 0.5], [0.9, 0.1], [0.0, 1.0]])
    result = calculate_classification_metrics([0, 0, 1, 0, 1], [0, 1, 0, 0, 1], proba)
    assert result["expected_calibration_error"] == pytest.approx(reference_ece(proba, [0, 0, 1, 0, 1], None))


@pytest.mark.parametrize(
    ("y_pred", "r2", "noted"), [([2.0, 2.0, 2.0], 1.0, False), ([1.0, 2.0, 3.0], 0.0, True)]
)
def test_r2_of_constant_y_true_is_forced_finite(y_pred: list[float], r2: float, noted: bool) -> None:
    result = calculate_regression_metrics([2.0, 2.0, 2.0], y_pred)
    assert result["r2"] == r2 == skm.r2_score([2.0, 2.0, 2.0], y_pred)
    assert ("r2" in result["notes"]) is noted


def test_r2_needs_two_samples() -> None:
    result = calculate_regression_metrics([1.5], [2.5])
    assert result["r2"] is None
    assert "two samples" in result["undefined"]["r2"]
    assert result["explained_variance"] == 1.0


def test_mape_notes_zero_targets_and_matches_sklearn() -> None:
    y_true, y_pred = [0.0, 1.0, -2.0], [0.5, 1.5, -2.0]
    result = calculate_regression_metrics(y_true, y_pred)
    assert "mape" in result["notes"]
    assert result["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y_true, y_pred), rel=REL)


def test_max_error_notes_that_it_ignores_weights() -> None:
    result = calculate_regression_metrics([1.0, 2.0], [1.0, 5.0], sample_weight=[1.0, 0.0])
    assert result["max_error"] == 3.0
    assert "max_error" in result["notes"]


@pytest.mark.parametrize("pattern", ["random", "sorted", "ties", "strided", "shifted"])
def test_median_absolute_error_on_large_inputs(pattern: str) -> None:
    rng = np.random.default_rng(7)
    n = 300_001 if pattern != "sorted" else 300_000
    error = {
        "random": rng.normal(size=n),
        "sorted": np.sort(rng.normal(size=n)),
        "ties": rng.integers(0, 3, size=n).astype(np.float64),
        "strided": np.where(np.arange(n) % 18 == 0, 0.0, rng.random(n) + 1.0),
        "shifted": rng.normal(size=n) + 1e6,
    }[pattern]
    y_true = rng.normal(size=n)
    result = calculate_regression_metrics(y_true, y_true + error)
    assert result["median_absolute_error"] == skm.median_absolute_error(y_true, y_true + error)
    assert result["explained_variance"] == pytest.approx(
        skm.explained_variance_score(y_true, y_true + error), rel=REL, abs=ABS
    )


# --- business metrics -------------------------------------------------------------------------


def test_business_metrics_from_matrix_and_dict() -> None:
    y_true, y_pred = ["ok", "fraud", "ok", "ok", "fraud"], ["ok", "ok", "fraud", "ok", "fraud"]
    matrix = calculate_classification_metrics(y_true, y_pred, cost_matrix=[[0.0, 100.0], [5.0, 0.0]])
    mapping = calculate_classification_metrics(
        y_true, y_pred, cost_matrix={("fraud", "ok"): 100.0, ("ok", "fraud"): 5}
    )
    assert matrix["labels"] == ["fraud", "ok"]
    assert matrix["business"] == mapping["business"]
    assert matrix["business"] == {
        "baseline_label": "ok",
        "expected_cost": 21.0,
        "total_cost": 105.0,
        "baseline_expected_cost": 40.0,
        "baseline_cost": 200.0,
        "savings": 95.0,
        "savings_ratio": 0.475,
    }


def test_business_savings_ratio_without_baseline_cost() -> None:
    result = calculate_all_metrics(
        [0, 0, 1], [0, 1, 1], cost_matrix=[[0, 1], [0, 0]], sample_weight=[1, 2, 1]
    )
    assert result["business"]["baseline_label"] == 0
    assert result["business"]["total_cost"] == 2.0
    assert result["business"]["savings_ratio"] is None
    assert "business.savings_ratio" in result["undefined"]


def test_business_is_undefined_without_cost_matrix() -> None:
    result = calculate_classification_metrics([0, 1], [0, 1])
    assert result["business"] is None
    assert result["undefined"]["business"] == "no cost_matrix given"


# --- calculate_all_metrics --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y_true", "y_pred", "y_proba", "task"),
    [
        ([0, 1, 1], [0, 1, 0], None, "binary"),
        ([0.0, 1.0, 1.0], [0.0, 1.0, 0.0], None, "binary"),
        (["a", "b", "c"], ["a", "c", "c"], None, "multiclass"),
        ([0, 1, 1], [0, 1, 0], [[0.5, 0.2, 0.3]] * 3, "multiclass"),
        ([0.5, 1.0, 2.0], [0.4, 1.1, 2.2], None, "regression"),
        ([1, 2, 3], [1.5, 2.0, 2.5], None, "regression"),
    ],
)
def test_task_detection_and_standard_keys(y_true: Any, y_pred: Any, y_proba: Any, task: str) -> None:
    kw = {"labels": [0, 1, 2]} if y_proba is not None else {}
    result = calculate_all_metrics(y_true, y_pred, y_proba, **kw)
    assert result["task"] == task
    assert tuple(result) == STANDARD_KEYS
    own_keys = REGRESSION_KEYS if task == "regression" else CLASSIFICATION_KEYS
    for key in set(STANDARD_KEYS) - set(own_keys):
        assert result[key] is None
        assert result["undefined"][key] == f"not applicable to task {task!r}"
    assert_json_ready(result)


def test_task_can_be_forced_or_checked() -> None:
    assert calculate_all_metrics([1, 2, 3], [1, 2, 2], task="regression")["task"] == "regression"
    assert calculate_all_metrics([0, 1], [1, 1], task="binary")["task"] == "binary"
    with pytest.raises(ValueError, match=r"task='multiclass' but the data is binary"):
        calculate_all_metrics([0, 1], [1, 1], task="multiclass")
    with pytest.raises(ValueError, match=r"task must be one of"):
        calculate_all_metrics([0, 1], [1, 1], task="ranking")  # type: ignore[arg-type]


def test_function_results_have_their_documented_keys() -> None:
    assert tuple(calculate_regression_metrics([1.0, 2.0], [1.5, 2.5])) == REGRESSION_KEYS
    assert tuple(calculate_classification_metrics([0, 1], [1, 1])) == CLASSIFICATION_KEYS


def test_weighted_results_are_json_ready() -> None:
    rng = np.random.default_rng(3)
    weight = rng.random(40)
    y = rng.integers(0, 3, 40)
    proba = rng.dirichlet(np.ones(3), 40)
    assert_json_ready(
        calculate_all_metrics(y, proba.argmax(1), proba, sample_weight=weight, cost_matrix=np.eye(3))
    )
    assert_json_ready(calculate_all_metrics(rng.normal(size=40), rng.normal(size=40), sample_weight=weight))


def test_module_does_not_import_sklearn() -> None:
    code = "import sys, dsdl_golden.metrics_calculator; print('sklearn' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=child_environ()
    ).stdout
    assert output.strip() == "False"


# --- bad input --------------------------------------------------------------------------------

classify = calculate_classification_metrics
regress = calculate_regression_metrics


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: classify([0, 1, 1], [0, 1]), r"y_true and y_pred have different lengths \(3 vs 2\)"),
        (lambda: regress([], []), r"y_true is empty"),
        (lambda: classify([0, 1], []), r"y_pred is empty"),
        (lambda: regress([1.0, float("nan")], [1.0, 2.0]), r"y_true contains NaN"),
        (lambda: regress([1.0, 2.0], [1.0, float("inf")]), r"y_pred contains NaN or infinite"),
        (lambda: classify([0.0, float("nan")], [0.0, 1.0]), r"y_true contains NaN"),
        (lambda: classify([0, 1], [0.5, 1.0]), r"y_pred holds non-integer floats"),
        (lambda: regress(["a", "b"], [1.0, 2.0]), r"y_true must be numeric"),
        (lambda: classify([[0, 1], [1, 0]], [0, 1]), r"y_true must be 1-D"),
        (lambda: classify([[0, 1], [1]], [0, 1]), r"y_true must be array-like"),
        (lambda: classify([0, 1], [0, 1], [0.2, 1.2]), r"y_proba must hold probabilities in \[0, 1\]"),
        (lambda: classify([0, 1], [0, 1], [-0.1, 0.5]), r"y_proba must hold probabilities"),
        (lambda: classify([0, 1], [0, 1], [float("nan"), 0.5]), r"y_proba contains NaN"),
        (lambda: classify([0, 1], [0, 1], [[0.5, 0.4], [0.5, 0.5]]), r"y_proba rows must sum to 1.*row 0"),
        (
            lambda: classify([0, 1], [0, 1], [[0.5, 0.3, 0.2]] * 2),
            r"y_proba has 3 columns but there are 2 labels",
        ),
        (lambda: classify([0, 1, 2], [0, 1, 2], [0.1, 0.5, 0.7]), r"y_proba is 1-D but there are 3 labels"),
        (lambda: classify([0, 1], [0, 1], [0.5]), r"y_true and y_proba have different lengths"),
        (lambda: classify([0, 1], [0, 1], ["x", "y"]), r"y_proba must hold numeric"),
        (
            lambda: classify([0, 1, 2], [0, 1, 1], labels=[0, 1]),
            r"y_true contains labels not in labels: \[2\]",
        ),
        (lambda: classify([0, 1], [0, 3], labels=[0, 1]), r"y_pred contains labels not in labels: \[3\]"),
        (lambda: classify([0, 1], [0, 1], labels=[0, 1, 1]), r"labels contains duplicates"),
        (
            lambda: classify([0, 1], [0, 1], pos_label=2, labels=[0, 1]),
            r"pos_label=2 is not one of the labels",
        ),
        (lambda: classify(["a", "b"], [0, 1]), r"labels must be all numbers or all strings"),
        (
            lambda: classify(np.array(["a", None], dtype=object), ["a", "a"]),
            r"y_true must hold labels of one type",
        ),
        (
            lambda: classify([0, 1], [0, 1], sample_weight=[1.0]),
            r"y_true and sample_weight have different lengths",
        ),
        (lambda: classify([0, 1], [0, 1], sample_weight=[1.0, -1.0]), r"sample_weight must be non-negative"),
        (lambda: regress([0.5, 1], [0, 1], sample_weight=[0.0, 0.0]), r"sample_weight is all zero"),
        (lambda: regress([0.5, 1], [0, 1], sample_weight=[1.0, float("nan")]), r"sample_weight contains NaN"),
        (lambda: classify([0, 1], [0, 1], cost_matrix=[[0, 1]]), r"cost_matrix must have shape \(2, 2\)"),
        (lambda: classify([0, 1], [0, 1], cost_matrix={(0, 2): 1.0}), r"cost_matrix key \(0, 2\)"),
        (lambda: classify([0, 1], [0, 1], cost_matrix={(0, 1): "x"}), r"cost_matrix costs must be numbers"),
        (
            lambda: classify([0, 1], [0, 1], cost_matrix=[[0, 1], [float("inf"), 0]]),
            r"cost_matrix contains NaN",
        ),
        (
            lambda: calculate_all_metrics([0.5, 1.5], [1.0, 2.0], labels=[0, 1]),
            r"labels: classification arguments, but the task is regression",
        ),
    ],
)
def test_bad_input_names_the_argument(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['weights'\]"):
        calculate_all_metrics([0, 1], [0, 1], weights=[1, 1])


def test_matthews_of_a_constant_truth_is_zero_even_when_rounding_makes_its_variance_negative() -> None:
    # n**2 - sum(class weights**2) comes out at about -1e-13 here: scikit-learn 1.9 answers NaN and warns
    weight = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.6117268858282943, 1.3426479619251692]
    weight += [1.6522535768809687, 1.4, 9.73170158608393, 9.7]
    y_true, y_pred = [0] * 14, [0] * 13 + [1]
    result = calculate_classification_metrics(y_true, y_pred, labels=[0, 1, 2], sample_weight=weight)
    assert result["matthews_corrcoef"] == 0.0
    assert "constant y_true or y_pred" in result["notes"]["matthews_corrcoef"]
