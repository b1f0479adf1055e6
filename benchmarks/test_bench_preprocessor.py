"""StandardPreprocessor against the equivalent scikit-learn ColumnTransformer, 1,000,000 rows x 20 columns.

Run::

    cd /work/main && PYTHONPATH=helpers .venv/bin/pytest benchmarks/test_bench_preprocessor.py \\
        -p no:cacheprovider --benchmark-min-rounds=3

Data (fixed seed): 12 float columns (0, 5 or 10 % NaN), 6 low-cardinality text columns (3 to 13
categories, 2 % missing), a boolean-like "true"/"false" text column and Splunk's ``_time`` as epoch
seconds text. The reference ColumnTransformer imputes (median) and scales the floats, adds missing
indicators (``MissingIndicator(features="missing-only")``, like ``add_indicator="auto"``), one-hot
encodes the 7 text columns (dense) and drops ``_time``, which scikit-learn cannot parse: it does
strictly less work than StandardPreprocessor.

The scikit-learn side takes about 6 s (fit_transform) and 3 s (transform) per call on this data, too
slow for many rounds: every benchmark runs ``benchmark.pedantic`` with 3 rounds after 1 warm-up round
(so ``--benchmark-min-rounds`` has no effect here). The machine is shared and page faults on the
freshly mapped output arrays vary a lot, which is what the warm-up round and the medians absorb.

``test_speed_and_memory_ratios`` times each side itself, in interleaved rounds (ours then scikit-learn,
then the other way round) after one warm-up call each, and takes the median of the rounds' speed-ups:
a change of load hits both sides of a round. It asserts, in wall time, the targets: fit_transform
>= 1.5x and transform >= 2x faster than the ColumnTransformer; and peak traced memory (tracemalloc:
numpy and Python allocations, the output included) no higher than the ColumnTransformer's.

Quick mode (``--quick``, CI; ``bench_mode.py``): 200,000 rows, 7 rounds, peak memory on the first
50,000 rows, a 50,000-row id column, and the guard: transform's speed-up in user-mode CPU time
(``getrusage``) must stay above ``QUICK_FLOORS``, which catches transform made twice as slow
(``--quick --slowdown=transform``, run by ``./dev bench --prove-guard``). Not wall time: the
ColumnTransformer takes 5 times the page faults of ours (22,000 against 4,000 per call here), their
cost in the kernel differs from machine to machine, and on CI's machine it moved the wall-time speed-up
so far that the 2x slowdown measured 2.88 (transform's floor in wall time was then 2.3).

The ``test_high_cardinality_*`` pair measures the encoding of a 50,000-value id column over 200,000
rows: frequency encoding (one feature) against hashing (FeatureHasher, 32 features, densified as a
model would need it).
"""

from __future__ import annotations

import gc
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction import FeatureHasher
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import bench_mode
from dsdl_golden.preprocessor import StandardPreprocessor

QUICK = bench_mode.quick()
N_ROWS = 200_000 if QUICK else 1_000_000
NUMERIC = [f"num{i}" for i in range(12)]
CATEGORICAL = [f"cat{i}" for i in range(6)]
ROUNDS = 5 if QUICK else 3  # of the pytest-benchmark records
RATIO_ROUNDS = 7 if QUICK else 3  # of the interleaved rounds behind the asserted ratios
ID_ROWS = 50_000 if QUICK else 200_000
PEAK_ROWS = 50_000 if QUICK else N_ROWS  # tracemalloc slows the calls down several times
#: The wall-time targets, in both modes.
TARGETS = {"fit_transform": 1.5, "transform": 2.0}
#: Quick mode's guard, on the median user-CPU speed-up of 7 interleaved rounds at 200,000 rows. Measured on
#: the shared 2-core machines, alone and beside another run: transform 3.03 to 3.72 in 14 runs on one
#: machine and 2.58 to 2.77 on another (where CI's machine measured below the former floor of 2.4); with
#: transform run twice per call (--slowdown=transform), 1.56 to 1.90 and 1.30 to 1.37. Running twice halves
#: the speed-up on any machine, so a floor F guards every machine whose speed-up lies between F and 2F:
#: 2.1 keeps 1.23x below the lowest speed-up and 1.10x above the highest doubled one. fit_transform's
#: floor is its target: fit is most of fit_transform, so it is no guard of transform.
QUICK_FLOORS = {"fit_transform": 1.5, "transform": 2.1}


