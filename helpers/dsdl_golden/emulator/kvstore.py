"""KV store: collections per app and their documents, with a small Mongo-style query language."""

from __future__ import annotations

import itertools
import operator
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Collection", "KVStore", "matches"]

Document = dict[str, Any]


def _comparable(left: Any, right: Any) -> bool:
    numbers = (int, float)
    return (isinstance(left, numbers) and isinstance(right, numbers)) or (
        isinstance(left, str) and isinstance(right, str)
    )


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda value, operand: _comparable(value, operand) and compare(value, operand)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": _ordered(operator.gt),
    "$gte": _ordered(operator.ge),
    "$lt": _ordered(operator.lt),
    "$lte": _ordered(operator.le),
    "$eq": operator.eq,
    "$ne": operator.ne,
    "$in": lambda value, operand: value in operand,
    "$nin": lambda value, operand: value not in operand,
    "$exists": lambda value, operand: (value is not None) == bool(operand),
}


def _condition(value: Any, condition: Any) -> bool:
    if not isinstance(condition, Mapping) or not all(str(key).startswith("$") for key in condition):
        return bool(value == condition)
    unknown = set(condition) - set(_OPERATORS)
    if unknown:
        raise ValueError(f"unsupported query operators {sorted(unknown)}")
    return all(_OPERATORS[name](value, operand) for name, operand in condition.items())


def matches(document: Document, query: Mapping[str, Any]) -> bool:
    """Whether ``document`` satisfies ``query`` (equality, ``$gt/$gte/$lt/$lte/$ne/$in/$nin/$exists``,
    ``$and``, ``$or``)."""
    for key, condition in query.items():
        if key == "$and":
            if not all(matches(document, part) for part in condition):
                return False
        elif key == "$or":
            if not any(matches(document, part) for part in condition):
                return False
        elif not _condition(document.get(key), condition):
            return False
    return True


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (3, value)
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


def _project(document: Document, fields: str) -> Document:
    wanted = [item.strip() for item in fields.split(",") if item.strip()]
    excluded = {name for name, _, flag in (item.partition(":") for item in wanted) if flag == "0"}
    included = {name for name, _, flag in (item.partition(":") for item in wanted) if flag != "0"}
    if included:
        included.add("_key")
    return {
        key: value
        for key, value in document.items()
        if key not in excluded and (not included or key in included)
    }


@dataclass
class Collection:
    """One collection: its configuration keys (``field.x``, ``accelerated_fields.x``) and documents."""

    name: str
    app: str
    config: dict[str, str] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def save(self, document: Document, key_factory: Callable[[], str], *, insert: bool = False) -> str:
        """Store a document (upsert on ``_key``); with ``insert`` an existing ``_key`` raises ``KeyError``."""
        key = str(document.get("_key") or key_factory())
        with self.lock:
            if insert and key in self.documents:
                raise KeyError(key)
            self.documents[key] = {**document, "_user": "nobody", "_key": key}
        return key

    def find(
        self,
        query: Mapping[str, Any] | None = None,
        *,
        sort: str = "",
        skip: int = 0,
        limit: int = 0,
        fields: str = "",
    ) -> list[Document]:
        """Matching documents, sorted (``a:1,b:-1``), paged and projected (``a,b`` or ``a:0``)."""
        with self.lock:
            found = [dict(doc) for doc in self.documents.values() if matches(doc, query or {})]
        for item in reversed([part.strip() for part in sort.split(",") if part.strip()]):
            name, _, direction = item.partition(":")
            found.sort(key=lambda doc: _sort_key(doc.get(name)), reverse=direction.strip() == "-1")
        found = found[skip : skip + limit] if limit else found[skip:]
        return [_project(doc, fields) for doc in found] if fields else found

    def delete(self, query: Mapping[str, Any] | None = None) -> int:
        """Delete the matching documents (all without a query); returns how many."""
        with self.lock:
            doomed = [key for key, doc in self.documents.items() if matches(doc, query or {})]
            for key in doomed:
                del self.documents[key]
        return len(doomed)


class KVStore:
    """Collections keyed by (app, name)."""

    def __init__(self) -> None:
        self._collections: dict[tuple[str, str], Collection] = {}
        self._lock = threading.Lock()
        self._serial = itertools.count()

    def new_key(self) -> str:
        """A fresh 24-hex-digit key, like KV store's ObjectIds."""
        return f"{int(time.time()):08x}{next(self._serial):016x}"

    def create(self, app: str, name: str, config: Mapping[str, str]) -> Collection:
        """Create a collection; raises ``KeyError`` when it exists."""
        with self._lock:
            if (app, name) in self._collections:
                raise KeyError(name)
            collection = self._collections[app, name] = Collection(name, app, dict(config))
        return collection

    def get(self, app: str, name: str) -> Collection | None:
        """The collection, or ``None``."""
        with self._lock:
            return self._collections.get((app, name))

    def list(self, app: str | None = None) -> list[Collection]:
        """Collections of ``app`` (every app when ``None``)."""
        with self._lock:
            return [c for (owner_app, _), c in self._collections.items() if app in (None, owner_app)]

    def delete(self, app: str, name: str) -> bool:
        """Drop a collection; ``False`` when unknown."""
        with self._lock:
            return self._collections.pop((app, name), None) is not None

    def clear(self) -> None:
        """Drop every collection."""
        with self._lock:
            self._collections.clear()
