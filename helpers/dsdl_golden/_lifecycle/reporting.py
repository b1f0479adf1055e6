"""Telemetry and logs of the lifecycle, which never get in the model's way.

Every call goes through the process-wide pipeline of :mod:`dsdl_golden.telemetry_helper` with the
model's name and run id as fields, so that several models served by one process never mix their
context. A failure of the telemetry itself is logged once per kind and swallowed: the model's
result always wins.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from dsdl_golden import telemetry_helper
from dsdl_golden._error_text import exception_text
from dsdl_golden.metrics_calculator import MetricsResult

__all__ = ["Reporter", "logger", "scalar_metrics", "warn_once"]

logger = logging.getLogger("dsdl_golden.lifecycle")

_MAX_CLASSES_AS_METRICS: Final = 50
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.\-]")
#: Failures already logged in this process (each is logged once).
_REPORTED: set[str] = set()


def warn_once(key: str, message: str, *args: Any) -> None:
    """Log ``message % args`` as a warning the first time this process meets ``key``."""
    if key not in _REPORTED:
        _REPORTED.add(key)
        logger.warning(message, *args)


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if math.isfinite(value) else None


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, int | float]:
    """The measurements of a :func:`~dsdl_golden.metrics_calculator.calculate_all_metrics` result.

    Top-level numbers, ``per_class.<label>.<metric>`` for up to 50 classes and ``business.<name>``;
    labels, counts, matrices and notes are left out (they are not time series).
    """
    out: dict[str, int | float] = {}
    for key, value in metrics.items():
        if key in MetricsResult.descriptor_keys:
            continue
        number = _number(value)
        if number is not None:
            out[key] = number
        elif key == "per_class" and isinstance(value, list):
            for row in value[:_MAX_CLASSES_AS_METRICS]:
                label = _UNSAFE.sub("_", str(row.get("label")))
                out.update(
                    (f"per_class.{label}.{name}", number)
                    for name, score in row.items()
                    if name != "label" and (number := _number(score)) is not None
                )
        elif key == "business" and isinstance(value, Mapping):
            out.update(
                (f"business.{name}", number)
                for name, score in value.items()
                if (number := _number(score)) is not None
            )
    return out


@dataclass
class Reporter:
    """Sends one model run's telemetry: events, metrics, training steps and errors."""

    model: str
    run_id: str

    def _guard(self, kind: str, error: Exception) -> None:
        text = f"{type(error).__name__}: {exception_text(error)}"
        warn_once(text, "telemetry (%s of model %s) is skipped: %s", kind, self.model, text)

    def _context(self, phase: str) -> dict[str, Any]:
        return {"model": self.model, "run_id": self.run_id, "phase": phase}

    def event(self, kind: str, phase: str, **fields: Any) -> None:
        """An event ``{"type": kind, ...fields}`` in the events index."""
        try:
            telemetry_helper.log_event({"type": kind, **fields}, **self._context(phase))
        except Exception as error:
            self._guard("event", error)

    def metrics(self, metrics: Mapping[str, Any], *, stage: str, phase: str) -> None:
        """The measurements of a metrics result in the metrics index."""
        values = scalar_metrics(metrics)
        if not values:
            return
        try:
            telemetry_helper.log_metrics(values, stage=stage, **self._context(phase))
        except Exception as error:
            self._guard("metrics", error)

    def step(self, step: int, **values: Any) -> None:
        """One training step (epoch) of a framework model."""
        numbers = {name: number for name, value in values.items() if (number := _number(value)) is not None}
        if not numbers:
            return
        try:
            telemetry_helper.log_metrics(numbers, step=step, stage="train", **self._context("fit"))
        except Exception as error:
            self._guard("step", error)

    def error(self, error: BaseException, phase: str, **context: Any) -> None:
        """An exception of the model run, with its context."""
        try:
            telemetry_helper.log_error(error, **self._context(phase), **context)
        except Exception as failure:
            self._guard("error", failure)
