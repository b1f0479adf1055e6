"""Telemetry cost for the model code and delivery rate, against DSDL's synchronous helper, same run.

The emulator runs in its own process (its own interpreter lock), as Splunk would. The naive
client posts each event synchronously with a new connection and no verification, the way
DSDL's ``dsdlsupport.SplunkHEC.send`` does.

Quick mode (``--quick``, CI; ``bench_mode.py``): 20,000 delivered events, 30 naive ones, 30 naive
calls, 9 rounds of the large result, and log_metrics <= 3.5 x json.dumps of it (``QUICK_LARGE_RATIO``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import urllib3

import bench_mode
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import EmulatorProcess, start_subprocess
from dsdl_golden.metrics_calculator import calculate_all_metrics
from dsdl_golden.telemetry_helper import Telemetry, build_telemetry

TOKEN = "bench-token-31f0c2"
QUICK = bench_mode.quick()
DELIVERED_EVENTS = 20_000 if QUICK else 100_000
NAIVE_EVENTS = 30 if QUICK else 300
NAIVE_CALL_ROUNDS = 30 if QUICK else 100
LARGE_CLASSES = 1000
LARGE_ROUNDS = 9 if QUICK else 5
#: Quick mode's bound on log_metrics / json.dumps of a large result, 3.5 instead of 1.5: in 12 quick
#: runs (9 rounds each) on the shared 2-core machine (load average 1.2 to 2.8) it measured 0.83 to 2.29
#: (median 1.25; json.dumps' median alone moved between 67 and 133 ms); the regression it guards
#: against cost 30 times json.dumps. The call and rate ratios keep their bounds (quick runs measured
#: 1,633x to 4,813x and 1,412x to 2,601x).
QUICK_LARGE_RATIO = 3.5
results: dict[str, float] = {}
large: dict[str, float] = {}


@pytest.fixture(scope="module")
def splunk() -> Iterator[EmulatorProcess]:
    with start_subprocess(tokens=[TOKEN]) as process:
        process.control.add_index("golden_metrics", metrics=True)
        process.control.add_hec_token(TOKEN, indexes=["main", "golden_metrics"])
        yield process


def make_telemetry(splunk: EmulatorProcess, spool: Path) -> Telemetry:
    return build_telemetry(
        load_settings(
            {
                "splunk_hec_enabled": "1",
                "splunk_hec_url": splunk.hec_url,
                "splunk_hec_token": TOKEN,
                "GOLDEN_TLS_VERIFY": str(splunk.ca_bundle),
                "GOLDEN_SPOOL_DIR": str(spool),
            }
        )
    )


def naive_send(url: str, event: dict[str, Any]) -> None:
    """DSDL's helper: one synchronous POST per call, new connection, verify=False."""
    response = requests.post(
        url + "/services/collector/event",
        headers={"Authorization": f"Splunk {TOKEN}"},
        json=event,
        verify=False,
        timeout=30,
    )
    response.raise_for_status()


def test_caller_cost_of_log_metrics(benchmark: Any, splunk: EmulatorProcess, tmp_path: Path) -> None:
    telemetry = make_telemetry(splunk, tmp_path)
    try:
        benchmark(telemetry.log_metrics, {"loss": 0.25, "accuracy": 0.91}, step=3)
        results["log_metrics_call"] = benchmark.stats.stats.median
    finally:
        telemetry.close(timeout=30)
        splunk.control.reset()


