"""The test-control HTTP API under ``/__mock__/`` (served on both ports, never under ``/services``).

Each route calls the :class:`~dsdl_golden.emulator.emulator.SplunkEmulator` method of the same name,
so the HTTP API and the Python API behave the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from dsdl_golden.emulator.core import CONTROL_PREFIX
from dsdl_golden.emulator.http import Request, Response, json_response

if TYPE_CHECKING:
    from dsdl_golden.emulator.emulator import SplunkEmulator

__all__ = ["ROUTES", "handle_control"]

Handler = Callable[["SplunkEmulator", Mapping[str, str], Any], Response]
_OK = {"ok": True}


def _ok(value: object = None) -> Response:
    return json_response(200, _OK if value is None else value)


def _events(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    return _ok(
        emulator.events(
            query.get("index") or None,
            query.get("kind") or None,
            sourcetype=query.get("sourcetype") or None,
            token=query.get("token") or None,
        )
    )


def _requests(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    return _ok(emulator.requests_log(query.get("listener") or query.get("port") or None))


def _reset(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    emulator.reset()
    return _ok()


def _get_config(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    return _ok(emulator.settings.to_json())


def _put_config(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    emulator.configure(**body)
    return _ok(emulator.settings.to_json())


def _get_faults(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    return _ok([fault.to_json() for fault in emulator.faults()])


def _add_fault(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    options = dict(body)
    match = dict(options.pop("match", None) or {})
    if "port" in match:
        match["listener"] = match.pop("port")
    fault = emulator.inject_fault(**match, **options)
    return json_response(201, fault.to_json())


def _clear_faults(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    emulator.clear_faults()
    return _ok()


def _add_dataset(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    name, error = body.get("name"), body.get("error")
    data = body.get("rows", body.get("path"))
    if isinstance(name, str) and isinstance(error, str):
        emulator.fail_search(name, error)
        return _ok()
    if not isinstance(name, str) or data is None:
        raise ValueError('expected {"name": ..., "rows": [...] | "path": "..." | "error": "..."}')
    return _ok({"rows": emulator.add_dataset(name, data)})


def _after(action: Callable[[], None]) -> Response:
    """Reply first, then act: the action may close the port this request came in on."""
    response = _ok()
    response.after = action
    return response


def _listener(body: Mapping[str, Any], default: str | None) -> str | None:
    listener = body.get("listener", default)
    if listener is not None and listener not in ("hec", "rest"):
        raise ValueError(f"unknown listener {listener!r}: expected 'hec', 'rest' or null (both)")
    return None if listener is None else str(listener)


def _pause(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    listener = _listener(body, "hec")
    return _after(lambda: emulator.pause(listener))


def _resume(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    emulator.resume(_listener(body, None))
    return _ok()


def _refuse(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    seconds, listener = float(body["seconds"]), _listener(body, "hec")
    return _after(lambda: emulator.refuse_connections(seconds, listener))


def _restart(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    return _after(emulator.restart)


def _info(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    core = emulator.core
    return _ok({**emulator.describe(), "events": core.events.count(), "datasets": core.datasets.names()})


#: (method, path below ``/__mock__/``) -> handler.
ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "info"): _info,
    ("GET", "hec/events"): _events,
    ("GET", "requests"): _requests,
    ("POST", "reset"): _reset,
    ("GET", "config"): _get_config,
    ("PUT", "config"): _put_config,
    ("POST", "config"): _put_config,
    ("GET", "faults"): _get_faults,
    ("POST", "faults"): _add_fault,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "datasets"): _add_dataset,
    ("POST", "pause"): _pause,
    ("POST", "resume"): _resume,
    ("POST", "refuse"): _refuse,
    ("POST", "restart"): _restart,
}


def handle_control(emulator: SplunkEmulator, request: Request) -> Response:
    """Answer a ``/__mock__/`` request with JSON; bad input gives 400 ``{"error": ...}``."""
    route = request.path[len(CONTROL_PREFIX) :].strip("/")
    handler = ROUTES.get((request.method, route))
    if handler is None:
        allowed = [method for method, path in ROUTES if path == route]
        if allowed:
            return json_response(405, {"error": "method not allowed"}, [("Allow", ", ".join(allowed))])
        return json_response(404, {"error": f"unknown control path {request.path}"})
    try:
        body = json.loads(request.body) if request.body.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return handler(emulator, request.query, body)
    except (ValueError, TypeError, KeyError, RuntimeError) as error:
        return json_response(400, {"error": str(error)})
