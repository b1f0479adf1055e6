"""Fixtures shared by the test packages."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from dsdl_golden.emulator import EmulatorConfig, SplunkEmulator

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
