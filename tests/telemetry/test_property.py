"""The delivery guarantee as a property: random events, a writer killed at a random point, random damage.

Every event that ``log_event`` accepted (it returned) and whose spool record was not damaged reaches
HEC exactly once after de-duplication by ``event_id``; every accepted event that did not arrive is
accounted for: its record was damaged (counted as corrupt and quarantined) or it was dead-lettered.
"""

from __future__ import annotations

import json
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from golden_testing import examples
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.telemetry_helper import build_telemetry

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WRITER = textwrap.dedent(
    """
    import json, os, sys, time
    from dsdl_golden.config import load_settings
    from dsdl_golden.telemetry_helper import build_telemetry

    class Unprintable:
        def __str__(self):
            raise RuntimeError("no text")

    BAD = {
        "tuple_key": lambda: {(1, 2): 3},
        "unprintable": lambda: Unprintable(),
        "huge": lambda: "x" * 6_000_000,
    }
    run, operations = json.loads(sys.stdin.readline())
    telemetry = build_telemetry(load_settings())
    for number, (kind, payload) in enumerate(operations):
        event = {"run": run, "number": number, "payload": BAD[kind]() if kind in BAD else payload}
        try:
            telemetry.log_event(event)
        except TypeError:
            os.write(1, b"refused %d\\n" % number)  # one write: a kill cannot cut the line
        else:
            os.write(1, b"accepted %d\\n" % number)
    os.write(1, b"done\\n")
    time.sleep(600)
    """
)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()  # NaN and infinities are sent as null
    | st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cs",)), max_size=8), children, max_size=4
        )
    ),
    max_leaves=12,
)
OPERATIONS = st.lists(
    st.tuples(st.just("good"), JSON_VALUES)
    | st.tuples(st.sampled_from(["tuple_key", "unprintable", "huge"]), st.none()),
    min_size=1,
    max_size=40,
)
DAMAGE = st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
    max_size=3,
)


def run_writer(environ: dict[str, str], run: str, operations: list[Any], kill_after: int) -> set[int]:
    """Start a writer, SIGKILL it once it confirmed ``kill_after`` calls; the numbers it accepted."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER],
        env=environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdin is not None
    assert writer.stdout is not None
    try:
        writer.stdin.write(json.dumps([run, operations]) + "\n")
        writer.stdin.flush()
        lines = []
        while len(lines) < kill_after and (line := writer.stdout.readline()):
            lines.append(line)
        writer.send_signal(signal.SIGKILL)
        lines += writer.stdout.read().splitlines()
    finally:
        writer.kill()
        writer.wait(30)
        writer.stdin.close()
        writer.stdout.close()
    return {int(line.split()[1]) for line in lines if line.startswith("accepted")}


def records(segment: Path) -> list[tuple[int, int, bytes]]:
    """(start, end, payload) of each intact record of a segment, as the writer left it."""
    data, found, position = segment.read_bytes(), [], 0
    while position + 8 <= len(data):
        length, crc = struct.unpack_from("<II", data, position)
        payload = data[position + 8 : position + 8 + length]
        if length == 0 or len(payload) < length or zlib.crc32(payload) != crc:
            break
        found.append((position, position + 8 + length, payload))
        position += 8 + length
    return found


def damage(spool: Path, hits: list[tuple[float, float, int]]) -> set[int]:
    """Flip bytes in the writer's segments and cursor; the numbers of the events whose record was hit."""
    targets = sorted(path for path in spool.glob("*/*") if path.name != "lock" and path.stat().st_size)
    intact = {path: records(path) for path in targets if path.name.startswith("seg-")}
    damaged: set[int] = set()
    for which, where, mask in hits:
        if not targets:
            break
        target = targets[int(which * len(targets))]
        data = bytearray(target.read_bytes())
        offset = int(where * len(data.rstrip(b"\0")))  # within the records, not the preallocated zeros
        damaged |= {
            json.loads(payload)["event"]["number"]
            for start, end, payload in intact.get(target, [])
            if start <= offset < end
        }
        data[offset] ^= mask
        target.write_bytes(bytes(data))
    return damaged


def dead_lettered(spool: Path) -> set[int]:
    letters = spool / "dead-letter.jsonl"
    if not letters.exists():
        return set()
    lines = letters.read_text().splitlines()
    return {json.loads(json.loads(line)["event"])["event"]["number"] for line in lines}


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS, data=st.data(), hec_up=st.booleans(), hits=DAMAGE)
def test_accepted_undamaged_events_arrive_exactly_once_and_the_rest_are_counted(
    *,
    splunk: SplunkEmulator,
    settings_for: Callable[..., Settings],
    child_environment: dict[str, str],
    operations: list[Any],
    data: st.DataObject,
    hec_up: bool,
    hits: list[tuple[float, float, int]],
) -> None:
    run = uuid.uuid4().hex
    with tempfile.TemporaryDirectory() as directory:
        spool = Path(directory)
        if not hec_up:
            splunk.refuse_connections(120.0)
        try:
            accepted = run_writer(
                {**child_environment, "GOLDEN_SPOOL_DIR": str(spool)},
                run,
                operations,
                kill_after=data.draw(st.integers(1, len(operations)), label="kill after"),
            )
        finally:
            splunk.resume()
        left = sorted((str(path.relative_to(spool)), path.stat().st_size) for path in spool.rglob("*"))
        damaged = damage(spool, hits)

        telemetry = build_telemetry(settings_for(GOLDEN_SPOOL_DIR=str(spool)))
        try:
            flushed = telemetry.flush(30)
            stats = telemetry.stats()
        finally:
            telemetry.close()
        letters = dead_lettered(spool)

    ids_by_number: dict[int, set[str]] = defaultdict(set)
    for received in splunk.events(index="main"):
        body = received["event"]
        if isinstance(body, dict) and body.get("run") == run:
            ids_by_number[body["number"]].add(received["fields"]["event_id"])
    delivered = set(ids_by_number)
    event(f"accepted {'none' if not accepted else 'some'}, damaged {'none' if not damaged else 'some'}")
    assert all(len(ids) == 1 for ids in ids_by_number.values())  # exactly once after de-duplication
    assert delivered <= {number for number, (kind, _) in enumerate(operations) if kind == "good"}
    assert accepted - damaged - letters <= delivered, (flushed, stats, left)
    assert not letters & delivered
    if accepted - delivered - letters:
        assert stats["corrupt_records_skipped"] >= 1
