"""Transport-neutral request and response values shared by the listeners and the endpoints."""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = [
    "JSON_TYPE",
    "MAX_JSON_DEPTH",
    "XML_TYPE",
    "Request",
    "Response",
    "compact_json",
    "json_response",
    "parse_form",
    "strict_decoder",
    "strict_loads",
    "too_deep",
]

JSON_TYPE = "application/json; charset=UTF-8"
XML_TYPE = "text/xml; charset=utf-8"

#: The deepest JSON (objects and arrays, the outermost one counting as 1) the emulator reads. Deeper
#: values would exhaust the recursion limit somewhere later (decoding, encoding, search extraction),
#: so they are invalid data on every port. Real Splunk's limit is not documented [unverified].
MAX_JSON_DEPTH = 512


class _NotJsonNumberError(ValueError):
    """A value Python's ``json`` reads but JSON has no number for: ``NaN``, ``Infinity``,
    ``-Infinity``, or a number literal beyond a double's range (``1e400`` reads as infinity)."""

    def __init__(self, literal: str, problem: str) -> None:
        super().__init__(f"{literal} {problem}")
        self.literal = literal

    def position(self, text: str) -> int:
        """Where the literal is in ``text``, which is valid JSON before it: its first occurrence as
        a whole token outside strings."""
        token = rf"(?<![\w.+-]){re.escape(self.literal)}(?![\w.+-])"
        for match in re.finditer(rf'"(?:[^"\\]|\\.)*"|{token}', text):
            if match.group() == self.literal:
                return match.start()
        return 0


def _reject_constant(name: str) -> object:
    raise _NotJsonNumberError(name, "is not valid JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _NotJsonNumberError(literal, "is beyond the range of a double")
    return value


#: A ``json`` decoder that refuses ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON, which Python
#: accepts by default) and number literals that overflow a double (``1e400``, which Python reads as
#: infinity); a ``ValueError`` like any other syntax error.
strict_decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def too_deep(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests lists and dicts more than ``limit`` levels deep (no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if type(item) is dict:
            children: Iterable[object] = item.values()
        elif type(item) is list:
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if type(child) in (dict, list))
    return False


def strict_loads(data: str | bytes) -> object:
    """Parse JSON text (bytes must be UTF-8) as real JSON: ``NaN``/``Infinity``, numbers beyond a
    double's range, nesting deeper than :data:`MAX_JSON_DEPTH` and undecodable bytes raise
    ``ValueError`` (never ``RecursionError``); a ``json.JSONDecodeError`` where there is a position."""
    text = data.decode() if isinstance(data, bytes) else data  # UnicodeDecodeError is a ValueError
    try:
        value = strict_decoder.decode(text)
    except RecursionError:
        raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except _NotJsonNumberError as refused:
        raise json.JSONDecodeError(str(refused), text, refused.position(text)) from None
    if (text.count("[") + text.count("{") > MAX_JSON_DEPTH) and too_deep(value):
        raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def compact_json(value: object) -> bytes:
    """JSON without spaces, as splunkd writes it; NaN and infinities raise ``ValueError`` (they are
    not JSON, and every reply of the emulator must be strict JSON)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def parse_form(text: str) -> dict[str, str]:
    """Decode ``application/x-www-form-urlencoded`` text; the last value of a repeated name wins."""
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


@dataclass(slots=True)
class Request:
    """One HTTP request as read by a listener; ``body`` is empty when it exceeded the read limit."""

    listener: str
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    body_unread: bool = False
    client: str = ""
    path: str = field(init=False)
    query: dict[str, str] = field(init=False)
    _lower_headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        path, _, query = self.target.partition("?")
        self.path = path
        self.query = parse_form(query)
        self._lower_headers = {name.lower(): value for name, value in self.headers}

    def header(self, name: str) -> str | None:
        """A request header, matched case-insensitively."""
        return self._lower_headers.get(name.lower())


@dataclass(slots=True)
class Response:
    """A reply: ``body`` bytes, or an iterable of chunks to stream with chunked encoding.

    A ``Content-Type`` among ``headers`` replaces ``content_type``. ``close`` ends the connection after
    the reply (announced with ``Connection: Close``); ``drop`` closes it without any reply; ``after``
    runs once the reply is sent.
    """

    status: int
    body: bytes | Iterable[bytes] = b""
    content_type: str | None = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    drop: bool = False
    after: Callable[[], None] | None = None


def json_response(status: int, value: object, headers: Iterable[tuple[str, str]] = ()) -> Response:
    """A compact-JSON response."""
    return Response(status, compact_json(value), JSON_TYPE, list(headers))
