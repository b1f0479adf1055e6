"""The SPL commands the emulator evaluates: search, makeresults, head, fields, table, stats,
streamstats and eval (arithmetic only). Every value a command computes is a string, as in Splunk."""

from __future__ import annotations

import ast
import fnmatch
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from dsdl_golden.emulator.datasets import Row
from dsdl_golden.emulator.times import parse_time

__all__ = ["COMMANDS", "Context", "RowSource", "SearchError", "Stage", "format_number"]


class SearchError(Exception):
    """An SPL error; its text is reported as a FATAL message, in splunkd's wording."""


class RowSource(Protocol):
    """Where a base search reads rows from."""

    def rows(self, index_patterns: list[str]) -> list[Row]:
        """Rows of every index matching one of the (wildcard) patterns."""


@dataclass(slots=True)
class Context:
    """What a running search knows: its data, time bounds (``None``: open) and the time it started."""

    source: RowSource
    earliest: float | None
    latest: float | None
    now: float
    scanned: int = 0


class Stage(Protocol):
    """One command of a pipeline."""

    transforming: bool

    def run(self, rows: list[Row], context: Context) -> list[Row]:
        """The command's output for ``rows``."""


def format_number(value: float) -> str:
    """A computed number as Splunk prints it: integral values without ``.0``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _values(row: Row, name: str) -> list[Any]:
    value = row.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _split_names(text: str) -> list[str]:
    return [name for name in re.split(r"[\s,]+", text.strip()) if name]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


# --- search terms -------------------------------------------------------------------------------

_TERM = re.compile(
    r"""\s*(?:
        (?P<field>[A-Za-z_][\w.:{}-]*)\s*(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]*)
        |(?P<word>"(?:[^"\\]|\\.)*"|[^\s"]+)
    )""",
    re.VERBOSE,
)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}


def _texts(row: Row) -> list[str]:
    """What a free-text term searches: ``_raw``, or every value when a row has none."""
    raw = row.get("_raw")
    if raw is not None:
        return [str(raw)]
    return [str(item) for value in row.values() for item in (value if isinstance(value, list) else [value])]


@dataclass(frozen=True, slots=True)
class _Term:
    """``name op value`` (``name`` ``None``: a free-text term), possibly negated.

    Values match case-insensitively, ``*`` is a wildcard, numbers compare numerically.
    """

    name: str | None
    op: str
    value: str
    negate: bool = False
    _pattern: re.Pattern[str] | None = field(init=False, default=None, compare=False)

    def __post_init__(self) -> None:
        if "*" in self.value:
            translated = fnmatch.translate(self.value.lower())
            object.__setattr__(self, "_pattern", re.compile(translated, re.DOTALL))

    def _equals(self, actual: Any) -> bool:
        if self._pattern is not None:
            return self._pattern.match(str(actual).lower()) is not None
        expected, number = _as_number(self.value), _as_number(actual)
        if expected is not None and number is not None:
            return expected == number
        return str(actual).lower() == self.value.lower()

    def _ordered(self, actual: Any) -> bool:
        left, right = _as_number(actual), _as_number(self.value)
        if left is not None and right is not None:
            return _ORDER[self.op](left, right)
        return _ORDER[self.op](str(actual), self.value)

    def test(self, row: Row) -> bool:
        """Whether ``row`` satisfies the term."""
        if self.name is None:
            needle = self.value.lower()
            texts = _texts(row)
            hit = any(
                self._pattern.match(text.lower()) is not None if self._pattern else needle in text.lower()
                for text in texts
            )
        else:
            values = _values(row, self.name)
            if self.op == "=":
                hit = any(self._equals(value) for value in values)
            elif self.op == "!=":
                hit = bool(values) and not any(self._equals(value) for value in values)
            else:
                hit = any(self._ordered(value) for value in values)
        return hit != self.negate


def _parse_terms(text: str) -> list[_Term]:
    terms: list[_Term] = []
    negate = False
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TERM.match(text, position)
        if match is None or match.end() == position:
            raise SearchError(f"Error in 'search' command: Unable to parse the search: {text[position:]!r}.")
        position = match.end()
        word = match.group("word")
        if word in ("NOT", "AND"):
            negate = word == "NOT"
            continue
        if word == "OR" or (word and word[0] in "()[]"):
            raise SearchError(
                f"Error in 'search' command: the emulator does not support {word!r} in searches."
            )
        if word is not None:
            value = _unquote(word)
            terms.append(_Term(None, "=", f"*{value}*" if "*" in value else value, negate))
        else:
            terms.append(
                _Term(match.group("field"), match.group("op"), _unquote(match.group("value")), negate)
            )
        negate = False
    return terms


def _in_bounds(row: Row, earliest: float | None, latest: float | None) -> bool:
    stamp = row.get("_time")
    if not isinstance(stamp, float):
        return True
    return (earliest is None or stamp >= earliest) and (latest is None or stamp < latest)


class _Search:
    """``search``: the base search (reads indexes) when first, a filter otherwise."""

    transforming = False

    def __init__(self, args: str, *, first: bool) -> None:
        self.first = first
        terms = _parse_terms(args)
        self.earliest = next((t.value for t in terms if t.name == "earliest" and not t.negate), None)
        self.latest = next((t.value for t in terms if t.name == "latest" and not t.negate), None)
        self.indexes = [
            t.value.lower() for t in terms if t.name == "index" and t.op == "=" and not t.negate
        ] or ["main"]
        self.terms = [t for t in terms if t.name not in ("earliest", "latest")]
        self._bounds(0.0)

    def _bounds(self, now: float) -> tuple[float | None, float | None]:
        bounds: list[float | None] = []
        for term, value in (("earliest", self.earliest), ("latest", self.latest)):
            try:
                bounds.append(None if value is None else parse_time(value, now))
            except ValueError:
                raise SearchError(f"Invalid value \"{value}\" for time term '{term}'") from None
        return bounds[0], bounds[1]

    def run(self, rows: list[Row], context: Context) -> list[Row]:
        earliest, latest = self._bounds(context.now)
        earliest = context.earliest if self.earliest is None else earliest
        latest = context.latest if self.latest is None else latest
        if self.first:
            rows = context.source.rows(self.indexes)
            context.scanned += len(rows)
        selected = [
            row
            for row in rows
            if _in_bounds(row, earliest, latest) and all(term.test(row) for term in self.terms)
        ]
        if self.first:
            selected.sort(key=lambda row: row.get("_time", float("-inf")), reverse=True)
        return selected


# --- generating and streaming commands ----------------------------------------------------------


def _options(command: str, args: str, allowed: Iterable[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in _split_names(args):
        name, equals, value = item.partition("=")
        if not equals or name not in allowed:
            raise SearchError(f"Error in '{command}' command: Invalid argument: '{item}'")
        options[name] = value
    return options


def _count(command: str, text: str) -> int:
    if not text.isdigit():
        raise SearchError(f"Error in '{command}' command: Invalid count '{text}'.")
    return int(text)


class _MakeResults:
    transforming = False

    def __init__(self, args: str, *, first: bool) -> None:
        if not first:
            raise SearchError(
                "Error in 'makeresults' command: This command must be the first command of a search."
            )
        self.count = _count("makeresults", _options("makeresults", args, ("count",)).get("count", "1"))

    def run(self, rows: list[Row], context: Context) -> list[Row]:
        return [{"_time": float(int(context.now))} for _ in range(self.count)]


class _Head:
    transforming = False

    def __init__(self, args: str, *, first: bool) -> None:
        text = args.strip()
        if text.startswith("limit="):
            text = text[len("limit=") :]
        self.limit = _count("head", text) if text else 10

    def run(self, rows: list[Row], context: Context) -> list[Row]:
        return rows[: self.limit]


def _matching(names: Iterable[str], patterns: list[str]) -> list[str]:
    return [name for name in names if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)]


class _Fields:
    """``fields [+|-] a, b``: keep (plus internal ``_`` fields) or remove the named fields."""

    transforming = False

    def __init__(self, args: str, *, first: bool) -> None:
        text = args.strip()
        self.remove = text.startswith("-")
        self.patterns = _split_names(text.lstrip("+-"))
        if not self.patterns:
            raise SearchError("Error in 'fields' command: Expected field names.")

    def run(self, rows: list[Row], context: Context) -> list[Row]:
        if self.remove:
            return [{k: v for k, v in row.items() if k not in _matching([k], self.patterns)} for row in rows]
        return [
            {k: v for k, v in row.items() if k.startswith("_") or _matching([k], self.patterns)}
            for row in rows
        ]


class _Table:
    """``table a, b``: only the named fields, in that order."""

    transforming = False

    def __init__(self, args: str, *, first: bool) -> None:
        self.patterns = _split_names(args)
        if not self.patterns:
            raise SearchError("Error in 'table' command: Expected field names.")

    def run(self, rows: list[Row], context: Context) -> list[Row]:
        return [
            {name: row[name] for pattern in self.patterns for name in _matching(row, [pattern])}
            for row in rows
        ]


class _StreamStats:
    """``streamstats count|c [as name]``: a running count, from 1."""

    transforming = False

    def __init__(self, args: str, *, first: bool) -> None:
        match = re.fullmatch(r"\s*(count|c)(?:\s+as\s+(\w+))?\s*", args, re.IGNORECASE)
        if match is None:
            raise SearchError(
                f"Error in 'streamstats' command: The argument '{args.strip()}' is not supported."
            )
        self.name = match.group(2) or "count"

    def run(self, rows: list[Row], context: Context) -> list[Row]:
        return [{**row, self.name: str(number)} for number, row in enumerate(rows, start=1)]


# --- eval ---------------------------------------------------------------------------------------

_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Mod: lambda a, b: a % b,
}


def _check_expression(node: ast.AST, source: str) -> None:
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.USub, ast.UAdd, ast.Name, ast.Load, ast.Constant)
    for child in ast.walk(node):
        if isinstance(child, ast.operator) and type(child) in _OPERATORS:
            continue
        if not isinstance(child, allowed) or (
            isinstance(child, ast.Constant) and not isinstance(child.value, int | float | str)
        ):
            raise SearchError(
                f"Error in 'eval' command: The expression '{source}' is not supported by the emulator."
            )


def _binary(node: ast.BinOp, row: Row) -> Any:
    """Arithmetic on numbers; ``+`` on strings concatenates; null operands or ``/0`` give null."""
    left, right = _evaluate(node.left, row), _evaluate(node.right, row)
    if left is None or right is None:
        return None
    a, b = _as_number(left), _as_number(right)
    if a is None or b is None:
        return str(left) + str(right) if isinstance(node.op, ast.Add) else None
    try:
        return _OPERATORS[type(node.op)](a, b)
    except ZeroDivisionError:
        return None


def _evaluate(node: ast.expr, row: Row) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        values = _values(row, node.id)
        return values[0] if values else None
    if isinstance(node, ast.UnaryOp):
        operand = _as_number(_evaluate(node.operand, row))
        return None if operand is None else (-operand if isinstance(node.op, ast.USub) else operand)
    assert isinstance(node, ast.BinOp)
    return _binary(node, row)


class _Eval:
    """``eval name=expression[, ...]`` with numbers, fields, strings and ``+ - * / %``."""

    transforming = False

    def __init__(self, args: str, *, first: bool) -> None:
        self.assignments: list[tuple[str, ast.expr]] = []
        for part in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", args):
            name, equals, expression = part.partition("=")
            name = name.strip()
            if not equals or not re.fullmatch(r"[A-Za-z_][\w.]*", name):
                raise SearchError(f"Error in 'eval' command: The expression is malformed: '{part.strip()}'.")
            try:
                tree = ast.parse(expression.strip(), mode="eval")
            except SyntaxError:
                raise SearchError(
                    f"Error in 'eval' command: The expression is malformed: '{part.strip()}'."
                ) from None
            _check_expression(tree, expression.strip())
            self.assignments.append((name, tree.body))

    def run(self, rows: list[Row], context: Context) -> list[Row]:
        output: list[Row] = []
        for source in rows:
            row = dict(source)
            for name, expression in self.assignments:
                value = _evaluate(expression, row)
                if value is None:
                    row.pop(name, None)
                else:
                    row[name] = value if isinstance(value, str) else format_number(value)
            output.append(row)
        return output


# --- stats --------------------------------------------------------------------------------------

_AGGREGATION = re.compile(r"[\s,]*(\w+)(?:\(\s*([^)]*?)\s*\))?(?:\s+as\s+(\w+))?", re.IGNORECASE)


def _numbers(values: list[Any]) -> list[float]:
    return [number for number in map(_as_number, values) if number is not None]


def _extreme(values: list[Any], pick: Callable[[Iterable[Any]], Any]) -> str | None:
    if not values:
        return None
    numbers = _numbers(values)
    if len(numbers) == len(values):
        return format_number(pick(numbers))
    return str(pick(str(value) for value in values))


_AGGREGATES: dict[str, Callable[[list[Any]], str | None]] = {
    "count": lambda values: str(len(values)),
    "dc": lambda values: str(len({str(value) for value in values})),
    "sum": lambda values: format_number(sum(_numbers(values))) if _numbers(values) else None,
    "avg": lambda values: (
        format_number(sum(_numbers(values)) / len(_numbers(values))) if _numbers(values) else None
    ),
    "min": lambda values: _extreme(values, min),
    "max": lambda values: _extreme(values, max),
}
_ALIASES = {"c": "count", "distinct_count": "dc", "mean": "avg"}


class _Stats:
    """``stats agg[(field)] [as name] ... [by f1, f2]`` with count, dc, sum, avg, min, max."""

    transforming = True

    def __init__(self, args: str, *, first: bool) -> None:
        parts = re.split(r"\s+by\s+", args, maxsplit=1, flags=re.IGNORECASE)
        self.by = _split_names(parts[1]) if len(parts) > 1 else []
        self.aggregations: list[tuple[str, str, str]] = []
        text = parts[0].rstrip()
        position = 0
        while position < len(text):
            match = _AGGREGATION.match(text, position)
            if match is None or match.end() == position:
                raise SearchError(
                    f"Error in 'stats' command: The argument '{text[position:].strip()}' is invalid."
                )
            position = match.end()
            function, argument, alias = match.groups()
            name = _ALIASES.get(function.lower(), function.lower())
            if name not in _AGGREGATES or (name != "count" and not argument):
                raise SearchError(
                    f"Error in 'stats' command: The argument '{match.group(0).strip()}' is invalid."
                )
            label = alias or (f"{function}({argument})" if argument else function)
            self.aggregations.append((name, argument or "", label))
        if not self.aggregations:
            raise SearchError("Error in 'stats' command: The number of arguments is invalid.")

    def _aggregate(self, rows: list[Row]) -> Row:
        row: Row = {}
        for name, argument, label in self.aggregations:
            values = [None] * len(rows) if not argument else [v for r in rows for v in _values(r, argument)]
            value = _AGGREGATES[name](values)
            if value is not None:
                row[label] = value
        return row

    def run(self, rows: list[Row], context: Context) -> list[Row]:
        if not self.by:
            return [self._aggregate(rows)]
        groups: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            key = tuple(str(row[name]) for name in self.by if name in row)
            if len(key) == len(self.by):
                groups.setdefault(key, []).append(row)
        return [
            {**dict(zip(self.by, key, strict=True)), **self._aggregate(members)}
            for key, members in sorted(groups.items())
        ]


class _Factory(Protocol):
    def __call__(self, args: str, *, first: bool) -> Stage: ...


#: Command name -> constructor taking the argument text and whether it is the first command.
COMMANDS: dict[str, _Factory] = {
    "search": _Search,
    "makeresults": _MakeResults,
    "head": _Head,
    "fields": _Fields,
    "table": _Table,
    "streamstats": _StreamStats,
    "eval": _Eval,
    "stats": _Stats,
}
