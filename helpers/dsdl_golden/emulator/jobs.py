"""Search jobs: dispatch states, asynchronous execution in a thread, control actions, Atom entries."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dsdl_golden.emulator.atom import Content, entry_xml
from dsdl_golden.emulator.commands import SearchError
from dsdl_golden.emulator.results import Message
from dsdl_golden.emulator.search import PreparedSearch
from dsdl_golden.emulator.spl import Outcome
from dsdl_golden.emulator.times import format_time

__all__ = ["CONTROL_ACTIONS", "Job", "JobManager"]


@dataclass
class Job:
    """One search job; ``state`` follows splunkd's dispatchState values."""

    sid: str
    search: PreparedSearch
    query: str
    owner: str
    app: str
    created: float = field(default_factory=time.time)
    state: str = "QUEUED"
    outcome: Outcome | None = None
    messages: list[Message] = field(default_factory=list)
    paused: bool = False
    finalized: bool = False
    preview: bool = False
    ttl: int = 600
    priority: int = 5
    run_duration: float = 0.0
    resume: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.resume.set()

    @property
    def is_done(self) -> bool:
        """Whether the job finished (successfully or not)."""
        return self.state in ("DONE", "FAILED")

    def execute(self) -> None:
        """Run the search now; the job ends DONE, or FAILED with a FATAL message."""
        self.state = "RUNNING"
        started = time.perf_counter()
        try:
            self.outcome = self.search.run()
            self.state = "DONE"
        except SearchError as error:
            self.messages.append(("FATAL", str(error)))
            self.state = "FAILED"
        self.run_duration = time.perf_counter() - started

    def content(self) -> Content:
        """The ``s:dict`` of the job's Atom entry, including the mandatory ``eai:acl``."""
        outcome = self.outcome
        flag = {True: "1", False: "0"}
        content: dict[str, str | Content | list[str]] = {
            "sid": self.sid,
            "search": self.query,
            "dispatchState": "PAUSE" if self.paused and not self.is_done else self.state,
            "isDone": flag[self.is_done],
            "isFailed": flag[self.state == "FAILED"],
            "isFinalized": flag[self.finalized],
            "isPaused": flag[self.paused],
            "isPreviewEnabled": flag[self.preview],
            "isSaved": "0",
            "isZombie": "0",
            "doneProgress": "1.00000" if self.is_done else "0.00000",
            "eventCount": str(len(outcome.events) if outcome else 0),
            "resultCount": str(len(outcome.results) if outcome else 0),
            "scanCount": str(outcome.scanned if outcome else 0),
            "runDuration": f"{self.run_duration:.3f}",
            "ttl": str(self.ttl),
            "priority": str(self.priority),
            "earliestTime": format_time(self.search.earliest) if self.search.earliest is not None else "",
            "latestTime": format_time(self.search.latest) if self.search.latest is not None else "",
            "eai:acl": {
                "app": self.app,
                "owner": self.owner,
                "sharing": "global",
                "perms": {"read": [self.owner], "write": [self.owner]},
            },
        }
        if self.messages:
            content["messages"] = {kind.lower(): [text] for kind, text in self.messages}
        return content

    def entry(self, base_url: str, *, namespaces: bool = False) -> str:
        """The job's ``<entry>`` element."""
        path = f"/servicesNS/{self.owner}/{self.app}/search/jobs/{self.sid}"
        return entry_xml(
            title=self.query,
            entry_id=f"{base_url}{path}",
            updated=format_time(time.time()),
            links={
                "alternate": path,
                "results": f"{path}/results",
                "events": f"{path}/events",
                "control": f"{path}/control",
            },
            content=self.content(),
            author=self.owner,
            namespaces=namespaces,
        )


def _set(attribute: str, value: object) -> Callable[[Job, dict[str, str]], None]:
    return lambda job, params: setattr(job, attribute, value)


def _pause(job: Job, params: dict[str, str]) -> None:
    job.paused = True
    job.resume.clear()


def _unpause(job: Job, params: dict[str, str]) -> None:
    job.paused = False
    job.resume.set()


def _finalize(job: Job, params: dict[str, str]) -> None:
    job.finalized = True
    _unpause(job, params)


def _set_int(attribute: str, parameter: str) -> Callable[[Job, dict[str, str]], None]:
    def change(job: Job, params: dict[str, str]) -> None:
        value = params.get(parameter, "")
        if not value.lstrip("-").isdigit():
            raise ValueError(f"Invalid value for '{parameter}'.")
        setattr(job, attribute, int(value))

    return change


#: Control action (besides ``cancel``) -> (message text, change applied to the job).
CONTROL_ACTIONS: dict[str, tuple[str, Callable[[Job, dict[str, str]], None]]] = {
    "pause": ("Search job paused.", _pause),
    "unpause": ("Search job unpaused.", _unpause),
    "finalize": ("Search job finalized.", _finalize),
    "touch": ("Search job touched.", lambda job, params: None),
    "setttl": ("Search job ttl set.", _set_int("ttl", "ttl")),
    "setpriority": ("Search job priority set.", _set_int("priority", "priority")),
    "enablepreview": ("Search job preview enabled.", _set("preview", True)),
    "disablepreview": ("Search job preview disabled.", _set("preview", False)),
}


class JobManager:
    """Creates, runs and forgets jobs; ``normal`` jobs run in a thread after ``duration_s``."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._serial = itertools.count(1)

    def create(
        self, search: PreparedSearch, query: str, owner: str, app: str, *, duration_s: float, blocking: bool
    ) -> Job:
        """Dispatch a job; a ``blocking`` one is DONE on return, others finish in the background.

        A normal job answers 204 while QUEUED (the first half of ``duration_s``), then RUNNING.
        """
        job = Job(f"{int(time.time())}.{next(self._serial)}", search, query, owner, app)
        with self._lock:
            self._jobs[job.sid] = job
        if blocking:
            job.execute()
        else:
            threading.Thread(
                target=self._run, args=(job, duration_s), name=f"job-{job.sid}", daemon=True
            ).start()
        return job

    def _run(self, job: Job, duration_s: float) -> None:
        time.sleep(duration_s / 2)
        job.state = "RUNNING"
        time.sleep(duration_s / 2)
        job.resume.wait()
        if self.get(job.sid) is job:
            job.execute()

    def get(self, sid: str) -> Job | None:
        """The job with ``sid``, if it exists."""
        with self._lock:
            return self._jobs.get(sid)

    def all(self) -> list[Job]:
        """Every job, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def remove(self, sid: str) -> bool:
        """Forget a job (cancel or delete); ``False`` when unknown."""
        with self._lock:
            job = self._jobs.pop(sid, None)
        if job is not None:
            job.resume.set()
        return job is not None

    def clear(self) -> None:
        """Forget every job."""
        for job in self.all():
            self.remove(job.sid)
