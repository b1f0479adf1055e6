"""The container's model API: a drop-in for DSDL's ``app/main.py``, safer and faster.

Serve it as DSDL does (``uvicorn app.main:app`` with the image's one-line ``app/main.py``) or
directly (``uvicorn dsdl_golden.runtime:app``). Routes, request and response shapes, status
strings, error wording and the order in which the module's functions are called are DSDL's
(``../shared/specs/dsdl-contract.md`` §2):

- ``GET /`` and ``GET /summary``: a JSON string ``{"app": "Splunk App for Data Science and Deep
  Learning", "version": "5.2.4", "model": ..., "token": "valid", "model_summary": ...}``;
- ``POST /fit`` (``mode=stage`` stages the data), ``POST /apply``: ``{"data": <CSV>, "meta": ...}``
  in, ``{"status", "message", "results"}`` out, HTTP 200 for model errors too;
- ``POST /compute``: 410, as since DSDL 5.2.4.

Better than DSDL's: the token is compared whole and in constant time (``Authorization: <token>``,
``Bearer <token>`` or ``Splunk <token>``); ``algo`` and ``model_name`` cannot leave the model and
data directories; modules are executed again when their source changes; model work runs off the
event loop; bodies over ``GOLDEN_MAX_REQUEST_MB`` are refused with 413; CSV is parsed and written
through Arrow; every request is logged as one JSON line and sent to telemetry (duration, rows,
status); ``GET /healthz`` answers liveness and ``GET /readyz`` readiness (503 when models cannot be
saved or loaded; :mod:`dsdl_golden._runtime.readiness`), both without a token and without a
version, path or setting in the answer; with
``olly_enabled`` the API is traced with splunk-opentelemetry (``init_splunk_otel``); with
``GOLDEN_REGISTRY=mlflow`` the model registry is opened at start, in the background, so that the
first ``/fit`` does not wait for MLflow's import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from dsdl_golden import telemetry_helper
from dsdl_golden._error_text import USER_CODE_FAILURES, exception_text
from dsdl_golden._runtime.auth import TokenRefusedError, check_token
from dsdl_golden._runtime.calls import CallError, CallResult, ModelService
from dsdl_golden._runtime.observability import flush_tracing, start_tracing
from dsdl_golden._runtime.readiness import check_readiness
from dsdl_golden.config import Settings, load_settings

__all__ = ["APP_NAME", "DSDL_API_VERSION", "create_app"]

APP_NAME: Final = "Splunk App for Data Science and Deep Learning"
#: The DSDL release whose API this runtime serves.
DSDL_API_VERSION: Final = "5.2.4"

logger = logging.getLogger("dsdl_golden.runtime")


class BodyTooLargeError(Exception):
    """The request body is over the configured limit."""


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def _json(payload: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")


def _configure_logging(level: str) -> None:
    package = logging.getLogger("dsdl_golden")
    if not package.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(telemetry_helper.JsonFormatter())
        package.addHandler(handler)
        package.propagate = False
    package.setLevel(level)


def _record(path: str, status: str, http_status: int, started: float, result: CallResult | None) -> None:
    facts: dict[str, Any] = {
        "type": "request",
        "path": path,
        "status": status,
        "http_status": http_status,
        "duration_s": round(time.perf_counter() - started, 6),
    }
    if result is not None:
        facts.update(
            algo=result.algo,
            model_name=result.model_name,
            rows_in=result.rows_in,
            rows_out=result.rows_out,
        )
        if status == "error":
            facts["detail"] = str(result.response.get("message", ""))[:1000]
    try:
        logger.info("%s %s %s", path, status, http_status, extra=facts)
        telemetry_helper.log_event(facts, level="ERROR" if status == "error" else "INFO")
    except Exception as error:
        logger.warning("request telemetry skipped: %s", error)


def _guarded(what: str, action: Callable[[], Any]) -> Any:
    """``action()``, or ``{"error": ...}`` when the module's code fails: a broken module's model or
    summary must not make ``/summary`` a 500."""
    try:
        return action()
    except USER_CODE_FAILURES as error:
        return {"error": f"{what} raised {type(error).__name__}: {exception_text(error)}"}


class ModelApi:
    """The route handlers of one API process."""

    def __init__(self, settings: Settings, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.environ = environ
        self.service = ModelService(settings)
        self.limit = settings.max_request_mb * 1024 * 1024

    def authorise(self, request: Request) -> None:
        """Raise :class:`TokenRefusedError` unless the request carries the API token."""
        check_token(request.headers.get("authorization"), self.environ)

    def _summary(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "app": APP_NAME,
            "version": DSDL_API_VERSION,
            "model": "no model exists",
            "token": "valid",
        }
        last = self.service.last_model()
        if last is not None:
            loaded, model = last
            facts["model"] = _guarded("str(model)", lambda: str(model))
            facts["model_summary"] = _guarded("summary(model)", lambda: loaded.module.summary(model))
        return facts

    async def summary(self, request: Request) -> Response:
        """``GET /`` and ``/summary``: DSDL's JSON string."""
        self.authorise(request)
        facts = await run_in_threadpool(self._summary)
        return JSONResponse(json.dumps(facts, default=str))

    async def call(self, request: Request, path: str) -> Response:
        """``POST /fit`` or ``/apply``: always a JSON answer, 200 unless the token or the size is refused."""
        self.authorise(request)
        started = time.perf_counter()
        prefix = f"{path}: ERROR: "
        try:
            body = await _read_body(request, self.limit)
        except BodyTooLargeError:
            message = (
                f"{prefix}the request body is larger than {self.settings.max_request_mb} MiB: "
                "send fewer rows or columns, or raise GOLDEN_MAX_REQUEST_MB"
            )
            _record(path, "error", 413, started, None)
            return _json({"status": "error", "message": message}, 413)
        work = self.service.fit if path == "/fit" else self.service.apply
        try:
            result = await run_in_threadpool(work, body)
        except CallError as failure:
            result = CallResult({"status": "error", "message": prefix + str(failure)})
        except Exception as error:  # never a 500: DSDL expects a JSON answer
            logger.exception("%s failed", path)
            result = CallResult(
                {"status": "error", "message": f"{prefix}internal error: {type(error).__name__}: {error}"}
            )
        _record(path, result.response["status"], 200, started, result)
        return _json(result.response)

    async def compute(self, request: Request) -> Response:
        """``POST /compute``: gone since DSDL 5.2.4."""
        self.authorise(request)
        return _json(
            {
                "status": "deprecated",
                "message": "/compute has been deprecated and disabled. Use /fit and /apply instead.",
            },
            410,
        )


