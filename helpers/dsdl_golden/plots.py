"""Plots of predictions: confusion matrix, ROC and precision-recall curves, residuals, forecasts.

Drawn with scikit-learn's display classes on a matplotlib ``Figure`` (no pyplot, so it works in
notebooks, scripts and servers alike); the figure shows itself when it is a cell's value and
``path=`` writes it as a PNG. matplotlib and scikit-learn are imported when a plot is drawn.

- :func:`plot_metrics` draws a :class:`~dsdl_golden.metrics_calculator.MetricsResult` of a
  classification (its confusion matrix and, for a binary task with ``y_proba``, its curves);
- :func:`plot_classification` and :func:`plot_regression` draw predictions;
- :func:`plot_model` draws a lifecycle model's holdout predictions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dsdl_golden._metrics.inputs import float_vector, proba_argument, same_length
from dsdl_golden.metrics_calculator import calculate_classification_metrics

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from dsdl_golden.lifecycle import GoldenModel

__all__ = ["plot_classification", "plot_metrics", "plot_model", "plot_regression"]

#: One ROC curve: its name, false and true positive rates, and area (None: not known).
RocPoints = tuple[str, Sequence[float], Sequence[float], float | None]
_PANEL_SIZE = (4.2, 4.2)


def _figure(panels: int) -> Figure:
    from matplotlib.figure import Figure

    width, height = _PANEL_SIZE
    return Figure(figsize=(width * panels + 0.6, height + 0.3), layout="constrained")


def _finished(figure: Figure, path: str | Path | None) -> Figure:
    if path is not None:
        figure.savefig(path, format="png", dpi=110)
    return figure


def _draw_confusion(axes: Axes, matrix: Sequence[Sequence[float]], labels: Sequence[Any]) -> None:
    from sklearn.metrics import ConfusionMatrixDisplay  # type: ignore[import-untyped]

    display = ConfusionMatrixDisplay(np.asarray(matrix), display_labels=[str(label) for label in labels])
    display.plot(ax=axes, colorbar=False)
    axes.set_title("Confusion matrix")


def _draw_roc(axes: Axes, curves: Sequence[RocPoints]) -> None:
    from sklearn.metrics import RocCurveDisplay

    for name, fpr, tpr, area in curves:
        RocCurveDisplay(fpr=np.asarray(fpr), tpr=np.asarray(tpr), roc_auc=area, name=name).plot(ax=axes)
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set_title("ROC" if len(curves) == 1 else "ROC (one class against the rest)")


def _draw_precision_recall(axes: Axes, points: Mapping[str, Sequence[float]], area: float | None) -> None:
    from sklearn.metrics import PrecisionRecallDisplay

    PrecisionRecallDisplay(
        precision=np.asarray(points["precision"]), recall=np.asarray(points["recall"]), average_precision=area
    ).plot(ax=axes)
    axes.set_title("Precision-recall")


def _draw_message(axes: Axes, title: str, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    axes.set_axis_off()
    axes.set_title(title)


def _draw_metrics(figure: Figure, metrics: Mapping[str, Any], curves: Mapping[str, Any]) -> None:
    """Confusion matrix, then the ROC and precision-recall curves when ``curves`` has them."""
    panels = figure.subplots(1, 3 if curves else 1, squeeze=False)[0]
    _draw_confusion(panels[0], metrics["confusion_matrix"], metrics["labels"])
    if curves:
        roc = curves["roc"]
        _draw_roc(panels[1], [(str(metrics["pos_label"]), roc["fpr"], roc["tpr"], metrics["roc_auc"])])
        _draw_precision_recall(panels[2], curves["precision_recall"], metrics["average_precision"])


def _one_vs_rest_roc(y_true: Any, y_proba: np.ndarray[Any, Any], labels: list[Any]) -> list[RocPoints]:
    """ROC curves of each label present with a negative in ``y_true``, from the data."""
    from sklearn.metrics import roc_auc_score, roc_curve

    truth = np.asarray(y_true, dtype=object)
    curves: list[RocPoints] = []
    for column, label in enumerate(labels):
        positive = truth == label
        if positive.any() and not positive.all():
            fpr, tpr, _ = roc_curve(positive, y_proba[:, column])
            curves.append((str(label), fpr, tpr, float(roc_auc_score(positive, y_proba[:, column]))))
    return curves


def _draw_classification(figure: Figure, y_true: Any, y_pred: Any, y_proba: Any, labels: Any) -> None:
    """Binary: :func:`_draw_metrics`; multiclass: confusion matrix and one-vs-rest ROC curves."""
    metrics = calculate_classification_metrics(y_true, y_pred, y_proba, labels=labels)
    if metrics["task"] == "binary" and metrics.curves:
        _draw_metrics(figure, metrics, metrics.curves)
        return
    matrix_axes, roc_axes = figure.subplots(1, 2)
    _draw_confusion(matrix_axes, metrics["confusion_matrix"], metrics["labels"])
    if metrics["task"] == "binary" or y_proba is None:
        _draw_message(roc_axes, "ROC", f"no ROC curve: {metrics['undefined']['roc_auc']}")
        return
    proba = np.asarray(y_proba, dtype=np.float64)
    _draw_roc(roc_axes, _one_vs_rest_roc(y_true, proba, metrics["labels"]))


def _draw_regression(figure: Figure, y_true: np.ndarray[Any, Any], y_pred: np.ndarray[Any, Any]) -> None:
    from sklearn.metrics import PredictionErrorDisplay

    actual_axes, residual_axes = figure.subplots(1, 2)
    PredictionErrorDisplay.from_predictions(y_true, y_pred, kind="actual_vs_predicted", ax=actual_axes)
    actual_axes.set_title("Actual against predicted")
    PredictionErrorDisplay.from_predictions(y_true, y_pred, kind="residual_vs_predicted", ax=residual_axes)
    residual_axes.set_title("Residuals")


def _draw_forecast(figure: Figure, y_true: np.ndarray[Any, Any], y_pred: np.ndarray[Any, Any]) -> None:
    axes = figure.subplots()
    steps = np.arange(1, len(y_true) + 1)
    axes.plot(steps, y_true, label="actual")
    axes.plot(steps, y_pred, label="forecast")
    axes.set_xlabel("steps after the training series")
    axes.set_title("Forecast of the holdout")
    axes.legend()


def plot_metrics(metrics: Mapping[str, Any], *, path: str | Path | None = None) -> Figure:
    """A figure of a classification's metrics: confusion matrix, ROC and precision-recall curves.

    The curves are drawn from ``metrics.curves`` (a binary task with ``y_proba``); without them
    the figure holds the confusion matrix only.

    Parameters
    ----------
    metrics : MetricsResult
        A classification result of :func:`~dsdl_golden.metrics_calculator.calculate_all_metrics`
        or :func:`~dsdl_golden.metrics_calculator.calculate_classification_metrics`.
    path : path, optional
        Also write the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        ``metrics`` is a regression result (its plots need the data: use :func:`plot_regression`)
        or has no confusion matrix.

    Examples
    --------
    >>> from dsdl_golden.metrics_calculator import calculate_all_metrics
    >>> metrics = calculate_all_metrics([0, 1, 1, 0], [0, 1, 0, 0], y_proba=[0.1, 0.8, 0.4, 0.3])
    >>> figure = plot_metrics(metrics)
    >>> [axes.get_title() for axes in figure.axes]
    ['Confusion matrix', 'ROC', 'Precision-recall']
    """
    if metrics.get("task") == "regression":
        raise ValueError(
            "a regression result has no curves to draw: call plot_regression(y_true, y_pred) "
            "for the residual plot"
        )
    if not metrics.get("confusion_matrix") or not metrics.get("labels"):
        raise ValueError(
            "metrics has no confusion_matrix and labels: pass the result of calculate_all_metrics "
            "or calculate_classification_metrics"
        )
    curves = getattr(metrics, "curves", {})
    figure = _figure(3 if curves else 1)
    _draw_metrics(figure, metrics, curves)
    return _finished(figure, path)


def plot_classification(
    y_true: Any,
    y_pred: Any,
    y_proba: Any = None,
    *,
    labels: Any = None,
    y_prob: Any = None,
    path: str | Path | None = None,
) -> Figure:
    """A figure of class predictions: confusion matrix, and ROC (and precision-recall) curves.

    Binary with ``y_proba``: as :func:`plot_metrics`; multiclass with ``y_proba``: the ROC curve of
    each class against the rest; without ``y_proba``: the confusion matrix and why no curve.

    Parameters
    ----------
    y_true, y_pred : array-like of labels
        True and predicted classes, one per sample.
    y_proba : array-like, optional
        ``(n_samples, n_labels)`` probabilities in ``labels`` order, or for two labels the 1-D
        probability of the last one (as ``calculate_classification_metrics`` takes them).
    labels : array-like, optional
        Label order of the matrix and of the columns of ``y_proba`` (default: sorted).
    y_prob : array-like, optional
        Another name of ``y_proba``; pass one of them.
    path : path, optional
        Also write the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Bad input, as :func:`~dsdl_golden.metrics_calculator.calculate_classification_metrics`
        explains it (lengths, label types, probabilities), or both ``y_proba`` and ``y_prob``.

    Examples
    --------
    >>> figure = plot_classification(["a", "b", "c", "a"], ["a", "b", "b", "a"])
    >>> [axes.get_title() for axes in figure.axes]
    ['Confusion matrix', 'ROC']
    """
    proba = proba_argument(y_proba, y_prob)
    figure = _figure(3)
    _draw_classification(figure, y_true, y_pred, proba, labels)
    return _finished(figure, path)


def plot_regression(y_true: Any, y_pred: Any, *, path: str | Path | None = None) -> Figure:
    """A figure of numeric predictions: actual against predicted, and residuals against predicted.

    Parameters
    ----------
    y_true, y_pred : array-like of numbers
        True and predicted values, one per sample, finite.
    path : path, optional
        Also write the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        Empty, non-numeric, non-finite or different-length inputs.

    Examples
    --------
    >>> figure = plot_regression([1.0, 2.0, 3.5], [1.1, 1.8, 3.0])
    >>> [axes.get_title() for axes in figure.axes]
    ['Actual against predicted', 'Residuals']
    """
    truth = float_vector(y_true, "y_true")
    predicted = float_vector(y_pred, "y_pred")
    same_length(truth.size, predicted, "y_pred")
    figure = _figure(2)
    _draw_regression(figure, truth, predicted)
    return _finished(figure, path)


def plot_model(model: GoldenModel, *, path: str | Path | None = None) -> Figure:
    """A figure of the model's holdout predictions, by task.

    Parameters
    ----------
    model : GoldenModel
        Fitted in this process with a holdout (``holdout`` > 0).
    path : path, optional
        Also write the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        The model has no holdout predictions (loaded from disk, or fitted with ``holdout=0``).

    Examples
    --------
    >>> plot_model(object())
    Traceback (most recent call last):
    ValueError: no holdout predictions to plot: fit the model in this session with holdout > 0 ...
    """
    holdout = getattr(model, "holdout", None)
    if not holdout:
        raise ValueError(
            "no holdout predictions to plot: fit the model in this session with holdout > 0 (the default 0.2)"
        )
    task = model.task
    if task == "classification":
        figure = _figure(3)
        _draw_classification(
            figure, holdout["y_true"], holdout["y_pred"], holdout["y_proba"], holdout["labels"]
        )
    else:
        truth, predicted = holdout["y_true"].astype(float), holdout["y_pred"].astype(float)
        forecast = task == "forecast"
        figure = _figure(1 if forecast else 2)
        (_draw_forecast if forecast else _draw_regression)(figure, truth, predicted)
    figure.suptitle(f"{model.name}: {model.adapter.describe() if model.adapter else ''}"[:120])
    return _finished(figure, path)
