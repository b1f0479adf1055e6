"""SPL query preparation."""

from __future__ import annotations

import re
from collections.abc import Sequence

_GENERATING = re.compile(r"^\s*(search\b|\|)", re.IGNORECASE)
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]*")
_INDEX = re.compile(r"(?<![\w.])index\s*=\s*(?:\"([^\"]+)\"|([^\s|()\"]+))", re.IGNORECASE)
_SELECTING = re.compile(r"^(?:table|fields(?!\s*-))\s+(?:\+\s*)?(?P<names>.+)$", re.IGNORECASE | re.DOTALL)
# Commands that keep the columns of a ``| table``/``| fields`` before them.
_KEEPING_COLUMNS = re.compile(r"^(?:head|tail|sort|where|search|dedup|reverse)\b", re.IGNORECASE)


def prepare_query(query: str, *, fields: Sequence[str] | None = None, max_rows: int | None = None) -> str:
    """``query`` as Splunk's REST API wants it.

    A query that starts with neither ``search`` nor ``|`` gets ``search `` in front (the API does not
    add it). ``fields`` appends ``| fields ...``; ``max_rows`` appends ``| head <max_rows + 1>`` so
    that exceeding the cap can be detected without streaming everything.
    """
    text = query.strip()
    if not text:
        raise ValueError("query is empty: give an SPL search such as 'index=main | head 10'")
    if not _GENERATING.match(text):
        text = f"search {text}"
    if fields:
        bad = [name for name in fields if not _FIELD.fullmatch(name)]
        if bad:
            raise ValueError(f"fields {bad}: give plain Splunk field names")
        text += " | fields " + ", ".join(fields)
    if max_rows is not None:
        if max_rows < 1:
            raise ValueError(f"max_rows={max_rows}: give a positive number of rows, or None for no cap")
        text += f" | head {max_rows + 1}"
    return text


def named_indexes(query: str) -> list[str]:
    """The plain index names of the ``index=`` terms of ``query`` (wildcards left out), in order."""
    names = [quoted or bare for quoted, bare in _INDEX.findall(query)]
    return list(dict.fromkeys(name for name in names if "*" not in name))


def selected_columns(query: str) -> list[str] | None:
    """The columns a final ``| table a b`` or ``| fields a, b`` gives the results (None when the
    query does not end with one, or names wildcards)."""
    for command in reversed([part.strip() for part in query.split("|")][1:]):
        selecting = _SELECTING.match(command)
        if selecting:
            names = selecting.group("names").replace(",", " ").split()
            return names if all(_FIELD.fullmatch(name) for name in names) else None
        if not _KEEPING_COLUMNS.match(command):
            return None
    return None
