"""get_data strategies against the emulator in its own process: streaming export vs job + paged results.

Measured here the two are within a few percent of each other; export is the default because it is
one request, leaves no job on the server and parses the stream a block at a time. The default must
stay within 15 % of the alternative in the same run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dsdl_golden import splunk_connector as splunk
from dsdl_golden.config import Settings, load_settings
from dsdl_golden.emulator import EmulatorProcess, start_subprocess

ROWS = 120_000
TOKEN = "bench-search-token-5e1d"
medians: dict[str, float] = {}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorProcess]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "_time": pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(np.arange(ROWS), "s"),
            "status": rng.choice(["200", "404", "500"], ROWS),
            "bytes": rng.integers(0, 10_000, ROWS).astype(str),
            "host": rng.choice([f"web-{i}" for i in range(20)], ROWS),
        }
    )
    with start_subprocess() as process:
        process.control.add_auth_token(TOKEN)
        process.control.add_dataset("index=web", frame)
        process.control.configure(max_result_rows=50_000)
        yield process


@pytest.fixture(scope="module")
def settings(server: EmulatorProcess) -> Settings:
    return load_settings(
        {
            "splunk_access_enabled": "1",
            "splunk_access_host": "127.0.0.1",
            "splunk_access_port": str(server.rest_port),
            "splunk_access_token": TOKEN,
            "GOLDEN_TLS_VERIFY": str(server.ca_bundle),
        }
    )


@pytest.mark.parametrize("method", ["export", "job"])
def test_get_data(benchmark: Any, settings: Settings, method: str) -> None:
    frame = benchmark.pedantic(
        splunk.get_data,
        args=("index=web",),
        kwargs={"earliest": "0", "method": method, "settings": settings, "progress": False},
        rounds=3,
    )
    assert len(frame) == ROWS
    medians[method] = benchmark.stats.stats.median


def test_export_is_not_slower_than_jobs() -> None:
    assert set(medians) == {"export", "job"}, "run the whole file"
    print(f"\nexport {ROWS / medians['export']:,.0f} rows/s, job {ROWS / medians['job']:,.0f} rows/s")
    assert medians["export"] <= 1.15 * medians["job"]
