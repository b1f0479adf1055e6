"""One interface over the models a data scientist writes: fit, predict, probabilities, save, restore.

:func:`adapt` picks the adapter for what ``build_model`` returned: a scikit-learn style estimator
(anything with ``fit`` and ``predict``), an aeon estimator, a ``torch.nn.Module`` or a
``keras.Model``. The framework wrappers (:class:`~dsdl_golden._lifecycle.torch_adapter.TorchModel`,
:class:`~dsdl_golden._lifecycle.keras_adapter.KerasModel`) take training options, and
:class:`~dsdl_golden._lifecycle.forecasting.StatsmodelsForecaster` wraps statsmodels time-series
models. Frameworks are detected by the module names of the object's classes, so detecting one
never imports it.
"""

from __future__ import annotations

import importlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = [
    "ADAPTERS",
    "EstimatorModel",
    "ModelAdapter",
    "SavedModel",
    "TrainingRun",
    "adapt",
    "adapter_class",
    "framework_of",
    "seed_frameworks",
]

StepLogger = Callable[..., None]


@dataclass
class TrainingRun:
    """What a training call may use: the model's parameters, the seed, and a per-epoch logger."""

    task: str
    params: Mapping[str, Any] = field(default_factory=dict)
    random_state: int = 42
    log_step: StepLogger = field(default=lambda step, **values: None)

    def param(self, name: str, default: Any) -> Any:
        """``params[name]`` if given, else ``default``."""
        value = self.params.get(name)
        return default if value is None else value


class SavedModel(ABC):
    """What every model kind shares: the user's object, its files, a description.

    Subclasses set ``framework`` (the library, for versions and telemetry) and ``name`` (the key
    in :data:`ADAPTERS` under which :meth:`restore` is found when loading).
    """

    framework: ClassVar[str]
    name: ClassVar[str]

    @property
    @abstractmethod
    def model(self) -> Any:
        """The user's own model object."""

    @abstractmethod
    def save(self, directory: Path) -> dict[str, Any]:
        """Write the model's files into ``directory``; returns JSON state for :meth:`restore`."""

    @classmethod
    @abstractmethod
    def restore(
        cls, directory: Path, state: Mapping[str, Any], rebuild: Callable[[], SavedModel]
    ) -> SavedModel:
        """The model saved in ``directory``; ``rebuild()`` builds the untrained model again."""

    def describe(self) -> str:
        """A one-line description of the model."""
        return " ".join(repr(self.model).split())[:300]


class ModelAdapter(SavedModel):
    """A model trained on a feature table: classifiers, regressors, clusterers, outlier detectors."""

    classes_: np.ndarray | None = None

    def task_hint(self) -> str | None:
        """``"classification"`` or ``"regression"`` when the model itself says which; None if unsure."""
        return None

    @abstractmethod
    def fit(self, features: pd.DataFrame, target: pd.Series | None, run: TrainingRun) -> dict[str, Any]:
        """Train; returns JSON-ready facts about the training (epochs, final loss...)."""

    @abstractmethod
    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """One prediction per row."""

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray | None:
        """Class probabilities ``(n_rows, n_classes)`` in the order of ``classes_``, or None."""
        return None


def _class_modules(obj: object) -> set[str]:
    return {cls.__module__.split(".")[0] for cls in type(obj).__mro__}


def framework_of(obj: object) -> str:
    """The top-level package of ``obj``'s class (``sklearn``, ``xgboost``...)."""
    return type(obj).__module__.split(".")[0]


def _classes(values: Any) -> np.ndarray | None:
    return None if values is None else np.asarray(values)


