"""Search result bodies: results JSON, export NDJSON, results XML and CSV, message envelopes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from dsdl_golden.emulator.datasets import Row
from dsdl_golden.emulator.http import compact_json
from dsdl_golden.emulator.times import format_time

__all__ = [
    "Message",
    "cell",
    "export_ndjson",
    "messages_json",
    "output_row",
    "results_csv",
    "results_json",
    "results_xml",
]

Message = tuple[str, str]  # (type, text), e.g. ("FATAL", "Unknown sid.")


def cell(value: Any) -> str | list[str]:
    """A field value as splunkd returns it: a string, or a list of strings for multivalue fields."""
    if isinstance(value, list):
        return [item for item in map(cell, value) if isinstance(item, str)]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def output_row(row: Row) -> dict[str, str | list[str]]:
    """A row with string values and ``_time`` in ISO-8601 form."""
    output = {key: cell(value) for key, value in row.items() if key != "_time"}
    stamp = row.get("_time")
    if isinstance(stamp, float):
        return {"_time": format_time(stamp), **output}
    if stamp is not None:
        return {"_time": cell(stamp), **output}
    return output


def _field_names(rows: list[dict[str, str | list[str]]]) -> list[str]:
    return list(dict.fromkeys(name for row in rows for name in row))


def _messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [{"type": kind, "text": text} for kind, text in messages]


def messages_json(messages: Sequence[Message]) -> bytes:
    """``{"messages":[{"type":..., "text":...}]}`` on one line."""
    return compact_json({"messages": _messages(messages)})


def results_json(
    rows: list[Row], *, offset: int = 0, preview: bool = False, messages: Sequence[Message] = ()
) -> bytes:
    """The results document (oneshot, ``results``, ``events``) on one line."""
    output = [output_row(row) for row in rows]
    if not output:
        return compact_json(
            {
                "preview": preview,
                "init_offset": offset,
                "messages": _messages(messages),
                "results": [],
                "post_process_count": 0,
            }
        )
    return compact_json(
        {
            "preview": preview,
            "init_offset": offset,
            "messages": _messages(messages),
            "fields": [{"name": name} for name in _field_names(output)],
            "results": output,
            "highlighted": {},
        }
    )


def export_ndjson(rows: list[Row], batch: int = 500) -> Iterator[bytes]:
    """Export lines ``{"preview":false,"offset":N,"result":{...}}``, ``"lastrow":true`` on the last."""
    if not rows:
        yield compact_json({"preview": False, "lastrow": True}) + b"\n"
        return
    last = len(rows) - 1
    lines: list[bytes] = []
    for offset, row in enumerate(rows):
        line: dict[str, object] = {"preview": False, "offset": offset}
        if offset == last:
            line["lastrow"] = True
        line["result"] = output_row(row)
        lines.append(compact_json(line) + b"\n")
        if len(lines) >= batch:
            yield b"".join(lines)
            lines = []
    yield b"".join(lines)


def _xml_field(name: str, value: str | list[str]) -> str:
    values = value if isinstance(value, list) else [value]
    inner = "".join(f"<value><text>{escape(item)}</text></value>" for item in values)
    return f"<field k={quoteattr(name)}>{inner}</field>"


def results_xml(
    rows: list[Row], *, offset: int = 0, preview: bool = False, messages: Sequence[Message] = ()
) -> bytes:
    """The XML results document read by ``splunklib.results.ResultsReader``."""
    output = [output_row(row) for row in rows]
    parts = [
        "<?xml version='1.0' encoding='UTF-8'?>\n",
        f"<results preview='{int(preview)}'>\n<meta>\n<fieldOrder>\n",
        *(f"<field>{escape(name)}</field>\n" for name in _field_names(output)),
        "</fieldOrder>\n</meta>\n",
    ]
    if messages:
        parts.append("<messages>\n")
        parts.extend(f"<msg type={quoteattr(kind)}>{escape(text)}</msg>\n" for kind, text in messages)
        parts.append("</messages>\n")
    for position, row in enumerate(output, start=offset):
        fields = "".join(_xml_field(name, value) for name, value in row.items())
        parts.append(f"<result offset='{position}'>{fields}</result>\n")
    parts.append("</results>\n")
    return "".join(parts).encode()


def results_csv(rows: list[Row]) -> bytes:
    """CSV with a header row; multivalue fields joined with newlines, as splunkd does."""
    output = [output_row(row) for row in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, _field_names(output), lineterminator="\n")
    writer.writeheader()
    for row in output:
        writer.writerow(
            {key: "\n".join(value) if isinstance(value, list) else value for key, value in row.items()}
        )
    return buffer.getvalue().encode()
