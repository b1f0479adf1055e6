"""Model metrics for DSDL notebooks as one JSON-ready dict with the same keys every time.

Every value equals scikit-learn's (1.9) on the same input to 1e-9 relative, sample weights
included, and follows its conventions:

* 0/0 in precision, recall or F1 is 0.0 (``zero_division="warn"``, warning silenced); the dict's
  ``zero_division`` lists the metrics that hit it.
* ``matthews_corrcoef`` is 0.0 when undefined; ``balanced_accuracy`` leaves out labels absent from
  ``y_true``; ``average_precision`` is 0.0 for a label without positives (noted in ``notes``).
* ``r2`` and ``explained_variance`` use ``force_finite=True``; ``mape`` divides by
  ``max(|y_true|, eps)``; ``max_error`` ignores sample weights; ``log_loss`` clips probabilities to
  ``[eps, 1 - eps]``; ``brier_score`` is halved for two classes only (``scale_by_half="auto"``).
* ``roc_auc`` and ``average_precision`` are those of ``pos_label`` for binary tasks and the macro
  average of one-vs-rest for multiclass ones.

A metric that cannot be computed (no ``y_proba``, a single class, fewer than two samples for
``r2``) is None and ``undefined`` maps its name to the reason. NaN never appears. Probabilities
are computed in float64. Bad input raises ``ValueError`` naming the argument and the fix.
``expected_calibration_error`` has no scikit-learn counterpart: it is the top-label ECE over 10
equal-width confidence bins, the prediction being the argmax of ``y_proba``.

Results are :class:`MetricsResult` dicts: ``curves`` carries the ROC and precision-recall points
of a binary task with ``y_proba`` (``dsdl_golden.plots.plot_metrics`` draws them, and Jupyter
shows the result as a table), ``descriptor_keys`` names the keys that are not measurements.
``y_prob`` is accepted as another name of ``y_proba``.

Key names are stable (dashboards and saved results use them): short names for the common
regression metrics, scikit-learn's names for the others. What each key is:

==========================  =========================================  ===============================
key                         meaning                                    scikit-learn function
==========================  =========================================  ===============================
accuracy                    share of correct predictions               accuracy_score
balanced_accuracy           mean recall over the labels of y_true      balanced_accuracy_score
precision, recall, f1       of pos_label (binary), else macro          precision_recall_fscore_support
<m>_macro/_micro/_weighted  precision, recall, f1 averaged that way    the same, with ``average=``
matthews_corrcoef           Matthews correlation coefficient           matthews_corrcoef
cohen_kappa                 Cohen's kappa                              cohen_kappa_score
roc_auc                     area under the ROC curve                   roc_auc_score
average_precision           step-wise area under precision-recall      average_precision_score
log_loss                    mean negative log-likelihood of y_true     log_loss
brier_score                 mean squared error of the probabilities    brier_score_loss
expected_calibration_error  top-label ECE, 10 equal-width bins         (none)
confusion_matrix            counts: rows true, columns predicted       confusion_matrix
per_class                   precision, recall, f1, support per label   precision_recall_fscore_support
mae                         mean absolute error                        mean_absolute_error
mse                         mean squared error                         mean_squared_error
rmse                        root mean squared error                    root_mean_squared_error
r2                          coefficient of determination               r2_score
explained_variance          explained variance                         explained_variance_score
mape                        mean absolute percentage error (fraction)  mean_absolute_percentage_error
median_absolute_error       median absolute error                      median_absolute_error
max_error                   largest absolute error                     max_error
==========================  =========================================  ===============================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal

import numpy as np

from ._metrics.business import business_metrics, cost_matrix_array
from ._metrics.confusion import add_confusion_metrics, confusion_counts
from ._metrics.core import MetricSet, Undefined, to_python
from ._metrics.display import metrics_html
from ._metrics.inputs import (
    float_vector,
    has_fraction,
    proba_argument,
    same_length,
    sample_weights,
    vector,
)
from ._metrics.labels import LabelledData, prepare_classification
from ._metrics.probability import add_probability_metrics
from ._metrics.regression import add_regression_metrics

__all__ = [
    "CLASSIFICATION_KEYS",
    "REGRESSION_KEYS",
    "STANDARD_KEYS",
    "MetricsResult",
    "calculate_all_metrics",
    "calculate_classification_metrics",
    "calculate_regression_metrics",
]

Task = Literal["auto", "regression", "binary", "multiclass"]
TASKS: Final = ("auto", "regression", "binary", "multiclass")

CLASSIFICATION_KEYS: Final = (
    "task",
    "n_samples",
    "labels",
    "pos_label",
    "class_counts",
    "average",
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    *(
        f"{metric}_{average}"
        for average in ("macro", "micro", "weighted")
        for metric in ("precision", "recall", "f1")
    ),
    "matthews_corrcoef",
    "cohen_kappa",
    "roc_auc",
    "average_precision",
    "log_loss",
    "brier_score",
    "expected_calibration_error",
    "confusion_matrix",
    "per_class",
    "zero_division",
    "business",
    "undefined",
    "notes",
)
"""Keys of :func:`calculate_classification_metrics`, in order."""

REGRESSION_KEYS: Final = (
    "task",
    "n_samples",
    "mae",
    "mse",
    "rmse",
    "r2",
    "explained_variance",
    "mape",
    "median_absolute_error",
    "max_error",
    "undefined",
    "notes",
)
"""Keys of :func:`calculate_regression_metrics`, in order."""

STANDARD_KEYS: Final = (
    *CLASSIFICATION_KEYS[:-2],
    *(key for key in REGRESSION_KEYS if key not in CLASSIFICATION_KEYS),
    "undefined",
    "notes",
)
"""Keys of :func:`calculate_all_metrics`, whatever the task, in order."""

_CLASSIFICATION_OPTIONS: Final = frozenset({"labels", "pos_label", "sample_weight", "cost_matrix"})


class MetricsResult(dict[str, Any]):
    """The dict returned by the ``calculate_*_metrics`` functions, with plot-ready extras.

    It is a plain ``dict`` for every use (keys, ``json.dumps``, ``==`` with a dict, pickling); the
    extras are attributes, so they never change the keys.

    Parameters
    ----------
    values : mapping
        The metrics.
    curves : dict, optional
        Plot-ready points, see :attr:`curves`.

    Attributes
    ----------
    curves : dict
        For a binary task with ``y_proba`` and both classes in ``y_true``: ``"roc"`` (``fpr``,
        ``tpr``, ``thresholds``, as scikit-learn's ``roc_curve``) and ``"precision_recall"``
        (``precision``, ``recall``, ``thresholds``, as ``precision_recall_curve``), lists of at most
        200 floats each; empty otherwise (multiclass, no ``y_proba``, regression).
    descriptor_keys : frozenset of str
        Keys that describe the data or the conventions rather than measure the model (labels,
        counts, the confusion matrix, reasons and notes): not metric time series.

    Examples
    --------
    >>> result = MetricsResult({"task": "regression", "mae": 0.5}, curves={})
    >>> result == {"task": "regression", "mae": 0.5}, result.curves
    (True, {})
    >>> sorted(key for key in result if key not in result.descriptor_keys)
    ['mae']
    """

    descriptor_keys: ClassVar[frozenset[str]] = frozenset(
        {
            "task",
            "labels",
            "pos_label",
            "class_counts",
            "average",
            "confusion_matrix",
            "zero_division",
            "undefined",
            "notes",
        }
    )

    def __init__(
        self, values: Mapping[str, Any], *, curves: dict[str, dict[str, list[float]]] | None = None
    ) -> None:
        super().__init__(values)
        self.curves: dict[str, dict[str, list[float]]] = {} if curves is None else curves

    def _repr_html_(self) -> str:
        """Jupyter's view: the scalar metrics, then the confusion matrix, as HTML tables."""
        return metrics_html(self)


def calculate_regression_metrics(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> MetricsResult:
    """Regression metrics: the keys of :data:`REGRESSION_KEYS` (``task`` is ``"regression"``).

    A :class:`MetricsResult` without curves: a residual plot needs the data, see
    :func:`dsdl_golden.plots.plot_regression`.
    """
    true = float_vector(y_true, "y_true")
    pred = float_vector(y_pred, "y_pred")
    same_length(true.size, pred, "y_pred")
    weight = sample_weights(sample_weight, true.size)
    out = MetricSet()
    out.values.update(task="regression", n_samples=true.size)
    add_regression_metrics(out, true, pred, weight)
    return _result(out, REGRESSION_KEYS)


def calculate_classification_metrics(
    y_true: Any,
    y_pred: Any,
    y_proba: Any = None,
    *,
    labels: Any = None,
    pos_label: Any = None,
    sample_weight: Any = None,
    cost_matrix: Any = None,
    y_prob: Any = None,
) -> MetricsResult:
    """Binary (at most two labels) or multiclass metrics: the keys of :data:`CLASSIFICATION_KEYS`.

    ``labels`` fixes the label order of ``confusion_matrix``, ``class_counts``, ``per_class`` and of
    the columns of ``y_proba`` (default: the sorted labels of ``y_true``, ``y_pred`` and
    ``pos_label``); every label seen must be listed. ``pos_label`` defaults to the last label (1 for
    0/1 targets). ``y_proba`` is ``(n_samples, n_labels)``, or 1-D holding the probability of
    ``pos_label``. Top-level ``precision``, ``recall`` and ``f1`` are those of ``pos_label`` for
    binary tasks and macro averages for multiclass ones (``average`` says which).

    ``cost_matrix[i][j]`` (array-like, or a dict ``{(true, predicted): cost}``, missing pairs cost 0)
    is the cost of predicting label j for label i; it adds ``business``: ``expected_cost`` (per
    unit of weight), ``total_cost``, the same for always predicting the majority true label
    (``baseline_label``, ``baseline_cost``, ``baseline_expected_cost``), ``savings`` against that
    baseline and ``savings_ratio``.

    ``y_prob`` is another name of ``y_proba`` (pass one of them). The result is a
    :class:`MetricsResult`; for a binary task with ``y_proba`` its ``curves`` hold the ROC and
    precision-recall points (:func:`dsdl_golden.plots.plot_metrics` draws them).
    """
    return _classification_task(
        y_true,
        y_pred,
        proba_argument(y_proba, y_prob),
        "auto",
        labels=labels,
        pos_label=pos_label,
        sample_weight=sample_weight,
        cost_matrix=cost_matrix,
    )


def calculate_all_metrics(
    y_true: Any, y_pred: Any, y_proba: Any = None, *, task: Task = "auto", y_prob: Any = None, **kw: Any
) -> MetricsResult:
    """Metrics of any task as one dict with the keys of :data:`STANDARD_KEYS`.

    ``task="auto"`` picks regression when there is no ``y_proba`` and ``y_true`` or ``y_pred``
    holds non-integer floats, else binary (at most two labels) or multiclass classification, as
    scikit-learn's ``type_of_target`` would (pass ``task="regression"`` for whole-number
    regression targets); ``"binary"``, ``"multiclass"`` and ``"regression"`` insist. ``kw``
    takes the keyword arguments of :func:`calculate_classification_metrics` (regression:
    ``sample_weight`` only). Metrics of the other kind of task are None, with the reason in
    ``undefined``. ``y_prob`` is another name of ``y_proba``. The result is a :class:`MetricsResult`
    (curves as in :func:`calculate_classification_metrics`).
    """
    y_proba = proba_argument(y_proba, y_prob)
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    unknown = set(kw) - _CLASSIFICATION_OPTIONS
    if unknown:
        raise TypeError(f"calculate_all_metrics() got unexpected keyword arguments {sorted(unknown)}")
    true, pred = vector(y_true, "y_true"), vector(y_pred, "y_pred")
    if task == "regression" or (
        task == "auto" and y_proba is None and (has_fraction(true) or has_fraction(pred))
    ):
        _refuse_classification_options(y_proba, kw)
        result = calculate_regression_metrics(true, pred, sample_weight=kw.get("sample_weight"))
    else:
        result = _classification_task(true, pred, y_proba, task, **kw)
    return _standardized(result)


def _refuse_classification_options(y_proba: Any, kw: dict[str, Any]) -> None:
    given = [name for name, value in {"y_proba": y_proba, **kw}.items() if value is not None]
    misplaced = [name for name in given if name != "sample_weight"]
    if misplaced:
        raise ValueError(
            f"{', '.join(misplaced)}: classification arguments, but the task is regression; "
            "drop them or pass a classification task"
        )


def _classification_task(
    y_true: Any,
    y_pred: Any,
    y_proba: Any,
    task: Task,
    *,
    labels: Any = None,
    pos_label: Any = None,
    sample_weight: Any = None,
    cost_matrix: Any = None,
) -> MetricsResult:
    data = prepare_classification(
        y_true, y_pred, y_proba, labels=labels, pos_label=pos_label, sample_weight=sample_weight
    )
    found = _task_of(data)
    if task not in ("auto", found):
        raise ValueError(
            f"task={task!r} but the data is {found} with {data.labels.size} labels: "
            "pass task='auto', or labels= listing every class"
        )
    return _classification_metrics(data, pos_label, cost_matrix)


def _task_of(data: LabelledData) -> str:
    return "binary" if data.pos is not None else "multiclass"


def _classification_metrics(data: LabelledData, pos_label: Any, cost_matrix: Any) -> MetricsResult:
    costs = None if cost_matrix is None else cost_matrix_array(cost_matrix, data.labels)
    out = MetricSet()
    out.values.update(
        task=_task_of(data),
        n_samples=data.n_samples,
        labels=[to_python(label) for label in data.labels.tolist()],
        pos_label=None if data.pos is None else to_python(data.labels[data.pos]),
        class_counts={"y_true": data.true_counts.tolist(), "y_pred": data.pred_counts.tolist()},
    )
    if pos_label is not None and data.pos is None:
        out.note("pos_label", "ignored: the task is multiclass")
    counts = confusion_counts(data)
    add_confusion_metrics(out, counts, data)
    add_probability_metrics(out, data)
    if costs is None:
        out.put("business", Undefined("no cost_matrix given"))
    else:
        out.values["business"] = business_metrics(out, counts.astype(np.float64), costs, data.labels)
    return _result(out, CLASSIFICATION_KEYS)


def _result(out: MetricSet, keys: tuple[str, ...]) -> MetricsResult:
    values = out.as_dict()
    return MetricsResult({key: values[key] for key in keys}, curves=out.curves)


def _standardized(result: MetricsResult) -> MetricsResult:
    missing = [key for key in STANDARD_KEYS if key not in result]
    reason = f"not applicable to task {result['task']!r}"
    undefined = {**result["undefined"], **dict.fromkeys(missing, reason)}
    return MetricsResult(
        {**{key: result.get(key) for key in STANDARD_KEYS}, "undefined": undefined}, curves=result.curves
    )
