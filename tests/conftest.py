"""Fixtures shared by the test packages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dsdl_golden.emulator import SplunkEmulator


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[SplunkEmulator]:
    """One HTTPS Splunk emulator per test module on free loopback ports; tests reset it before use."""
    with SplunkEmulator() as server:
        yield server
