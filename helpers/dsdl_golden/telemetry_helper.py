"""Telemetry to Splunk HEC that does not get in the model's way and counts what it cannot deliver.

Module functions use one process-wide :class:`Telemetry` built from the DSDL environment
(:mod:`dsdl_golden.config`) on first use::

    from dsdl_golden import telemetry_helper as telemetry

    telemetry.set_context(model="churn", run_id="2026-11-26-a")
    telemetry.log_training_step(3, loss=0.41, accuracy=0.88)
    telemetry.log_metrics({"f1": 0.83}, stage="validation")
    try:
        ...
    except Exception as error:
        telemetry.log_error(error, phase="fit")
    telemetry.flush(10)

Metrics go to the metrics index as HEC metric events (one ``metric_name:<name>`` per value; large
arrays and very many values take the shape that :meth:`Telemetry.log_metrics` describes),
everything else to the events index. Every event carries ``event_id`` (unique, for de-duplication
at search time: delivery is at least once), project, use case, model, run id, host and the image
version and digest when known. :func:`log_params` records a run's parameters (later metric events
carry its ``params_id``) and :func:`log_figure` a matplotlib figure as a PNG. With HEC disabled or
unconfigured every function is a cheap no-op (events are dropped, not spooled) that says why and
which settings to change once per process, at INFO level.

Delivery guarantee:

- An event that cannot be encoded as JSON (a key that is not a string or number, a value whose
  ``str()`` raises) is refused at the call with a ``TypeError`` naming the field; nothing else is
  affected. ``log_*`` raises nothing else from the delivery pipeline.
- Once ``log_*`` returned, the event is in the disk spool (``GOLDEN_SPOOL_DIR``): the call copies
  it into a memory-mapped spool file, which puts it in the operating system's page cache (a few
  microseconds, no system call). It survives the death of the process (SIGKILL included) at once,
  and a crash of the machine within 50 ms (a background fsync) or after :func:`sync` returned True.
  It is replayed by the next process that uses the spool directory, and reaches HEC at least once
  (de-duplicate by ``event_id``). A process forked from this one spools to a directory of its own
  (delivered once the child has exited, by the next process that starts).
- An event that can never be delivered (larger than HEC's limit, refused by HEC for good) goes to
  ``<spool>/dead-letter.jsonl`` with its reason and is counted (``dead_lettered``).
- Events dropped because the spool is full (``dropped_spool_full``: 256 MB of unsent events) or
  the spool write failed (disk full, file size limit: ``dropped_write_error``) are counted, not
  silently lost; spool files are preallocated, so a full disk fails the write, never the process.
- Damaged spool bytes (a flipped bit, a torn or corrupted length header) cost only the records they
  hit: the reader resynchronises on the next intact record, copies the damaged bytes to
  ``<spool>/quarantine-*.bin`` and counts them (``corrupt_records_skipped``, ``corrupt_bytes_skipped``).
  A cursor file that makes no sense replays its whole directory (duplicates, no loss).
- A spool directory that cannot be created or written at start makes telemetry fall back to a bounded
  in-memory queue (64 MB, ``spool_in_memory`` = 1) with one warning naming ``GOLDEN_SPOOL_DIR``;
  events then survive network outages but not the death of the process.
- :func:`flush` returns True only when every event logged so far was delivered: False when it
  times out and once any event was dropped, dead-lettered or skipped as corrupt (for the rest of
  the process; :meth:`Telemetry.stats` says which counter grew). Events dead-lettered since the
  previous flush are logged as one warning per reason, with their count and the fix.
  :func:`sync` returns False when it times out or an event was lost since the previous sync.
"""

from __future__ import annotations

import atexit
import base64
import io
import itertools
import json
import logging
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsdl_golden._error_text import exception_text
from dsdl_golden._html import html_table
from dsdl_golden._telemetry import metric_events
from dsdl_golden._telemetry.client import DeliveryClient, DeliveryOptions, encode
from dsdl_golden._telemetry.hec import HecTransport
from dsdl_golden._telemetry.spool import MemorySpool, Spool
from dsdl_golden.config import Settings, load_settings, without_credentials

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "HecLogHandler",
    "JsonFormatter",
    "Telemetry",
    "configure",
    "flush",
    "get_telemetry",
    "log_error",
    "log_event",
    "log_figure",
    "log_metrics",
    "log_params",
    "log_training_step",
    "set_context",
    "sync",
]

logger = logging.getLogger("dsdl_golden.telemetry")

