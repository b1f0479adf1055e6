"""``search/jobs`` and ``search/v2/jobs``: create (normal, blocking, oneshot), export, job entries,
results/results_preview/events and control actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dsdl_golden.emulator.atom import entry_document, feed_document, response_document
from dsdl_golden.emulator.config import Settings
from dsdl_golden.emulator.datasets import Row
from dsdl_golden.emulator.http import JSON_TYPE, XML_TYPE, Response, json_response
from dsdl_golden.emulator.jobs import CONTROL_ACTIONS, Job, JobManager
from dsdl_golden.emulator.restcall import Call, CallError
from dsdl_golden.emulator.results import (
    Message,
    export_ndjson,
    messages_json,
    results_csv,
    results_json,
    results_xml,
)
from dsdl_golden.emulator.search import PreparedSearch, SearchEngine, SearchError
from dsdl_golden.emulator.times import format_time

__all__ = ["SearchApi"]

_MISSING_SEARCH = (
    "The required 'search' parameter for the Splunk platform REST API search/jobs endpoint is not "
    "specified. Specify the required 'search' parameter for the POST request on the endpoint and then "
    "retry your request."
)
_CSV_TYPE = "text/csv; charset=UTF-8"
_T = TypeVar("_T")


def _render(
    rows: list[Row],
    call: Call,
    *,
    offset: int = 0,
    preview: bool = False,
    messages: list[Message] | None = None,
) -> Response:
    """Rows in the requested ``output_mode`` (json, xml, csv)."""
    mode = call.params.get("output_mode", "xml")
    notes = messages or []
    if mode == "json":
        return Response(200, results_json(rows, offset=offset, preview=preview, messages=notes), JSON_TYPE)
    if mode == "xml":
        return Response(200, results_xml(rows, offset=offset, preview=preview, messages=notes), XML_TYPE)
    if mode == "csv":
        return Response(200, results_csv(rows), _CSV_TYPE)
    raise CallError(400, f"The emulator does not support output_mode={mode}.")


def _failed(call: Call, text: str) -> Response:
    """A search that failed while running: 200 with only the FATAL message, as splunkd answers."""
    if call.json_mode:
        return Response(200, messages_json([("FATAL", text)]), JSON_TYPE)
    return Response(200, response_document([("FATAL", text)]), XML_TYPE)


class SearchApi:
    """The search endpoints over the job manager and the search engine."""

    def __init__(
        self, settings: Settings, jobs: JobManager, engine: SearchEngine, base_url: Callable[[], str]
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.engine = engine
        self.base_url = base_url

    def _prepare(self, call: Call) -> tuple[str, PreparedSearch]:
        query = call.params.get("search")
        if query is None:
            raise CallError(400, _MISSING_SEARCH)
        try:
            return query, self.engine.prepare(
                query, call.params.get("earliest_time", ""), call.params.get("latest_time", "")
            )
        except SearchError as error:
            raise CallError(400, str(error)) from None

    def _page(self, rows: list[_T], call: Call) -> tuple[list[_T], int]:
        count = call.integer("count", 100)
        offset = call.integer("offset", 0)
        limit = self.settings.config.max_result_rows
        count = limit if count <= 0 else min(count, limit)
        return rows[offset : offset + count], offset

    def _job(self, call: Call) -> Job:
        job = self.jobs.get(call.groups["sid"])
        if job is None:
            raise CallError(404, "Unknown sid.")
        return job

    def create(self, call: Call) -> Response:
        """``POST search/jobs``: oneshot answers results; normal/blocking answer 201 with the sid."""
        query, search = self._prepare(call)
        mode = call.params.get("exec_mode", "normal")
        if mode == "oneshot":
            try:
                outcome = search.run()
            except SearchError as error:
                return _failed(call, str(error))
            rows, offset = self._page(outcome.results, call)
            return _render(rows, call, offset=offset)
        if mode not in ("normal", "blocking"):
            raise CallError(400, f"Invalid exec_mode '{mode}'.")
        job = self.jobs.create(
            search,
            query,
            call.user,
            call.app_or_default,
            duration_s=self.settings.config.job_duration_ms / 1000,
            blocking=mode == "blocking",
        )
        if call.json_mode:
            return json_response(201, {"sid": job.sid})
        return Response(201, response_document(sid=job.sid), XML_TYPE)

    def list(self, call: Call) -> Response:
        """``GET search/jobs``: a feed of job entries."""
        jobs, _ = self._page(self.jobs.all(), call)
        base = self.base_url()
        return Response(
            200,
            feed_document(
                title="jobs",
                feed_id=f"{base}/services/search/jobs",
                updated=format_time(max((job.created for job in jobs), default=0.0)),
                entries=[job.entry(base) for job in jobs],
            ),
            XML_TYPE,
        )

    def export(self, call: Call) -> Response:
        """``POST search/jobs/export``: run at once and stream the rows (NDJSON for json)."""
        _, search = self._prepare(call)
        try:
            outcome = search.run()
        except SearchError as error:
            return _failed(call, str(error))
        if call.json_mode:
            return Response(200, export_ndjson(outcome.results), JSON_TYPE)
        return _render(outcome.results, call)

    def entry(self, call: Call) -> Response:
        """``GET search/jobs/<sid>``: the Atom entry; 204 while the job is QUEUED."""
        job = self._job(call)
        if job.state == "QUEUED":
            return Response(204, b"", None)
        base = self.base_url()
        document = entry_document(
            title=job.query,
            entry_id=f"{base}/services/search/jobs/{job.sid}",
            updated=format_time(job.created),
            links={"alternate": f"/servicesNS/{job.owner}/{job.app}/search/jobs/{job.sid}"},
            content=job.content(),
            author=job.owner,
        )
        return Response(200, document, XML_TYPE)

    def delete(self, call: Call) -> Response:
        """``DELETE search/jobs/<sid>``."""
        self._job(call)
        self.jobs.remove(call.groups["sid"])
        return Response(200, response_document([("INFO", "Search job cancelled.")]), XML_TYPE)

    def control(self, call: Call) -> Response:
        """``POST search/jobs/<sid>/control`` with ``action=cancel|pause|unpause|finalize|...``."""
        job = self._job(call)
        action = call.params.get("action", "")
        if action == "cancel":
            self.jobs.remove(job.sid)
            text = "Search job cancelled."
        elif action in CONTROL_ACTIONS:
            text, change = CONTROL_ACTIONS[action]
            try:
                change(job, call.params)
            except ValueError as error:
                raise CallError(400, str(error)) from None
        else:
            raise CallError(400, "Unknown action.")
        if call.json_mode:
            return json_response(200, {"messages": [{"type": "INFO", "text": text}]})
        return Response(200, response_document([("INFO", text)]), XML_TYPE)

    def rows(self, call: Call) -> Response:
        """``results``, ``results_preview``, ``events`` (GET on v1, POST on v2); 204 until done."""
        job = self._job(call)
        kind = call.groups["kind"]
        if not job.is_done:
            if kind != "results_preview":
                return Response(204, b"", None)
            return _render([], call, preview=True)
        outcome = job.outcome
        rows = [] if outcome is None else outcome.events if kind == "events" else outcome.results
        page, offset = self._page(rows, call)
        return _render(page, call, offset=offset, messages=job.messages)
