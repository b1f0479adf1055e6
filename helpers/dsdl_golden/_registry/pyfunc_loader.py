"""The registry's own model format, for what no MLflow flavour saves: our lifecycle's ``GoldenModel`` in
the lifecycle's saved form, anything else with ``predict`` (statsmodels results, ...) pickled with joblib.

MLflow's ``pyfunc`` flavour names this module as ``loader_module``: ``mlflow.pyfunc.load_model`` and
``mlflow models serve`` load these models through :func:`_load_pyfunc`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import pandas as pd

from dsdl_golden._lifecycle.model import BuildModel, GoldenModel

__all__ = ["LIFECYCLE_DIR", "PICKLE_FILE", "load_data", "save_data"]

#: The lifecycle's saved model, as its own directory (``golden.json`` and the framework's files).
LIFECYCLE_DIR: Final = "golden_model"
PICKLE_FILE: Final = "model.joblib"


def save_data(model: Any, directory: Path) -> Path:
    """Write ``model`` under ``directory`` in this format; returns the path to give MLflow as data."""
    import joblib

    if isinstance(model, GoldenModel):
        from dsdl_golden._lifecycle.persistence import save_model

        saved = save_model(model, LIFECYCLE_DIR, directory / "lifecycle")
        return saved.resolve().rename(directory / LIFECYCLE_DIR)
    path = directory / PICKLE_FILE
    joblib.dump(model, path)
    return path


def load_data(path: Path, build_model: BuildModel | None) -> Any:
    """The model :func:`save_data` wrote as ``path``; ``build_model`` rebuilds PyTorch networks."""
    if path.is_dir():
        from dsdl_golden._lifecycle.persistence import load_model

        return load_model(path.parent, path.name, build_model)
    import joblib

    return joblib.load(path)


class _LifecyclePredictor:
    """A ``GoldenModel`` with pyfunc's ``predict``: the lifecycle's ``apply`` output."""

    def __init__(self, model: GoldenModel) -> None:
        self.model = model

    def predict(self, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from dsdl_golden._lifecycle.prediction import apply_model

        result, _ = apply_model(self.model, model_input)
        return result


def _load_pyfunc(data_path: str) -> Any:
    """MLflow's entry point: the model with a ``predict``."""
    model = load_data(Path(data_path), None)
    return _LifecyclePredictor(model) if isinstance(model, GoldenModel) else model
