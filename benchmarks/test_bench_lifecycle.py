"""What the lifecycle costs around a scikit-learn fit: telemetry on against off, and against a plain fit.

Run::

    cd /work/main && .venv/bin/pytest benchmarks/test_bench_lifecycle.py -rP -p no:cacheprovider -o addopts=""

Data (fixed seed): 100,000 rows, 10 float columns, 2 text columns (4 and 3 categories) and a
"yes"/"no" target that depends on both. The model is a ``RandomForestClassifier`` (10 trees, depth
14, one job, fixed seed): one fit takes about 3 s on a quiet 2-core machine, far longer than anything
the lifecycle adds, so what is measured is the lifecycle's share.

Each round runs three variants back to back:

- ON: ``lifecycle.init`` + ``lifecycle.fit`` with telemetry delivering to a Splunk emulator in its
  own process (as Splunk would be, with its own interpreter lock) over HTTPS; timed by
  pytest-benchmark;
- OFF: the same with telemetry off (``splunk_hec_enabled=0``); timed by hand;
- plain: ``StandardPreprocessor().fit_transform`` and the same model's ``fit`` on the same 80,000
  training rows the lifecycle picks (scikit-learn's stratified split with the lifecycle's size and
  seed); timed by hand.

The variants are interleaved rather than run as three blocks, and the order alternates (OFF, plain,
ON in even rounds; ON, plain, OFF in odd ones), because the machine is shared: other processes take
one of the two cores for tens of seconds, which moved single fits by 20 % and more (wall and CPU
time alike) while this suite was written, and whichever variant ran last in a fixed order tended to
be the slowest. Run as blocks, ON - OFF came out at +14 %; interleaved in a fixed order at -0.1 %
and -11 %. Process CPU time is recorded next to wall time: a gap between the two is time the
process waited for a core. Switching telemetry (``telemetry_helper.configure``) happens between the
timed calls, so closing the previous delivery client (and flushing what it still holds) is charged
to no variant; a fresh delivery client per ON round opens its HTTPS connection anew, a pessimistic
case for ON.

An init + fit sends 5 HEC events (run_start, init, fit, run_end and one metric event with the 30
holdout measurements). Their cost to the caller does not depend on the rows, so
``test_telemetry_cost_on_a_small_frame`` also measures it where the fit is cheap (2,000 rows,
``SMALL_PAIRS`` ON/OFF pairs in alternating order): a precise figure in milliseconds, against the
100,000-row medians, whose noise on a shared machine is of the same order as the 5 % target.

Quick mode (``--quick``, CI; ``bench_mode.py``): 30,000 rows, 6 rounds, 10 small-frame pairs, and
the bounds of ``QUICK_BOUNDS``: ON - OFF <= 20 % and the small-frame cost <= 10 % of OFF instead of
5 % (fewer, shorter rounds on the shared machine); lifecycle <= 1.5 x plain as below.

``test_ratios`` asserts, on figures of this run:

- median(ON) - median(OFF) <= 5 % of median(OFF) at 100,000 rows (the issue's target): telemetry is
  queued by the caller and delivered by background threads, so it must not show next to the fit;
- the small-frame ON - OFF (the telemetry's own cost per init + fit) <= 5 % of median(OFF) too;
- lifecycle (OFF) <= 1.5 x the plain pipeline. The lifecycle does more than the plain fit by
  design: the holdout split, preprocessing and scoring of the 20,000 held-out rows (``predict`` and
  ``predict_proba``), ``calculate_all_metrics`` on them, and a profile of the training frame. That
  extra work scales with the rows, like the fit, so the ratio is stable across data sizes for a
  given model: about 1.15 in process CPU time with this forest (the split, scoring, metrics and
  profile take about 0.4 s). In wall time the ratio moved between 0.93 and 1.2 on the shared machine,
  so 1.5 leaves room for that noise and still catches a lifecycle that, say, fitted the preprocessor
  twice or scored the training rows. Both the wall and the CPU ratio are printed.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import bench_mode
from dsdl_golden import lifecycle, telemetry_helper
from dsdl_golden.config import Settings, load_settings
from dsdl_golden.emulator import EmulatorProcess, start_subprocess
from dsdl_golden.preprocessor import StandardPreprocessor

TOKEN = "bench-lifecycle-7e21a4"
QUICK = bench_mode.quick()
N_ROWS = 30_000 if QUICK else 100_000
NUMERIC = [f"x{i}" for i in range(10)]
CATEGORICAL = ["region", "plan"]
FEATURES = [*NUMERIC, *CATEGORICAL]
TARGET = "churn"
PARAM = {
    "feature_variables": FEATURES,
    "target_variables": [TARGET],
    "options": {"params": {"algo": "bench_forest"}, "model_name": "bench"},
}
HOLDOUT = 0.2  # the lifecycle's default
RANDOM_STATE = 42  # the lifecycle's default seed of the split
#: Even: as many rounds with ON first as with ON last. Quick mode had 4 rounds until a clean-clone CI
#: measured ON - OFF at +22.6 % (process CPU +0.21 s) and three runs right after gave -16.9 %, +1.7 %
#: and +6.5 %: a median of 4 rounds moves by about 0.2 s on 0.9 s fits. Two more rounds cost about 6 s.
ROUNDS = 6 if QUICK else 8
SMALL_ROWS = 2_000
SMALL_PAIRS = 10 if QUICK else 20
#: Quick mode's bounds, from 12 quick runs (30,000 rows, then 4 rounds, 10 small pairs) on the shared 2-core
#: machine (load average 1.2 to 2.8), where OFF's median was 0.74 to 1.06 s:
#:
#: - ON - OFF: -14.1 % to +13.1 % of OFF, hence 20 % instead of 5 %;
#: - the small-frame cost: -6.7 to +33.1 ms, -0.8 % to +4.2 % of OFF, hence 10 % instead of 5 % (5 % of
#:   the 100,000-row OFF median is 190 ms; of the 30,000-row one, 40 ms);
#: - OFF / plain: 1.07 to 1.24; the full mode's 1.5 holds.
#:
#: Telemetry posted by the caller still fails: its 5 events, each on a new HTTPS connection as DSDL's
#: helper does (36 to 72 ms per post in test_bench_telemetry.py), cost 180 ms or more, above the
#: small-frame bound (10 % of OFF: 74 to 106 ms).
QUICK_BOUNDS = {"on_minus_off": 0.20, "small_cost": 0.10, "lifecycle_ratio": 1.5}
WARMUP_ROUNDS = 1
results: dict[str, float] = {}


def make_frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Floats, two low-cardinality text columns and a yes/no target depending on both."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {name: rng.normal(size=n_rows) for name in NUMERIC}
    columns["region"] = rng.choice(np.array(["north", "south", "east", "west"]), size=n_rows)
    columns["plan"] = rng.choice(np.array(["basic", "pro", "enterprise"]), size=n_rows, p=[0.6, 0.3, 0.1])
    frame = pd.DataFrame(columns)
    score = (
        frame["x0"]
        + 0.5 * frame["x1"]
        - frame["x2"] * frame["x3"]
        + 0.8 * (frame["region"] == "north")
        - 0.5 * (frame["plan"] == "basic")
        + rng.normal(scale=0.8, size=n_rows)
    )
    frame[TARGET] = np.where(score > 0.3, "yes", "no")
    return frame


def forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=10, max_depth=14, n_jobs=1, random_state=0)


def build_model(params: dict[str, Any]) -> RandomForestClassifier:
    """The data scientist's model cell."""
    return forest()


