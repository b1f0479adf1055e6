"""Which MLflow flavour saves a model, and logging and loading a model through it.

scikit-learn style estimators (aeon's too) go through ``mlflow.sklearn``, ``torch.nn.Module`` through
``mlflow.pytorch``, ``keras.Model`` through ``mlflow.keras``; the lifecycle's ``GoldenModel`` and any
other object with ``predict`` through our own ``pyfunc`` loader (:mod:`~dsdl_golden._registry.pyfunc_loader`).
The pip requirements logged are each flavour's defaults (MLflow's inference of them runs a child
Python process per model: seconds).
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from dsdl_golden._lifecycle.model import BuildModel
from dsdl_golden._registry.errors import UnsupportedModelError
from dsdl_golden._registry.pyfunc_loader import load_data, save_data

__all__ = ["flavour_of", "load_logged", "log_flavoured"]

SKLEARN: Final = "sklearn"
PYTORCH: Final = "pytorch"
KERAS: Final = "keras"
TENSORFLOW: Final = "tensorflow"
#: Our own format (:mod:`dsdl_golden._registry.pyfunc_loader`), logged as MLflow's ``pyfunc`` flavour.
OWN: Final = "dsdl_golden"
LOADER_MODULE: Final = "dsdl_golden._registry.pyfunc_loader"
OWN_REQUIREMENTS: Final = ("dsdl-golden",)
ARTIFACT_NAME: Final = "model"
#: Options of a flavour's ``log_model``: PyTorch modules are pickled (MLflow's default, an exported
#: graph, needs an input example and loads as no ``nn.Module``).
FLAVOUR_OPTIONS: Final[dict[str, dict[str, Any]]] = {PYTORCH: {"serialization_format": "pickle"}}


def _instance_of(model: Any, module: str, class_name: str) -> bool:
    """Whether ``model`` is a ``module.class_name``, without importing a framework the caller has not."""
    if module.split(".", maxsplit=1)[0] not in sys.modules:
        return False
    return isinstance(model, getattr(importlib.import_module(module), class_name))


def _has_methods(model: Any, *names: str) -> bool:
    return all(callable(getattr(model, name, None)) for name in names)


def flavour_of(model: Any) -> str:
    """The flavour that saves ``model``, or :class:`UnsupportedModelError` naming what can be saved."""
    from dsdl_golden._lifecycle.model import GoldenModel

    if isinstance(model, GoldenModel):
        return OWN
    if _instance_of(model, "torch.nn", "Module"):
        return PYTORCH
    if _instance_of(model, "keras", "Model"):
        return KERAS
    if _instance_of(model, "sklearn.base", "BaseEstimator") or _has_methods(
        model, "fit", "predict", "get_params"
    ):
        return SKLEARN
    if _has_methods(model, "predict"):
        return OWN
    raise UnsupportedModelError(
        f"cannot register a {type(model).__module__}.{type(model).__qualname__}: the registry saves "
        "scikit-learn style estimators (aeon's too), torch.nn.Module, keras.Model, the lifecycle's "
        "GoldenModel and any other picklable object with a predict method"
    )


def log_flavoured(mlflow: ModuleType, model: Any, registered_name: str, input_example: Any) -> Any:
    """Log ``model`` in the active run with its flavour and register it; returns MLflow's ``ModelInfo``."""
    flavour = flavour_of(model)
    common = {"name": ARTIFACT_NAME, "registered_model_name": registered_name, "input_example": input_example}
    if flavour == OWN:
        with tempfile.TemporaryDirectory(prefix="dsdl-golden-registry-") as scratch:
            data = save_data(model, Path(scratch))
            return mlflow.pyfunc.log_model(
                loader_module=LOADER_MODULE,
                data_path=str(data),
                pip_requirements=list(OWN_REQUIREMENTS),
                **common,
            )
    module = importlib.import_module(f"mlflow.{flavour}")
    return module.log_model(
        model,
        pip_requirements=module.get_default_pip_requirements(),
        **FLAVOUR_OPTIONS.get(flavour, {}),
        **common,
    )


def load_logged(mlflow: ModuleType, model_uri: str, build_model: BuildModel | None) -> Any:
    """The model object logged as ``model_uri`` (``models:/<name>/<version>``)."""
    with tempfile.TemporaryDirectory(prefix="dsdl-golden-registry-") as scratch:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=scratch))
        flavours: dict[str, Any] = mlflow.models.Model.load(str(local)).flavors
        for flavour in (SKLEARN, PYTORCH, KERAS, TENSORFLOW):
            if flavour in flavours:
                return importlib.import_module(f"mlflow.{flavour}").load_model(str(local))
        pyfunc = flavours.get("python_function", {})
        if pyfunc.get("loader_module") == LOADER_MODULE:
            return load_data(local / pyfunc["data"], build_model)
    raise UnsupportedModelError(
        f"{model_uri} was not logged by dsdl_golden.model_registry (its flavours: {sorted(flavours)}): "
        f"load it with mlflow.pyfunc.load_model({model_uri!r})"
    )
