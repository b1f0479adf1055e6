"""SPL query preparation."""

from __future__ import annotations

import re
from collections.abc import Sequence

_GENERATING = re.compile(r"^\s*(search\b|\|)", re.IGNORECASE)
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]*")


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