class EstimatorModel(ModelAdapter):
    """A scikit-learn style estimator: ``fit(X[, y])``, ``predict(X)``, maybe ``predict_proba(X)``.

    Saved with joblib (scikit-learn has no format of its own; joblib is what its docs advise).
    """

    framework: ClassVar[str] = "sklearn"
    name: ClassVar[str] = "estimator"
    file_name: ClassVar[str] = "model.joblib"

    def __init__(self, estimator: Any) -> None:
        missing = [method for method in ("fit", "predict") if not callable(getattr(estimator, method, None))]
        if missing:
            raise TypeError(
                f"{type(estimator).__name__} has no {' or '.join(missing)} method: build_model must return a "
                "model with fit and predict (scikit-learn style), a torch.nn.Module or a keras.Model"
            )
        self.estimator = estimator

    @property
    def model(self) -> Any:
        return self.estimator

    def task_hint(self) -> str | None:
        from sklearn.base import is_classifier, is_regressor  # type: ignore[import-untyped]

        try:
            if is_classifier(self.estimator):
                return "classification"
            if is_regressor(self.estimator):
                return "regression"
        except (AttributeError, TypeError):  # not a scikit-learn estimator at all
            return None
        return None

    def _input(self, features: pd.DataFrame) -> Any:
        return features

    def fit(self, features: pd.DataFrame, target: pd.Series | None, run: TrainingRun) -> dict[str, Any]:
        data = self._input(features)
        if target is None:
            self.estimator.fit(data)
        else:
            self.estimator.fit(data, target.to_numpy())
        self.classes_ = _classes(getattr(self.estimator, "classes_", None))
        return {}

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator.predict(self._input(features)))

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray | None:
        method = getattr(self.estimator, "predict_proba", None)
        if method is None or self.classes_ is None:
            return None
        try:
            return np.asarray(method(self._input(features)), dtype=np.float64)
        except (AttributeError, NotImplementedError):  # e.g. SVC(probability=False)
            return None

    def save(self, directory: Path) -> dict[str, Any]:
        import joblib

        joblib.dump(self.estimator, directory / self.file_name)
        return {}

    @classmethod
    def restore(
        cls, directory: Path, state: Mapping[str, Any], rebuild: Callable[[], SavedModel]
    ) -> SavedModel:
        import joblib

        adapter = cls(joblib.load(directory / cls.file_name))
        adapter.classes_ = _classes(getattr(adapter.estimator, "classes_", None))
        return adapter


class AeonModel(EstimatorModel):
    """An aeon estimator (time-series classifier or regressor): each row is one series.

    The feature columns are the series' time points, given to aeon as a 2-D float array
    ``(n_cases, n_timepoints)``.
    """

    framework: ClassVar[str] = "aeon"
    name: ClassVar[str] = "aeon"

    def _input(self, features: pd.DataFrame) -> Any:
        return features.to_numpy(dtype=np.float64)


def _torch_adapter(obj: Any) -> ModelAdapter:
    from dsdl_golden._lifecycle.torch_adapter import TorchModel

    return TorchModel(obj)


def _keras_adapter(obj: Any) -> ModelAdapter:
    from dsdl_golden._lifecycle.keras_adapter import KerasModel

    return KerasModel(obj)


def adapt(obj: Any) -> SavedModel:
    """The adapter for what ``build_model`` returned (an adapter or forecaster is returned as it is)."""
    if isinstance(obj, SavedModel):
        return obj
    modules = _class_modules(obj)
    if "torch" in modules:
        return _torch_adapter(obj)
    if modules & {"keras", "tf_keras"}:
        return _keras_adapter(obj)
    if "aeon" in modules:
        return AeonModel(obj)
    return EstimatorModel(obj)


def seed_frameworks(random_state: int) -> None:
    """Seed the frameworks already imported (torch, keras), before ``build_model`` runs: a network's
    initial weights are drawn when it is built, so seeding only at training would leave them unseeded.

    A framework not imported yet is left alone (detecting one never imports it).
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(random_state)
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.utils.set_random_seed(random_state)


#: Model classes by their saved ``name``: (module, class), imported only when a saved model needs one.
ADAPTERS: Mapping[str, tuple[str, str]] = {
    "estimator": (__name__, "EstimatorModel"),
    "aeon": (__name__, "AeonModel"),
    "torch": ("dsdl_golden._lifecycle.torch_adapter", "TorchModel"),
    "keras": ("dsdl_golden._lifecycle.keras_adapter", "KerasModel"),
    "statsmodels": ("dsdl_golden._lifecycle.forecasting", "StatsmodelsForecaster"),
}


def adapter_class(name: object) -> type[SavedModel]:
    """The model class a model was saved with (its ``name``), imported now; raises ``ValueError`` for a
    name this version does not know (a model saved by a newer dsdl-golden, or a hand-edited file)."""
    if not isinstance(name, str) or name not in ADAPTERS:
        raise ValueError(
            f"the saved model was made by adapter {name!r}, which this dsdl-golden does not know "
            f"(it knows {', '.join(ADAPTERS)}): fit the model again, or load it with the dsdl-golden "
            "that saved it"
        )
    module, attribute = ADAPTERS[name]
    found: type[SavedModel] = getattr(importlib.import_module(module), attribute)
    return found
