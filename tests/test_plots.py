"""Plots a data scientist reaches for: from a metrics result, from predictions, from a lifecycle model.

Figures are checked by what they draw (titles, curve points, one ROC line per class) and by the PNG
``path=`` writes; nothing opens a window.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from golden_testing import child_environ
from matplotlib.figure import Figure
from sklearn.linear_model import LinearRegression, LogisticRegression

from dsdl_golden import lifecycle
from dsdl_golden._csv_codec import read_csv
from dsdl_golden.metrics_calculator import calculate_all_metrics
from dsdl_golden.plots import plot_classification, plot_metrics, plot_model, plot_regression

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA = Path(__file__).resolve().parents[1] / "template" / "data"


def binary_data(n: int = 400) -> tuple[np.ndarray[Any, Any], ...]:
    rng = np.random.default_rng(11)
    y_true = rng.integers(0, 2, n)
    proba = np.clip(0.4 * y_true + 0.6 * rng.random(n), 0.0, 1.0)
    return y_true, (proba > 0.5).astype(int), proba


def titles(figure: Figure) -> list[str]:
    return [axes.get_title() for axes in figure.axes]


def test_plot_metrics_draws_the_curves_the_result_carries(tmp_path: Path) -> None:
    metrics = calculate_all_metrics(*binary_data())
    figure = plot_metrics(metrics, path=tmp_path / "metrics.png")
    assert titles(figure) == ["Confusion matrix", "ROC", "Precision-recall"]
    roc_line = figure.axes[1].get_lines()[0]
    assert roc_line.get_xdata().tolist() == metrics.curves["roc"]["fpr"]
    assert roc_line.get_ydata().tolist() == metrics.curves["roc"]["tpr"]
    assert (tmp_path / "metrics.png").read_bytes().startswith(PNG_MAGIC)


def test_plot_metrics_without_curves_shows_the_confusion_matrix() -> None:
    figure = plot_metrics(calculate_all_metrics(["a", "b", "c"], ["a", "c", "c"]))
    assert titles(figure) == ["Confusion matrix"]


def test_plot_metrics_of_a_regression_points_to_plot_regression() -> None:
    with pytest.raises(ValueError, match=r"call plot_regression\(y_true, y_pred\)"):
        plot_metrics(calculate_all_metrics([1.5, 2.0], [1.0, 2.5]))
    with pytest.raises(ValueError, match="pass the result of calculate_all_metrics"):
        plot_metrics({"task": "binary"})


def test_plot_classification_binary_matches_plot_metrics_and_takes_y_prob() -> None:
    y_true, y_pred, proba = binary_data()
    figure = plot_classification(y_true, y_pred, y_prob=proba)
    assert titles(figure) == ["Confusion matrix", "ROC", "Precision-recall"]
    with pytest.raises(ValueError, match="y_proba and y_prob"):
        plot_classification(y_true, y_pred, proba, y_prob=proba)


def test_plot_classification_multiclass_draws_one_roc_per_class() -> None:
    rng = np.random.default_rng(5)
    y_true = rng.choice(["cat", "dog", "fox"], 300)
    proba = rng.dirichlet(np.ones(3), 300)
    figure = plot_classification(y_true, proba.argmax(axis=1).choose(["cat", "dog", "fox"]), proba)
    assert titles(figure) == ["Confusion matrix", "ROC (one class against the rest)"]
    legend = [text.get_text() for text in figure.axes[1].get_legend().get_texts()]
    assert [entry.split(" ")[0] for entry in legend] == ["cat", "dog", "fox"]


def test_plot_classification_without_probabilities_says_why_there_is_no_curve() -> None:
    figure = plot_classification([0, 1, 1, 0], [0, 1, 0, 0])
    texts = [text.get_text() for text in figure.axes[1].texts]
    assert texts == ["no ROC curve: y_proba not given"]


def test_plot_classification_reports_bad_input_like_the_metrics() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        plot_classification([0, 1, 1], [0, 1])


def test_plot_regression_draws_actual_and_residuals(tmp_path: Path) -> None:
    figure = plot_regression([1.0, 2.0, 3.0, 4.0], [1.2, 1.9, 3.3, 3.8], path=tmp_path / "r.png")
    assert titles(figure) == ["Actual against predicted", "Residuals"]
    assert (tmp_path / "r.png").read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="y_pred must be numeric"):
        plot_regression([1.0, 2.0], ["a", "b"])


def test_plot_model_draws_the_holdout_of_a_lifecycle_model(srv: Path) -> None:
    frame = read_csv((DATA / "churn_sample.csv").read_bytes())
    param = json.loads((DATA / "churn_sample.json").read_text())
    model = lifecycle.init(frame, param, lambda params: LogisticRegression(max_iter=500))
    lifecycle.fit(model, frame, param)
    figure = plot_model(model)
    assert titles(figure) == ["Confusion matrix", "ROC", "Precision-recall"]
    assert model.name in figure.get_suptitle()

    rng = np.random.default_rng(2)
    numbers = read_csv(b"x,y\n" + b"".join(f"{x},{2 * x + rng.normal()}\n".encode() for x in range(60)))
    regression = lifecycle.init(numbers, {"target_variables": ["y"]}, lambda params: LinearRegression())
    lifecycle.fit(regression, numbers, None)
    assert titles(plot_model(regression)) == ["Actual against predicted", "Residuals"]


def test_importing_plots_does_not_import_matplotlib_or_sklearn() -> None:
    code = "import sys, dsdl_golden.plots; print('matplotlib' in sys.modules or 'sklearn' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=child_environ()
    ).stdout
    assert output.strip() == "False"
