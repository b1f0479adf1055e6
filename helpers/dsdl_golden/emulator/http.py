"""Transport-neutral request and response values shared by the listeners and the endpoints."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = [
    "JSON_TYPE",
    "XML_TYPE",
    "Request",
    "Response",
    "compact_json",
    "json_response",
    "parse_form",
]

JSON_TYPE = "application/json; charset=UTF-8"
XML_TYPE = "text/xml; charset=utf-8"


def compact_json(value: object) -> bytes:
    """JSON without spaces, as splunkd writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


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

    ``close`` ends the connection after the reply (announced with ``Connection: Close``); ``drop``
    closes it without any reply; ``after`` runs once the reply is sent.
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
