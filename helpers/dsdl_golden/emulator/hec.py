"""HTTP Event Collector: routes, authentication, validation order, error codes and ingestion."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from dsdl_golden.emulator.config import HecToken, Settings
from dsdl_golden.emulator.faults import Fault, FaultSet
from dsdl_golden.emulator.http import (
    MAX_JSON_DEPTH,
    Request,
    Response,
    json_response,
    strict_decoder,
    strict_loads,
    too_deep,
)
from dsdl_golden.emulator.store import AckTracker, EventStore, Record

__all__ = ["HEC_CODES", "HecService", "expand", "expand_all", "hec_reply"]

#: HEC reply codes: code -> (HTTP status, text); 404/413/415 are the mock's HTTP-level answers.
HEC_CODES: dict[int, tuple[int, str]] = {
    0: (200, "Success"),
    1: (403, "Token disabled"),
    2: (401, "Token is required"),
    3: (401, "Invalid authorization"),
    4: (403, "Invalid token"),
    5: (400, "No data"),
    6: (400, "Invalid data format"),
    7: (400, "Incorrect index"),
    8: (500, "Internal server error"),
    9: (503, "Server is busy"),
    10: (400, "Data channel is missing"),
    11: (400, "Invalid data channel"),
    12: (400, "Event field is required"),
    13: (400, "Event field cannot be blank"),
    14: (400, "ACK is disabled"),
    15: (400, "Error in handling indexed fields"),
    16: (400, "Query string authorization is not enabled"),
    17: (200, "HEC is healthy"),
    18: (503, "HEC is unhealthy, queues are full"),
    19: (503, "HEC is unhealthy, ack service unavailable"),
    20: (503, "HEC is unhealthy, queues are full, ack service unavailable"),
    21: (400, "Invalid token"),
    22: (400, "Token disabled"),
    404: (404, "The requested URL was not found on this server."),
    413: (413, "Content-Length of the request exceeds max_content_length"),
    415: (415, "Unsupported Content-Encoding"),
}
_EVENT_NUMBER_CODES = frozenset({6, 7, 9, 12, 13, 15})

_EVENT_PATHS = frozenset(
    {"/services/collector", "/services/collector/event", "/services/collector/event/1.0"}
)
_RAW_PATHS = frozenset({"/services/collector/raw", "/services/collector/raw/1.0"})
_HEALTH_PATHS = frozenset({"/services/collector/health", "/services/collector/health/1.0"})
_ACK_PATH = "/services/collector/ack"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_JSON_SPACE = " \t\r"  # and "\n", which separates lines
_SPACE = re.compile(r"[ \t\n\r]+")
# NaN, Infinity and literals beyond a double (1e400) are not JSON: code 6, as real HEC answers.
_DECODE = strict_decoder.raw_decode
_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_METRIC_PREFIX = "metric_name:"
_MISSING = object()


def hec_reply(code: int, event_number: int | None = None, ack_id: int | None = None) -> Response:
    """The reply for ``code``: its status and compact body, with ``invalid-event-number`` where due.

    ``event_number`` is the zero-based position of the failing event; code 7 reports it one higher,
    as real HEC does. ``ack_id`` is added to a success on a useACK token.
    """
    status, text = HEC_CODES[code]
    body: dict[str, object] = {"text": text, "code": code}
    if code in _EVENT_NUMBER_CODES:
        body["invalid-event-number"] = (event_number or 0) + (code == 7)
    if ack_id is not None:
        body["ackId"] = ack_id
    return json_response(status, body)


class _HecError(Exception):
    """An HEC error: reply with ``code`` (raised for a request, or for one event while parsing)."""

    def __init__(self, code: int, event_number: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.event_number = event_number


@dataclass(slots=True)
class _Batch:
    """What one request contributes: accepted records, or the failure after some of them."""

    records: list[Record]
    failure: tuple[int, int] | None = None
    json_array: bool = False


class HecService:
    """The HEC endpoints over shared settings and stores."""

    def __init__(self, settings: Settings, events: EventStore, acks: AckTracker, faults: FaultSet) -> None:
        self.settings = settings
        self.events = events
        self.acks = acks
        self.faults = faults

    def handle(
        self, request: Request, request_id: int, notes: dict[str, Any], fault: Fault | None = None
    ) -> Response:
        """Answer one HEC request; ``notes`` receives details for the request log.

        ``fault`` is an active "drop after N events" fault (see :class:`Fault`), if any.
        """
        path = request.path.rstrip("/") or "/"
        method = request.method
        if path in _HEALTH_PATHS and method in ("GET", "HEAD"):
            return self._health(request)
        if path in _EVENT_PATHS and method == "OPTIONS":
            return Response(200, b"", None, [("Allow", "OPTIONS, POST")])
        if method != "POST" or not (path in _EVENT_PATHS or path in _RAW_PATHS or path == _ACK_PATH):
            return hec_reply(404)
        try:
            token = self._authenticate(request)
            notes["token_name"] = token.label
            if path == _ACK_PATH and not token.use_ack:
                raise _HecError(14)
            channel = self._channel(request, token)
            text = self._body_text(request, notes)
        except _HecError as rejected:
            return hec_reply(rejected.code, rejected.event_number)
        if path == _ACK_PATH:
            return self._ack(token, channel or "", text)
        context = _Context(
            self.settings, token, request, request_id=request_id, channel=channel, endpoint=path
        )
        batch = context.parse_events(text) if path in _EVENT_PATHS else context.parse_raw(text)
        notes["json_array"] = batch.json_array
        notes["events"] = len(batch.records)
        return self._commit(batch, token, channel, fault)

    def _commit(self, batch: _Batch, token: HecToken, channel: str | None, fault: Fault | None) -> Response:
        records = batch.records
        if batch.failure is not None and not self.settings.config.partial_accept:
            records = []
        if fault is not None and fault.after_events is not None:
            allowed = self.faults.spend_events(fault, len(records))
            if allowed < len(records):
                self.events.extend(records[:allowed])
                return Response(0, drop=True)
        if batch.failure is not None:
            self.events.extend(records)
            return hec_reply(*batch.failure)
        ack_id = None
        if token.use_ack and channel is not None:
            config = self.settings.config
            delay = float("inf") if config.never_ack else config.ack_delay_ms / 1000
            ack_id = self.acks.issue(token.token, channel, delay)
            for record in records:
                record["ack_id"] = ack_id
        self.events.extend(records)
        return hec_reply(0, ack_id=ack_id)

    def _health(self, request: Request) -> Response:
        config = self.settings.config
        supplied = request.query.get("token")
        if config.health_checks_token and supplied is not None:
            token = self.settings.tokens.get(supplied)
            if token is None:
                return hec_reply(21)
            if token.disabled:
                return hec_reply(22)
        return hec_reply(config.health_code)

    def _authenticate(self, request: Request) -> HecToken:
        header = request.header("Authorization")
        via_query = False
        if header is not None:
            value = _token_from_header(header)
        elif "token" in request.query:
            value, via_query = request.query["token"], True
        else:
            raise _HecError(2)
        token = self.settings.tokens.get(value)
        if token is None:
            raise _HecError(4)
        if via_query and not token.allow_query_string:
            raise _HecError(16)
        if token.disabled:
            raise _HecError(1)
        return token

    @staticmethod
    def _channel(request: Request, token: HecToken) -> str | None:
        channel = request.header("X-Splunk-Request-Channel") or request.query.get("channel")
        if not token.use_ack:
            return channel
        if not channel:
            raise _HecError(10)
        if not _GUID.fullmatch(channel):
            raise _HecError(11)
        return channel

    def _body_text(self, request: Request, notes: dict[str, Any]) -> str:
        limit = self.settings.config.max_content_length
        body = request.body
        if request.body_unread or len(body) > limit:
            raise _HecError(413)
        encoding = (request.header("Content-Encoding") or "identity").strip().lower()
        if encoding == "gzip":
            notes["gzip"] = True
            body = _gunzip(body, limit)
        elif encoding != "identity":
            raise _HecError(415)
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise _HecError(6, 0) from None
        if not text.strip():
            raise _HecError(5)
        notes["body"] = text
        return text

    def _ack(self, token: HecToken, channel: str, text: str) -> Response:
        try:
            body = strict_loads(text)
            ack_ids = body["acks"]  # type: ignore[index]
            if not isinstance(ack_ids, list) or not all(type(item) is int for item in ack_ids):
                raise TypeError(ack_ids)
        except (ValueError, KeyError, TypeError):
            return hec_reply(6, 0)
        return json_response(200, {"acks": self.acks.query(token.token, channel, ack_ids)})


def _token_from_header(header: str) -> str:
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "splunk" and value.strip():
        return value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _HecError(3) from None
        if ":" in decoded:
            return decoded.partition(":")[2]
    raise _HecError(3)


def _gunzip(body: bytes, limit: int) -> bytes:
    """Every member of a gzip body (``cat a.gz b.gz`` is one valid gzip stream, as RFC 1952 and
    real HEC read it), at most ``limit`` bytes in all (413 beyond); anything broken is code 6."""
    parts: list[bytes] = []
    size = 0
    rest = body
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(rest, limit + 1 - size)  # >= 1: 0 would mean "no limit"
        except zlib.error:
            raise _HecError(6, 0) from None
        size += len(data)
        if size > limit:
            raise _HecError(413)
        if not inflater.eof:
            raise _HecError(6, 0)
        parts.append(data)
        rest = inflater.unused_data
        if not rest.strip(b"\0"):  # trailing zero padding is allowed, as gzip(1) allows it
            return b"".join(parts)


def _one_object_per_line(text: str, max_size: int) -> list[tuple[Any, str]] | None:
    """The events of a body with one JSON object per line (how HEC clients send), else None.

    Only a fast path: a body it declines (arrays, several or broken objects on a line, values
    orjson refuses such as NaN or 1e400) goes through the general parser, so the outcome is the same.
    """
    items = []
    for line in text.split("\n"):
        envelope = line.strip(_JSON_SPACE)
        if not envelope:
            continue
        if len(envelope) > max_size or envelope.count("{") + envelope.count("[") > MAX_JSON_DEPTH:
            return None  # perhaps too deep for the rest of the emulator: the general parser decides
        try:
            value = orjson.loads(envelope)
        except orjson.JSONDecodeError:
            return None
        if type(value) is not dict or not _metadata_read_exactly(value):
            return None
        items.append((value, envelope))
    return items


def _metadata_read_exactly(event: dict[str, Any]) -> bool:
    """False when orjson may have read host, source or sourcetype differently from the json module.

    orjson reads integers beyond 64 bits as floats; such a value would become different text.
    """
    return not (
        type(event.get("host")) is float
        or type(event.get("source")) is float
        or type(event.get("sourcetype")) is float
    )


def _skip_space(text: str, position: int) -> int:
    match = _SPACE.match(text, position)
    return match.end() if match else position


def _number(value: object) -> float | None:
    """A finite number, or a string holding a JSON-style decimal number; else ``None``.

    Not ``float(text)``, which also reads ``"nan"``, ``"inf"``, ``"1_000"`` and padded text.
    """
    if type(value) is int:
        return float(value)
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is str and _NUMERIC_TEXT.fullmatch(value):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _measurements(fields: dict[str, Any]) -> list[tuple[str, float]] | None:
    """The (metric name, value) pairs of a metric event's fields, or ``None`` when invalid."""
    named: list[tuple[object, object]] = [
        (key[len(_METRIC_PREFIX) :], value) for key, value in fields.items() if key.startswith(_METRIC_PREFIX)
    ]
    if "metric_name" in fields:
        named.append((fields["metric_name"], fields.get("_value")))
    measurements: list[tuple[str, float]] = []
    for name, value in named:
        number = _number(value)
        if not isinstance(name, str) or not name or number is None:
            return None
        measurements.append((name, number))
    return measurements or None


