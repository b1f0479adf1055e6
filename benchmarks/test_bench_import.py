"""Start-up cost of `import dsdl_golden`, against a bare interpreter in the same run.

Quick mode (``--quick``, CI; ``bench_mode.py``): 9 rounds instead of 15, same bound (measured 0.85 to
1.10 in 12 quick runs on the shared 2-core machine).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import bench_mode

QUICK = bench_mode.quick()
ROUNDS = 9 if QUICK else 15
medians: dict[str, float] = {}


def run(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("name", "code"), [("bare", "pass"), ("dsdl_golden", "import dsdl_golden")])
def test_interpreter_start(benchmark: Any, name: str, code: str) -> None:
    benchmark.pedantic(run, args=(code,), rounds=ROUNDS, warmup_rounds=2)
    medians[name] = benchmark.stats.stats.median


def test_import_costs_less_than_twice_a_bare_start() -> None:
    assert set(medians) == {"bare", "dsdl_golden"}, "run the whole file"
    bare, golden = medians["bare"] * 1000, medians["dsdl_golden"] * 1000
    print(f"\nbare start {bare:.1f} ms, with dsdl_golden {golden:.1f} ms, ratio {golden / bare:.2f}")
    assert medians["dsdl_golden"] < 2 * medians["bare"]