def lifecycle_fit(frame: pd.DataFrame) -> dict[str, Any]:
    """What the template's ``init`` and ``fit`` cells run on DSDL's ``/fit``."""
    model = lifecycle.init(frame, PARAM, build_model)
    return lifecycle.fit(model, frame, PARAM)


def training_rows(frame: pd.DataFrame) -> np.ndarray:
    """The rows the lifecycle trains on: its stratified split, same size and seed."""
    rows = np.arange(len(frame))
    train, _ = train_test_split(
        rows,
        test_size=round(len(frame) * HOLDOUT),
        random_state=RANDOM_STATE,
        stratify=frame[TARGET].to_numpy(),
    )
    return np.sort(train)


def plain_fit(train: pd.DataFrame) -> RandomForestClassifier:
    """The same preprocessing and model without the lifecycle."""
    features = StandardPreprocessor().fit_transform(train[FEATURES])
    return forest().fit(features, train[TARGET])


def timed(function: Any, *args: Any) -> tuple[float, float]:
    """Wall and process CPU seconds of ``function(*args)``, after a garbage collection."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Median wall and median CPU seconds."""
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


@pytest.fixture(scope="module")
def splunk() -> Iterator[EmulatorProcess]:
    with start_subprocess(tokens=[TOKEN]) as process:
        process.control.add_index("golden_metrics", metrics=True)
        process.control.add_hec_token(TOKEN, indexes=["main", "golden_metrics"])
        yield process


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(N_ROWS)