def test_caller_cost_of_the_naive_client(benchmark: Any, splunk: EmulatorProcess) -> None:
    event = {"event": "metric", "index": "golden_metrics", "fields": {"metric_name:loss": 0.25}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        benchmark.pedantic(
            naive_send, args=(splunk.hec_url, event), rounds=NAIVE_CALL_ROUNDS, warmup_rounds=5
        )
    results["naive_call"] = benchmark.stats.stats.median


def test_sustained_delivery(benchmark: Any, splunk: EmulatorProcess, tmp_path: Path) -> None:
    def deliver() -> None:
        telemetry = make_telemetry(splunk, tmp_path)
        for step in range(DELIVERED_EVENTS):
            telemetry.log_event({"step": step, "loss": 0.25, "phase": "fit"})
        assert telemetry.flush(120), telemetry.stats()
        telemetry.close()

    benchmark.pedantic(deliver, setup=splunk.control.reset, rounds=3)
    results["delivered_per_s"] = DELIVERED_EVENTS / benchmark.stats.stats.median
    assert len(splunk.control.events(index="main")) == DELIVERED_EVENTS


def test_naive_delivery(benchmark: Any, splunk: EmulatorProcess) -> None:
    def deliver() -> None:
        for step in range(NAIVE_EVENTS):
            naive_send(splunk.hec_url, {"event": {"step": step, "loss": 0.25, "phase": "fit"}})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        benchmark.pedantic(deliver, setup=splunk.control.reset, rounds=3)
    results["naive_per_s"] = NAIVE_EVENTS / benchmark.stats.stats.median


def test_ratios() -> None:
    assert set(results) == {"log_metrics_call", "naive_call", "delivered_per_s", "naive_per_s"}, (
        "run the file"
    )
    call_ratio = results["naive_call"] / results["log_metrics_call"]
    rate_ratio = results["delivered_per_s"] / results["naive_per_s"]
    call_us, naive_ms = results["log_metrics_call"] * 1e6, results["naive_call"] * 1e3
    rate, naive_rate = results["delivered_per_s"], results["naive_per_s"]
    print(f"\nlog_metrics median {call_us:.1f} us (naive {naive_ms:.2f} ms, {call_ratio:.0f}x)")
    print(f"delivery {rate:,.0f} events/s (naive {naive_rate:,.0f}/s, {rate_ratio:.0f}x)")
    assert call_ratio >= 100
    assert rate_ratio >= 20


def large_result() -> dict[str, Any]:
    """calculate_all_metrics of 20,000 predictions of 1,000 classes (a 1000 x 1000 confusion matrix)."""
    rng = np.random.default_rng(10)
    y_true = rng.integers(0, LARGE_CLASSES, 20_000)
    y_pred = np.where(rng.random(20_000) < 0.7, y_true, rng.integers(0, LARGE_CLASSES, 20_000))
    return calculate_all_metrics(y_true, y_pred)


def test_cost_of_serialising_a_large_result(benchmark: Any) -> None:
    """The baseline: what the naive client pays before it even posts (``json.dumps`` of the dict)."""
    benchmark.pedantic(json.dumps, args=(large_result(),), rounds=LARGE_ROUNDS, warmup_rounds=1)
    large["json_dumps"] = benchmark.stats.stats.median


def test_caller_cost_of_logging_a_large_result(
    benchmark: Any, splunk: EmulatorProcess, tmp_path: Path
) -> None:
    metrics = large_result()
    telemetry = make_telemetry(splunk, tmp_path)
    try:
        benchmark.pedantic(
            telemetry.log_metrics,
            args=(metrics,),
            kwargs={"stage": "test"},
            rounds=LARGE_ROUNDS,
            warmup_rounds=1,
        )
        large["log_metrics"] = benchmark.stats.stats.median
        assert telemetry.flush(120), telemetry.stats()
    finally:
        telemetry.close(timeout=30)
        splunk.control.reset()


def test_logging_a_large_result_costs_less_than_serialising_it() -> None:
    """log_metrics of a 1,000-class result: once 30 times json.dumps of it (seconds, and one 43 MB
    event that HEC refused), now less, arrays and all, delivery threads running."""
    assert set(large) == {"json_dumps", "log_metrics"}, "run the file"
    ratio = large["log_metrics"] / large["json_dumps"]
    log_ms, dumps_ms = large["log_metrics"] * 1e3, large["json_dumps"] * 1e3
    print(f"\nlog_metrics of {LARGE_CLASSES} classes {log_ms:.0f} ms, json.dumps of it {dumps_ms:.0f} ms")
    print(f"log_metrics / json.dumps = {ratio:.2f} (bound {QUICK_LARGE_RATIO if QUICK else 1.5})")
    assert ratio <= (QUICK_LARGE_RATIO if QUICK else 1.5)
