"""Plots of a model's holdout: confusion matrix and ROC curves, residuals, or the forecast.

Drawn with scikit-learn's display classes on a matplotlib ``Figure`` (no pyplot, so it works in
notebooks, scripts and servers alike); the figure shows itself when it is a cell's value and
``path=`` writes it as a PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dsdl_golden.lifecycle import GoldenModel

__all__ = ["plot_model"]


def _classification(figure: Figure, holdout: dict[str, Any]) -> None:
    from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay  # type: ignore[import-untyped]

    matrix_axes, roc_axes = figure.subplots(1, 2)
    labels = holdout["labels"]
    ConfusionMatrixDisplay.from_predictions(
        holdout["y_true"], holdout["y_pred"], labels=labels, ax=matrix_axes, colorbar=False
    )
    matrix_axes.set_title("Confusion matrix (holdout)")
    probabilities = holdout["y_proba"]
    if probabilities is None:
        roc_axes.text(0.5, 0.5, "the model gives no probabilities", ha="center", va="center")
        roc_axes.set_axis_off()
        return
    truth = np.asarray(holdout["y_true"], dtype=object)
    positives = labels[1:] if len(labels) == 2 else labels
    for label in positives:
        column = labels.index(label)
        if (truth == label).any() and (truth != label).any():
            RocCurveDisplay.from_predictions(
                truth == label, probabilities[:, column], name=str(label), ax=roc_axes
            )
    roc_axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    roc_axes.set_title("ROC (holdout, one class against the rest)")


def _regression(figure: Figure, holdout: dict[str, Any]) -> None:
    from sklearn.metrics import PredictionErrorDisplay

    actual_axes, residual_axes = figure.subplots(1, 2)
    truth, predicted = holdout["y_true"].astype(float), holdout["y_pred"].astype(float)
    PredictionErrorDisplay.from_predictions(truth, predicted, kind="actual_vs_predicted", ax=actual_axes)
    actual_axes.set_title("Actual against predicted (holdout)")
    PredictionErrorDisplay.from_predictions(truth, predicted, kind="residual_vs_predicted", ax=residual_axes)
    residual_axes.set_title("Residuals (holdout)")


def _forecast(figure: Figure, holdout: dict[str, Any]) -> None:
    axes = figure.subplots()
    steps = np.arange(1, len(holdout["y_true"]) + 1)
    axes.plot(steps, holdout["y_true"].astype(float), label="actual")
    axes.plot(steps, holdout["y_pred"].astype(float), label="forecast")
    axes.set_xlabel("steps after the training series")
    axes.set_title("Forecast of the holdout")
    axes.legend()


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
    from matplotlib.figure import Figure

    task = model.task
    figure = Figure(figsize=(11, 4.5) if task != "forecast" else (9, 4), layout="constrained")
    {"classification": _classification, "regression": _regression, "forecast": _forecast}[task or ""](
        figure, holdout
    )
    figure.suptitle(f"{model.name}: {model.adapter.describe() if model.adapter else ''}"[:120])
    if path is not None:
        figure.savefig(path, format="png", dpi=110)
    return figure
