"""Small HTML tables for Jupyter's rich display (``_repr_html_``): every cell is escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

__all__ = ["html_table"]


def _cells(tag: str, values: Iterable[object]) -> str:
    return "".join(f"<{tag}>{html.escape(str(value))}</{tag}>" for value in values)


def html_table(header: Sequence[str], rows: Iterable[Sequence[object]], *, caption: str = "") -> str:
    """An HTML table of ``rows`` under ``header``, each value shown with ``str`` and escaped."""
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    body = "".join(f"<tr>{_cells('td', row)}</tr>" for row in rows)
    return f"<table>{title}<thead><tr>{_cells('th', header)}</tr></thead><tbody>{body}</tbody></table>"