SOURCE = "dsdl-golden"
MEMORY_SPOOL_BYTES = 64 * 1024 * 1024  # the in-memory queue used when the spool directory is unusable

MAX_FIGURE_PNG_BYTES = 600_000
"""The largest PNG :meth:`Telemetry.log_figure` sends: as base64 (800 KB) its event fits in one HEC
request of 1 MB (the smallest ``max_content_length`` in use) and in one batch of the delivery client."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEC_SETTINGS = "splunk_hec_enabled=true, splunk_hec_url and splunk_hec_token"
_said_disabled: set[str] = set()  # the reasons for telemetry being off said so far in this process
_said_lock = threading.Lock()


def _flat_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """HEC indexed fields must be flat: scalars are kept, other values become text, None is left out.

    Raises ``TypeError`` naming the field whose value cannot be shown as text.
    """
    return {key: _field_value(key, value) for key, value in values.items() if value is not None}


def _field_value(key: str, value: Any) -> Any:
    if isinstance(value, str | int | float):
        return value
    try:
        return str(value)
    except Exception as error:
        raise TypeError(
            f"telemetry field {key!r} ({type(value).__name__}) cannot be shown as text: "
            f"{type(error).__name__}: {error}"
        ) from error


_PARAM_SCALARS = (str, int, float, bool, type(None))


def _param_items(params: Mapping[Any, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Parameters as flat (dotted name, JSON value) pairs: nested mappings flattened with dots."""
    for key, value in params.items():
        if not isinstance(key, str | int) or isinstance(key, bool):
            raise TypeError(f"parameter name {prefix}{key!r} is a {type(key).__name__}: use str names")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _param_items(value, f"{name}.")
        else:
            yield name, _param_value(name, value)


def _param_value(name: str, value: Any) -> Any:
    """``value`` as JSON (numpy scalars and arrays as numbers and lists); TypeError naming ``name``."""
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        value = value.tolist()
    if isinstance(value, _PARAM_SCALARS):
        return value
    if isinstance(value, list | tuple):
        return [_param_value(f"{name}.{index}", item) for index, item in enumerate(value)]
    raise TypeError(
        f"parameter {name!r} is a {type(value).__name__}: give a string, number, bool, None, or a "
        f"list or mapping of them (str(value) to send its text)"
    )