def _start_telemetry() -> None:
    """Start delivering now: events an earlier process left in the spool (a stop, a crash, HEC down)
    go out at start, not at the first request; a telemetry that cannot start never stops the API."""
    try:
        telemetry_helper.get_telemetry()
    except Exception as error:
        logger.warning("telemetry is not started: %s", error)


async def _refused(request: Request, error: Exception) -> Response:
    return JSONResponse({"detail": str(error)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _healthz() -> Response:
    return _json({"status": "ok"})


def _readyz(settings: Settings) -> Callable[[], Awaitable[Response]]:
    async def readyz() -> Response:
        readiness = await run_in_threadpool(check_readiness, settings)
        return _json(readiness.as_dict(), 200 if readiness.ready else 503)

    return readyz


def create_app(settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> FastAPI:
    """The model API for ``settings`` (default: read from ``environ``, default ``os.environ``).

    The API token is read from ``environ["api_token"]`` at each request, as DSDL does.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    settings = settings or load_settings(env)
    _configure_logging(settings.log_level)
    if str(settings.srv_dir) not in sys.path:
        sys.path.insert(0, str(settings.srv_dir))  # `import app.model.<helper>` from exported notebooks
    api = ModelApi(settings, env)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracing = start_tracing(app, env)
        await run_in_threadpool(_start_telemetry)
        if settings.registry == "mlflow":  # the first fit would wait seconds for MLflow's import
            from dsdl_golden._lifecycle.registration import warm_up_registry

            threading.Thread(target=warm_up_registry, name="registry-warm-up", daemon=True).start()
        yield
        if tracing:
            await run_in_threadpool(flush_tracing)
        await run_in_threadpool(telemetry_helper.flush, 5.0)

    app = FastAPI(
        title="dsdl-golden model API", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.add_exception_handler(TokenRefusedError, _refused)
    app.add_api_route("/healthz", _healthz, methods=["GET"])
    app.add_api_route("/readyz", _readyz(settings), methods=["GET"])
    app.add_api_route("/", api.summary, methods=["GET"])
    app.add_api_route("/summary", api.summary, methods=["GET"])

    async def fit(request: Request) -> Response:
        return await api.call(request, "/fit")

    async def apply(request: Request) -> Response:
        return await api.call(request, "/apply")

    app.add_api_route("/fit", fit, methods=["POST"])
    app.add_api_route("/apply", apply, methods=["POST"])
    app.add_api_route("/compute", api.compute, methods=["POST"])
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # built on first use, so that importing this module reads no settings
        app = create_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
