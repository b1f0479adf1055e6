"""Class labels of the odd kinds users pass (object, pandas, nullable, bytes, NaN, None) and the
errors that name the input and its label kind word for word; single-column and malformed y_proba."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from dsdl_golden.metrics_calculator import calculate_all_metrics, calculate_classification_metrics

pytestmark = pytest.mark.filterwarnings("error")  # our functions warn about nothing

MIXED_OR_MISSING = "mixes label types or has missing values (None, NaN): use one type and drop missing rows"
UNSORTABLE = "must hold labels of one type and no missing values (None): convert them first"


# --- labels of odd dtypes score like the plain ones -------------------------------------------------


@pytest.mark.parametrize(
    "y_true",
    [
        pd.Series([0, 1, 1, 0, 1, 1], dtype=object),
        np.array([np.int64(0), 1, True, 0, np.int64(1), 1], dtype=object),
    ],
    ids=["pandas-object", "numpy-object-ints-and-bool"],
)
def test_object_dtype_number_labels_score_like_sklearn(y_true: Any) -> None:
    y_pred = [0, 1, 0, 0, 1, 0]
    plain = [0, 1, 1, 0, 1, 1]
    result = calculate_all_metrics(y_true, y_pred)
    assert result["task"] == "binary"
    assert result["labels"] == [0, 1]
    assert result["pos_label"] == 1
    assert result["accuracy"] == skm.accuracy_score(plain, y_pred)
    assert result["f1"] == pytest.approx(skm.f1_score(plain, y_pred))
    assert result["confusion_matrix"] == skm.confusion_matrix(plain, y_pred).tolist()


@pytest.mark.parametrize(
    "convert",
    [
        pd.Series,
        pd.Categorical,
        lambda values: pd.array(values, dtype="string"),
        lambda values: np.array(values, dtype=object),
    ],
    ids=["pandas-object", "categorical", "nullable-string", "numpy-object"],
)
def test_string_labels_in_pandas_and_object_containers_score_like_sklearn(
    convert: Callable[[list[str]], Any],
) -> None:
    y_true = ["cat", "dog", "dog", "bird", "cat", "dog"]
    y_pred = ["cat", "dog", "cat", "bird", "bird", "dog"]
    result = calculate_classification_metrics(convert(y_true), y_pred)
    assert result["task"] == "multiclass"
    assert result["labels"] == ["bird", "cat", "dog"]
    assert result["accuracy"] == skm.accuracy_score(y_true, y_pred)
    assert result["f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    assert result["confusion_matrix"] == skm.confusion_matrix(y_true, y_pred).tolist()


def test_byte_string_labels_are_strings_and_keep_their_bytes() -> None:
    y_true = np.array([b"no", b"yes", b"yes", b"no"])
    y_pred = np.array([b"no", b"yes", b"no", b"no"])
    result = calculate_classification_metrics(y_true, y_pred, pos_label=b"yes")
    assert result["labels"] == [b"no", b"yes"]
    assert result["pos_label"] == b"yes"
    assert result["recall"] == 0.5
    assert result["class_counts"] == {"y_true": [2, 2], "y_pred": [3, 1]}


def test_nullable_boolean_labels_have_false_before_true() -> None:
    y_true = pd.array([True, False, True, True], dtype="boolean")
    result = calculate_all_metrics(y_true, [True, False, False, True])
    assert result["labels"] == [False, True]
    assert result["pos_label"] is True
    assert result["recall"] == pytest.approx(2 / 3)


def test_class_counts_are_whole_numbers_in_the_json() -> None:
    result = calculate_classification_metrics(
        pd.Series(["b", "a", "b"], dtype=object), ["b", "b", "b"], labels=["a", "b", "c"]
    )
    assert json.dumps(result["class_counts"]) == '{"y_true": [1, 2, 0], "y_pred": [0, 3, 0]}'


# --- refused labels, word for word --------------------------------------------------------------------


def _mixed_kinds(families: str) -> str:
    return f"labels must be all numbers or all strings, got {{{families}}}: convert them to one type"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: calculate_classification_metrics(["a", "b"], [0, 1]),
            _mixed_kinds("'y_true': 'strings', 'y_pred': 'numbers'"),
        ),
        (
            lambda: calculate_classification_metrics(pd.Series([0, 1], dtype=object), ["a", "b"]),
            _mixed_kinds("'y_true': 'numbers', 'y_pred': 'strings'"),
        ),
        (
            lambda: calculate_all_metrics(["a", "b"], ["a", "b"], pos_label=1),
            _mixed_kinds("'y_true': 'strings', 'y_pred': 'strings', 'pos_label': 'numbers'"),
        ),
        (
            lambda: calculate_classification_metrics(["a", "b"], ["b", "a"], labels=[0, 1]),
            _mixed_kinds("'y_true': 'strings', 'y_pred': 'strings', 'labels': 'numbers'"),
        ),
    ],
    ids=["strings-vs-numbers", "object-numbers-vs-strings", "numeric-pos-label", "numeric-labels"],
)
def test_labels_of_different_kinds_are_refused_naming_the_kind_of_each_input(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        call()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"y_true": np.array([0, 1, float("nan")], dtype=object)}, f"y_true {MIXED_OR_MISSING}"),
        ({"y_pred": np.array([0, 1, float("nan")], dtype=object)}, f"y_pred {MIXED_OR_MISSING}"),
        ({"labels": np.array([0, 1, float("nan")], dtype=object)}, f"labels {MIXED_OR_MISSING}"),
        ({"y_pred": np.array(["a", None, "b"], dtype=object)}, f"y_pred {UNSORTABLE}"),
        ({"y_true": pd.Categorical(["a", "b", None])}, f"y_true {UNSORTABLE}"),
        ({"y_true": pd.array(["a", "b", None], dtype="string")}, f"y_true {UNSORTABLE}"),
        (
            {"y_true": pd.array([0, 1, None], dtype="Int64")},
            "y_true contains NaN or infinite values: drop or impute those rows first",
        ),
    ],
    ids=[
        "nan-in-object-y_true",
        "nan-in-object-y_pred",
        "nan-in-object-labels",
        "none-in-y_pred",
        "categorical-nan",
        "nullable-string-na",
        "nullable-int-na",
    ],
)
def test_missing_labels_are_refused_naming_the_input(arguments: dict[str, Any], message: str) -> None:
    numbers = {"y_true": [0, 1, 1], "y_pred": [0, 1, 0]}
    strings = {"y_true": ["a", "b", "b"], "y_pred": ["a", "b", "a"]}
    base = strings if message.endswith(UNSORTABLE) else numbers
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        calculate_classification_metrics(**{**base, **arguments})


def test_text_and_byte_string_labels_together_are_refused_as_labels_of_two_types() -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(f'labels {UNSORTABLE}')}$"):
        calculate_classification_metrics(pd.Series(["no", "yes"]), np.array([b"no", b"yes"]))


def test_given_labels_that_cannot_be_ordered_are_refused_as_labels_of_two_types() -> None:
    # Both are numbers, but neither Fraction nor numpy's extended-precision float can compare to the other.
    labels = np.array([Fraction(1, 2), np.longdouble(1)], dtype=object)
    with pytest.raises(ValueError, match=f"^{re.escape(f'labels {UNSORTABLE}')}$"):
        calculate_classification_metrics([1, 1], [1, 1], labels=labels)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ([], "labels is empty: pass at least one sample"),
        ([[0, 1], [1, 0]], "labels must be 1-D (one value per sample), got shape (2, 2)"),
        (
            [0.5, 1.0],
            "labels holds non-integer floats, which are regression targets, not class labels: "
            "use calculate_regression_metrics, or pass integer or string labels",
        ),
        ([0, 1, 0], "labels contains duplicates: list each class once"),
    ],
    ids=["empty", "2-D", "fractions", "duplicates"],
)
def test_bad_labels_argument_is_named_labels(labels: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        calculate_all_metrics([0, 1], [0, 1], labels=labels)


# --- pos_label of three labels, and y_proba shapes -------------------------------------------------


def test_pos_label_of_three_labels_leaves_the_task_multiclass() -> None:
    y_true, y_pred = ["a", "b", "c", "a"], ["a", "b", "b", "a"]
    result = calculate_all_metrics(y_true, y_pred, pos_label="a")
    assert result["task"] == "multiclass"
    assert result["pos_label"] is None
    assert result["f1"] == pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))
    message = "y_proba is 1-D but there are 3 labels: pass an (n_samples, 3) array, one column per label"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        calculate_all_metrics(y_true, y_pred, [0.9, 0.1, 0.2, 0.8], pos_label="a")


def test_single_column_proba_is_the_probability_of_pos_label() -> None:
    y_true = ["ham", "spam", "spam", "ham", "spam"]
    y_pred = ["ham", "spam", "ham", "ham", "spam"]
    spam = [0.1, 0.8, 0.4, 0.3, 0.9]
    result = calculate_classification_metrics(y_true, y_pred, [[p] for p in spam])
    assert result["roc_auc"] == pytest.approx(skm.roc_auc_score(y_true, spam))
    assert result["log_loss"] == pytest.approx(skm.log_loss(y_true, [[1 - p, p] for p in spam]))
    assert result == calculate_classification_metrics(y_true, y_pred, spam)


@pytest.mark.parametrize(
    ("y_proba", "message"),
    [
        (np.full((2, 2, 1), 0.5), "y_proba must be 1-D or 2-D (samples x labels), got shape (2, 2, 1)"),
        (
            [0.25, 1.5],
            "y_proba must hold probabilities in [0, 1], got values from 0.25 to 1.5: "
            "pass predict_proba output, not scores or logits",
        ),
        ([0.25, float("nan")], "y_proba contains NaN: drop or impute those rows first"),
    ],
    ids=["3-D", "logits", "nan"],
)
def test_malformed_probabilities_are_refused_word_for_word(y_proba: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        calculate_classification_metrics([0, 1], [0, 1], y_proba)
