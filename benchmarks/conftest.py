"""Options of the benchmark suites (``test_bench_*.py``, each run in its own process by ``./dev bench``).

``--quick``: CI-sized runs (see ``bench_mode.py``): smaller inputs, fewer rounds, the same ratios
against the baseline measured in the same run, with thresholds calibrated at the quick sizes.

``--slowdown=metrics|transform`` (with ``--quick``): proves that the quick thresholds guard our
code. ``calculate_all_metrics`` (``metrics``) or ``StandardPreprocessor.transform`` (``transform``)
runs twice per call, i.e. twice as slow, and each test marked ``guards(<slowdown>)`` is expected to
fail on an assertion (a strict xfail): the run passes only if the slowdown is caught, and fails if
a guard test passes, skips or none was collected. ``./dev bench --prove-guard`` runs both.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Generator
from typing import Any

import pytest

import bench_mode

#: What each --slowdown runs twice per call, and the suite whose quick thresholds must catch it.
SLOWDOWNS = {
    "metrics": ("dsdl_golden.metrics_calculator.calculate_all_metrics", "benchmarks/test_bench_metrics.py"),
    "transform": (
        "dsdl_golden.preprocessor.StandardPreprocessor.transform",
        "benchmarks/test_bench_preprocessor.py",
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dsdl-golden benchmarks")
    group.addoption(
        "--quick",
        action="store_true",
        help="CI size: smaller inputs, fewer rounds, thresholds calibrated for them (bench_mode.py)",
    )
    group.addoption(
        "--slowdown",
        choices=sorted(SLOWDOWNS),
        default=None,
        help="with --quick: run this function twice per call; the tests guarding it must fail (strict xfail)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "guards(slowdown): under --slowdown=<slowdown>, this test must fail on an assertion"
    )
    quick = bool(config.getoption("quick"))
    bench_mode.configure(quick=quick)
    slowdown = config.getoption("slowdown")
    if slowdown is not None:
        if not quick:
            raise pytest.UsageError("--slowdown proves the quick thresholds: add --quick")
        _slow_down(slowdown)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"benchmarks: {'quick (CI)' if bench_mode.quick() else 'full'} mode"]
    slowdown = config.getoption("slowdown")
    if slowdown is not None:
        lines.append(f"benchmarks: --slowdown={slowdown}: {SLOWDOWNS[slowdown][0]} runs twice per call")
    return lines


def _twice(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def twice(*args: Any, **kwargs: Any) -> Any:
        function(*args, **kwargs)
        return function(*args, **kwargs)

    return twice


def _slow_down(slowdown: str) -> None:
    """Replace the function before the suites import it (they bind it at import)."""
    if slowdown == "transform":
        from dsdl_golden.preprocessor import StandardPreprocessor

        # fit_transform (scikit-learn's TransformerMixin) calls it too
        StandardPreprocessor.transform = _twice(StandardPreprocessor.transform)  # type: ignore[method-assign]
        return
    from dsdl_golden import metrics_calculator

    original = metrics_calculator.calculate_all_metrics
    slowed = _twice(original)
    for name, module in list(sys.modules.items()):  # our modules that imported it already
        if name.startswith("dsdl_golden") and getattr(module, "calculate_all_metrics", None) is original:
            module.calculate_all_metrics = slowed  # type: ignore[attr-defined]


def _guards(item: pytest.Item, slowdown: str) -> bool:
    return any(slowdown in marker.args for marker in item.iter_markers("guards"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slowdown = config.getoption("slowdown")
    if slowdown is None:
        return
    target, suite = SLOWDOWNS[slowdown]
    guards = [item for item in items if _guards(item, slowdown)]
    if not guards:
        raise pytest.UsageError(f"--slowdown={slowdown}: no collected test guards {target}; run {suite}")
    reason = f"{target} runs twice per call: the quick thresholds must catch it"
    for item in guards:
        item.add_marker(pytest.mark.xfail(raises=AssertionError, strict=True, reason=reason))


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: after the xfail plugin has set wasxfail
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under --slowdown, show what a guard test caught; a guard test that skipped proved nothing."""
    report = yield
    slowdown = item.config.getoption("slowdown")
    if slowdown is None or call.when != "call" or not _guards(item, slowdown):
        return report
    if hasattr(report, "wasxfail") and call.excinfo is not None:
        report.wasxfail += f"; caught: {call.excinfo.exconly().splitlines()[0]}"
    elif report.skipped:
        report.outcome = "failed"
        report.longrepr = f"--slowdown={slowdown}: this guard test skipped, so it proved nothing"
    return report
