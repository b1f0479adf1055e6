"""A Splunk emulator on loopback (HTTPS), telemetry settings pointing at it, and spools and clients
closed at the end of the test that made them."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from golden_testing import child_environ

from dsdl_golden._telemetry.client import DeliveryClient
from dsdl_golden._telemetry.hec import HecTransport
from dsdl_golden._telemetry.spool import Spool
from dsdl_golden.config import Secret, Settings, load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.telemetry_helper import Telemetry, build_telemetry

TOKEN = "tele-7f3a9c51-token-ZX"
ACK_TOKEN = "tele-ack-5d2e11b0-token"


@pytest.fixture
def hec_token() -> str:
    """The HEC token the telemetry settings use (tests search for it to prove it never leaks)."""
    return TOKEN


@pytest.fixture
def ack_token() -> str:
    """An HEC token that requires indexer acknowledgement."""
    return ACK_TOKEN


@pytest.fixture
def splunk(fresh_emulator: SplunkEmulator) -> SplunkEmulator:
    """The module's emulator, reset, with our tokens and indexes."""
    fresh_emulator.add_index("golden_metrics", metrics=True)
    fresh_emulator.add_index("ml_events")
    fresh_emulator.add_hec_token(TOKEN, name="telemetry", indexes=["main", "golden_metrics", "ml_events"])
    fresh_emulator.add_hec_token(ACK_TOKEN, name="acked", indexes=["main", "golden_metrics"], use_ack=True)
    return fresh_emulator


@pytest.fixture
def settings_for(splunk: SplunkEmulator, tmp_path: Path) -> Callable[..., Settings]:
    def make(token: str = TOKEN, **environ: str) -> Settings:
        return load_settings(
            {
                "splunk_hec_enabled": "true",
                "splunk_hec_url": splunk.hec_url,
                "splunk_hec_token": token,
                "GOLDEN_TLS_VERIFY": str(splunk.ca_bundle),
                "GOLDEN_SPOOL_DIR": str(tmp_path / "spool"),
                "GOLDEN_PROJECT": "churn",
                "GOLDEN_USE_CASE": "scoring",
                **environ,
            }
        )

    return make


@pytest.fixture
def telemetry(settings_for: Callable[..., Settings]) -> Iterator[Telemetry]:
    client = build_telemetry(settings_for())
    yield client
    client.close(timeout=5)


@pytest.fixture
def child_environment(splunk: SplunkEmulator, hec_token: str, tmp_path: Path) -> dict[str, str]:
    """The whole environment of a telemetry process of its own (nothing else of the caller's): HEC at
    ``splunk``, the spool in ``tmp_path``."""
    return child_environ(
        splunk_hec_enabled="1",
        splunk_hec_url=splunk.hec_url,
        splunk_hec_token=hec_token,
        GOLDEN_TLS_VERIFY=str(splunk.ca_bundle),
        GOLDEN_SPOOL_DIR=str(tmp_path / "spool"),
    )


@pytest.fixture
def transport(splunk: SplunkEmulator, hec_token: str) -> Iterator[HecTransport]:
    """An HEC transport to ``splunk`` that trusts its CA, closed after the test."""
    assert splunk.ca_bundle is not None  # the emulator serves HTTPS
    client = HecTransport(splunk.hec_url, Secret(hec_token), verify=splunk.ca_bundle, timeout=5.0)
    yield client
    client.close()


@pytest.fixture
def spools() -> Iterator[list[Spool]]:
    """Spools made by a test, closed at its end."""
    made: list[Spool] = []
    yield made
    for spool in made:
        spool.close()


@pytest.fixture
def clients() -> Iterator[list[DeliveryClient]]:
    """Clients the test appends are closed at its end."""
    made: list[DeliveryClient] = []
    yield made
    for client in made:
        client.close(timeout=2)


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The file descriptors ``os.fsync`` is called with during the test (the calls still happen)."""
    calls: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    return calls


@pytest.fixture
def ranges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """The ranges the retry pauses are drawn from (``random.uniform``), each pause the shortest."""
    drawn: list[tuple[float, float]] = []

    def shortest(low: float, high: float) -> float:
        drawn.append((low, high))
        return low

    monkeypatch.setattr(random, "uniform", shortest)
    return drawn
