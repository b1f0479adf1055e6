"""What the control API shows by default: request logs, events and settings with credentials masked.

The ``/__mock__/`` API answers the owner (who holds the control token), but its answers end up in
test logs and CI artefacts; HEC tokens, ``Authorization`` headers, session cookies, passwords and
session keys are shown only when the owner asks with ``?reveal=true``.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from typing import Any

__all__ = ["MASK", "mask_config", "mask_events", "mask_info", "mask_requests"]

MASK = "****"
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-emulator-control-token"})
_SECRET_PARAMS = frozenset({"token", "password", "session_key", "sessionkey"})
_FORM_SECRET = re.compile(r"(^|&)(password|token)=[^&]*")
_SESSION_KEY = re.compile(r'(<sessionKey>)[^<]*(</sessionKey>)|("sessionKey"\s*:\s*")[^"]*(")')


def _header(name: str, value: str) -> str:
    lower = name.lower()
    if lower == "cookie":
        pairs = (pair.strip().partition("=") for pair in value.split(";"))
        return "; ".join(f"{key}={MASK}" if sep else key for key, sep, _ in pairs)
    scheme, space, _ = value.strip().partition(" ")
    return f"{scheme} {MASK}" if space else MASK


def _session_key(match: re.Match[str]) -> str:
    opening, closing = (
        (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    )
    return f"{opening}{MASK}{closing}"


def _entry(entry: Mapping[str, Any], token_values: Container[str]) -> dict[str, Any]:
    masked = dict(entry)
    if entry.get("token_name") in token_values:
        masked["token_name"] = MASK
    masked["headers"] = {
        name: _header(name, value) if name.lower() in _SECRET_HEADERS else value
        for name, value in entry.get("headers", {}).items()
    }
    masked["query"] = {
        name: MASK if name.lower() in _SECRET_PARAMS else value
        for name, value in entry.get("query", {}).items()
    }
    if str(entry.get("path", "")).rstrip("/").endswith("/auth/login"):
        masked["body"] = _FORM_SECRET.sub(rf"\1\2={MASK}", str(entry.get("body", "")))
        masked["response"] = _SESSION_KEY.sub(_session_key, str(entry.get("response", "")))
    return masked


def mask_requests(entries: list[dict[str, Any]], token_values: Container[str]) -> list[dict[str, Any]]:
    """Request-log entries without credentials: ``Authorization``-style headers keep their scheme,
    cookies their names; ``token``/``password`` parameters, login passwords, session keys and the
    ``token_name`` of unnamed HEC tokens (the token itself) go."""
    return [_entry(entry, token_values) for entry in entries]


def _record(record: dict[str, Any], token_values: Container[str]) -> dict[str, Any]:
    if record.get("token_name") not in token_values:
        return record
    masked = {**record, "token_name": MASK}
    if masked.get("source") == f"http:{record['token_name']}":  # the default source
        masked["source"] = f"http:{MASK}"
    return masked


def mask_events(records: list[dict[str, Any]], token_values: Container[str]) -> list[dict[str, Any]]:
    """HEC records of an unnamed token (whose ``token_name`` is the token itself) get it masked,
    and so the default ``source`` (``http:<token name>``)."""
    return [_record(record, token_values) for record in records]


def mask_config(config: dict[str, Any]) -> dict[str, Any]:
    """The control-API configuration with HEC token values (and unnamed tokens' names) masked."""
    tokens = []
    for token in config.get("hec_tokens", ()):
        name = token.get("name")
        tokens.append({**token, "token": MASK, "name": MASK if name == token.get("token") else name})
    return {**config, "hec_tokens": tokens}


def mask_info(info: dict[str, Any]) -> dict[str, Any]:
    """``describe()`` output without the control token."""
    return {**info, "control_token": MASK} if "control_token" in info else info