@pytest.fixture
def telemetry_settings(splunk: EmulatorProcess, tmp_path: Path) -> Iterator[dict[str, Settings]]:
    on = load_settings(
        {
            "splunk_hec_enabled": "1",
            "splunk_hec_url": splunk.hec_url,
            "splunk_hec_token": TOKEN,
            "GOLDEN_TLS_VERIFY": str(splunk.ca_bundle),
            "GOLDEN_SPOOL_DIR": str(tmp_path / "spool"),
        }
    )
    off = load_settings({"splunk_hec_enabled": "0", "GOLDEN_SPOOL_DIR": str(tmp_path / "spool")})
    splunk.control.reset()
    yield {"on": on, "off": off}
    telemetry_helper.configure(off)  # leave no delivery threads behind


def fit_events(splunk: EmulatorProcess) -> int:
    return sum(
        1
        for record in splunk.control.events(index="main")
        if isinstance(record.get("event"), dict) and record["event"].get("type") == "fit"
    )


def test_lifecycle_fit_telemetry_on_vs_off(
    benchmark: Any, splunk: EmulatorProcess, frame: pd.DataFrame, telemetry_settings: dict[str, Settings]
) -> None:
    train = frame.iloc[training_rows(frame)]
    samples: dict[str, list[tuple[float, float]]] = {"on": [], "off": [], "plain": []}

    def off_and_plain(*, off_first: bool) -> None:
        telemetry_helper.configure(telemetry_settings["off"])
        for variant in ("off", "plain") if off_first else ("plain", "off"):
            if variant == "off":
                samples["off"].append(timed(lifecycle_fit, frame))
            else:
                samples["plain"].append(timed(plain_fit, train))

    def setup() -> None:  # even rounds: OFF, plain, ON
        if len(samples["on"]) % 2 == 0:
            off_and_plain(off_first=True)
        telemetry_helper.configure(telemetry_settings["on"])
        gc.collect()

    def on_round(frame: pd.DataFrame) -> dict[str, Any]:
        wall, cpu = time.perf_counter(), time.process_time()
        report = lifecycle_fit(frame)
        samples["on"].append((time.perf_counter() - wall, time.process_time() - cpu))
        return report

    def teardown(frame: pd.DataFrame) -> None:  # odd rounds: ON, plain, OFF
        if len(samples["on"]) % 2 == 0:
            off_and_plain(off_first=False)

    report = benchmark.pedantic(
        on_round, args=(frame,), setup=setup, teardown=teardown, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS
    )
    assert report["rows_train"] == len(train), "the plain pipeline must train on the lifecycle's rows"
    assert fit_events(splunk) >= 1, "telemetry ON delivered no fit event: the ON rounds measured nothing"
    if benchmark.stats is None:  # --benchmark-disable
        return
    measured = {name: values[WARMUP_ROUNDS:] for name, values in samples.items()}
    assert len(measured["on"]) == len(measured["off"]) == ROUNDS
    results["on"] = benchmark.stats.stats.median
    results["on_cpu"] = medians(measured["on"])[1]
    results["off"], results["off_cpu"] = medians(measured["off"])
    results["plain"], results["plain_cpu"] = medians(measured["plain"])
    results["paired"] = statistics.median(
        on[0] - off[0] for on, off in zip(measured["on"], measured["off"], strict=True)
    )
    results["accuracy"] = report["metrics"]["accuracy"]


