"""HTML view of a metrics result, for Jupyter: the scalar metrics and the confusion matrix."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, Final

from dsdl_golden._html import html_table

#: Confusion matrices with more labels than this are not drawn in the HTML table.
MAX_HTML_LABELS: Final = 20
#: Significant digits of the floats in the HTML table.
HTML_DIGITS: Final = 4


def metrics_html(result: Mapping[str, Any]) -> str:
    """The scalar metrics, then the confusion matrix, as HTML tables (values escaped)."""
    return _scalar_table(result) + _confusion_table(result.get("confusion_matrix"), result.get("labels"))


def _scalar_table(result: Mapping[str, Any]) -> str:
    undefined = result.get("undefined") or {}
    rows = [(key, _shown(value, undefined.get(key))) for key, value in result.items() if _is_scalar(value)]
    return html_table(("metric", "value"), rows)


def _confusion_table(matrix: Any, labels: Any) -> str:
    if not matrix or not labels:
        return ""
    if len(labels) > MAX_HTML_LABELS:
        return f"<p>confusion_matrix: {len(labels)} x {len(labels)} labels, not shown</p>"
    if len(matrix) != len(labels):  # a result edited by hand: the view shows what it can, never raises
        return f"<p>confusion_matrix: {len(matrix)} rows for {len(labels)} labels, not shown</p>"
    rows = [(label, *row) for label, row in zip(labels, matrix, strict=True)]
    return html_table(("", *labels), rows, caption="confusion_matrix (rows: true label, columns: predicted)")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | numbers.Number)


def _shown(value: Any, reason: str | None) -> str:
    if value is None:
        return f"undefined: {reason}" if reason else "none"
    if isinstance(value, float):
        return f"{value:.{HTML_DIGITS}g}"
    return str(value)
