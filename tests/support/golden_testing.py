"""Helpers shared by the tests of the lifecycle, the runtime and the template."""

from __future__ import annotations

from typing import Any

from dsdl_golden.emulator import SplunkEmulator


def events_of_type(emulator: SplunkEmulator, kind: str) -> list[dict[str, Any]]:
    """The lifecycle's and runtime's events of ``type`` ``kind`` in the events index."""
    return [
        record
        for record in emulator.events(index="main")
        if isinstance(record.get("event"), dict) and record["event"].get("type") == kind
    ]
