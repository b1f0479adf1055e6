"""Emulator settings: behaviour knobs, HEC tokens, users, auth tokens and indexes."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EmulatorConfig", "HecToken", "Settings"]


@dataclass(slots=True)
class EmulatorConfig:
    """Behaviour knobs; each can be changed at run time (``configure`` or ``PUT /__mock__/config``)."""

    splunk_version: str = "9.2.1"
    instance_type: str = ""
    server_name: str = "splunk-emulator"
    default_host: str = "splunk-emulator"
    max_content_length: int = 1_000_000
    max_event_size: int = 5 * 1024 * 1024
    accept_json_array: bool = False
    partial_accept: bool = True
    raw_line_split: bool = True
    ack_delay_ms: int = 0
    never_ack: bool = False
    set_cookie_on_login: bool = True
    health_code: int = 17
    health_checks_token: bool = False
    job_duration_ms: int = 50
    max_result_rows: int = 50_000
    log_body_bytes: int = 8192

    def update(self, changes: Mapping[str, object]) -> None:
        """Set the knobs named in ``changes``; an unknown name or a bad value raises ``ValueError``."""
        for name, value in changes.items():
            if name not in _KNOB_TYPES:
                raise ValueError(f"unknown setting {name!r}")
            expected = _KNOB_TYPES[name]
            if type(value) is not expected:
                raise ValueError(f"setting {name!r} must be {expected.__name__}, not {value!r}")
            check, rule = _CHECKS.get(name, (_anything, ""))
            if not check(value):
                raise ValueError(f"setting {name!r} must be {rule}, not {value!r}")
        for name, value in changes.items():
            setattr(self, name, value)


def _anything(value: Any) -> bool:
    return True


def _positive(value: Any) -> bool:
    return bool(value > 0)


_KNOB_TYPES: dict[str, type] = {knob.name: type(knob.default) for knob in dataclasses.fields(EmulatorConfig)}
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "splunk_version": (
        lambda value: re.fullmatch(r"\d+(\.\d+)*", value) is not None,
        "dot-separated integers",
    ),
    "health_code": (lambda value: value in (17, 18, 19, 20), "one of 17, 18, 19, 20"),
    "max_content_length": (_positive, "positive"),
    "max_event_size": (_positive, "positive"),
    "max_result_rows": (_positive, "positive"),
    "log_body_bytes": (_positive, "positive"),
}


@dataclass(frozen=True, slots=True)
class HecToken:
    """An HEC token as configured in inputs.conf (``[http://<name>]``)."""

    token: str
    name: str = ""
    indexes: tuple[str, ...] = ()
    default_index: str | None = None
    use_ack: bool = False
    sourcetype: str | None = None
    source: str | None = None
    host: str | None = None
    disabled: bool = False
    allow_query_string: bool = False

    @property
    def label(self) -> str:
        """The token's name, or the token itself when unnamed."""
        return self.name or self.token

    def allows(self, index: str) -> bool:
        """Whether events may go to ``index`` (an empty allow list allows every index)."""
        return not self.indexes or index in self.indexes

    def to_json(self) -> dict[str, object]:
        """The control-API form (inputs.conf spelling: ``index``, ``useACK``, ``allowQueryStringAuth``)."""
        return {
            "token": self.token,
            "name": self.label,
            "index": self.default_index,
            "indexes": list(self.indexes),
            "sourcetype": self.sourcetype,
            "source": self.source,
            "host": self.host,
            "disabled": self.disabled,
            "useACK": self.use_ack,
            "allowQueryStringAuth": self.allow_query_string,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HecToken:
        """Build a token from its control-API form; unknown keys raise ``ValueError``."""
        unknown = set(data) - set(_TOKEN_KEYS)
        if unknown or "token" not in data:
            raise ValueError(f"bad HEC token {dict(data)!r}: needs 'token', unknown keys {sorted(unknown)}")
        fields = {_TOKEN_KEYS[key]: value for key, value in data.items()}
        fields["indexes"] = tuple(_str_items(data.get("indexes", ())))
        return cls(**fields)


_TOKEN_KEYS = {
    "token": "token",
    "name": "name",
    "index": "default_index",
    "indexes": "indexes",
    "sourcetype": "sourcetype",
    "source": "source",
    "host": "host",
    "disabled": "disabled",
    "useACK": "use_ack",
    "allowQueryStringAuth": "allow_query_string",
}


@dataclass
class Settings:
    """Everything configurable: knobs, HEC tokens, users, auth tokens, event and metrics indexes."""

    config: EmulatorConfig = field(default_factory=EmulatorConfig)
    tokens: dict[str, HecToken] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    auth_tokens: set[str] = field(default_factory=set)
    indexes: set[str] = field(default_factory=lambda: {"main"})
    metrics_indexes: set[str] = field(default_factory=lambda: {"_metrics"})
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_token(self, token: HecToken) -> None:
        """Register (or replace) an HEC token; its indexes become known event indexes."""
        with self.lock:
            self.tokens[token.token] = token
            for index in (*token.indexes, token.default_index):
                if index is not None and index not in self.metrics_indexes:
                    self.indexes.add(index)

    def add_index(self, name: str, *, metrics: bool = False) -> None:
        """Create an event index, or a metrics index with ``metrics=True``."""
        with self.lock:
            (self.metrics_indexes if metrics else self.indexes).add(name)
            (self.indexes if metrics else self.metrics_indexes).discard(name)

    def index_exists(self, name: str) -> bool:
        """Whether ``name`` is an event or a metrics index."""
        return name in self.indexes or name in self.metrics_indexes

    def to_json(self) -> dict[str, object]:
        """The whole configuration in control-API form."""
        return {
            **dataclasses.asdict(self.config),
            "hec_tokens": [token.to_json() for token in self.tokens.values()],
            "users": sorted(self.users),
            "auth_tokens": len(self.auth_tokens),
            "indexes": sorted(self.indexes),
            "metrics_indexes": sorted(self.metrics_indexes),
        }

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a control-API configuration change (``PUT /__mock__/config``).

        ``hec_tokens``, ``users`` (``{name: password}``), ``auth_tokens``, ``indexes`` and
        ``metrics_indexes`` add to what exists; every other key is a knob of :class:`EmulatorConfig`.
        """
        tokens = [HecToken.from_json(item) for item in changes.get("hec_tokens", ())]
        users = _str_mapping(changes.get("users", {}))
        auth_tokens = _str_items(changes.get("auth_tokens", ()))
        indexes = _str_items(changes.get("indexes", ()))
        metrics_indexes = _str_items(changes.get("metrics_indexes", ()))
        self.config.update({key: value for key, value in changes.items() if key not in _COLLECTION_KEYS})
        for token in tokens:
            self.add_token(token)
        self.users.update(users)
        self.auth_tokens.update(auth_tokens)
        for name in indexes:
            self.add_index(name)
        for name in metrics_indexes:
            self.add_index(name, metrics=True)


_COLLECTION_KEYS = frozenset({"hec_tokens", "users", "auth_tokens", "indexes", "metrics_indexes"})


def _str_items(values: Iterable[object]) -> list[str]:
    items = list(values)
    if not all(isinstance(item, str) for item in items):
        raise ValueError(f"expected a list of strings, got {items!r}")
    return [str(item) for item in items]


def _str_mapping(values: object) -> dict[str, str]:
    if not isinstance(values, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in values.items()
    ):
        raise ValueError(f"expected {{name: password}}, got {values!r}")
    return dict(values)
