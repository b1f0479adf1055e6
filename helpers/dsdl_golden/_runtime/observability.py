"""OpenTelemetry tracing of the model API when DSDL sets ``olly_enabled``.

DSDL 5.2.4 calls splunk-opentelemetry 1.x's ``start_tracing()``, removed in 2.0; the current API is
``splunk_otel.init_splunk_otel()`` plus ``FastAPIInstrumentor.instrument_app(app)`` (install the
``observability`` extra). DSDL also sets ``OTEL_TRACES_EXPORTER=jaeger-thrift-splunk``, an exporter
2.x no longer has: that value is replaced by ``otlp`` with a warning, and tracing is skipped with a
warning when the packages are missing or fail to start, so the API always starts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["flush_tracing", "start_tracing", "tracing_wanted"]

logger = logging.getLogger("dsdl_golden.runtime")

_OLD_EXPORTER: Final = "jaeger-thrift-splunk"


def tracing_wanted(environ: Mapping[str, str]) -> bool:
    """``olly_enabled`` as DSDL reads it (``"1"``, or containing ``true``) or any of our flag words."""
    value = environ.get("olly_enabled", "").strip().lower()
    return value in {"1", "yes", "on"} or "true" in value


def start_tracing(app: Any, environ: Mapping[str, str]) -> bool:
    """Instrument ``app`` when tracing is wanted; True when it is on."""
    if not tracing_wanted(environ):
        return False
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from splunk_otel import init_splunk_otel
    except ImportError as error:
        logger.warning(
            "olly_enabled is set but tracing is off: %s (install dsdl-golden[observability])", error
        )
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER") == _OLD_EXPORTER:
        logger.warning(
            "OTEL_TRACES_EXPORTER=%s (DSDL's default) is gone from splunk-opentelemetry 2: using otlp; "
            "set OTEL_EXPORTER_OTLP_ENDPOINT to your collector",
            _OLD_EXPORTER,
        )
        os.environ["OTEL_TRACES_EXPORTER"] = "otlp"
    try:
        init_splunk_otel()
        FastAPIInstrumentor.instrument_app(app)
    except Exception as error:
        logger.warning("olly_enabled is set but tracing could not start: %s", error)
        return False
    logger.info("OpenTelemetry tracing is on")
    return True


def flush_tracing(timeout_s: float = 5.0) -> None:
    """Export the spans still buffered (at shutdown, so that the last requests are not lost)."""
    from opentelemetry import trace

    flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if flush is not None:
        flush(int(timeout_s * 1000))
