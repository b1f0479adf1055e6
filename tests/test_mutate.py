"""tools/mutate.py (``./dev mutate``): what mutmut itself reads from a staging folder, and the scores."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest
from mutmut import configuration

import mutate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def in_folder() -> Iterator[None]:
    before = Path.cwd()
    yield
    os.chdir(before)
    configuration._config = None


@pytest.mark.parametrize("module", mutate.MODULES.values(), ids=list(mutate.MODULES))
def test_every_module_names_sources_and_tests_that_exist(module: mutate.Module) -> None:
    for pattern in module.sources:
        assert list((ROOT / "helpers").glob(pattern)), f"{module.name}: {pattern} matches no file"
    assert module.tests, f"{module.name}: no tests"
    for test in module.tests:
        assert (ROOT / test).exists(), f"{module.name}: {test} is not there"


def test_each_lifecycle_file_is_mutated_in_one_run_and_the_network_tests_judge_only_the_hooks() -> None:
    for path in sorted((ROOT / "helpers" / "dsdl_golden" / "_lifecycle").glob("*.py")):
        name = f"dsdl_golden/_lifecycle/{path.name}"
        owners = [
            module.name for module in mutate.MODULES.values() if any(fnmatch(name, p) for p in module.sources)
        ]
        assert len(owners) == (0 if path.name == "__init__.py" else 1), (name, owners)
    assert mutate.MODULES["lifecycle"].selection()[-2:] == ("-k", "not keras and not torch")
    assert "tests/lifecycle/test_frameworks.py" in mutate.MODULES["frameworks"].selection()
    assert mutate.MODULES["frameworks"].keyword == ""


def test_mutmut_reads_the_staged_module_and_imports_the_package_from_its_copy(
    tmp_path: Path, in_folder: None
) -> None:
    module = mutate.MODULES["metrics"]
    folder = mutate.stage(module, tmp_path)
    assert (folder / "dsdl_golden").resolve() == ROOT / "helpers" / "dsdl_golden"
    os.chdir(folder)
    configuration._config = None
    config = configuration.config()  # mutmut's own reading of the staged pyproject.toml
    assert config.source_paths == [Path("dsdl_golden")]
    assert config.should_mutate("dsdl_golden/_metrics/regression.py")
    assert not config.should_mutate("dsdl_golden/_telemetry/spool.py")
    assert config.pytest_add_cli_args_test_selection == list(module.selection())
    assert {Path(name) for name in mutate.ALSO_COPY} <= set(config.also_copy)
    # mutmut puts mutants/ first on sys.path: its top must hold the package, as the staging folder does.
    assert config.resolved_mutated_source_paths == [folder.resolve() / "mutants" / "dsdl_golden"]
    assert config.process_isolation == configuration.ProcessIsolation.FORK


def test_the_network_tests_run_in_mutants_forked_before_tensorflow_ran(
    tmp_path: Path, in_folder: None
) -> None:
    os.chdir(mutate.stage(mutate.MODULES["frameworks"], tmp_path))
    configuration._config = None
    assert configuration.config().process_isolation == configuration.ProcessIsolation.FORKSERVER


def test_staging_again_keeps_the_folder_and_its_results(tmp_path: Path) -> None:
    module = mutate.MODULES["config"]
    folder = mutate.stage(module, tmp_path)
    (folder / "mutants").mkdir()
    (folder / "mutants" / "kept").write_text("results of a run")
    assert mutate.stage(module, tmp_path) == folder
    assert (folder / "mutants" / "kept").read_text() == "results of a run"


def test_the_score_counts_untested_mutants_as_survivors_and_lists_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = mutate.MODULES["metrics"]
    meta = tmp_path / "metrics" / "mutants" / "dsdl_golden" / "_metrics" / "regression.py.meta"
    meta.parent.mkdir(parents=True)
    prefix = "dsdl_golden._metrics.regression.x_mape__mutmut_"
    codes = {"1": 1, "2": 1, "3": 36, "4": 0, "5": 33, "6": None, "7": 1, "8": 37}
    meta.write_text(json.dumps({"exit_code_by_key": {prefix + key: code for key, code in codes.items()}}))
    score = mutate.report(module, tmp_path)
    survivors = mutate.survivors(module, tmp_path)
    # killed 1, 2, 7; timeout 3; caught by the type check 8; survived 4; no tests 5; 6 not yet checked
    assert score == pytest.approx(5 / 7)
    assert survivors == [prefix + "4", prefix + "5"]
    printed = capsys.readouterr().out
    assert printed.startswith("metrics: 71.4% (5 of 7 killed;")
    assert f"survived   {prefix}4" in printed
    assert f"no tests   {prefix}5" in printed


def test_results_a_run_is_writing_are_left_out_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = tmp_path / "metrics" / "mutants" / "dsdl_golden" / "_metrics"
    metrics.mkdir(parents=True)
    name = "dsdl_golden._metrics.core.x_weighted_mean__mutmut_1"
    (metrics / "core.py.meta").write_text(json.dumps({"exit_code_by_key": {name: 1}}))
    (metrics / "regression.py.meta").write_text('{"exit_code_by_key": {"dsdl_golden._metr')
    assert mutate.statuses(tmp_path / "metrics") == {name: "killed"}
    assert capsys.readouterr().err == (
        f"mutate: {metrics / 'regression.py.meta'} is being written by a run: its mutants are left out\n"
    )


def test_an_unknown_module_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        mutate.main(["metric"])
    assert exit_.value.code == 2
    assert "unknown module metric: choose from telemetry, metrics, preprocessing" in capsys.readouterr().err


def test_main_leaves_sigpipe_ignored_so_a_later_tests_broken_pipe_raises() -> None:
    try:
        assert mutate.main(["--report", "config"]) == 0
        # Python's own setting: a write to a closed pipe or socket raises; SIG_DFL would kill pytest.
        assert signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
