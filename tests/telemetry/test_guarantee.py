"""The delivery guarantee at its edges: bad events, closing twice, failing and unwritable disks."""

from __future__ import annotations

import doctest
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from golden_testing import stopped_at_exit

from dsdl_golden import telemetry_helper
from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.telemetry_helper import Telemetry, build_telemetry


def numbers_delivered(splunk: SplunkEmulator) -> list[int]:
    return sorted(
        event["event"]["number"] for event in splunk.events(index="main") if "number" in event["event"]
    )


# 1. one event that cannot be serialised ---------------------------------------------------------


def test_an_unserialisable_key_is_refused_at_the_call_naming_the_field(
    splunk: SplunkEmulator, telemetry: Telemetry
) -> None:
    for number in range(50):
        telemetry.log_event({"number": number})
    with pytest.raises(TypeError, match=r"'counts'.*\(1, 2\)"):
        telemetry.log_event({"number": 50, "counts": {(1, 2): 3}})
    for number in range(51, 100):
        telemetry.log_event({"number": number})
    assert telemetry.flush(10), telemetry.stats()
    assert numbers_delivered(splunk) == [n for n in range(100) if n != 50]


def test_a_value_that_cannot_be_shown_is_refused_at_the_call(telemetry: Telemetry) -> None:
    class Exploding:
        def __str__(self) -> str:
            raise RuntimeError("cannot be shown")

    with pytest.raises(TypeError, match=r"'thing'.*cannot be shown"):
        telemetry.log_event({"number": 1, "thing": Exploding()})


def test_an_event_that_fails_in_the_writer_is_dead_lettered_alone(
    splunk: SplunkEmulator, telemetry: Telemetry, tmp_path: Path
) -> None:
    assert telemetry.delivery is not None
    for number in range(20):
        telemetry.log_event({"number": number})
        if number == 10:  # a dict handed to the delivery client without the checks of log_event
            telemetry.delivery.submit({"event": {"counts": {(1, 2): 3}}, "index": "main"})
    assert not telemetry.flush(10)  # something was dead-lettered
    assert numbers_delivered(splunk) == list(range(20))
    stats = telemetry.stats()
    assert (stats["dead_lettered"], stats["spooled"]) == (1, 20)
    (letter,) = (tmp_path / "spool" / "dead-letter.jsonl").read_text().splitlines()
    assert "cannot be serialised" in json.loads(letter)["reason"]
    assert "'counts'" in json.loads(letter)["reason"]
    assert not telemetry.flush(10)  # it stays lost: flush is True only when every event arrived


# 2. close twice -----------------------------------------------------------------------------------


