"""The shape of metrics in HEC metric events: flat ``metric_name:<name>`` measurements, large
arrays summarised (their cells sent as events in parts), and many measurements split over events.

:meth:`dsdl_golden.telemetry_helper.Telemetry.log_metrics` documents the shape for users.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dsdl_golden._telemetry.client import serialise

if TYPE_CHECKING:
    import numpy as np

_METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")


MAX_MEASUREMENTS_PER_EVENT = 1000
"""At most this many ``metric_name:`` measurements go in one metric event; more are split over parts.

Splunk documents no limit on the measurements of a multiple-measurement metric event, but it
stores each one as a metric data point of its own carrying all the event's dimensions, indexes the
event as one unit, and HEC refuses requests over ``max_content_length`` (1 MB on some deployments,
and in the emulator). 1,000 measurements of dotted names with the run's dimensions are about 50 KB
of JSON: several such events fit in one request of the delivery client (800 KB), and a 20-class
:func:`~dsdl_golden.metrics_calculator.calculate_all_metrics` result (about 600 measurements) still
makes a single event.
"""

ARRAY_MEASUREMENT_CELLS = 400
"""Arrays (numbers or strings) of more than this many cells (a 20 x 20 confusion matrix) are sent as events.

A measurement per cell grows with the square of the number of classes and gives metric names
(``confusion_matrix.731.12``) nobody charts; past 400 cells the metric event keeps summaries only.
"""

ARRAY_EVENT_BYTES = 512_000
"""Each event of a large array holds at most this many bytes of values (a worst-case estimate): far
under HEC's 5 MB event limit, under 1 MB requests and the delivery client's 800 KB batches."""

ARRAY_MAX_BYTES = 32_000_000
"""Arrays that could take more JSON than this (a 1000 x 1000 float64 matrix takes at most 25 MB) are
not sent: only their summaries are, with their names in the ``arrays_not_sent`` dimension. An
eighth of the default 256 MB spool, so one call cannot crowd out the rest of the telemetry."""

MAX_DESCRIPTOR_CHARS = 4_000
"""A descriptor (a key of ``descriptor_keys``) whose JSON text is longer than this is not a dimension
(every measurement of the event would carry it): it is sent as events, like a large array."""

_ARRAY_KINDS = "biufU"  # numpy dtype kinds sent as array events: bool, integers, floats, text
MEASUREMENT = "metric_name:"
_SCALARS = frozenset({float, int, bool, str})


class _Array:
    """A large array met while flattening metrics: summarised as measurements, sent as events."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray) -> None:
        self.values = values  # C-contiguous, so that orjson serialises its rows natively


def _estimated_cells(value: list[Any] | tuple[Any, ...]) -> int:
    """Cells of a nested list if it is rectangular, from its first items (no per-cell work)."""
    cells, item = 1, value
    while isinstance(item, list | tuple):
        cells *= len(item)
        if not item:
            break
        item = item[0]
    return cells


def _leaves(value: list[Any] | tuple[Any, ...]) -> Iterator[Any]:
    for item in value:
        if isinstance(item, list | tuple):
            yield from _leaves(item)
        else:
            yield item


def _large_array(value: Any) -> np.ndarray | None:
    """``value`` as a C-contiguous array if it is a numpy array or nested list of numbers or of
    strings with more than :data:`ARRAY_MEASUREMENT_CELLS` cells; None for everything else."""
    if isinstance(value, list | tuple):
        if _estimated_cells(value) <= ARRAY_MEASUREMENT_CELLS:
            return None
    elif getattr(value, "ndim", 0) == 0 or math.prod(getattr(value, "shape", ())) <= ARRAY_MEASUREMENT_CELLS:
        return None
    import numpy as np  # here, not at the top: importing telemetry stays cheap

    try:
        array = np.asarray(value)
    except Exception:  # ragged lists, tensors on a GPU, ...: flattened item by item as before
        return None
    if array.ndim == 0 or array.size <= ARRAY_MEASUREMENT_CELLS or array.dtype.kind not in _ARRAY_KINDS:
        return None  # records (per-class dicts), None among the numbers, ...
    if (
        array.dtype.kind == "U"
        and isinstance(value, list | tuple)
        and not all(isinstance(leaf, str) for leaf in _leaves(value))
    ):
        return None  # numbers mixed with text, which numpy turned into text
    return np.ascontiguousarray(array)


