"""Delivery of HEC events: disk spool -> HEC, at least once.

The caller's thread writes each event to the spool (a copy into a memory-mapped file: it survives
the death of the process when :meth:`DeliveryClient.submit` returns). A syncer thread fsyncs the
spool within ``fsync_interval`` of a write; a sender thread posts the oldest spooled events in
batches and marks them sent only when Splunk accepted them. Nothing blocks or raises into the
caller: a full spool or a failing disk drops the event and counts it, and events HEC rejects for
good go to a dead-letter file.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from dsdl_golden._telemetry.hec import HecTransport, Reply, Verdict
from dsdl_golden._telemetry.spool import Batch, MemorySpool, Spool

logger = logging.getLogger("dsdl_golden.telemetry")

MAX_EVENT_BYTES = 5_000_000  # HEC rejects larger events (code 6)


@dataclass
class DeliveryStats:
    """Counters of one client since it started."""

    queued: int = 0  # events accepted by submit()
    spooled: int = 0
    sent: int = 0
    batches: int = 0
    retries: int = 0
    dropped_spool_full: int = 0
    dropped_write_error: int = 0  # the spool write failed (disk full, file size limit, I/O error)
    dead_lettered: int = 0
    corrupt_bytes_skipped: int = 0  # damaged spool bytes moved to quarantine files instead of sent
    corrupt_records_skipped: int = 0  # damaged regions of the spool skipped (each one or more records)
    spool_in_memory: int = 0  # 1 when the spool directory was unusable and events wait in memory


LOSS_COUNTERS = (
    "dropped_spool_full",
    "dropped_write_error",
    "dead_lettered",
    "corrupt_records_skipped",
)


@dataclass(frozen=True)
class DeliveryOptions:
    """Batching, buffering and retry limits of a :class:`DeliveryClient`."""

    batch_events: int = 2500
    batch_bytes: int = 800_000  # before compression; under HEC's smallest max_content_length
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    configuration_pause: float = 60.0
    ack_timeout: float = 60.0
    compress: bool = True
    linger: float = 0.005  # an idle sender woken by a write waits this long for more (one wake-up)


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None (HEC accepts only strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalars and arrays
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_json_default, allow_nan=False)
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def serialise(event: Any) -> bytes:
    """Compact strict JSON of an HEC event (or any value); NaN and infinities become null.

    orjson does the work; what it refuses (integers beyond 64 bits, text with lone surrogates)
    goes through the standard library with the same rules.
    """
    try:
        return orjson.dumps(event, default=_json_default, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        pass
    try:
        text = _ENCODER.encode(event)
    except ValueError:
        text = _ENCODER.encode(_finite(event))
    return text.encode()


_KEY_TYPES = (str, int, float, bool, type(None))


def _unserialisable(value: Any, path: str) -> str | None:
    """Where in ``value`` (at ``path``) serialisation fails and why, or None (slow: only after a failure)."""
    if isinstance(value, Mapping | list | tuple):
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            if not isinstance(key, _KEY_TYPES):
                return (
                    f"field {path or '<event>'!r} has the key {key!r} (a {type(key).__name__}): use str keys"
                )
            if (found := _unserialisable(item, f"{path}.{key}" if path else str(key))) is not None:
                return found
        return None
    try:
        serialise({"value": value})
    except Exception as error:
        return (
            f"field {path!r} ({type(value).__name__}) cannot be serialised: {type(error).__name__}: {error}"
        )
    return None


def encode(event: dict[str, Any]) -> bytes:
    """:func:`serialise`, raising ``TypeError`` that names the field when the event cannot be encoded."""
    try:
        return serialise(event)
    except Exception as error:
        where = _unserialisable(event.get("event"), "") or _unserialisable(event.get("fields"), "fields")
        raise TypeError(f"telemetry event cannot be sent to HEC: {where or error}") from error


@dataclass(frozen=True)
class DeadLetterCause:
    """Why events were dead-lettered (the same for every event of one kind of problem) and the fix."""

    reason: str
    fix: str


_HEC_CODE_FIXES = {
    6: "HEC could not parse the event: report it with the dead-letter file",
    12: "the event has no 'event' field: report it with the dead-letter file",
    13: "the event is empty: log a non-empty message or mapping",
    15: "HEC refused the indexed fields: give context values that are strings or numbers",
}
_INCORRECT_INDEX = 7
_TOO_LARGE_FIX = "send less per event (log_metrics splits large arrays; shrink figures and messages)"
_TOO_LARGE = DeadLetterCause(f"event larger than HEC's limit of {MAX_EVENT_BYTES} bytes", _TOO_LARGE_FIX)
_UNSERIALISABLE = DeadLetterCause(
    "event cannot be serialised", "give str keys and values that are numbers, strings or lists of them"
)


def _index_and_kind(payload: bytes) -> tuple[str, bool]:
    """The index a serialised event names (``"?"`` if none) and whether it is a metric event."""
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return "?", False
    if not isinstance(event, dict):
        return "?", False
    return str(event.get("index") or "?"), event.get("event") == "metric"


def rejection_cause(reply: Reply, payload: bytes, index_settings: Mapping[str, str]) -> DeadLetterCause:
    """The cause of HEC rejecting ``payload`` for good, with the fix; ``index_settings`` names the
    setting that chose each index (``{"golden_metrics": "GOLDEN_METRICS_INDEX"}``)."""
    if reply.status == 413:  # HTTP Content Too Large
        return DeadLetterCause(
            reply.describe(), f"the event is over HEC's max_content_length: {_TOO_LARGE_FIX}"
        )
    if reply.code != _INCORRECT_INDEX:
        return DeadLetterCause(
            reply.describe(), _HEC_CODE_FIXES.get(reply.code or 0, "see the dead-letter file")
        )
    index, metric = _index_and_kind(payload)
    setting = index_settings.get(index, "the index= argument")
    kind = "a metrics index" if metric else "an events index"
    return DeadLetterCause(
        reply.describe(),
        f"index {index} does not exist, is not {kind}, or the token may not write to it: "
        f"create it ({kind}) and allow the token to write to it, or set {setting}",
    )


class DeliveryClient:
    """Delivers HEC events at least once through a disk spool; see the module docstring.

    ``index_settings`` names the setting that chose each index (used in the fix of a rejection).
    """

    def __init__(
        self,
        transport: HecTransport,
        spool: Spool | MemorySpool,
        options: DeliveryOptions | None = None,
        *,
        index_settings: Mapping[str, str] | None = None,
    ) -> None:
        self.transport = transport
        self.spool = spool
        self.options = options or DeliveryOptions()
        self.stats = DeliveryStats()
        self.index_settings = dict(index_settings or {})
        self._causes: collections.Counter[DeadLetterCause] = collections.Counter()  # dead letters
        self._reported_causes: collections.Counter[DeadLetterCause] = collections.Counter()
        self._to_sync = threading.Event()  # set by submit: the syncer has something to fsync
        self._to_send = threading.Event()  # set by submit: the sender has something to read
        self._sync_now = threading.Event()  # set by sync() and close(): fsync without waiting
        self._sync_requested = 0  # sync() calls so far
        self._sync_done = (0, True)  # (sync() calls covered, whether that fsync worked)
        self._progress = threading.Condition()
        self._stopping = threading.Event()
        self._batch_limit = self.options.batch_events
        self._marks = {"flush": self._losses(), "sync": self._losses()}
        self._closed: bool | None = None  # the result of close() once closed
        self._retrying = False  # the last batch failed: events wait in the spool for the next try
        self._dead_letters = dead_letter_path(spool.root)
        self._syncer = threading.Thread(target=self._sync_loop, name="golden-telemetry-syncer", daemon=True)
        self._release_lock = threading.Lock()
        self._sender_releases = False  # close() returned before the sender ended: it closes the spool
        self._sender = threading.Thread(target=self._run_sender, name="golden-telemetry-sender", daemon=True)
        self._syncer.start()
        self._sender.start()

    def __repr__(self) -> str:
        return f"DeliveryClient({self.transport!r}, spool={str(self.spool.root)!r})"

    def submit(self, event: dict[str, Any] | bytes) -> None:
        """Spool one HEC event (a dict, or its JSON from :func:`encode`); never raises.

        On return the event survives the death of the process; it is fsynced within the spool's
        ``fsync_interval`` and sent in the background.
        """
        payload = self._payload(event)
        if payload is None:
            return
        self.stats.queued += 1
        try:
            written = self.spool.append((payload,))
        except Exception as error:  # disk full, file size limit, I/O error: this event is lost
            self.stats.dropped_write_error += 1
            _say_now_and_then(
                self.stats.dropped_write_error,
                "telemetry spool write failed (%s): %d events lost so far",
                error,
                self.stats.dropped_write_error,
            )
            return
        if not written:
            self.stats.dropped_spool_full += 1
            _say_now_and_then(
                self.stats.dropped_spool_full,
                "telemetry spool full (%d bytes unsent): %d events dropped so far",
                self.spool.max_bytes,
                self.stats.dropped_spool_full,
            )
            return
        self.stats.spooled += 1
        if not self._to_sync.is_set():
            self._to_sync.set()
        if not self._to_send.is_set():
            self._to_send.set()

    # syncer thread -----------------------------------------------------------------------------

    def _sync_loop(self) -> None:
        """fsync the spool once per ``fsync_interval`` while events are written (grouped commits)."""
        while not self._stopping.is_set():
            self._to_sync.wait()
            self._sync_now.wait(self.spool.fsync_interval)  # gather the writes of one interval
            self._sync_now.clear()
            self._to_sync.clear()
            with self._progress:
                covered = self._sync_requested
            try:
                self.spool.sync()
                worked = True
            except Exception:  # a disk error must not kill the thread
                logger.exception("telemetry spool sync failed")
                worked = False
            with self._progress:
                self._sync_done = (covered, worked)
                self._progress.notify_all()

    def _payload(self, event: dict[str, Any] | bytes) -> bytes | None:
        """The serialised event, or None when it cannot be sent (then it alone is dead-lettered)."""
        if isinstance(event, bytes):
            payload = event
        else:
            try:
                payload = encode(event)
            except TypeError as error:
                self._dead_letter(
                    repr(event).encode(), f"event cannot be serialised: {error}", _UNSERIALISABLE
                )
                return None
        if len(payload) > MAX_EVENT_BYTES:
            self._dead_letter(payload, f"event of {len(payload)} bytes exceeds HEC's limit", _TOO_LARGE)
            return None
        return payload

    # sender thread -----------------------------------------------------------------------------

    def _run_sender(self) -> None:
        try:
            self._send_loop()
        finally:
            with self._release_lock:
                if self._sender_releases:
                    self._release()

    def _send_loop(self) -> None:
        """Post batches in order; while one is in flight, the next is read and compressed (read-ahead)."""
        attempt = 0
        ahead: Batch | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="golden-telemetry-post") as poster:
            while True:
                batch = ahead or self.spool.read_batch(self._batch_limit, self.options.batch_bytes)
                if batch is None:
                    if self._stopping.is_set():
                        return
                    with self._progress:
                        self._progress.notify_all()
                    if self._to_send.wait(0.2):  # a write since the flag was last cleared
                        self._stopping.wait(self.options.linger)
                        self._to_send.clear()  # before reading: a later write sets it again
                    continue
                in_flight = poster.submit(self._post, batch)
                ahead = self.spool.read_batch(self._batch_limit, self.options.batch_bytes, after=batch)
                if ahead is not None:
                    ahead.body = self.transport.encode(ahead.payloads, compress=self.options.compress)
                reply = in_flight.result()
                pause = self._handle(batch, reply, attempt)
                self._retrying = pause > 0
                if pause or reply.verdict is not Verdict.ACCEPTED:
                    ahead = None  # the spool cursor is not at the end of `batch`: read again
                attempt = attempt + 1 if pause else 0
                if pause and self._stopping.wait(pause):
                    return

    def _post(self, batch: Batch) -> Reply:
        body = batch.body or self.transport.encode(batch.payloads, compress=self.options.compress)
        return self.transport.send(body, compressed=self.options.compress)

    def _handle(self, batch: Batch, reply: Reply, attempt: int) -> float:
        """Act on the reply to one batch; return 0 on progress, else the seconds to wait."""
        handler = {
            Verdict.ACCEPTED: self._on_accepted,
            Verdict.NEED_CHANNEL: self._on_need_channel,
            Verdict.SPLIT: self._on_too_large,
            Verdict.BAD_EVENT: self._on_bad_event,
            Verdict.RETRY: self._on_failure,
            Verdict.CONFIGURATION: self._on_failure,
        }[reply.verdict]
        return handler(batch, reply, attempt)

    def _on_accepted(self, batch: Batch, reply: Reply, attempt: int) -> float:
        if reply.ack_id is not None and not self.transport.wait_for_ack(
            reply.ack_id, self.options.ack_timeout, self._stopping
        ):
            return self._backoff(attempt, reply)
        if reply.code:  # said before the commit: a flush that returns has been told
            logger.warning("HEC accepted a batch with a warning: %s", reply.describe())
        self._commit(batch, len(batch.payloads))
        self._batch_limit = self.options.batch_events
        return 0.0

    def _on_need_channel(self, batch: Batch, reply: Reply, attempt: int) -> float:
        self.transport.open_channel()
        logger.info("HEC token uses indexer acknowledgement: sending on channel %s", self.transport.channel)
        return 0.0

    def _on_too_large(self, batch: Batch, reply: Reply, attempt: int) -> float:
        if len(batch.payloads) > 1:
            self._batch_limit = max(1, len(batch.payloads) // 2)
            return 0.0
        return self._reject(batch, 0, reply)

    def _on_bad_event(self, batch: Batch, reply: Reply, attempt: int) -> float:
        return self._reject(batch, min(reply.bad_event, len(batch.payloads) - 1), reply)

    def _reject(self, batch: Batch, bad: int, reply: Reply) -> float:
        """Events before ``bad`` are in; ``bad`` goes to the dead-letter file; the rest is resent."""
        self._commit(batch, bad)
        payload = batch.payloads[bad]
        self._dead_letter(payload, reply.describe(), rejection_cause(reply, payload, self.index_settings))
        self.spool.commit(batch, bad + 1)
        return 0.0

    def _on_failure(self, batch: Batch, reply: Reply, attempt: int) -> float:
        self.stats.retries += 1
        if reply.verdict is Verdict.CONFIGURATION:
            logger.error(
                "HEC refused the events (%s): check splunk_hec_url, splunk_hec_token and the indexes; "
                "events stay spooled and are retried in %.0f s",
                reply.describe(),
                self.options.configuration_pause,
            )
            return self.options.configuration_pause
        logger.warning("HEC delivery failed (%s); retrying", reply.describe())
        return self._backoff(attempt, reply)

    def _backoff(self, attempt: int, reply: Reply) -> float:
        if reply.retry_after is not None:
            return min(reply.retry_after, self.options.backoff_cap)
        ceiling = min(self.options.backoff_cap, self.options.backoff_base * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography

    def _commit(self, batch: Batch, count: int) -> None:
        self.spool.commit(batch, count)
        self.stats.sent += count
        self.stats.batches += 1

    def _dead_letter(self, payload: bytes, reason: str, cause: DeadLetterCause) -> None:
        """Keep an undeliverable event in the dead-letter file; say so at the first of each cause."""
        with self._progress:
            self._causes[cause] += 1
            first = self._causes[cause] == 1
            self.stats.dead_lettered += 1
        text = payload.decode("utf-8", "replace")
        record = {"time": time.time(), "reason": reason, "event": text}
        try:
            with self._dead_letters.open("a", encoding="utf-8") as stream:
                stream.write(json.dumps(record) + "\n")
        except OSError as error:
            logger.error("telemetry event undeliverable (%s), and %s: %s", reason, error, text[:2000])
            return
        log = logger.error if first else logger.debug
        log("telemetry event undeliverable (%s; %s): kept in %s", reason, cause.fix, self._dead_letters)

    # control -----------------------------------------------------------------------------------

    def idle(self) -> bool:
        """True when every submitted event was sent (or dropped and counted)."""
        return not self.spool.pending()

    def _wait(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._progress:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._progress.wait(min(remaining, 0.05))
        return True

    def _losses(self) -> dict[str, int]:
        counters = self.stats_dict()
        return {name: counters[name] for name in LOSS_COUNTERS}

    def _lost_since(self, mark: str) -> dict[str, int]:
        """The loss counters that grew since the last call for ``mark`` (by how much).

        Dead letters are reported once per cause (with its count and fix), other losses together.
        """
        now, before = self._losses(), self._marks[mark]
        self._marks[mark] = now
        grown = {name: now[name] - before[name] for name in now if now[name] > before[name]}
        by_cause = mark == "flush" and "dead_lettered" in grown  # flush reports dead letters per cause
        together = {
            name: count for name, count in grown.items() if not (by_cause and name == "dead_lettered")
        }
        if together:
            logger.warning("telemetry %s: events not delivered since the last %s: %s", mark, mark, together)
        if by_cause:
            self._report_dead_letters()
        return grown

    def _report_dead_letters(self) -> None:
        """One warning per cause of the events dead-lettered since the last report."""
        with self._progress:
            new = self._causes - self._reported_causes
            self._reported_causes = self._causes.copy()
        for cause, count in new.items():
            logger.warning(
                "telemetry: %d events were not delivered (%s): %s; they are kept in %s",
                count,
                cause.reason,
                cause.fix,
                self._dead_letters,
            )

    def lost(self) -> bool:
        """True once any event was dropped, dead-lettered or skipped as corrupt since the start."""
        return any(self._losses().values())

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait up to ``timeout`` s until every queued event was sent.

        True if so and no event was ever dropped, dead-lettered or skipped as corrupt (since this
        client started); what was lost since the last flush is logged, once per cause.
        """
        delivered = self._closed if self._closed is not None else self._wait(self.idle, timeout)
        self._lost_since("flush")
        return delivered and not self.lost()

    def sync(self, timeout: float = 10.0) -> bool:
        """Wait up to ``timeout`` s until every spooled event is on stable storage (fsync).

        True if so and nothing was dropped, dead-lettered or skipped as corrupt since the last sync.
        """
        if self._closed is not None:
            return not self._lost_since("sync")
        with self._progress:
            self._sync_requested += 1
            wanted = self._sync_requested
        self._to_sync.set()
        self._sync_now.set()
        synced = self._wait(lambda: self._sync_done[0] >= wanted, timeout) and self._sync_done[1]
        return not self._lost_since("sync") and synced

    def close(self, timeout: float = 5.0) -> bool:
        """Flush for up to ``timeout`` s, stop the threads and keep what is unsent in the spool.

        Returns within about ``timeout`` + 1 s: a request still in flight then (a proxy or server that
        stalls until the transport's timeout) is left to its thread, which closes the spool after it.
        Idempotent: a second call does nothing and returns the first one's result.
        """
        if self._closed is not None:
            return self._closed
        deadline = time.monotonic() + timeout
        delivered = self.flush(timeout)
        self._stopping.set()
        self._to_sync.set()
        self._sync_now.set()
        self._to_send.set()
        self._syncer.join()
        self._sender.join(timeout=max(deadline - time.monotonic(), 0.0) + 1.0)
        with self._release_lock:
            if self._sender.is_alive():  # a request hangs: a stalled proxy or server, until its timeout
                self._sender_releases = True
                logger.warning(
                    "telemetry stopped with a request to HEC still in flight: its events stay in the "
                    "spool, sent again by the next start if that request fails"
                )
            else:
                self._release()
        self._closed = delivered
        return delivered

    def _release(self) -> None:
        """Close the spool (what is unsent stays in it) and the transport."""
        try:
            self.spool.close()
        except OSError as error:
            logger.error("telemetry spool close failed: %s", error)
        self.transport.close()

    @property
    def state(self) -> str:
        """``spooling`` while HEC fails and events wait in the spool for the next try, else ``delivering``."""
        return "spooling" if self._retrying else "delivering"

    def stats_dict(self) -> dict[str, int]:
        """The counters as a plain dict (with the spool's counts of corrupt bytes skipped)."""
        counters = asdict(self.stats)
        counters["corrupt_bytes_skipped"] = getattr(self.spool, "skipped_bytes", 0)
        counters["corrupt_records_skipped"] = getattr(self.spool, "skipped_regions", 0)
        counters["spool_in_memory"] = int(getattr(self.spool, "in_memory", False))
        return counters


def _say_now_and_then(count: int, message: str, *args: Any) -> None:
    """Log a loss at ERROR the 1st, 10th, 100th, 1000th and every 10,000th time (not on every call)."""
    if count in (1, 10, 100, 1000) or count % 10_000 == 0:
        logger.error(message, *args)


def dead_letter_path(spool_root: Path) -> Path:
    """Where events that HEC rejected for good are kept, one JSON line each."""
    return spool_root / "dead-letter.jsonl"
