"""The emulator's state and request dispatch: faults first, then HEC or REST, then the request log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from dsdl_golden.emulator.auth import Sessions
from dsdl_golden.emulator.config import Settings
from dsdl_golden.emulator.datasets import Datasets
from dsdl_golden.emulator.faults import Fault, FaultSet
from dsdl_golden.emulator.hec import HecService, hec_reply
from dsdl_golden.emulator.http import JSON_TYPE, Request, Response, compact_json
from dsdl_golden.emulator.jobs import JobManager
from dsdl_golden.emulator.kvstore import KVStore
from dsdl_golden.emulator.rest import RestService
from dsdl_golden.emulator.rest_kvstore import KVStoreApi
from dsdl_golden.emulator.rest_search import SearchApi
from dsdl_golden.emulator.restcall import rest_error
from dsdl_golden.emulator.search import SearchEngine
from dsdl_golden.emulator.store import AckTracker, EventStore, RequestLog

__all__ = ["CONTROL_PREFIX", "EmulatorCore"]

CONTROL_PREFIX = "/__mock__/"
_LOG = logging.getLogger(__name__)


def _fault_response(fault: Fault) -> Response | None:
    """What a fault answers instead of the endpoint, or ``None`` to let the endpoint answer."""
    if fault.delay_ms:
        time.sleep(fault.delay_ms / 1000)
    if fault.drop_connection and fault.after_events is None:
        return Response(0, drop=True)
    if fault.status is None:
        return None
    body = fault.body
    if body is None:
        return Response(fault.status, b"", None, list(fault.headers.items()))
    if isinstance(body, str):
        return Response(fault.status, body.encode(), "text/plain; charset=UTF-8", list(fault.headers.items()))
    return Response(fault.status, compact_json(body), JSON_TYPE, list(fault.headers.items()))


def _text(body: bytes | str | None, limit: int) -> str:
    if isinstance(body, bytes):
        body = body[:limit].decode("utf-8", "replace")
    return (body or "")[:limit]


class EmulatorCore:
    """Every store and service, and :meth:`dispatch`, the function both listeners serve."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.events = EventStore()
        self.acks = AckTracker()
        self.faults = FaultSet()
        self.log = RequestLog()
        self.sessions = Sessions(settings)
        self.jobs = JobManager()
        self.kvstore = KVStore()
        self.datasets = Datasets()
        self.engine = SearchEngine(self.datasets, self.events)
        self.rest_base_url = ""
        self.hec = HecService(settings, self.events, self.acks, self.faults)
        self.rest = RestService(
            settings,
            self.sessions,
            SearchApi(settings, self.jobs, self.engine, lambda: self.rest_base_url),
            KVStoreApi(self.kvstore, lambda: self.rest_base_url),
        )

    def reset(self) -> None:
        """Forget events, acks, jobs, KV data, faults and the request log (not settings, datasets or
        login sessions)."""
        for store in (self.events, self.acks, self.jobs, self.kvstore, self.faults, self.log):
            store.clear()

    def dispatch(self, request: Request, control: Callable[[Request], Response]) -> Response:
        """Answer a request: ``/__mock__/`` goes to ``control``; otherwise apply faults, serve, log."""
        if request.path.startswith(CONTROL_PREFIX):
            return control(request)
        started = time.time()
        request_id = self.log.next_id()
        notes: dict[str, Any] = {}
        fault = self.faults.take(request.listener, request.path, request.method)
        response = None if fault is None else _fault_response(fault)
        if response is None:
            response = self._serve(request, request_id, notes, fault)
        if request.body_unread:
            response.close = True
        limit = self.settings.config.log_body_bytes
        self.log.append(
            {
                "id": request_id,
                "listener": request.listener,
                "time": started,
                "client": request.client,
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "headers": dict(request.headers),
                "body": _text(notes.pop("body", None) or request.body, limit),
                "body_bytes": len(request.body),
                "gzip": notes.pop("gzip", False),
                "status": None if response.drop else response.status,
                "response": _text(response.body, limit) if isinstance(response.body, bytes) else "<stream>",
                "dropped": response.drop,
                "fault": fault is not None,
                **notes,
            }
        )
        return response

    def _serve(
        self, request: Request, request_id: int, notes: dict[str, Any], fault: Fault | None
    ) -> Response:
        try:
            if request.listener == "hec":
                return self.hec.handle(request, request_id, notes, fault)
            return self.rest.handle(request)
        except Exception:
            _LOG.exception("emulator failed on %s %s", request.method, request.path)
            if request.listener == "hec":
                return hec_reply(8)
            return rest_error(500, "Internal server error", kind="ERROR")
