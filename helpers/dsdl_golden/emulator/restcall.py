"""The context of one authenticated splunkd REST call, and splunkd's error envelopes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dsdl_golden.emulator.atom import response_document
from dsdl_golden.emulator.http import XML_TYPE, Request, Response, json_response

__all__ = ["Call", "CallError", "rest_error"]


@dataclass(slots=True)
class Call:
    """A routed REST request: parameters (query string + form body), namespace, user, path groups."""

    request: Request
    params: dict[str, str]
    owner: str | None
    app: str | None
    user: str
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def json_mode(self) -> bool:
        """Whether the client asked for ``output_mode=json``."""
        return self.params.get("output_mode") == "json"

    @property
    def app_or_default(self) -> str:
        """The namespace's app, or ``search`` for ``/services`` and the ``-`` wildcard."""
        return self.app if self.app is not None and self.app != "-" else "search"

    def integer(self, name: str, default: int) -> int:
        """An integer parameter; a malformed one raises :class:`CallError` (400)."""
        value = self.params.get(name, "")
        if not value:
            return default
        try:
            return int(value)
        except ValueError:
            raise CallError(400, f"Invalid value for '{name}': {value!r}.") from None


class CallError(Exception):
    """Abort a call with ``status`` and a message of ``kind`` (JSON when ``as_json``, else as asked)."""

    def __init__(
        self,
        status: int,
        text: str,
        kind: str = "FATAL",
        *,
        as_json: bool = False,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.kind = kind
        self.as_json = as_json
        self.headers = list(headers)


def rest_error(
    status: int,
    text: str,
    *,
    kind: str = "FATAL",
    as_json: bool = False,
    headers: Iterable[tuple[str, str]] = (),
) -> Response:
    """splunkd's error body: XML ``<response><messages><msg type=...>`` or JSON ``{"messages":[...]}``."""
    if as_json:
        return json_response(status, {"messages": [{"type": kind, "text": text}]}, headers)
    return Response(status, response_document([(kind, text)]), XML_TYPE, list(headers))
