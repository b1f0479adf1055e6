"""The model object the lifecycle's calls pass around, what it says of itself, and input checks."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from dsdl_golden._lifecycle.adapters import (
    SavedModel,
)
from dsdl_golden._lifecycle.params import RequestSpec
from dsdl_golden._lifecycle.reporting import Reporter, scalar_metrics
from dsdl_golden._lifecycle.store import jsonable
from dsdl_golden.preprocessor import StandardPreprocessor

__all__ = [
    "BuildModel",
    "DataInfo",
    "GoldenModel",
    "metrics_summary",
    "plain",
    "preprocessing_summary",
    "require_columns",
    "require_frame",
    "require_model",
]

BuildModel = Callable[..., Any]


@dataclass(frozen=True)
class DataInfo:
    """What ``build_model(params, data)`` knows about the training data.

    Attributes
    ----------
    n_features : int
        Columns the model receives (after preprocessing).
    feature_names : list of str
    task : str
        ``classification``, ``regression``, ``forecast`` or ``unsupervised``.
    n_classes : int or None
        Number of classes for classification.
    classes : list or None
        The class labels, sorted.
    n_rows : int
        Training rows.
    """

    n_features: int
    feature_names: list[str]
    task: str
    n_classes: int | None
    classes: list[Any] | None
    n_rows: int


@dataclass(eq=False)
class GoldenModel:
    """What ``init`` returns and the other calls receive: the user's model and everything around it.

    Attributes
    ----------
    spec : RequestSpec
        Columns, options and parameters read from ``param`` at ``init``.
    adapter : the framework adapter holding the user's model (None before ``fit``).
    estimator : the user's own model object (property).
    preprocessor : StandardPreprocessor or None
    task : str or None
    metrics : dict or None
        Holdout metrics of the last ``fit`` (``calculate_all_metrics``).
    last_apply : dict or None
        Rows, drift and metrics of the last ``apply`` in this process.
    lineage : dict or None
        The lineage record of the last ``fit`` (:mod:`dsdl_golden._lifecycle.lineage`).
    registered : dict or None
        The registry version of the last ``fit`` with ``GOLDEN_REGISTRY=mlflow`` (``name``,
        ``version``, ``run_id``; ``error`` when registering failed), None with the registry off.
    """

    spec: RequestSpec
    build: BuildModel | None
    run_id: str
    adapter: SavedModel | None = None
    preprocessor: StandardPreprocessor | None = None
    task: str | None = None
    data_info: DataInfo | None = None
    metrics: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    trained_at: str | None = None
    last_apply: dict[str, Any] | None = None
    holdout: dict[str, Any] | None = None
    lineage: dict[str, Any] | None = None
    registered: dict[str, Any] | None = None
    _fit_frame: weakref.ReferenceType[pd.DataFrame] | None = None

    @property
    def name(self) -> str:
        """DSDL's name of this model, ``<algo>_<model_name>``."""
        return self.spec.name

    @property
    def estimator(self) -> Any:
        """The data scientist's own model object (None before ``fit``)."""
        return None if self.adapter is None else self.adapter.model

    @property
    def fitted(self) -> bool:
        """True once ``fit`` succeeded or the model was loaded."""
        return self.trained_at is not None

    @property
    def reporter(self) -> Reporter:
        """The telemetry of this model's run."""
        return Reporter(self.name, self.run_id)

    def __repr__(self) -> str:
        model = self.adapter.describe() if self.adapter is not None else "not built yet"
        state = f"task={self.task!r}, fitted={self.fitted}"
        return f"GoldenModel({self.name!r}, {model}, {state})"

    def summary(self) -> dict[str, Any]:
        """JSON-ready facts: framework, task, features, target, parameters, metrics, data profile, run id,
        lineage."""
        return jsonable(
            {
                "name": self.name,
                "algo": self.spec.algo,
                "model_name": self.spec.model_name,
                "framework": None if self.adapter is None else self.adapter.framework,
                "model": None if self.adapter is None else self.adapter.describe(),
                "task": self.task,
                "features": list(self.spec.features),
                "target": self.spec.target,
                "options": asdict(self.spec.options),
                "params": {key: plain(value) for key, value in self.spec.params.items()},
                "preprocessing": preprocessing_summary(self.preprocessor),
                "metrics": None if self.metrics is None else metrics_summary(self.metrics),
                "training": self.training,
                "training_data": self.profile,
                "run_id": self.run_id,
                "trained_at": self.trained_at,
                "last_apply": self.last_apply,
                "lineage": self.lineage,
                "registered": self.registered,
            }
        )


def plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | list | dict | type(None)) else repr(value)


def metrics_summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "task": metrics.get("task"),
        "n_samples": metrics.get("n_samples"),
        "labels": metrics.get("labels"),
        **scalar_metrics(metrics),
    }


def preprocessing_summary(preprocessor: StandardPreprocessor | None) -> dict[str, Any] | None:
    if preprocessor is None:
        return None
    described = preprocessor.describe()
    return {
        "n_features_in": described["n_features_in"],
        "n_features_out": described["n_features_out"],
        "dropped_columns": described["dropped_columns"],
        "columns": {
            name: {
                "kind": column["kind"],
                "action": column["action"],
                "features": len(column["output_features"]),
            }
            for name, column in described["columns"].items()
        },
    }


def require_frame(df: Any, call: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{call}: df must be a pandas DataFrame, got {type(df).__name__}")
    return df


def require_model(model: Any, call: str) -> GoldenModel:
    if not isinstance(model, GoldenModel):
        raise TypeError(
            f"{call}: model must be what lifecycle.init or lifecycle.load returned, "
            f"got {type(model).__name__}"
        )
    return model


def require_columns(frame: pd.DataFrame, names: tuple[str, ...] | list[str], what: str) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ValueError(f"the data has no {what} column(s) {missing}; its columns are {list(frame.columns)}")
