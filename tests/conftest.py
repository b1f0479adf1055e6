"""Fixtures shared by the test packages."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from golden_testing import clear_settings
from hypothesis import settings

from dsdl_golden import telemetry_helper
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import EmulatorConfig, SplunkEmulator
from dsdl_golden.workspace import lay_out

# CI runs the same examples every time (a landing must not depend on luck); developers' runs keep
# exploring new ones, and a failure prints the example to reproduce it.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[SplunkEmulator]:
    """One HTTPS Splunk emulator per test module on free loopback ports."""
    with SplunkEmulator() as server:
        yield server


@pytest.fixture
def fresh_emulator(module_emulator: SplunkEmulator) -> SplunkEmulator:
    """The module's emulator with no events, jobs or faults and every knob at its default."""
    module_emulator.reset()
    module_emulator.configure(**dataclasses.asdict(EmulatorConfig()))
    return module_emulator


HEC_TOKEN = "hec-5e0c2a7d-golden-token"


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DSDL's /srv layout in a temporary directory, as GOLDEN_SRV_DIR, with no other settings."""
    clear_settings(monkeypatch)
    root = tmp_path / "srv"
    lay_out(root)
    monkeypatch.setenv("GOLDEN_SRV_DIR", str(root))
    monkeypatch.setenv("GOLDEN_SPOOL_DIR", str(tmp_path / "spool"))
    return root


def hec_environment(emulator: SplunkEmulator, spool: Path) -> dict[str, str]:
    """Settings that send telemetry to ``emulator`` over TLS verified against its CA."""
    return {
        "splunk_hec_enabled": "true",
        "splunk_hec_url": emulator.hec_url,
        "splunk_hec_token": HEC_TOKEN,
        "GOLDEN_TLS_VERIFY": str(emulator.ca_bundle),
        "GOLDEN_SPOOL_DIR": str(spool),
    }


@pytest.fixture
def telemetry_to_emulator(
    fresh_emulator: SplunkEmulator, srv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SplunkEmulator]:
    """The process-wide telemetry delivering to the module's emulator (golden_metrics and main)."""
    fresh_emulator.add_index("golden_metrics", metrics=True)
    fresh_emulator.add_hec_token(HEC_TOKEN, name="golden", indexes=["main", "golden_metrics"])
    environment = hec_environment(fresh_emulator, tmp_path / "telemetry-spool")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    telemetry_helper.configure(load_settings())
    yield fresh_emulator
    telemetry_helper.configure(load_settings({}))
