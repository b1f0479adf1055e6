"""Search data: registered datasets (CSV, JSON, DataFrame, dicts) and rows made from HEC events."""

from __future__ import annotations

import csv
import io
import json
import operator
import re
import threading
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol

from dsdl_golden.emulator.http import strict_loads
from dsdl_golden.emulator.store import Record
from dsdl_golden.emulator.times import to_epoch

__all__ = ["DataLike", "Datasets", "Row", "event_row", "load_rows", "normalize_query"]

Row = dict[str, Any]
_INDEX_NAME = re.compile(r"(?:index=)?([A-Za-z0-9_][\w.-]*)")
_SPACE = re.compile(r"\s+")


class _FrameLike(Protocol):
    def to_dict(self, orient: str) -> Any: ...


DataLike = str | Path | _FrameLike | Iterable[Mapping[str, Any]]


def normalize_query(query: str) -> str:
    """A query with runs of whitespace collapsed, for exact-query lookups."""
    return _SPACE.sub(" ", query.strip())


def _is_missing(value: object) -> bool:
    """``None``, empty strings, and NaN/NaT (the values not equal to themselves)."""
    return value is None or value == "" or operator.ne(value, value)


def _clean(row: Mapping[str, Any]) -> Row:
    """Drop missing values (``None``, NaN, NaT, empty strings) and turn ``_time`` into epoch seconds."""
    cleaned: Row = {}
    for key, value in row.items():
        if _is_missing(value):
            continue
        cleaned[str(key)] = value
    if "_time" in cleaned:
        epoch = to_epoch(cleaned["_time"])
        if epoch is None:
            raise ValueError(f"unreadable _time {cleaned['_time']!r}")
        cleaned["_time"] = epoch
    return cleaned


def _strict_json(path: Path, text: str, line: int | None = None) -> Any:
    """``text`` read by :func:`strict_loads` (the rules of HEC bodies); where it is not JSON, a
    ``ValueError`` naming the file and, when known, the line (``line``: where ``text`` starts)."""
    try:
        return strict_loads(text)
    except json.JSONDecodeError as error:
        where, problem = f"line {(line or 1) + error.lineno - 1} column {error.colno}", error.msg
    except ValueError as error:
        where, problem = (f"line {line}" if line else ""), str(error)
    raise ValueError(f"dataset file {path}: " + (f"{where}: " if where else "") + problem)


def _row(path: Path, value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"dataset file {path}: {where} is not a JSON object")
    return value


def _file_rows(path: Path) -> list[Mapping[str, Any]]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json", ".jsonl", ".ndjson"):
        raise ValueError(f"{path}: expected a .csv, .json (list of objects), .jsonl or .ndjson file")
    if not path.is_file():  # a FIFO or a device would block or never end
        raise ValueError(f"{path}: not a regular file")
    with path.open(encoding="utf-8", newline="") as stream:
        try:
            text = stream.read()
        except UnicodeDecodeError as error:
            raise ValueError(
                f"dataset file {path}: byte {error.start} is not UTF-8 ({error.reason})"
            ) from None
    if suffix == ".csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))
    if suffix == ".json":
        rows = _strict_json(path, text)
        if not isinstance(rows, list):
            raise ValueError(f"dataset file {path}: expected a JSON list of objects")
        return [_row(path, row, f"item {number}") for number, row in enumerate(rows)]
    return [
        _row(path, _strict_json(path, line, number), f"line {number}")
        for number, line in enumerate(text.split("\n"), 1)
        if line.strip()
    ]


def load_rows(data: DataLike) -> list[Row]:
    """Rows from a CSV/JSON path, a DataFrame (anything with ``to_dict("records")``) or dicts.

    JSON files are read as strictly as HEC bodies (no NaN, infinities or nesting deeper than
    :data:`~dsdl_golden.emulator.http.MAX_JSON_DEPTH`); errors name the file and where it breaks.
    """
    origin = ""
    if isinstance(data, str | Path):
        origin = f"dataset file {data}: "
        raw: Iterable[Mapping[str, Any]] = _file_rows(Path(data))
    elif hasattr(data, "to_dict"):
        raw = data.to_dict("records")
    else:
        raw = data
    rows = []
    for number, row in enumerate(raw):
        try:
            rows.append(_clean(row))
        except ValueError as error:
            raise ValueError(f"{origin}row {number}: {error}") from None
    return rows


def _flatten(value: Any, prefix: str, out: Row) -> None:
    """spath-style extraction: ``a.b`` for nested keys, ``a{}`` for arrays."""
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        scalars = [item for item in value if not isinstance(item, dict | list)]
        out.setdefault(f"{prefix}{{}}", scalars)
    elif value is not None:
        out.setdefault(prefix, value)


def event_row(record: Record) -> Row:
    """The search row of an HEC event (public form, with ``event`` and ``fields``): metadata,
    ``_raw``, indexed fields and fields extracted from a JSON event."""
    event = record["event"]
    raw = event if isinstance(event, str) else json.dumps(event, separators=(",", ":"))
    row: Row = {
        "_time": record["time"],
        "_raw": raw,
        "index": record["index"],
        "host": record["host"],
        "source": record["source"],
        "sourcetype": record["sourcetype"],
    }
    for key, value in record["fields"].items():
        row.setdefault(key, value)
    if isinstance(event, dict):
        _flatten(event, "", row)
    return row


class Datasets:
    """Rows registered per index (searched by ``index=``) or per exact query string."""

    def __init__(self) -> None:
        self._by_index: dict[str, list[Row]] = {}
        self._by_query: dict[str, list[Row]] = {}
        self._failures: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, name_or_query: str, data: DataLike) -> int:
        """Register rows for an index (``"web"`` or ``"index=web"``) or for an exact query.

        Registering the same name again replaces its rows. Returns the number of rows.
        """
        rows = load_rows(data)
        match = _INDEX_NAME.fullmatch(name_or_query.strip())
        with self._lock:
            if match:
                index = match.group(1)
                self._by_index[index] = [{"index": index, **row} for row in rows]
            else:
                self._by_query[normalize_query(name_or_query)] = rows
        return len(rows)

    def add_failure(self, query: str, text: str) -> None:
        """Make the exact ``query`` fail while running, with the FATAL message ``text``."""
        with self._lock:
            self._failures[normalize_query(query)] = text

    def failure(self, query: str) -> str | None:
        """The failure registered for exactly ``query``, if any."""
        with self._lock:
            return self._failures.get(normalize_query(query))

    def for_query(self, query: str) -> list[Row] | None:
        """Copies of the rows registered for exactly ``query``, or ``None``."""
        with self._lock:
            rows = self._by_query.get(normalize_query(query))
            return None if rows is None else [dict(row) for row in rows]

    def for_indexes(self, patterns: Iterable[str]) -> list[Row]:
        """Copies of the rows of every index matching one of the (wildcard) ``patterns``."""
        wanted = list(patterns)
        with self._lock:
            return [
                dict(row)
                for index, rows in self._by_index.items()
                if any(fnmatchcase(index, pattern) for pattern in wanted)
                for row in rows
            ]

    def names(self) -> dict[str, list[str]]:
        """Registered index names and exact queries."""
        with self._lock:
            return {
                "indexes": sorted(self._by_index),
                "queries": sorted(self._by_query),
                "failures": sorted(self._failures),
            }