def _dimensions(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in fields.items()
        if key not in ("metric_name", "_value") and not key.startswith(_METRIC_PREFIX)
    }


def _bad_fields(fields: object) -> bool:
    if type(fields) is not dict:
        return True
    for value in fields.values():
        if type(value) is dict:
            return True
        if type(value) is list and any(type(item) in (dict, list) for item in value):
            return True
    return False


class _Context:
    """Per-request defaults and the event validation loop (kept tight: it runs once per event)."""

    def __init__(
        self,
        settings: Settings,
        token: HecToken,
        request: Request,
        *,
        request_id: int,
        channel: str | None,
        endpoint: str,
    ) -> None:
        query = request.query
        self.settings = settings
        self.token = token
        self.index = query.get("index") or token.default_index or "main"
        self.host = query.get("host") or token.host or settings.config.default_host
        self.source = query.get("source") or token.source or f"http:{token.label}"
        self.sourcetype = query.get("sourcetype") or token.sourcetype or "httpevent"
        self.time = query.get("time")
        self.allowed: set[str] = set()  # indexes already checked in this request
        self.base: Record = {
            "token_name": token.label,
            "channel": channel,
            "endpoint": endpoint,
            "request_id": request_id,
            "ack_id": None,
        }

    def _index_ok(self, index: object) -> bool:
        return type(index) is str and self.token.allows(index) and self.settings.index_exists(index)

    def parse_events(self, text: str) -> _Batch:
        """Parse concatenated JSON objects (optionally arrays) and validate them in order."""
        batch = _Batch([])
        max_size = self.settings.config.max_event_size
        items = _one_object_per_line(text, max_size) or self._concatenated(text, max_size, batch)
        position = 0
        now = time.time()
        try:
            for item, envelope in items:
                self._add(item, envelope, position, now, batch.records)
                position += 1
        except _HecError as error:
            batch.failure = (error.code, position)
        return batch

    def _concatenated(self, text: str, max_size: int, batch: _Batch) -> Iterator[tuple[Any, str]]:
        """The (value, JSON text) of each event in any body HEC accepts; raises code 6 where it breaks."""
        accept_array = self.settings.config.accept_json_array
        start = _skip_space(text, 0)
        while start < len(text):
            try:
                value, end = _DECODE(text, start)
            except (ValueError, RecursionError):  # RecursionError: nested beyond Python's stack
                raise _HecError(6) from None
            if end - start > max_size:
                raise _HecError(6)
            if text.count("{", start, end) + text.count("[", start, end) > MAX_JSON_DEPTH and too_deep(value):
                raise _HecError(6)
            if type(value) is list:
                batch.json_array = True
                if not accept_array:
                    raise _HecError(6)
                yield from ((item, json.dumps(item, separators=(",", ":"))) for item in value)
            else:
                yield value, text[start:end]
            start = _skip_space(text, end)

    def _add(self, item: Any, envelope: str, position: int, now: float, records: list[Record]) -> None:
        """Validate one event object (in the order of real HEC) and append its record(s).

        Records hold only strings and numbers (the event itself stays JSON text in ``envelope``),
        so the garbage collector does not track them: ingestion stays fast with millions stored.
        """
        if type(item) is not dict:
            raise _HecError(6)
        event = item.get("event", _MISSING)
        if event is _MISSING:
            raise _HecError(12)
        if (
            event is None
            or (type(event) is str and (not event or event.isspace()))
            or (type(event) in (dict, list) and not event)
        ):
            raise _HecError(13)
        stamp = item.get("time")
        stamp = now if stamp is None else _number(stamp)
        if stamp is None:
            raise _HecError(6)
        fields = item.get("fields")
        if fields is not None and _bad_fields(fields):
            raise _HecError(15)
        index = item.get("index") or self.index
        if type(index) is not str or index not in self.allowed:
            if not self._index_ok(index):
                raise _HecError(7)
            self.allowed.add(index)
        host = item.get("host") or self.host
        source = item.get("source") or self.source
        sourcetype = item.get("sourcetype") or self.sourcetype
        record = {
            **self.base,
            "kind": "event",
            "position": position,
            "time": stamp,
            "host": host if type(host) is str else str(host),
            "source": source if type(source) is str else str(source),
            "sourcetype": sourcetype if type(sourcetype) is str else str(sourcetype),
            "index": index,
            "envelope": envelope,
        }
        if event != "metric":
            records.append(record)
            return
        if index not in self.settings.metrics_indexes:
            raise _HecError(7)
        measurements = _measurements(fields or {})
        if measurements is None:
            raise _HecError(6)
        record["kind"] = "metric"
        records.extend({**record, "metric_name": name, "value": value} for name, value in measurements)

    def parse_raw(self, text: str) -> _Batch:
        """Split a raw body into events (per line unless ``raw_line_split`` is off)."""
        batch = _Batch([])
        stamp = time.time() if self.time is None else _number(self.time)
        if stamp is None:
            batch.failure = (6, 0)
            return batch
        if not self._index_ok(self.index):
            batch.failure = (7, 0)
            return batch
        lines = text.splitlines() if self.settings.config.raw_line_split else [text]
        events = [line for line in lines if line.strip()]
        batch.records = [
            {
                **self.base,
                "kind": "raw",
                "position": position,
                "time": stamp,
                "host": self.host,
                "source": self.source,
                "sourcetype": self.sourcetype,
                "index": self.index,
                "event": line,
            }
            for position, line in enumerate(events)
        ]
        return batch


