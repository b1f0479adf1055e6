"""The test-control HTTP API under ``/__mock__/`` (served on both ports, never under ``/services``).

Each route calls the :class:`~dsdl_golden.emulator.emulator.SplunkEmulator` method of the same name,
so the HTTP API and the Python API behave the same; :class:`~dsdl_golden.emulator.ControlClient` is
its Python client.

Every call needs ``Authorization: Bearer <control token>`` (``SplunkEmulator.control_token``, printed
at start by ``golden emulator``); without it the answer is 401. Answers mask credentials (HEC tokens,
``Authorization`` headers, cookies, passwords, session keys) unless the query has ``reveal=true``.
Bodies are JSON objects; bad input answers 400 ``{"error": "..."}``, an unknown path 404, a known
path with another method 405. Routes (``ROUTES``):

``GET /__mock__/info``
    ``{"hec_url", "rest_url", "hec_port", "rest_port", "host", "tls", "ca_bundle", "control_token",
    "events": <number stored>, "datasets": [<names>]}``.
``GET /__mock__/hec/events?index=&kind=&sourcetype=&token=``
    The accepted HEC records, oldest first; ``kind`` is ``event``, ``raw`` or ``metric`` (one record
    per measurement), ``token`` a token's name. All filters are optional.
``GET /__mock__/requests?listener=hec|rest``
    The request log (method, path, headers, start of the body, answer), oldest first.
``POST /__mock__/reset``
    Forgets events, acks, jobs, KV data, faults and the request log; ``{"ok": true}``.
``GET /__mock__/config``
    The whole configuration: the knobs of :class:`~dsdl_golden.emulator.EmulatorConfig`,
    ``hec_tokens``, ``users`` (names), ``auth_tokens`` (a count), ``indexes``, ``metrics_indexes``.
``PUT /__mock__/config`` (or ``POST``)
    Body: knobs to change, and to add ``"hec_tokens": [{"token", "name", "index", "indexes",
    "useACK", "sourcetype", "source", "host", "disabled", "allowQueryStringAuth"}]``,
    ``"users": {name: password}``, ``"auth_tokens": [...]``, ``"indexes": [...]``,
    ``"metrics_indexes": [...]``. Answers the whole configuration.
``GET /__mock__/faults``
    The faults that still apply.
``POST /__mock__/faults``
    Body: ``{"match": {"listener": "hec"|"rest", "path", "method"}, "times", "status", "body",
    "headers", "code", "delay_ms", "drop_connection", "after_events"}`` (all optional; ``times``
    defaults to 1, ``null`` until cleared; ``code`` is an HEC code whose status and text answer).
    201 with the fault. See :class:`~dsdl_golden.emulator.Fault`.
``DELETE /__mock__/faults``
    Removes every fault; ``{"ok": true}``.
``POST /__mock__/datasets``
    Body: ``{"name": <index or exact query>, "rows": [{...}]}`` or ``"path": <absolute path of a
    CSV/JSON/JSONL file on the emulator's machine>``: ``{"rows": <count>}``; or ``{"name": <query>,
    "error": <text>}`` to make that query fail: ``{"ok": true}``.
``POST /__mock__/pause``, ``POST /__mock__/resume``
    Body ``{"listener": "hec"|"rest"|null}`` (``null``: both; pause defaults to ``hec``, resume to
    both): close the port (connections refused) or reopen it on the same port; ``{"ok": true}``,
    answered before the port closes.
``POST /__mock__/refuse``
    Body ``{"seconds": S, "listener": ...}``: pause, and resume after ``S`` seconds.
``POST /__mock__/restart``
    Close and reopen both ports; data is kept.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsdl_golden.emulator.core import CONTROL_PREFIX
from dsdl_golden.emulator.http import Request, Response, json_response, strict_loads
from dsdl_golden.emulator.masking import mask_config, mask_events, mask_info, mask_requests

if TYPE_CHECKING:
    from dsdl_golden.emulator.emulator import SplunkEmulator

__all__ = ["ROUTES", "handle_control"]

Handler = Callable[["SplunkEmulator", Mapping[str, str], Any], Response]
_OK = {"ok": True}
_LOG = logging.getLogger(__name__)
_UNAUTHORIZED = (
    "the control API needs the emulator's control token: send 'Authorization: Bearer <token>' "
    "(SplunkEmulator.control_token, or control_token in the ready line of golden emulator)"
)


def _revealed(query: Mapping[str, str]) -> bool:
    return query.get("reveal", "").lower() in ("1", "true", "yes")


def _ok(value: object = None) -> Response:
    return json_response(200, _OK if value is None else value)


def _events(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    records = emulator.events(
        query.get("index") or None,
        query.get("kind") or None,
        sourcetype=query.get("sourcetype") or None,
        token=query.get("token") or None,
    )
    return _ok(records if _revealed(query) else mask_events(records, emulator.settings.tokens))


def _requests(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    entries = emulator.requests_log(query.get("listener") or query.get("port") or None)
    return _ok(entries if _revealed(query) else mask_requests(entries, emulator.settings.tokens))


def _reset(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    emulator.reset()
    return _ok()


def _config(emulator: SplunkEmulator, query: Mapping[str, str]) -> Response:
    config = emulator.settings.to_json()
    return _ok(config if _revealed(query) else mask_config(config))


def _get_config(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    return _config(emulator, query)


def _put_config(emulator: SplunkEmulator, query: Mapping[str, str], body: Any) -> Response:
    emulator.configure(**body)
    return _config(emulator, query)


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
    if "rows" not in body and not (isinstance(data, str) and Path(data).is_absolute()):
        raise ValueError(f"a dataset path must be an absolute path of the emulator's machine, not {data!r}")
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
    info = {**emulator.describe(), "events": core.events.count(), "datasets": core.datasets.names()}
    return _ok(info if _revealed(query) else mask_info(info))


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


def _authorized(emulator: SplunkEmulator, request: Request) -> bool:
    scheme, _, supplied = (request.header("Authorization") or "").strip().partition(" ")
    expected = emulator.control_token.encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(supplied.strip().encode(), expected)


def handle_control(emulator: SplunkEmulator, request: Request) -> Response:
    """Answer a ``/__mock__/`` request with JSON: 401 without the control token, 400
    ``{"error": ...}`` for bad input (including JSON that is not JSON, too deep or not UTF-8)."""
    if not _authorized(emulator, request):
        return json_response(
            401, {"error": _UNAUTHORIZED}, [("WWW-Authenticate", 'Bearer realm="emulator control"')]
        )
    route = request.path[len(CONTROL_PREFIX) :].strip("/")
    handler = ROUTES.get((request.method, route))
    if handler is None:
        allowed = [method for method, path in ROUTES if path == route]
        if allowed:
            return json_response(405, {"error": "method not allowed"}, [("Allow", ", ".join(allowed))])
        return json_response(404, {"error": f"unknown control path {request.path}"})
    try:
        if request.body_unread:
            raise ValueError("the body is too large")
        body = strict_loads(request.body) if request.body.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return handler(emulator, request.query, body)
    except (ValueError, TypeError, KeyError, RuntimeError) as error:
        return json_response(400, {"error": str(error)})
    except Exception as error:  # a bug: answer it rather than cutting the connection
        _LOG.exception("control API failed on %s %s", request.method, request.path)
        return json_response(500, {"error": f"{type(error).__name__}: {error}"})
