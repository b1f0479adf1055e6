"""Why a search returned nothing: the time range searched, and indexes splunkd does not know."""

from __future__ import annotations

import contextlib

from splunklib import client

from dsdl_golden._splunk.errors import SplunkConnectorError
from dsdl_golden._splunk.indexes import Answer, Known, index_exists
from dsdl_golden._splunk.query import named_indexes
from dsdl_golden._splunk.search import Access, Deadline, translated_errors

_ALL_TIME = frozenset({"", "0"})


def _index_answers(service: client.Service, access: Access, check: Deadline, query: str) -> dict[str, Answer]:
    """What splunkd says about each index named in ``query`` (nothing when it cannot say)."""
    with contextlib.suppress(SplunkConnectorError), translated_errors(access, check):
        return {name: index_exists(service, name) for name in named_indexes(query)}
    return {}


def _index_lines(answers: dict[str, Answer]) -> list[str]:
    missing = [name for name, answer in answers.items() if answer.known is Known.NO]
    metrics = [name for name, answer in answers.items() if answer.datatype == "metric"]
    lines = []
    if missing:
        lines.append(
            f"Splunk has no index {', '.join(map(repr, missing))} (or your role may not search it): check "
            "the index name (list yours with get_data('| eventcount summarize=false index=*', earliest='0'))"
        )
    if metrics:
        lines.append(
            f"{', '.join(map(repr, metrics))} is a metrics index, which event searches do not read: use "
            "| mstats or | mcatalog"
        )
    return lines


def empty_result_message(
    service: client.Service, access: Access, check: Deadline, query: str, *, earliest: str, latest: str
) -> str:
    """One paragraph for a search that returned no rows: the time range searched, how to widen it,
    and each index of the query that does not exist or holds metrics."""
    lines = [
        f"the search {query[:200]!r} returned no results between earliest={earliest!r} and latest={latest!r}"
    ]
    lines += _index_lines(_index_answers(service, access, check, query))
    if earliest.strip() not in _ALL_TIME:
        lines.append("to search all time pass earliest='0' (or a wider range such as earliest='-30d')")
    return "; ".join(lines)