class Timing(NamedTuple):
    """Seconds of one call, or a speed-up: the wall clock's and this process's user-mode CPU's."""

    wall: float
    user: float


def timed(function: Callable[[], Any]) -> Timing:
    """Wall and user-mode CPU seconds of ``function()``, after a garbage collection."""
    gc.collect()
    user, wall = resource.getrusage(resource.RUSAGE_SELF).ru_utime, time.perf_counter()
    function()
    return Timing(time.perf_counter() - wall, resource.getrusage(resource.RUSAGE_SELF).ru_utime - user)


def speedup(ours: Callable[[], Any], theirs: Callable[[], Any], rounds: int) -> Timing:
    """Median over interleaved rounds of ``theirs`` time / ``ours`` time, after one warm-up call each."""
    ours()
    theirs()
    samples = []
    for round_ in range(rounds):
        order = (ours, theirs) if round_ % 2 == 0 else (theirs, ours)
        times = dict(zip(order, (timed(function) for function in order), strict=True))
        samples.append(Timing(*(getattr(times[theirs], f) / getattr(times[ours], f) for f in Timing._fields)))
    return Timing(*(statistics.median(getattr(sample, f) for sample in samples) for f in Timing._fields))


def make_events(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Splunk-like events: floats with NaN, low-cardinality text, boolean-like text and _time text."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i, name in enumerate(NUMERIC):
        values = rng.normal(i, 1 + i, n_rows)
        values[rng.random(n_rows) < 0.05 * (i % 3)] = np.nan
        columns[name] = values
    for i, name in enumerate(CATEGORICAL):
        categories = np.array([f"{name}_{k}" for k in range(3 + 2 * i)])
        text = pd.Series(categories[rng.integers(0, categories.size, n_rows)], dtype="str")
        columns[name] = text.mask(rng.random(n_rows) < 0.02)
    columns["flag"] = pd.Series(np.where(rng.random(n_rows) < 0.3, "true", "false"), dtype="str")
    seconds = 1.7e9 + rng.integers(0, 10**7, n_rows)
    columns["_time"] = pd.Series(np.char.mod("%.3f", seconds), dtype="str")
    return pd.DataFrame(columns)


def reference() -> ColumnTransformer:
    """The equivalent scikit-learn pipeline (``_time`` dropped: scikit-learn cannot parse it)."""
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("ind", MissingIndicator(features="missing-only"), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), [*CATEGORICAL, "flag"]),
        ],
        remainder="drop",
    )


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return make_events(N_ROWS)


@pytest.fixture(scope="module")
def fitted(events: pd.DataFrame) -> dict[str, Any]:
    return {"ours": StandardPreprocessor().fit(events), "sklearn": reference().fit(events)}


def record(benchmark: Any, function: Callable[[], Any]) -> None:
    """Benchmark ``function``: 1 warm-up round, then ``ROUNDS`` rounds."""
    benchmark.pedantic(function, rounds=ROUNDS, warmup_rounds=1)


@pytest.mark.benchmark(group="fit_transform")
def test_fit_transform_ours(benchmark: Any, events: pd.DataFrame) -> None:
    record(benchmark, lambda: StandardPreprocessor().fit_transform(events))


@pytest.mark.benchmark(group="fit_transform")
def test_fit_transform_sklearn(benchmark: Any, events: pd.DataFrame) -> None:
    record(benchmark, lambda: reference().fit_transform(events))


