"""build_telemetry: why telemetry is off, said exactly, and what a delivering one is built with.

A data scientist reads ``Telemetry.disabled_reason`` (in its repr and notebook view) to learn which
setting to fix; the memory fallback's size and the index-setting names reach the spool and the
fixes of rejected events.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from dsdl_golden._telemetry.spool import MemorySpool, Spool
from dsdl_golden.config import Settings
from dsdl_golden.telemetry_helper import MEMORY_SPOOL_BYTES, Telemetry, build_telemetry


@pytest.fixture
def built() -> list[Telemetry]:
    """Telemetry built by a test, closed after it."""
    made: list[Telemetry] = []
    yield made
    for telemetry in made:
        telemetry.close(timeout=1)


def test_hec_switched_off_says_so(settings_for: Callable[..., Settings], built: list[Telemetry]) -> None:
    built.append(telemetry := build_telemetry(settings_for(splunk_hec_enabled="false")))
    assert telemetry.delivery is None
    assert telemetry.disabled_reason == "splunk_hec_enabled is false or unset"


@pytest.mark.parametrize(
    ("cleared", "reason"),
    [
        (("splunk_hec_url",), "splunk_hec_url not set"),
        (("splunk_hec_token",), "splunk_hec_token not set"),
        (("splunk_hec_url", "splunk_hec_token"), "splunk_hec_url and splunk_hec_token not set"),
    ],
)
def test_hec_switched_on_without_its_url_or_token_names_what_is_missing(
    settings_for: Callable[..., Settings], built: list[Telemetry], cleared: tuple[str, ...], reason: str
) -> None:
    settings = dataclasses.replace(settings_for(), **dict.fromkeys(cleared))
    built.append(telemetry := build_telemetry(settings))
    assert telemetry.delivery is None
    assert telemetry.disabled_reason == reason


def test_a_hec_url_with_credentials_turns_telemetry_off_with_the_fix_and_hides_the_password(
    settings_for: Callable[..., Settings], built: list[Telemetry], caplog: pytest.LogCaptureFixture
) -> None:
    settings = dataclasses.replace(settings_for(), splunk_hec_url="https://admin:s3cret@splunk.example:8088")
    caplog.set_level(logging.WARNING, logger="dsdl_golden.telemetry")
    built.append(telemetry := build_telemetry(settings))
    assert telemetry.delivery is None
    reason = (
        "the HEC URL 'https://***@splunk.example:8088' contains a user name or password: remove them "
        "(HEC authenticates with the token in splunk_hec_token)"
    )
    assert telemetry.disabled_reason == reason
    assert [record.getMessage() for record in caplog.records] == [f"telemetry is off: {reason}"]
    assert "s3cret" not in caplog.text


def test_an_unusable_spool_directory_warns_how_to_fix_it_and_queues_in_memory_up_to_the_smaller_limit(
    settings_for: Callable[..., Settings],
    built: list[Telemetry],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    spool_dir = blocker / "spool"
    caplog.set_level(logging.WARNING, logger="dsdl_golden.telemetry")
    settings = settings_for(GOLDEN_SPOOL_DIR=str(spool_dir))
    built.append(small := build_telemetry(settings, spool_max_bytes=1000))
    built.append(large := build_telemetry(settings, spool_max_bytes=MEMORY_SPOOL_BYTES * 2))
    spools = [telemetry.delivery.spool for telemetry in (small, large) if telemetry.delivery]
    assert all(isinstance(spool, MemorySpool) for spool in spools)
    assert [spool.max_bytes for spool in spools if isinstance(spool, MemorySpool)] == [
        1000,
        MEMORY_SPOOL_BYTES,
    ]
    messages = [record.getMessage() for record in caplog.records if "GOLDEN_SPOOL_DIR" in record.getMessage()]
    assert len(messages) == 2
    assert messages[0].startswith(
        f"telemetry spool directory {spool_dir} (GOLDEN_SPOOL_DIR) cannot be used ("
    )
    assert "Not a directory" in messages[0]  # the reason, from the OSError
    assert messages[0].endswith(
        "): events wait in memory (up to 1000 bytes) and are lost if the process dies; set GOLDEN_SPOOL_DIR "
        "to a writable directory"
    )


def test_a_delivering_telemetry_spools_on_disk_and_names_the_setting_behind_each_index(
    settings_for: Callable[..., Settings], built: list[Telemetry]
) -> None:
    settings = settings_for(GOLDEN_EVENTS_INDEX="ml_events", GOLDEN_METRICS_INDEX="ml_metrics")
    built.append(telemetry := build_telemetry(settings, spool_max_bytes=4096))
    assert telemetry.delivery is not None
    assert isinstance(telemetry.delivery.spool, Spool)
    assert telemetry.delivery.spool.max_bytes == 4096
    assert telemetry.delivery.index_settings == {
        "ml_events": "GOLDEN_EVENTS_INDEX",
        "ml_metrics": "GOLDEN_METRICS_INDEX",
    }
