"""What the lifecycle's forecasting tests share: the first row's time and the series and model they use."""

from __future__ import annotations

from typing import Any

import numpy as np

#: ``_time`` of a series' first row, in epoch seconds (rows are a minute apart).
START = 1_700_000_000


def arima(y: np.ndarray) -> Any:
    """An ARIMA(1, 0, 0) of ``y``, the factory a ``StatsmodelsForecaster`` is given."""
    from statsmodels.tsa.arima.model import ARIMA

    return ARIMA(y, order=(1, 0, 0))


def wavy(n: int, trend: float = 0.01) -> np.ndarray:
    """``n`` values around 50 rising by ``trend`` a row, the same each time: no two rows share a value."""
    steps = np.arange(n)
    return np.asarray(50 + 3 * np.sin(steps / 3) + trend * steps, dtype=np.float64)