def _png_of(figure: Any) -> bytes:
    """The figure rendered as PNG in memory; ValueError (saying how to shrink it) when too large."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    png = buffer.getvalue()
    if not png.startswith(_PNG_SIGNATURE):
        raise ValueError(f"log_figure: {type(figure).__name__}.savefig(format='png') did not write a PNG")
    if len(png) > MAX_FIGURE_PNG_BYTES:
        raise ValueError(
            f"log_figure: the figure's PNG has {len(png)} bytes, more than the {MAX_FIGURE_PNG_BYTES} "
            "one HEC event may carry: lower its dpi (figure.set_dpi(72)) or its size "
            "(figure.set_size_inches(6, 4)), or plot fewer points"
        )
    return png


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG's IHDR chunk (right after the signature)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


class Telemetry:
    """Builds HEC events with the run context and hands them to a delivery client.

    Without a delivery client (HEC disabled or unconfigured) every method is a no-op.
    """

    def __init__(
        self, settings: Settings, delivery: DeliveryClient | None, *, disabled_reason: str = ""
    ) -> None:
        self.settings = settings
        self.delivery = delivery
        self.disabled_reason = disabled_reason
        self._ids = itertools.count()
        self._id_prefix = uuid.uuid4().hex[:16]
        self._host = socket.gethostname()
        self.context: dict[str, Any] = {
            "project": settings.project,
            "use_case": settings.use_case,
            "model": None,
            "run_id": uuid.uuid4().hex,
            "image_name": settings.image_name,
            "image_version": settings.image_version,
            "image_revision": settings.image_revision,
            "image_digest": settings.image_digest,
        }
        self._context_fields = _flat_fields(self.context)

    def __repr__(self) -> str:
        state = self.delivery.transport.base_url if self.delivery else f"disabled: {self.disabled_reason}"
        return f"Telemetry({state})"

    def _repr_html_(self) -> str:
        """A table for Jupyter: whether it delivers (or why not), where to, and the counters."""
        rows = {
            "enabled": "yes" if self.delivery else f"no: {self.disabled_reason}",
            "HEC URL": without_credentials(self.settings.splunk_hec_url or "") or "not set",
            "events index": self.settings.events_index,
            "metrics index": self.settings.metrics_index,
            "spool directory": str(self.settings.spool_dir),
            **self.stats(),
        }
        return html_table(("", ""), rows.items(), caption="dsdl_golden telemetry")

    @property
    def enabled(self) -> bool:
        """True when events are delivered to HEC."""
        return self.delivery is not None

    def _skip(self) -> bool:
        """True when telemetry is off; says why at INFO, once per process and reason."""
        if self.delivery is not None:
            return False
        with _said_lock:
            first = self.disabled_reason not in _said_disabled
            _said_disabled.add(self.disabled_reason)
        if first:
            logger.info(
                "telemetry is off (%s): events are dropped, not spooled; to send them to Splunk set %s",
                self.disabled_reason,
                _HEC_SETTINGS,
            )
        return True

    def _dimensions(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """Context and ``extra`` as flat HEC fields (scalars kept, other values as text), plus event_id."""
        fields = dict(self._context_fields)
        fields.update(_flat_fields(extra))
        fields["event_id"] = f"{self._id_prefix}-{next(self._ids)}"
        return fields

    def set_context(self, **context: Any) -> None:
        """Set run context (``model``, ``run_id``, ``project``, ... or your own keys) for later events.

        A new ``run_id`` forgets the ``params_id`` of :meth:`log_params` (the new run has no parameters yet).
        """
        if "run_id" in context and "params_id" not in context:
            self.context.pop("params_id", None)
        self.context.update(context)
        self._context_fields = _flat_fields(self.context)

    def log_metrics(
        self, metrics: Mapping[str, Any], *, step: int | None = None, stage: str = "train", **context: Any
    ) -> None:
        """Send numeric metrics to the metrics index as HEC metric events.

        Nested mappings and sequences are flattened with dots: ``{"per_class": {"a": {"f1": 0.5}}}``
        becomes the measurement ``per_class.a.f1``, ``[[3, 1], [0, 4]]`` under ``confusion_matrix``
        the measurements ``confusion_matrix.0.0`` to ``confusion_matrix.1.1``. Strings become
        dimensions (nested ones too: ``{"labels": ["a", "b"]}`` gives the dimensions ``labels.0`` and
        ``labels.1``), None is skipped, NaN and infinities are left out and named in the ``non_finite``
        dimension. Keys that ``metrics.descriptor_keys`` (a frozenset, when ``metrics`` has that
        attribute, as a :func:`~dsdl_golden.metrics_calculator.calculate_all_metrics` result may)
        names describe rather than measure (``labels``, ``pos_label``, ``class_counts``): they become
        dimensions, as JSON text when they are not a string or a number, never measurements (the
        Notes say where those of more than 4,000 characters of JSON go). Small
        inputs make one metric event; large ones (a
        :func:`~dsdl_golden.metrics_calculator.calculate_all_metrics` result with hundreds of
        classes) are shaped as the Notes say, so that no event comes near HEC's limits and the
        call costs about a tenth of a second, not seconds.

        Parameters
        ----------
        metrics : Mapping[str, Any]
            Numbers, strings, None, numpy scalars and arrays, and mappings and sequences of them.
            Names are made of letters, digits, ``_``, ``.`` and ``-`` and start with a letter.
        step : int, optional
            The training step or epoch (the ``step`` dimension).
        stage : str, default="train"
            The ``stage`` dimension: ``"train"``, ``"validation"``, ``"test"``, ...
        **context : Any
            More dimensions for these events only (``fold=2``); the run context is always added.

        Raises
        ------
        TypeError
            A value that is not a number, a string or None (the message names it).
        ValueError
            A metric name Splunk would not take (the message names it).

        See Also
        --------
        log_event : Events for the events index; large arrays of metrics go there too.

        Notes
        -----
        Large inputs take this shape:

        - **Large arrays.** An array of numbers or of strings (numpy, or nested lists) with more than
          :data:`ARRAY_MEASUREMENT_CELLS` (400) cells, such as the confusion matrix of more than 20
          classes, or ``labels`` and ``class_counts`` of more than 400, is not flattened. The metric
          event keeps ``<name>.shape.<axis>`` for each axis and, for a square ``confusion_matrix``,
          ``<name>.total`` (the samples, or their weight) and ``<name>.trace`` (those predicted
          right). The cells go to the events index (sourcetype and index of :meth:`log_event`) as
          events ``{"type": "metric_array", "metric": <name>, "shape", "dtype", "start", "stop",
          "raveled", "part", "parts", "values"}`` of at most :data:`ARRAY_EVENT_BYTES` (512 KB) of
          values each: ``values`` holds rows ``start`` to ``stop - 1`` (along the first axis);
          only when one row alone is over that size is the array raveled (C order, ``"raveled":
          true``) and ``start``/``stop`` count cells. ``np.concatenate`` of the ``values`` of
          parts 1 to ``parts``, reshaped to ``shape``, gives the array back; non-finite cells are
          null. An array that could take more than :data:`ARRAY_MAX_BYTES` (32 MB) of JSON is not
          sent: a warning says so and the metric event names it in ``arrays_not_sent``.
        - **Many measurements.** More than :data:`MAX_MEASUREMENTS_PER_EVENT` (1,000) measurements
          (the per-class metrics of more than about 150 classes) are split, in order, over several
          metric events, each with every dimension and ``metrics_part`` (1, 2, ...) and
          ``metrics_parts``. The metric names do not change with the number of classes:
          ``per_class.17.recall`` is the same measurement whether it came in one event or many.
        - **Linking.** When either happens, every metric event and array event of the call carries
          ``metrics_id``: the ``event_id`` of the first metric event. Each event has its own
          ``event_id`` and the same context, ``stage`` and ``step``.

        - **Large descriptors.** A value of ``descriptor_keys`` whose JSON text is longer than
          :data:`~dsdl_golden._telemetry.metric_events.MAX_DESCRIPTOR_CHARS` (4,000 characters) is
          not a dimension: an array (the confusion matrix of many classes) goes as the array
          events above, without summary measurements; another value (``class_counts`` of many
          classes) as one event ``{"type": "metric_descriptor", "metric": <name>, "value"}``.
          Both carry ``metrics_id``.

        Inputs with at most 400 cells per array and 1,000 measurements make one metric event,
        exactly as before, with no ``metrics_id``.

        Examples
        --------
        >>> from dsdl_golden.telemetry_helper import get_telemetry
        >>> telemetry = get_telemetry()
        >>> telemetry.log_metrics({"accuracy": 0.91, "per_class": {"a": {"f1": 0.5}}}, stage="test")
        """
        if self._skip():
            return
        described = metric_events.descriptors(metrics)
        measures = {key: value for key, value in metrics.items() if key not in described.dimensions}
        for key in [*described.values, *(name for name, _ in described.arrays)]:
            del measures[key]
        fields, non_finite, arrays = metric_events.metric_fields_and_arrays(measures)
        if non_finite:
            fields["non_finite"] = ",".join(non_finite)
        if not any(key.startswith(metric_events.MEASUREMENT) for key in fields):
            logger.warning("log_metrics got no finite number to send: %s", sorted(metrics))
            return
        dimensions = {**described.dimensions, "stage": stage, "step": step, **context}
        parts = metric_events.measurement_parts(fields)
        arrays += described.arrays
        if len(parts) == 1 and not arrays and not described.values:  # the common case: one metric event
            fields.update(self._dimensions(dimensions))
            self._submit({"event": "metric", "index": self.settings.metrics_index, "fields": fields})
            return
        sent, not_sent = metric_events.sendable_arrays(arrays)
        if not_sent:
            logger.warning(
                "log_metrics: arrays %s are larger than %d bytes of JSON: only their shape is sent",
                ", ".join(not_sent),
                metric_events.ARRAY_MAX_BYTES,
            )
        metrics_id = ""
        for number, part in enumerate(parts, start=1):
            extra = dict(dimensions)
            if not_sent:
                extra["arrays_not_sent"] = ",".join(not_sent)
            if len(parts) > 1:
                extra.update(metrics_part=number, metrics_parts=len(parts))
            part.update(self._dimensions(extra))
            metrics_id = metrics_id or part["event_id"]
            part["metrics_id"] = metrics_id
            self._submit({"event": "metric", "index": self.settings.metrics_index, "fields": part})
        linked = {**dimensions, "metrics_id": metrics_id}
        for name, array in sent:
            self._log_array(name, array, linked)
        for name, value in described.values.items():
            self._send_event({"type": "metric_descriptor", "metric": name, "value": value}, context=linked)

    def _log_array(self, name: str, array: np.ndarray, dimensions: Mapping[str, Any]) -> None:
        """The cells of a large metrics array as events to the events index (see log_metrics)."""
        for body in metric_events.array_event_bodies(name, array):
            self._submit(
                {
                    "event": body,
                    "index": self.settings.events_index,
                    "sourcetype": self.settings.sourcetype,
                    "fields": self._dimensions({"level": "INFO", **dimensions}),
                }
            )

    def log_training_step(self, step: int, **values: Any) -> None:
        """Send the metrics of one training step (``stage="train"``)."""
        self.log_metrics(values, step=step, stage="train")

    def log_event(
        self,
        event: Mapping[str, Any] | str,
        *,
        level: str = "INFO",
        sourcetype: str | None = None,
        index: str | None = None,
        **context: Any,
    ) -> None:
        """Send an event (a mapping or a string) to the events index."""
        if self._skip():
            return
        body = {"message": event} if isinstance(event, str) else dict(event)
        self._send_event(body, level=level, sourcetype=sourcetype, index=index, context=context)

    def _send_event(
        self,
        body: dict[str, Any],
        *,
        level: str = "INFO",
        sourcetype: str | None = None,
        index: str | None = None,
        context: Mapping[str, Any],
        link: str | None = None,
    ) -> str:
        """Submit ``body`` to the events index with the run context; returns its ``event_id``.

        With ``link``, the event also carries its own ``event_id`` under that name (``params_id``).
        """
        fields = self._dimensions({"level": level, **context})
        if link is not None:
            fields[link] = fields["event_id"]
        body.setdefault("level", level)
        self._submit(
            {
                "event": body,
                "index": index or self.settings.events_index,
                "sourcetype": sourcetype or self.settings.sourcetype,
                "fields": fields,
            }
        )
        return str(fields["event_id"])

    def log_params(self, params: Mapping[str, Any] | None = None, /, **more_params: Any) -> str | None:
        """Send a run's parameters (hyper-parameters, data choices) as one event of type ``params``.

        See :func:`log_params`. Returns the ``params_id`` that later events of the run carry, or
        None when telemetry is off or there was no parameter.
        """
        if self._skip():
            return None
        values = {**(params or {}), **more_params}
        if not values:
            logger.warning("log_params got no parameters: pass a mapping or keyword arguments")
            return None
        body = {"type": "params", "params": dict(_param_items(values))}
        params_id = self._send_event(body, context={}, link="params_id")
        self.set_context(params_id=params_id)
        return params_id

    def log_figure(self, figure: Any, name: str, **context: Any) -> None:
        """Send a matplotlib figure as a PNG in one event of type ``figure`` (see :func:`log_figure`)."""
        if not callable(getattr(figure, "savefig", None)):
            raise TypeError(
                f"log_figure needs a matplotlib Figure (an object with savefig), got {type(figure).__name__}"
            )
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"log_figure needs a non-empty name for the figure, got {name!r}")
        if self._skip():
            return
        png = _png_of(figure)
        width, height = _png_size(png)
        body = {
            "type": "figure",
            "name": name,
            "format": "png",
            "width": width,
            "height": height,
            "png_base64": base64.b64encode(png).decode("ascii"),
        }
        self._send_event(body, context=context)

    def log_error(self, error: BaseException, **context: Any) -> None:
        """Send an exception (type, message, traceback) with the run context, at level ERROR."""
        self.log_event(
            {
                "type": "error",
                "exception_type": f"{type(error).__module__}.{type(error).__qualname__}",
                "message": exception_text(error),
                "traceback": "".join(traceback.format_exception(error)),
            },
            level="ERROR",
            **context,
        )

    def _submit(self, event: dict[str, Any]) -> None:
        assert self.delivery is not None
        event["time"] = time.time()
        event["host"] = self._host
        event["source"] = SOURCE
        self.delivery.submit(encode(event))  # raises TypeError naming a field that cannot be sent

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything logged so far was delivered; True only if every event was accepted.

        False when ``timeout`` passed first, or once any event of this :class:`Telemetry` was
        dropped, dead-lettered (refused by HEC for good) or skipped as corrupt: :meth:`stats` says
        which. Events dead-lettered since the previous flush are logged as one warning per reason
        (``Incorrect index``, ...) with their count and the fix. True when telemetry is off.
        """
        if self.delivery is None:
            return self._skip()  # True: nothing to deliver (and says why, once)
        return self.delivery.flush(timeout)

    def sync(self, timeout: float = 10.0) -> bool:
        """Wait until everything logged so far is on disk (survives a crash).

        True if it was within ``timeout`` and nothing was dropped, dead-lettered or skipped as corrupt
        since the previous sync. See :func:`sync`.
        """
        if self.delivery is None:
            return self._skip()  # True: nothing to keep (and says why, once)
        return self.delivery.sync(timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Flush, stop the background threads; undelivered events stay spooled for the next process.

        Idempotent: later calls return the first call's result and close nothing.
        """
        return True if self.delivery is None else self.delivery.close(timeout)

    def state(self) -> str:
        """``off`` (HEC disabled), ``delivering``, or ``spooling`` while HEC fails and events wait on
        disk to be sent again."""
        return "off" if self.delivery is None else self.delivery.state

    def stats(self) -> dict[str, int]:
        """Delivery counters since start.

        ``queued``/``spooled``/``sent``/``batches``/``retries``; losses: ``dropped_spool_full``,
        ``dropped_write_error``, ``dead_lettered``, ``corrupt_records_skipped`` (with
        ``corrupt_bytes_skipped``); ``spool_in_memory`` is 1 after the fallback to memory.
        """
        return {} if self.delivery is None else self.delivery.stats_dict()


def build_telemetry(
    settings: Settings, *, options: DeliveryOptions | None = None, spool_max_bytes: int = 256 * 1024 * 1024
) -> Telemetry:
    """A :class:`Telemetry` for ``settings``: delivering when HEC is enabled, else a no-op."""
    if not settings.splunk_hec_enabled:
        return Telemetry(settings, None, disabled_reason="splunk_hec_enabled is false or unset")
    if not settings.hec_enabled or settings.splunk_hec_url is None:
        missing = [name for name in ("splunk_hec_url", "splunk_hec_token") if not getattr(settings, name)]
        return Telemetry(settings, None, disabled_reason=f"{' and '.join(missing)} not set")
    try:
        transport = HecTransport(
            settings.splunk_hec_url, settings.splunk_hec_token, verify=settings.tls_verify
        )
    except ValueError as error:  # a URL with credentials (Settings built without load_settings)
        logger.warning("telemetry is off: %s", error)
        return Telemetry(settings, None, disabled_reason=str(error))
    spool: Spool | MemorySpool
    try:
        spool = Spool(Path(settings.spool_dir), max_bytes=spool_max_bytes)
    except OSError as error:
        logger.warning(
            "telemetry spool directory %s (GOLDEN_SPOOL_DIR) cannot be used (%s): events wait in memory "
            "(up to %d bytes) and are lost if the process dies; set GOLDEN_SPOOL_DIR to a writable directory",
            settings.spool_dir,
            error,
            min(spool_max_bytes, MEMORY_SPOOL_BYTES),
        )
        spool = MemorySpool(Path(settings.spool_dir), max_bytes=min(spool_max_bytes, MEMORY_SPOOL_BYTES))
    index_settings = {
        settings.events_index: "GOLDEN_EVENTS_INDEX",
        settings.metrics_index: "GOLDEN_METRICS_INDEX",
    }
    return Telemetry(settings, DeliveryClient(transport, spool, options, index_settings=index_settings))


_lock = threading.Lock()
_telemetry: Telemetry | None = None


def get_telemetry() -> Telemetry:
    """The process-wide :class:`Telemetry`, built from the environment on first use."""
    global _telemetry  # noqa: PLW0603 - one delivery pipeline per process
    with _lock:
        if _telemetry is None:
            _telemetry = build_telemetry(load_settings())
            atexit.register(_telemetry.close)
        return _telemetry


def configure(settings: Settings | None = None, **kwargs: Any) -> Telemetry:
    """Replace the process-wide :class:`Telemetry` (closing the old one); returns the new one."""
    global _telemetry
    new = build_telemetry(settings or load_settings(), **kwargs)
    with _lock:
        old, _telemetry = _telemetry, new
    if old is not None:
        old.close()
        atexit.unregister(old.close)
    atexit.register(new.close)
    return new


def log_metrics(
    metrics: Mapping[str, Any], *, step: int | None = None, stage: str = "train", **context: Any
) -> None:
    """Send numeric metrics to the metrics index as HEC metric events.

    Nested mappings and sequences are flattened into dotted measurement names
    (``per_class.0.f1``, ``confusion_matrix.0.1``), strings become dimensions. Small inputs make one
    metric event. Large ones keep every event far under HEC's limits and the call cheap (about
    0.1 s for a 1,000-class :func:`~dsdl_golden.metrics_calculator.calculate_all_metrics` result,
    mostly numpy reading its million-cell confusion matrix): arrays of more than 400 cells go to
    the events index in parts of rows (the metric event keeps their shape, and a confusion
    matrix's total and trace), and more than 1,000 measurements are split over several metric
    events; all of them share ``metrics_id``.
    :meth:`Telemetry.log_metrics` describes the shape in full.

    Parameters
    ----------
    metrics : Mapping[str, Any]
        Numbers, strings, None, numpy scalars and arrays, and mappings and sequences of them.
    step : int, optional
        The training step or epoch (the ``step`` dimension).
    stage : str, default="train"
        The ``stage`` dimension.
    **context : Any
        More dimensions for these events only.

    See Also
    --------
    Telemetry.log_metrics : The same for one :class:`Telemetry`, and the shape of large inputs.
    log_training_step : The metrics of one training step.

    Examples
    --------
    >>> from dsdl_golden import telemetry_helper as telemetry
    >>> from dsdl_golden.metrics_calculator import calculate_all_metrics
    >>> telemetry.log_metrics({"accuracy": 0.91, "loss": 0.25}, stage="validation", fold=2)
    >>> telemetry.log_metrics(calculate_all_metrics([0, 1, 2, 2], [0, 2, 2, 1]), stage="test")
    """
    get_telemetry().log_metrics(metrics, step=step, stage=stage, **context)


def log_params(params: Mapping[str, Any] | None = None, /, **more_params: Any) -> str | None:
    """Send the parameters of a run (hyper-parameters, data choices) as one event of type ``params``.

    The event goes to the events index with the run context, its body ``{"type": "params",
    "params": {...}, "level": "INFO"}``: nested mappings are flattened with dots
    (``{"optimizer": {"lr": 0.01}}`` gives ``optimizer.lr``), lists and numpy arrays become JSON
    lists. Every later event of the run (metric events included) carries the event's ``params_id``
    as a dimension, so that metrics join their parameters in a search (``params_id`` and
    ``run_id``); logging parameters again starts a new ``params_id``, a new ``run_id`` in
    :func:`set_context` forgets it.

    Parameters
    ----------
    params : Mapping[str, Any], optional
        The parameters: strings, numbers, bools, None, and lists and mappings of them.
    **more_params : Any
        More parameters as keyword arguments (they win over ``params`` on the same name).

    Returns
    -------
    params_id : str or None
        The ``event_id`` of the params event, which later events carry as ``params_id``; None when
        telemetry is off or no parameter was given (a warning says so).

    Raises
    ------
    TypeError
        A value that is not JSON (an estimator, a path: pass ``str(value)``) or a name that is not
        a string; the message names the parameter.

    See Also
    --------
    Telemetry.log_params : The same for one :class:`Telemetry`.
    log_metrics : The metrics these parameters gave.

    Examples
    --------
    >>> from dsdl_golden import telemetry_helper as telemetry
    >>> telemetry.log_params({"optimizer": {"name": "adam", "lr": 0.01}}, epochs=20, layers=[64, 32])
    """
    return get_telemetry().log_params(params, **more_params)


def log_figure(figure: Any, name: str, **context: Any) -> None:
    """Send a matplotlib figure as a PNG image in one event of type ``figure``.

    The figure is rendered in memory (``figure.savefig(buffer, format="png")`` at the figure's dpi)
    and sent to the events index with the run context as ``{"type": "figure", "name", "format":
    "png", "width", "height", "png_base64"}`` (width and height in pixels). Nothing is written to
    disk; the figure is not closed. A no-op, without rendering, when telemetry is off.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure (any object with matplotlib's ``savefig``).
    name : str
        What the figure shows (``"roc_curve"``), the ``name`` of the event.
    **context : Any
        More fields for this event only (``fold=2``).

    Raises
    ------
    TypeError
        ``figure`` has no ``savefig`` method.
    ValueError
        ``name`` is empty, or the PNG is larger than :data:`MAX_FIGURE_PNG_BYTES` (600 KB, what one
        HEC event may carry as base64): lower the dpi or the size of the figure.

    See Also
    --------
    Telemetry.log_figure : The same for one :class:`Telemetry`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from dsdl_golden import telemetry_helper as telemetry
    >>> figure, axes = plt.subplots(figsize=(4, 3), dpi=80)
    >>> _ = axes.plot([0, 0.2, 1], [0, 0.8, 1])
    >>> telemetry.log_figure(figure, "roc_curve", stage="test")
    >>> plt.close(figure)
    """
    get_telemetry().log_figure(figure, name, **context)


def log_training_step(step: int, **values: Any) -> None:
    """Send one training step's metrics (see :meth:`Telemetry.log_training_step`)."""
    get_telemetry().log_training_step(step, **values)


def log_event(event: Mapping[str, Any] | str, **kwargs: Any) -> None:
    """Send an event to the events index (see :meth:`Telemetry.log_event`)."""
    get_telemetry().log_event(event, **kwargs)


def log_error(error: BaseException, **context: Any) -> None:
    """Send an exception with its traceback and the run context (see :meth:`Telemetry.log_error`)."""
    get_telemetry().log_error(error, **context)


def set_context(**context: Any) -> None:
    """Set run context for later events (see :meth:`Telemetry.set_context`)."""
    get_telemetry().set_context(**context)


def flush(timeout: float = 10.0) -> bool:
    """Wait until everything logged so far was delivered to HEC.

    Parameters
    ----------
    timeout : float, default=10.0
        Seconds to wait at most.

    Returns
    -------
    delivered : bool
        True only when every event logged so far was accepted by HEC within ``timeout``. False when
        the time ran out, or once any event was dropped, dead-lettered (refused by HEC for good,
        e.g. ``Incorrect index``) or skipped as corrupt: ``stats()`` says which, and the events
        dead-lettered since the previous flush are logged as one warning per reason, with their
        count and the fix (``create it or set GOLDEN_METRICS_INDEX``). True when telemetry is off.

    See Also
    --------
    sync : Wait until the events are on disk (they survive a crash).
    Telemetry.flush : The same for one :class:`Telemetry`.

    Examples
    --------
    >>> from dsdl_golden import telemetry_helper as telemetry
    >>> telemetry.log_event({"stage": "fit", "status": "done"})
    >>> telemetry.flush(5)
    True
    """
    return get_telemetry().flush(timeout)


def sync(timeout: float = 10.0) -> bool:
    """Wait until everything logged so far is on stable storage.

    After ``sync`` returns True, the events logged before it survive a crash of the process or of
    the machine: the next process that uses the same spool directory sends them. Delivery to HEC
    continues in the background (see :func:`flush` to wait for it).

    Parameters
    ----------
    timeout : float, default=10.0
        Seconds to wait at most for the spool writes.

    Returns
    -------
    synced : bool
        True if every event logged so far was written and fsynced within ``timeout`` and no event
        was dropped, dead-lettered or skipped as corrupt since the previous ``sync``; False
        otherwise (``stats()`` says what was lost). True when telemetry is off.

    See Also
    --------
    flush : Wait until the events were delivered to HEC.
    Telemetry.sync : The same for one :class:`Telemetry`.

    Examples
    --------
    >>> from dsdl_golden import telemetry_helper as telemetry
    >>> telemetry.log_event({"stage": "fit", "status": "done"})
    >>> telemetry.sync(5)
    True
    """
    return get_telemetry().sync(timeout)


_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def record_to_dict(record: logging.LogRecord) -> dict[str, Any]:
    """A log record as a flat JSON-ready dict: time, level, logger, message, extras, exception."""
    data: dict[str, Any] = {
        "time": record.created,
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
        "module": record.module,
        "line": record.lineno,
    }
    if record.exc_info and record.exc_info[1] is not None:
        data["exception_type"] = type(record.exc_info[1]).__name__
        data["traceback"] = "".join(traceback.format_exception(*record.exc_info))
    data.update((key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES)
    return data


class JsonFormatter(logging.Formatter):
    """One compact JSON object per line (for stdout, where container logs are collected)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of compact JSON (time, level, logger, message, extras, exception)."""
        return json.dumps(record_to_dict(record), default=str, separators=(",", ":"))


class HecLogHandler(logging.Handler):
    """Sends log records as structured events through the process-wide telemetry pipeline.

    Records of the telemetry pipeline itself and of urllib3 are not forwarded (no feedback loop).
    """

    _OWN = ("dsdl_golden.telemetry", "urllib3")

    def __init__(self, level: int = logging.INFO, telemetry: Telemetry | None = None) -> None:
        """Forward records of ``level`` and above to ``telemetry`` (the process-wide one by default)."""
        super().__init__(level)
        self._telemetry = telemetry

    def emit(self, record: logging.LogRecord) -> None:
        """Send ``record`` as an event (its message, extras and exception) at the record's level.

        Records of the telemetry pipeline and of urllib3 are skipped; a failure goes to
        :meth:`logging.Handler.handleError` (never to the caller).
        """
        if record.name.startswith(self._OWN):
            return
        try:
            telemetry = self._telemetry or get_telemetry()
            telemetry.log_event(record_to_dict(record), level=record.levelname)
        except Exception:
            self.handleError(record)
