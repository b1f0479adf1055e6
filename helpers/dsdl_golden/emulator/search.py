"""Searches: exact-query datasets first, otherwise the SPL subset over datasets and HEC events."""

from __future__ import annotations

import time
from dataclasses import dataclass
from fnmatch import fnmatchcase

from dsdl_golden.emulator.commands import Context, SearchError
from dsdl_golden.emulator.datasets import Datasets, Row, event_row
from dsdl_golden.emulator.hec import expand
from dsdl_golden.emulator.spl import Outcome, Pipeline, parse
from dsdl_golden.emulator.store import EventStore
from dsdl_golden.emulator.times import parse_time

__all__ = ["PreparedSearch", "SearchEngine", "SearchError"]


@dataclass(frozen=True, slots=True)
class PreparedSearch:
    """A query checked at dispatch, with its time range resolved; :meth:`run` evaluates it."""

    engine: SearchEngine
    canned: list[Row] | None
    pipeline: Pipeline | None
    earliest: float | None
    latest: float | None
    now: float
    failure: str | None = None

    def run(self) -> Outcome:
        """Evaluate the search over the data present now; a registered failure raises :class:`SearchError`."""
        if self.failure is not None:
            raise SearchError(self.failure)
        if self.canned is not None:
            return Outcome(self.canned, self.canned, len(self.canned))
        assert self.pipeline is not None
        return self.pipeline.run(Context(self.engine, self.earliest, self.latest, self.now))


class SearchEngine:
    """Compiles queries against the registered datasets and the events received over HEC."""

    def __init__(self, datasets: Datasets, events: EventStore) -> None:
        self.datasets = datasets
        self.events = events

    def rows(self, index_patterns: list[str]) -> list[Row]:
        """Dataset rows and HEC events (not metrics) of the indexes matching ``index_patterns``."""
        rows = self.datasets.for_indexes(index_patterns)
        for index in self.events.indexes():
            if any(fnmatchcase(index, pattern) for pattern in index_patterns):
                records = self.events.records(index)
                rows.extend(event_row(expand(record)) for record in records if record["kind"] != "metric")
        return rows

    def prepare(
        self, query: str, earliest_time: str = "", latest_time: str = "", now: float | None = None
    ) -> PreparedSearch:
        """Check ``query`` and resolve the time range relative to ``now`` (default: the current time);
        raises :class:`SearchError` like splunkd would."""
        now = time.time() if now is None else now
        bounds: list[float | None] = []
        for term, value in (("earliest", earliest_time), ("latest", latest_time)):
            try:
                bounds.append(parse_time(value, now))
            except ValueError:
                raise SearchError(f"Invalid value \"{value}\" for time term '{term}'") from None
        failure = self.datasets.failure(query)
        canned = self.datasets.for_query(query)
        pipeline = None if canned is not None or failure is not None else parse(query)
        return PreparedSearch(self, canned, pipeline, bounds[0], bounds[1], now, failure)