def _array_summary(name: str, array: np.ndarray) -> dict[str, float]:
    """The measurements kept for a large array: its shape, and a confusion matrix's total and trace."""
    summary = {f"{name}.shape.{axis}": float(length) for axis, length in enumerate(array.shape)}
    square = array.ndim == 2 and array.shape[0] == array.shape[1]
    if name.rpartition(".")[2] == "confusion_matrix" and square and array.dtype.kind in "biuf":
        total, trace = float(array.sum()), float(array.trace())
        if math.isfinite(total) and math.isfinite(trace):
            summary[f"{name}.total"] = total  # the samples (or their weight)
            summary[f"{name}.trace"] = trace  # those predicted right: trace / total is the accuracy
    return summary


def _cell_bytes(array: np.ndarray) -> int:
    """The most JSON bytes one cell of ``array`` takes in orjson's output, with its comma."""
    kind = array.dtype.kind
    if kind == "b":
        return len("false,")
    if kind in "iu":
        return max(len(str(array.min())), len(str(array.max()))) + 1
    if kind == "f":
        return len("-2.2250738585072014e-308,")
    return 6 * (array.dtype.itemsize // 4) + 3  # text: a \u escape per character at worst, quotes


def _row_bytes(array: np.ndarray) -> int:
    """The most JSON bytes one row (an item along axis 0) of ``array`` takes, with its comma."""
    inner = array.shape[1:]
    lists = sum(math.prod(inner[:depth]) for depth in range(len(inner)))  # nested lists of one row
    return math.prod(inner) * _cell_bytes(array) + 3 * lists  # each list: brackets and a comma


def _flatten(metrics: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if value is None or type(value) in _SCALARS:  # most values: no further checks
            yield name, value
            continue
        array = _large_array(value)
        if array is not None:
            yield name, _Array(array)
            continue
        items = value.tolist() if getattr(value, "ndim", 0) > 0 else value  # numpy arrays
        if isinstance(items, Mapping):
            yield from _flatten(items, f"{name}.")
        elif isinstance(items, list | tuple):
            yield from _flatten({str(index): item for index, item in enumerate(items)}, f"{name}.")
        else:
            yield name, items


def metric_fields_and_arrays(
    metrics: Mapping[str, Any],
) -> tuple[dict[str, Any], list[str], list[tuple[str, np.ndarray]]]:
    """:func:`metric_fields`, and the large arrays (name, values) it summarised."""
    fields: dict[str, Any] = {}
    non_finite: list[str] = []
    arrays: list[tuple[str, np.ndarray]] = []
    for name, value in _flatten(metrics):
        if not _METRIC_NAME.fullmatch(name):
            raise ValueError(
                f"metric name {name!r}: use letters, digits, '_', '.', '-', starting with a letter"
            )
        if value is None:
            continue
        if isinstance(value, _Array):
            summary = _array_summary(name, value.values)
            fields.update((f"{MEASUREMENT}{key}", number) for key, number in summary.items())
            arrays.append((name, value.values))
        elif isinstance(value, str):
            fields[name] = value
        elif isinstance(value, numbers.Real) or hasattr(value, "__float__"):
            number = float(value)
            if math.isfinite(number):
                fields[f"{MEASUREMENT}{name}"] = number
            else:
                non_finite.append(name)
        else:
            raise TypeError(f"metric {name!r} is a {type(value).__name__}: give a number, a string or None")
    return fields, non_finite, arrays


def metric_fields(metrics: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """HEC ``fields`` for ``metrics``: numbers become ``metric_name:<name>`` measurements.

    Nested mappings and sequences are flattened with dots (``per_class.a.f1``, ``confusion_matrix.0.1``);
    strings become dimensions; None is skipped. An array of numbers or strings (numpy, or nested
    lists) of more than :data:`ARRAY_MEASUREMENT_CELLS` cells is not flattened: only its summary
    measurements are here (``<name>.shape.<axis>``; for a square ``confusion_matrix`` also
    ``<name>.total`` and ``<name>.trace``); ``Telemetry.log_metrics`` sends its cells as events.
    Returns the fields and the names of non-finite values, which Splunk cannot store. Raises
    ``TypeError``/``ValueError`` naming a bad metric.
    """
    fields, non_finite, _ = metric_fields_and_arrays(metrics)
    return fields, non_finite


def measurement_parts(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """``fields`` as metric events of at most :data:`MAX_MEASUREMENTS_PER_EVENT` measurements each,
    every one with all the dimensions; ``[fields]`` itself when it is small enough."""
    names = [key for key in fields if key.startswith(MEASUREMENT)]
    if len(names) <= MAX_MEASUREMENTS_PER_EVENT:
        return [fields]
    dimensions = {key: value for key, value in fields.items() if not key.startswith(MEASUREMENT)}
    return [
        {**{key: fields[key] for key in names[start : start + MAX_MEASUREMENTS_PER_EVENT]}, **dimensions}
        for start in range(0, len(names), MAX_MEASUREMENTS_PER_EVENT)
    ]


def array_event_bodies(name: str, array: np.ndarray) -> Iterator[dict[str, Any]]:
    """The events holding the cells of a large metrics array, each with at most
    :data:`ARRAY_EVENT_BYTES` of values: rows ``start`` to ``stop - 1``, or cells when one row alone
    is larger (``raveled``)."""
    row_bytes = _row_bytes(array)
    raveled = row_bytes > ARRAY_EVENT_BYTES  # one row alone is too large: parts of cells
    rows = array.reshape(-1) if raveled else array
    per_event = max(1, ARRAY_EVENT_BYTES // (_cell_bytes(array) if raveled else row_bytes))
    starts = range(0, len(rows), per_event)
    for part, start in enumerate(starts, start=1):
        stop = min(start + per_event, len(rows))
        values = rows[start:stop]
        yield {
            "type": "metric_array",
            "metric": name,
            "shape": list(array.shape),
            "dtype": array.dtype.name,
            "start": start,
            "stop": stop,
            "raveled": raveled,
            "part": part,
            "parts": len(starts),
            "level": "INFO",
            "values": values.tolist() if array.dtype.kind == "U" else values,  # orjson: numbers
        }


def sendable_arrays(
    arrays: list[tuple[str, np.ndarray]],
) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """The arrays whose JSON fits in :data:`ARRAY_MAX_BYTES`, and the names of the others."""
    sent = [(name, array) for name, array in arrays if len(array) * _row_bytes(array) <= ARRAY_MAX_BYTES]
    kept = {name for name, _ in sent}
    return sent, [name for name, _ in arrays if name not in kept]


@dataclass
class Descriptors:
    """The values of a metrics result that describe rather than measure (its ``descriptor_keys``)."""

    dimensions: dict[str, Any] = field(default_factory=dict)  # small: scalars, or JSON text
    arrays: list[tuple[str, np.ndarray]] = field(default_factory=list)  # large arrays: array events
    values: dict[str, Any] = field(default_factory=dict)  # other large values: one event each


def descriptors(metrics: Mapping[str, Any]) -> Descriptors:
    """Split the values of ``metrics.descriptor_keys`` (if ``metrics`` has it) by how they are sent:
    strings and numbers as dimensions, other values as dimensions of JSON text up to
    :data:`MAX_DESCRIPTOR_CHARS`, larger ones as array events (arrays) or one event each; None is
    left out. Raises ``TypeError`` naming a value that is not JSON."""
    keys: frozenset[str] = getattr(metrics, "descriptor_keys", frozenset())
    found = Descriptors()
    for key, value in metrics.items():
        if key not in keys or value is None:
            continue
        if isinstance(value, str | int | float):
            found.dimensions[key] = value
        elif len(text := _json_text(key, value)) <= MAX_DESCRIPTOR_CHARS:
            found.dimensions[key] = text
        elif (array := _large_array(value)) is not None:
            found.arrays.append((key, array))
        else:
            found.values[key] = value
    return found


def _json_text(key: str, value: Any) -> str:
    try:
        return serialise(value).decode()
    except Exception as error:
        raise TypeError(
            f"metrics descriptor {key!r} ({type(value).__name__}) cannot be sent as JSON: "
            f"{type(error).__name__}: {error}"
        ) from error
