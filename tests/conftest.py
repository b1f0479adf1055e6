"""Fixtures shared by the test packages."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from dsdl_golden.emulator import EmulatorConfig, SplunkEmulator


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