def test_telemetry_cost_on_a_small_frame(
    splunk: EmulatorProcess, telemetry_settings: dict[str, Settings]
) -> None:
    small = make_frame(SMALL_ROWS, seed=1)
    samples: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    for pair in range(SMALL_PAIRS + 1):
        for side in ("on", "off") if pair % 2 else ("off", "on"):
            telemetry_helper.configure(telemetry_settings[side])
            sample = timed(lifecycle_fit, small)
            if pair:  # the first pair warms up
                samples[side].append(sample)
    assert telemetry_helper.flush(60), telemetry_helper.get_telemetry().stats()
    assert fit_events(splunk) >= 1
    results["small_on"], results["small_on_cpu"] = medians(samples["on"])
    results["small_off"], results["small_off_cpu"] = medians(samples["off"])


def test_ratios() -> None:
    needed = {"on", "off", "plain", "small_on", "small_off"}
    if not needed <= set(results):
        pytest.skip("needs the tests above, run in the same session with benchmarking enabled")
    on, off, plain = results["on"], results["off"], results["plain"]
    small_cost = results["small_on"] - results["small_off"]
    lifecycle_ratio = off / plain
    target = f"+{(QUICK_BOUNDS['on_minus_off'] if QUICK else 0.05) * 100:.0f} %"
    print(
        f"\nmedians of {ROUNDS} interleaved rounds at {N_ROWS:,} rows (wall s / process CPU s):\n"
        f"  plain pipeline      {plain:.3f} / {results['plain_cpu']:.3f}\n"
        f"  lifecycle, tel. OFF {off:.3f} / {results['off_cpu']:.3f}\n"
        f"  lifecycle, tel. ON  {on:.3f} / {results['on_cpu']:.3f}"
        f"   (holdout accuracy {results['accuracy']:.3f})"
    )
    print(
        f"telemetry ON - OFF = {on - off:+.3f} s = {(on - off) / off:+.1%} of OFF (target <= {target}); "
        f"CPU {results['on_cpu'] - results['off_cpu']:+.3f} s; "
        f"median of the rounds' ON - OFF {results['paired']:+.3f} s"
    )
    print(
        f"telemetry's own cost per init + fit ({SMALL_PAIRS} pairs at {SMALL_ROWS:,} rows): "
        f"{small_cost * 1e3:+.1f} ms wall, "
        f"{(results['small_on_cpu'] - results['small_off_cpu']) * 1e3:+.1f} ms CPU "
        f"(OFF {results['small_off'] * 1e3:.1f} ms) = {small_cost / off:+.2%} "
        f"of the {N_ROWS:,}-row OFF median"
    )
    print(
        f"lifecycle OFF / plain = {lifecycle_ratio:.2f}x wall (bound 1.5x), "
        f"{results['off_cpu'] / results['plain_cpu']:.2f}x CPU"
    )
    if QUICK:
        assert on - off <= QUICK_BOUNDS["on_minus_off"] * off
        assert small_cost <= QUICK_BOUNDS["small_cost"] * off
        assert lifecycle_ratio <= QUICK_BOUNDS["lifecycle_ratio"]
    else:
        assert on - off <= 0.05 * off
        assert small_cost <= 0.05 * off
        assert lifecycle_ratio <= 1.5