def _decoded(record: Record) -> tuple[Any, dict[str, Any]]:
    """``event`` and ``fields`` of a stored record (for metrics the fields are the dimensions)."""
    body = json.loads(record["envelope"])
    fields = body.get("fields") or {}
    return body["event"], _dimensions(fields) if record["kind"] == "metric" else fields


def expand(record: Record) -> Record:
    """The public form of a stored record: ``event`` and ``fields`` decoded from the envelope
    (for metrics ``fields`` are the dimensions, next to ``metric_name`` and ``value``)."""
    return expand_all([record])[0]


def expand_all(records: Iterable[Record]) -> list[Record]:
    """:func:`expand` for many records, in time linear in their size: the records of one metric
    event (one per measurement, sharing one envelope) are decoded once, not once each."""
    public_records: list[Record] = []
    last_envelope: object = None
    event: Any = None
    fields: dict[str, Any] = {}
    for record in records:
        public = dict(record)
        envelope = public.pop("envelope", None)
        if envelope is None:
            public["fields"] = {}
        else:
            if envelope is not last_envelope or record["kind"] != "metric":
                event, fields = _decoded(record)
                last_envelope = envelope if record["kind"] == "metric" else None
                public["fields"] = fields
            else:
                public["fields"] = dict(fields)  # each record owns its fields
            public["event"] = event
        public_records.append(public)
    return public_records
