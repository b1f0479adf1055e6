"""Fixtures shared by the test packages, and the tests' hermetic environment.

The suite does not depend on the caller's environment, HOME or working directory:

- for the whole session (from ``pytest_configure``, before collection, so that module- and session-scoped
  fixtures and the processes they start never see them), the environment holds no DSDL, dsdl-golden or
  Jupyter setting and none of the other tools' variables that would change what a test does
  (golden_testing.SETTING_NAMES, FOREIGN_NAMES), and HOME is a temporary directory;
- each test (:func:`hermetic_test`) gets its own HOME and TMPDIR (``<tmp_path>-env/``, next to its
  ``tmp_path``, which stays the test's own empty directory) and runs in its ``tmp_path``;
- child processes get an explicit environment (golden_testing.child_environ);
- what a test leaves unclosed fails that test: ResourceWarning is an error in the tests under tests/
  (:func:`pytest_collection_modifyitems`; PYTHONTRACEMALLOC=20 shows where the resource was opened), and
  the garbage a test leaves is collected at its teardown (:func:`hermetic_test`).

``./dev test`` also runs pytest in a network namespace with only loopback (see ``dev``).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import hypothesis.configuration
import pytest
from golden_testing import clear_settings, hec_environment, is_foreign, is_setting
from hypothesis import settings

from dsdl_golden import telemetry_helper
from dsdl_golden._lifecycle import reporting
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import EmulatorConfig, SplunkEmulator
from dsdl_golden.workspace import lay_out

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

# CI runs the same examples every time (a landing must not depend on luck); developers' runs keep
# exploring new ones, and a failure prints the example to reproduce it.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
# ./dev mutate runs every covering test of each surviving mutant: the same few examples every time
# (a tenth of each test's count, through golden_testing.examples).
settings.register_profile("mutate", derandomize=True, max_examples=10)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
# Hypothesis' examples database in the clone, wherever pytest is started from.
hypothesis.configuration.set_hypothesis_home_dir(ROOT / ".hypothesis")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """For the whole session: none of the caller's settings, and a temporary HOME."""
    saved = dict(os.environ)
    home = tempfile.mkdtemp(prefix="golden-tests-home-")
    for name in [name for name in os.environ if is_setting(name) or is_foreign(name)]:
        del os.environ[name]
    os.environ["HOME"] = home

    def restore() -> None:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(home, ignore_errors=True)

    config.add_cleanup(restore)


@pytest.fixture(autouse=True)
def hermetic_test(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Each test: no setting an earlier test left, its own HOME and TMPDIR, its tmp_path as working
    directory; the package's logger and once-only warnings as they were before it; at its end, the
    garbage it left is collected, so that a ResourceWarning (an error) about a file, socket or process
    it did not close fails this test and not a later one."""
    clear_settings(monkeypatch)
    own = tmp_path_factory.mktemp(f"{tmp_path.name}-env", numbered=False)
    (own / "home").mkdir()
    (own / "tmp").mkdir()
    monkeypatch.setenv("HOME", str(own / "home"))
    monkeypatch.setenv("TMPDIR", str(own / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(own / "tmp"))
    monkeypatch.chdir(tmp_path)
    # Process-wide state of the package: the runtime's app sends the package's logs to the stderr of
    # its time (pytest's capture, closed after that test) and stops them at the root logger (caplog's);
    # the lifecycle warns once per process about each failure.
    package = logging.getLogger("dsdl_golden")
    monkeypatch.setattr(package, "handlers", list(package.handlers))
    monkeypatch.setattr(package, "propagate", package.propagate)
    level = package.level
    monkeypatch.setattr(reporting, "_REPORTED", set())
    yield
    package.setLevel(level)  # setLevel, not the attribute: the loggers' cached levels are cleared
    gc.collect()
    # What survives the test (module fixtures, caches) is not scanned again: each collection stays short.
    gc.freeze()


#: Seconds a test may take unless it says otherwise (``@pytest.mark.timeout``): about 3x the slowest
#: test measured on a 2-core machine (35 s, ``./dev test --durations=0``), so that a test that loops
#: (on a mutant, say) fails in 2 minutes, not at pyproject.toml's 600 s, which the benchmarks keep.
TEST_TIMEOUT = 120
#: The same for the tests of a built image (``image`` mark, or any test given ``--image``, as image/test
#: gives them): each starts containers, builds an image or pushes the 1 GB archive (image/test's 36
#: took 304 s in all on a 2-core machine).
IMAGE_TEST_TIMEOUT = 900


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """ResourceWarning is an error in the tests here (not in benchmarks/, which share pyproject.toml's
    settings); first among the marks, so that a test's own filterwarnings mark can still narrow it.
    Every test and notebook without its own timeout mark gets :data:`TEST_TIMEOUT` or
    :data:`IMAGE_TEST_TIMEOUT`."""
    for item in items:
        if item.path.is_relative_to(TESTS):
            item.add_marker(pytest.mark.filterwarnings("error::ResourceWarning"), append=False)
        if item.get_closest_marker("timeout") is None:
            image = item.get_closest_marker("image") is not None or config.getoption("--image") is not None
            item.add_marker(pytest.mark.timeout(IMAGE_TEST_TIMEOUT if image else TEST_TIMEOUT))


def pytest_unconfigure(config: pytest.Config) -> None:
    gc.unfreeze()  # the session's own objects, for pytest's last collection of unraisable exceptions


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[SplunkEmulator]:
    """One HTTPS Splunk emulator per test module on free loopback ports."""
    with SplunkEmulator() as server:
        yield server


@pytest.fixture
def fresh_emulator(module_emulator: SplunkEmulator) -> SplunkEmulator:
    """The module's emulator with no events, jobs or faults and every knob at its default."""
    module_emulator.reset()
    module_emulator.configure(**dataclasses.asdict(EmulatorConfig()))
    return module_emulator


HEC_TOKEN = "hec-5e0c2a7d-golden-token"


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DSDL's /srv layout in a temporary directory, as GOLDEN_SRV_DIR, with no other settings."""
    root = tmp_path / "srv"
    lay_out(root)
    monkeypatch.setenv("GOLDEN_SRV_DIR", str(root))
    monkeypatch.setenv("GOLDEN_SPOOL_DIR", str(tmp_path / "spool"))
    return root


@pytest.fixture
def telemetry_to_emulator(
    fresh_emulator: SplunkEmulator, srv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SplunkEmulator]:
    """The process-wide telemetry delivering to the module's emulator (golden_metrics and main)."""
    fresh_emulator.add_index("golden_metrics", metrics=True)
    fresh_emulator.add_hec_token(HEC_TOKEN, name="golden", indexes=["main", "golden_metrics"])
    environment = hec_environment(fresh_emulator, tmp_path / "telemetry-spool", HEC_TOKEN)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    telemetry_helper.configure(load_settings())
    yield fresh_emulator
    telemetry_helper.configure(load_settings({}))
