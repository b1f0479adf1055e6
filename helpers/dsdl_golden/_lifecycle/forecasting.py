"""Forecasters: models of one time series (the target), such as statsmodels' ARIMA.

The lifecycle orders rows by ``_time`` when the data has it. At fit the last ``holdout`` share of
the series is forecast from the rest for the metrics, then the model is trained again on the whole
series (the most recent values matter most to a forecast). At apply the rows whose target is known
get one-step-ahead predictions from the trained parameters, and the rows after the last known value
get forecasts; without a target column every row is a step after the training series.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dsdl_golden._lifecycle.adapters import SavedModel, TrainingRun

__all__ = ["Forecaster", "StatsmodelsForecaster"]


class Forecaster(SavedModel):
    """A model of one time series."""

    @abstractmethod
    def fit_series(self, series: np.ndarray, run: TrainingRun) -> dict[str, Any]:
        """Train on ``series`` (float, in time order, NaN where missing)."""

    @abstractmethod
    def forecast(self, steps: int) -> np.ndarray:
        """The ``steps`` values after the end of the training series."""

    @abstractmethod
    def predict_series(self, series: np.ndarray) -> np.ndarray:
        """One value per element of ``series``: in-sample for known values, forecasts after the last one."""


class StatsmodelsForecaster(Forecaster):
    """A statsmodels time-series model, built by ``factory(series)`` and fitted with ``fit_kwargs``.

    Parameters
    ----------
    factory : callable
        Takes the series (1-D float array) and returns an unfitted statsmodels model, for example
        ``lambda y: ARIMA(y, order=(2, 0, 1))``. Applying the model to new data needs a state-space
        model (``ARIMA``, ``SARIMAX``, ``UnobservedComponents``, ``ETSModel``...).
    **fit_kwargs
        Passed to the model's ``fit``.

    Examples
    --------
    >>> from statsmodels.tsa.arima.model import ARIMA
    >>> forecaster = StatsmodelsForecaster(lambda y: ARIMA(y, order=(1, 0, 0)))
    """

    framework: ClassVar[str] = "statsmodels"
    name: ClassVar[str] = "statsmodels"
    file_name: ClassVar[str] = "model.statsmodels"

    def __init__(self, factory: Callable[[np.ndarray], Any] | None = None, **fit_kwargs: Any) -> None:
        self.factory = factory
        self.fit_kwargs = fit_kwargs
        self.results: Any = None

    @property
    def model(self) -> Any:
        return self.results if self.results is not None else self.factory

    def describe(self) -> str:
        if self.results is None:
            return "StatsmodelsForecaster (not fitted)"
        return f"{type(self.results.model).__name__} {getattr(self.results.model, 'order', '')}".strip()

    def fit_series(self, series: np.ndarray, run: TrainingRun) -> dict[str, Any]:
        if self.factory is None:
            raise TypeError(
                "StatsmodelsForecaster needs a factory: StatsmodelsForecaster(lambda y: ARIMA(y, ...))"
            )
        self.results = self.factory(series).fit(**self.fit_kwargs)
        facts: dict[str, Any] = {"n_observations": int(series.size)}
        for name in ("aic", "bic"):
            value = getattr(self.results, name, None)
            if isinstance(value, float) and np.isfinite(value):
                facts[name] = value
        return facts

    def forecast(self, steps: int) -> np.ndarray:
        return np.asarray(self.results.forecast(steps), dtype=np.float64)

    def predict_series(self, series: np.ndarray) -> np.ndarray:
        known = np.flatnonzero(~np.isnan(series))
        if known.size == 0:
            return self.forecast(series.size)
        apply = getattr(self.results, "apply", None)
        if apply is None:
            raise TypeError(
                f"{type(self.results.model).__name__} cannot be applied to new data: use a state-space model "
                "(statsmodels.tsa.arima.model.ARIMA, SARIMAX, UnobservedComponents, ETSModel)"
            )
        end = int(known[-1]) + 1
        applied = apply(series[:end])
        fitted = np.asarray(applied.fittedvalues, dtype=np.float64)
        if end == series.size:
            return fitted
        return np.concatenate([fitted, np.asarray(applied.forecast(series.size - end), dtype=np.float64)])

    def save(self, directory: Path) -> dict[str, Any]:
        self.results.save(str(directory / self.file_name))
        return {}

    @classmethod
    def restore(
        cls, directory: Path, state: Mapping[str, Any], rebuild: Callable[[], SavedModel]
    ) -> SavedModel:
        from statsmodels.iolib.smpickle import load_pickle

        forecaster = cls()
        forecaster.results = load_pickle(str(directory / cls.file_name))
        return forecaster
