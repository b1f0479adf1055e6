"""What splunkd says about indexes (``data/indexes``) and HEC tokens (``data/inputs/http``)."""

from __future__ import annotations

import enum
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from splunklib import binding, client

from dsdl_golden.config import Secret

_FORBIDDEN = {401, 403}


class Known(enum.Enum):
    """Whether splunkd confirmed something, denied it, or would not say."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Answer:
    """splunkd's answer to a question, and why it is :attr:`Known.UNKNOWN` when it is."""

    known: Known
    why: str = ""
    datatype: str = ""  # of an index that exists: "event" or "metric"


def _json_entries(service: client.Service, path: str, **query: Any) -> list[dict[str, Any]]:
    body = service.get(path, output_mode="json", **query).body
    try:
        entries = json.loads(body.read()).get("entry", [])
    finally:
        body.close()
    return [entry for entry in entries if isinstance(entry, dict)]


def _refusal(error: binding.HTTPError, what: str) -> Answer:
    if error.status in _FORBIDDEN:
        return Answer(Known.UNKNOWN, f"the token's user may not read {what} (HTTP {error.status})")
    return Answer(Known.UNKNOWN, f"splunkd answered HTTP {error.status} to {what}")


def index_exists(service: client.Service, name: str) -> Answer:
    """Whether splunkd has the event or metrics index ``name`` (``GET data/indexes/<name>``).

    A 404 can also mean that the user's role does not see the index: messages say both.
    """
    try:
        entries = _json_entries(service, f"data/indexes/{urllib.parse.quote(name, safe='')}", datatype="all")
    except binding.HTTPError as error:
        if error.status == 404:
            return Answer(Known.NO)
        return _refusal(error, "data/indexes")
    content = entries[0].get("content", {}) if entries else {}
    return Answer(Known.YES, datatype=str(content.get("datatype", "event")))


@dataclass(frozen=True)
class TokenIndexes:
    """The indexes an HEC token may write to: ``allowed`` is empty for every index, None when
    splunkd would not say (``why``)."""

    allowed: tuple[str, ...] | None
    why: str = ""

    def refused(self, indexes: list[str]) -> list[str]:
        """The ``indexes`` the token may not write to (none when unknown)."""
        return [name for name in indexes if self.allowed and name not in self.allowed]


def hec_token_indexes(service: client.Service, token: Secret) -> TokenIndexes:
    """The ``indexes`` list of the HEC ``token`` in ``data/inputs/http`` (nothing is written)."""
    try:
        entries = _json_entries(service, "data/inputs/http", count=0)
    except binding.HTTPError as error:
        return TokenIndexes(None, _refusal(error, "data/inputs/http").why)
    contents = [entry.get("content") or {} for entry in entries]
    mine = [content for content in contents if content.get("token") == token.reveal()]
    if not mine:
        return TokenIndexes(None, "data/inputs/http does not list splunk_hec_token (another Splunk?)")
    allowed = mine[0].get("indexes") or []
    return TokenIndexes(tuple([allowed] if isinstance(allowed, str) else allowed))
