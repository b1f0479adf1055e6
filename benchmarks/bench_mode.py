"""The size the benchmark suites run at, set from pytest's command line by ``benchmarks/conftest.py``.

- full (the default, ``./dev bench``): the measurement, with the sizes and targets each suite's
  docstring describes;
- quick (``--quick``, ``./dev bench --quick``, CI): smaller inputs and fewer rounds, about 3 minutes
  for all the suites, asserting the same ratios against the baseline measured in the same run, with
  thresholds calibrated at the quick sizes (each suite documents its own, with the measured values).

A suite reads :func:`quick` when it is imported, to size its module-level inputs: ``conftest.py``
sets the mode in ``pytest_configure``, which runs before any suite is imported.
"""

from __future__ import annotations

_quick: bool | None = None


def configure(*, quick: bool) -> None:
    global _quick  # noqa: PLW0603 (one mode per pytest process, set once from its command line)
    _quick = quick


def quick() -> bool:
    """True under ``--quick``."""
    if _quick is None:
        raise RuntimeError(
            "the benchmark mode is unset: run the suites with pytest, which loads benchmarks/conftest.py"
        )
    return _quick
