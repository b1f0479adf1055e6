"""Parsing an SPL query into a pipeline of :mod:`~dsdl_golden.emulator.commands` and running it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dsdl_golden.emulator.commands import COMMANDS, Context, SearchError, Stage
from dsdl_golden.emulator.datasets import Row

__all__ = ["Outcome", "Pipeline", "parse"]

_COMMAND_NAME = re.compile(r"\s*(\w*)")


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished search: ``events`` before the first transforming command, final ``results``."""

    events: list[Row]
    results: list[Row]
    scanned: int


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A parsed query."""

    query: str
    stages: tuple[Stage, ...]

    def run(self, context: Context) -> Outcome:
        """Evaluate every stage in order."""
        rows: list[Row] = []
        events: list[Row] | None = None
        for stage in self.stages:
            if stage.transforming and events is None:
                events = rows
            rows = stage.run(rows, context)
        return Outcome(rows if events is None else events, rows, context.scanned)


def _split_pipes(text: str) -> list[str]:
    """Split at ``|`` outside double quotes."""
    segments: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if char == "|" and not quoted:
            segments.append("".join(current))
            current = []
            continue
        current.append(char)
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
    segments.append("".join(current))
    return segments


def parse(query: str) -> Pipeline:
    """Parse ``query`` (``search ...`` or ``| generating-command ...``); raises :class:`SearchError`.

    Like splunkd, a query that starts with neither fails with ``Unknown search command '<word>'.``
    """
    text = query.strip()
    if not text:
        raise SearchError("Search query is empty.")
    generating = text.startswith("|")
    stages: list[Stage] = []
    for position, segment in enumerate(_split_pipes(text[1:] if generating else text)):
        match = _COMMAND_NAME.match(segment)
        name = match.group(1) if match else ""
        if not name:
            word = segment.strip().split(maxsplit=1)
            raise SearchError(f"Unknown search command '{word[0] if word else ''}'.")
        command = COMMANDS.get(name.lower())
        if command is None or (position == 0 and not generating and name.lower() != "search"):
            raise SearchError(f"Unknown search command '{name}'.")
        stages.append(command(segment[match.end() if match else 0 :], first=position == 0))
    return Pipeline(query, tuple(stages))