def test_close_is_idempotent_and_leaves_other_descriptors_alone(
    splunk: SplunkEmulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    splunk.refuse_connections(30.0)  # undelivered events keep the spool directory and its lock
    telemetry = build_telemetry(settings_for())
    telemetry.log_event({"number": 1})
    assert not telemetry.close(timeout=0.5)
    splunk.resume()
    unrelated = [os.open(tmp_path / f"unrelated-{n}", os.O_RDWR | os.O_CREAT) for n in range(32)]
    try:
        assert not telemetry.close(timeout=0.5)  # the first close's result, nothing closed again
        for fd in unrelated:
            os.fstat(fd)  # the second close must not have closed a descriptor that took a freed number
    finally:
        for fd in unrelated:
            os.close(fd)


def test_close_twice_after_a_complete_delivery(splunk: SplunkEmulator, telemetry: Telemetry) -> None:
    telemetry.log_event({"number": 1})
    assert telemetry.close(timeout=10)
    assert telemetry.close(timeout=10)


# 3. a spool write failing mid-run -----------------------------------------------------------------

FSIZE_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from dsdl_golden.telemetry_helper import build_telemetry
    from dsdl_golden.config import load_settings
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
    telemetry = build_telemetry(load_settings())
    for number in range(2000):
        telemetry.log_event({"number": number, "padding": "x" * 40})
    synced = telemetry.sync(30)
    flushed = telemetry.flush(1)  # HEC refuses connections: a short wait says as much as a long one
    print(json.dumps({"synced": synced, "flushed": flushed, "stats": telemetry.stats()}), flush=True)
    telemetry.close(timeout=1)
    """
)


def test_a_spool_write_failing_mid_run_counts_the_lost_events(
    splunk: SplunkEmulator, child_environment: dict[str, str]
) -> None:
    splunk.refuse_connections(60.0)  # nothing leaves the spool: the file size limit is reached
    environ = child_environment
    done = subprocess.run(
        [sys.executable, "-c", FSIZE_CHILD],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    splunk.resume()
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    stats = report["stats"]
    assert not report["synced"]
    assert not report["flushed"]
    assert stats["dropped_write_error"] > 0
    assert stats["spooled"] + stats["dropped_write_error"] == 2000


# 4. a spool directory that cannot be used ---------------------------------------------------------


def test_an_unusable_spool_directory_falls_back_to_memory_and_warns_once(
    splunk: SplunkEmulator,
    settings_for: Callable[..., Settings],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the spool directory should be")
    telemetry = build_telemetry(settings_for(GOLDEN_SPOOL_DIR=str(blocker / "spool")))
    try:
        for number in range(30):
            telemetry.log_event({"number": number})
        assert telemetry.flush(10), telemetry.stats()
        assert numbers_delivered(splunk) == list(range(30))
    finally:
        telemetry.close()
    warnings = [record for record in caplog.records if "GOLDEN_SPOOL_DIR" in record.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_a_read_only_spool_directory_falls_back_to_memory(
    splunk: SplunkEmulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    spool.chmod(0o500)
    try:
        telemetry = build_telemetry(settings_for())
        telemetry.log_event({"number": 7})
        assert telemetry.flush(10)
        telemetry.close()
    finally:
        spool.chmod(0o700)
    assert numbers_delivered(splunk) == [7]


# 5. module-level sync -----------------------------------------------------------------------------


def test_module_level_sync(splunk: SplunkEmulator, settings_for: Callable[..., Settings]) -> None:
    telemetry = telemetry_helper.configure(settings_for())
    try:
        telemetry_helper.log_event({"number": 3})
        assert telemetry_helper.sync(10)
        assert telemetry.stats()["spooled"] == 1
    finally:
        telemetry_helper.configure(settings_for(splunk_hec_enabled="false"))
    assert "Returns\n    -------" in (telemetry_helper.sync.__doc__ or "")
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for test in finder.find(telemetry_helper.sync, "sync", globs={}):
        runner.run(test)
    assert runner.summarize(verbose=False) == (0, 3)


# 6. a corrupted spool left by a killed process ----------------------------------------------------

KILLED_CHILD = textwrap.dedent(
    """
    import time
    from dsdl_golden.telemetry_helper import build_telemetry
    from dsdl_golden.config import load_settings
    telemetry = build_telemetry(load_settings())
    for number in range(200):
        telemetry.log_event({"number": number})
    assert telemetry.sync(30)
    print("spooled", flush=True)
    time.sleep(600)
    """
)


def test_a_damaged_record_left_by_a_killed_process_is_skipped_and_counted(
    splunk: SplunkEmulator,
    settings_for: Callable[..., Settings],
    tmp_path: Path,
    child_environment: dict[str, str],
) -> None:
    splunk.refuse_connections(60.0)
    environ = child_environment
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD], env=environ, stdout=subprocess.PIPE, text=True
    )
    with stopped_at_exit(child):
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "spooled"
        child.send_signal(signal.SIGKILL)
        child.wait()
    splunk.resume()
    (segment,) = (tmp_path / "spool").glob("*/seg-*.log")
    data = bytearray(segment.read_bytes())
    middle = data.index(b'"number":100,')  # one byte of the 101st record's payload
    data[middle + 3] ^= 0x20
    segment.write_bytes(bytes(data))

    telemetry = build_telemetry(settings_for())
    try:
        assert not telemetry.flush(20)  # a damaged record was skipped
        assert numbers_delivered(splunk) == [n for n in range(200) if n != 100]
        stats = telemetry.stats()
        assert stats["corrupt_records_skipped"] == 1
        assert stats["corrupt_bytes_skipped"] > 0
        assert len(list((tmp_path / "spool").glob("quarantine-*"))) == 1
        assert not telemetry.flush(5)  # the skipped record stays lost
    finally:
        telemetry.close()


# 7. SIGKILL right after log_event -----------------------------------------------------------------

SUICIDE_CHILD = textwrap.dedent(
    """
    import os, signal
    from dsdl_golden.telemetry_helper import build_telemetry
    from dsdl_golden.config import load_settings
    telemetry = build_telemetry(load_settings())
    for number in range(10):
        telemetry.log_event({"number": number})
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_events_logged_just_before_a_sigkill_are_delivered_by_the_next_process(
    splunk: SplunkEmulator,
    settings_for: Callable[..., Settings],
    child_environment: dict[str, str],
) -> None:
    splunk.refuse_connections(60.0)  # the killed process cannot have sent anything
    environ = child_environment
    for _ in range(3):
        killed = subprocess.run([sys.executable, "-c", SUICIDE_CHILD], env=environ, check=False, timeout=60)
        assert killed.returncode == -signal.SIGKILL
    splunk.resume()

    telemetry = build_telemetry(settings_for())
    try:
        assert telemetry.flush(20), telemetry.stats()
    finally:
        telemetry.close()
    assert numbers_delivered(splunk) == sorted(list(range(10)) * 3)


# 8. a forked child logs too -----------------------------------------------------------------------

FORKING_PARENT = textwrap.dedent(
    """
    import os
    from dsdl_golden.telemetry_helper import build_telemetry
    from dsdl_golden.config import load_settings
    telemetry = build_telemetry(load_settings())
    for number in range(5):
        telemetry.log_event({"number": number})
    child = os.fork()
    if child == 0:  # a data loader worker, say: it logs and ends without closing anything
        for number in range(100, 110):
            telemetry.log_event({"number": number})
        os._exit(0)
    for number in range(5, 10):
        telemetry.log_event({"number": number})
    os.waitpid(child, 0)
    for number in range(10, 15):
        telemetry.log_event({"number": number})
    assert telemetry.flush(30), telemetry.stats()
    assert telemetry.stats()["corrupt_records_skipped"] == 0
    telemetry.close()
    """
)


def test_a_forked_child_never_writes_into_its_parents_spool(
    splunk: SplunkEmulator,
    settings_for: Callable[..., Settings],
    child_environment: dict[str, str],
) -> None:
    parent = subprocess.run(
        [sys.executable, "-c", FORKING_PARENT],
        env=child_environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert parent.returncode == 0, parent.stderr
    assert numbers_delivered(splunk) == list(range(15))

    telemetry = build_telemetry(settings_for())  # the next process replays what the child spooled
    try:
        assert telemetry.flush(20), telemetry.stats()
    finally:
        telemetry.close()
    assert numbers_delivered(splunk) == [*range(15), *range(100, 110)]


def test_a_context_value_that_cannot_be_shown_is_refused_naming_it(telemetry: Telemetry) -> None:
    class Exploding:
        def __str__(self) -> str:
            raise RuntimeError("cannot be shown")

    with pytest.raises(TypeError, match=r"'fold'.*cannot be shown"):
        telemetry.log_event({"number": 1}, fold=Exploding())
    with pytest.raises(TypeError, match=r"'fold'.*cannot be shown"):
        telemetry.log_metrics({"loss": 0.5}, fold=Exploding())
    with pytest.raises(TypeError, match=r"'owner'.*cannot be shown"):
        telemetry.set_context(owner=Exploding())
    telemetry.log_event({"number": 2})  # the refused calls left nothing behind
    assert telemetry.flush(10), telemetry.stats()