@pytest.mark.benchmark(group="transform")
def test_transform_ours(benchmark: Any, events: pd.DataFrame, fitted: dict[str, Any]) -> None:
    record(benchmark, lambda: fitted["ours"].transform(events))


@pytest.mark.benchmark(group="transform")
def test_transform_sklearn(benchmark: Any, events: pd.DataFrame, fitted: dict[str, Any]) -> None:
    record(benchmark, lambda: fitted["sklearn"].transform(events))


def peak_bytes(function: Callable[[], Any]) -> int:
    """Peak memory traced by tracemalloc while ``function`` runs (its result included)."""
    gc.collect()
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.guards("transform")
def test_speed_and_memory_ratios(events: pd.DataFrame, fitted: dict[str, Any]) -> None:
    calls = {
        "fit_transform/ours": lambda: StandardPreprocessor().fit_transform(events),
        "fit_transform/sklearn": lambda: reference().fit_transform(events),
        "transform/ours": lambda: fitted["ours"].transform(events),
        "transform/sklearn": lambda: fitted["sklearn"].transform(events),
    }
    operations = ("fit_transform", "transform")
    speedups = {op: speedup(calls[f"{op}/ours"], calls[f"{op}/sklearn"], RATIO_ROUNDS) for op in operations}
    sample = events.head(PEAK_ROWS) if QUICK else events
    peaks = {
        "fit_transform/ours": peak_bytes(lambda: StandardPreprocessor().fit_transform(sample)),
        "fit_transform/sklearn": peak_bytes(lambda: reference().fit_transform(sample)),
        "transform/ours": peak_bytes(lambda: fitted["ours"].transform(sample)),
        "transform/sklearn": peak_bytes(lambda: fitted["sklearn"].transform(sample)),
    }
    print(f"\nspeed-up at {N_ROWS:,} rows, medians of {RATIO_ROUNDS} interleaved rounds (wall / user CPU):")
    for op, value in speedups.items():
        print(f"  {op:<13} {value.wall:.2f} / {value.user:.2f}")
    print(
        f"peak traced memory at {PEAK_ROWS:,} rows (MB):",
        {key: round(value / 1e6) for key, value in peaks.items()},
    )
    if QUICK:
        low = {op: round(value.user, 2) for op, value in speedups.items() if value.user < QUICK_FLOORS[op]}
        assert not low, f"user-CPU speed-up below the quick floors {QUICK_FLOORS}: {low}"
    slow = {op: round(value.wall, 2) for op, value in speedups.items() if value.wall < TARGETS[op]}
    assert not slow, f"wall-time speed-up below the targets {TARGETS}: {slow}"
    for operation in operations:
        assert peaks[f"{operation}/ours"] <= peaks[f"{operation}/sklearn"]


@pytest.fixture(scope="module")
def user_ids() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    ids = np.char.add("user", rng.zipf(1.3, ID_ROWS).clip(max=50_000).astype(str))
    return pd.DataFrame({"user": pd.Series(ids, dtype="str")})


@pytest.mark.benchmark(group="high_cardinality")
def test_high_cardinality_frequency(benchmark: Any, user_ids: pd.DataFrame) -> None:
    preprocessor = StandardPreprocessor().fit(user_ids)
    out = benchmark(lambda: preprocessor.transform(user_ids))
    benchmark.extra_info.update(n_features=out.shape[1], output_mb=out.nbytes / 1e6)


@pytest.mark.benchmark(group="high_cardinality")
def test_high_cardinality_hashing(benchmark: Any, user_ids: pd.DataFrame) -> None:
    hasher = FeatureHasher(n_features=32, input_type="string", alternate_sign=False)
    rows = user_ids["user"].to_numpy(dtype=object).reshape(-1, 1)
    out = benchmark(lambda: hasher.transform(rows).toarray())
    benchmark.extra_info.update(n_features=out.shape[1], output_mb=out.nbytes / 1e6)
