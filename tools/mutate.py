"""Mutation testing with mutmut (``./dev mutate``): a score per module and its surviving mutants.

mutmut copies the code it mutates into ``mutants/`` and runs the tests there, importing the package
from the top of that folder. Our package lives in ``helpers/``, so each module gets a staging folder,
``build/mutate/<module>/``, whose top holds ``dsdl_golden`` (a link to ``helpers/dsdl_golden``), the
test tree and a ``pyproject.toml`` that adds the module's ``[tool.mutmut]`` table: mutmut's copy then
shadows the editable install, and only that module's tests run. Results stay in the staging folder,
so a second run tests only the functions that changed since.

    ./dev mutate [MODULE ...]     run (default: every module), then print the scores
    ./dev mutate --report [MODULE ...]   print the scores of earlier runs, without running
    ./dev mutate --survivors [MODULE ...]   test the survivors again (mutmut keeps a mutant's result
                                  until its function changes, even when new tests would kill it)
    ./dev mutate --show NAME      the diff of one mutant (names come from the report)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGING = ROOT / "build" / "mutate"
# What the tests read from the project's top folder (mutmut copies it into mutants/).
ALSO_COPY = ("conftest.py", "tools", "image", "template")
MUTMUT = str(Path(sys.executable).parent / "mutmut")
# The tests of the Splunk side, telemetry and the runtime spend most of their time waiting on sockets,
# timeouts and back-off, so more mutants than cores run at once (tests/splunk: 29 s, 7.5 s of CPU).
DEFAULT_JOBS = 3 * (os.cpu_count() or 1)
KILLED = frozenset({"killed", "timeout", "caught by type check", "segfault"})


@dataclass(frozen=True)
class Module:
    """Source files mutmut mutates (globs under dsdl_golden/) and the tests that judge them (folders or
    files under the project's top), optionally only those whose names match a pytest ``-k`` expression.

    Tests are named by folder: mutmut resets every result when its test selection changes, and a new
    test file in a folder leaves the selection as it was (mutmut then only runs the new tests' stats).

    ``isolation`` is mutmut's ``process_isolation``: ``fork`` forks each mutant from the process that
    ran the tests for their timings (fast: imports and compiled kernels are warm); ``forkserver`` forks
    it from a process that only collected the tests, for libraries that do not survive a fork once they
    have run (TensorFlow: a forked Keras test hangs).
    """

    name: str
    sources: tuple[str, ...]
    tests: tuple[str, ...]
    keyword: str = ""
    isolation: str = "fork"

    def selection(self) -> tuple[str, ...]:
        """pytest's arguments that select the tests: their paths, then ``-k`` when a keyword is set."""
        return self.tests + (("-k", self.keyword) if self.keyword else ())


def _module(
    name: str, tests: tuple[str, ...], *sources: str, keyword: str = "", isolation: str = "fork"
) -> Module:
    return Module(name, tuple(f"dsdl_golden/{source}" for source in sources), tests, keyword, isolation)


#: The lifecycle's framework hooks, mutated in a run of their own (``frameworks``): a surviving mutant
#: runs every test that reaches it, and the Keras and PyTorch tests reach all of the lifecycle (Keras: 3
#: minutes in all on 2 cores; PyTorch in a forked mutant: a minute a test, past mutmut's wall timeout
#: when the cores are busy); the lifecycle's own run leaves them out.
_FRAMEWORK_HOOKS = ("_lifecycle/keras_adapter.py", "_lifecycle/torch_adapter.py", "_lifecycle/networks.py")
_LIFECYCLE_CORE = tuple(
    source
    for source in (
        f"_lifecycle/{path.name}"
        for path in sorted((ROOT / "helpers" / "dsdl_golden" / "_lifecycle").glob("*.py"))
    )
    if source not in {*_FRAMEWORK_HOOKS, "_lifecycle/__init__.py", "_lifecycle/registration.py"}
)


MODULES = {
    module.name: module
    for module in (
        _module(
            "telemetry",
            ("tests/telemetry", "tests/splunk/test_proxy.py"),  # telemetry through HTTPS_PROXY
            "_telemetry/*",
            "telemetry_helper.py",
        ),
        _module("metrics", ("tests/metrics",), "_metrics/*", "metrics_calculator.py"),
        _module("preprocessing", ("tests/preprocessing",), "_preprocessing/*", "preprocessor.py"),
        _module("splunk", ("tests/splunk",), "_splunk/*", "splunk_connector.py"),
        _module("config", ("tests/config",), "config.py", "settings_file.py"),
        _module(
            "lifecycle",
            ("tests/lifecycle", "tests/template/test_flow.py"),  # and the template's own flow
            *_LIFECYCLE_CORE,
            "lifecycle.py",
            keyword="not keras and not torch",
        ),
        _module(
            "frameworks", ("tests/lifecycle/test_frameworks.py",), *_FRAMEWORK_HOOKS, isolation="forkserver"
        ),
        # The lifecycle's glue to the model registry, judged by the registry's tests (MLflow: 5 to 30 s
        # each, which the lifecycle's other mutants need not pay).
        _module(
            "registry",
            ("tests/registry", "tests/lifecycle/test_registration.py"),  # and apply's model_version
            "_lifecycle/registration.py",
            "_registry/*",
            "model_registry.py",
        ),
        _module("runtime", ("tests/runtime",), "_runtime/*", "runtime.py"),
    )
}


def _toml_list(items: tuple[str, ...]) -> str:
    return json.dumps(list(items))


def stage(module: Module, staging: Path = STAGING) -> Path:
    """The module's staging folder, made or refreshed; returns its path."""
    folder = staging / module.name
    folder.mkdir(parents=True, exist_ok=True)
    for name, target in [("dsdl_golden", ROOT / "helpers" / "dsdl_golden"), ("tests", ROOT / "tests")] + [
        (name, ROOT / name) for name in ALSO_COPY
    ]:
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(target)
    table = "\n".join(
        [
            "",
            "[tool.mutmut]",
            'source_paths = ["dsdl_golden"]',
            f"only_mutate = {_toml_list(module.sources)}",
            f"pytest_add_cli_args_test_selection = {_toml_list(module.selection())}",
            f"process_isolation = {json.dumps(module.isolation)}",
            # The suite's own options (nbmake, the notebooks as test paths) are not for mutants; property
            # tests run a tenth of their examples, the same ones each time (tests/conftest.py).
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-o", "addopts=", "-q", '
            '"--hypothesis-profile=mutate"]',
            f"also_copy = {_toml_list(ALSO_COPY)}",
            "use_git_change_detection = false",
            "",
        ]
    )
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8") + table
    target = folder / "pyproject.toml"
    if not target.is_file() or target.read_text(encoding="utf-8") != pyproject:
        target.write_text(pyproject, encoding="utf-8")
    return folder


def statuses(folder: Path) -> dict[str, str]:
    """mutant name -> mutmut's status word, read from the results mutmut keeps beside each file."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, str] = {}
    for meta in sorted((folder / "mutants").rglob("*.py.meta")):
        try:
            codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        except json.JSONDecodeError:  # mutmut rewrites the file in place after each mutant
            print(f"mutate: {meta} is being written by a run: its mutants are left out", file=sys.stderr)
            continue
        found.update({name: status_by_exit_code[code] for name, code in codes.items()})
    return found


def report(module: Module, staging: Path = STAGING) -> float | None:
    """Print the module's score (killed / all mutants, untested ones count as survivors) and survivors."""
    found = statuses(staging / module.name)
    checked = _tested(found)
    killed = sum(1 for status in checked.values() if status in KILLED)
    score = killed / len(checked) if checked else None
    shown = "not run" if score is None else f"{score:.1%}"
    counts = dict(sorted(Counter(found.values()).items()))
    print(f"{module.name}: {shown} ({killed} of {len(checked)} killed; {counts})")
    for name in _surviving(checked):
        print(f"  {checked[name]:<10} {name}")
    return score


def survivors(module: Module, staging: Path = STAGING) -> list[str]:
    """The module's mutants that its tests did not kill in the last run (untested ones included)."""
    return _surviving(_tested(statuses(staging / module.name)))


def _tested(found: dict[str, str]) -> dict[str, str]:
    return {name: status for name, status in found.items() if status not in {"not checked", "skipped"}}


def _surviving(checked: dict[str, str]) -> list[str]:
    return sorted(name for name, status in checked.items() if status not in KILLED)


def run(module: Module, *, again: bool = False, jobs: int = 2) -> int:
    """mutmut on the module, ``jobs`` mutants at a time: every mutant not yet tested, or (``again``)
    the last run's survivors."""
    folder = stage(module)
    names = survivors(module) if again else []
    if again and not names:
        return 0
    print(f"mutate: {module.name} in {folder.relative_to(ROOT)}", flush=True)
    # mutmut forks each mutant from a process that already ran every test. numba's default threading
    # layer here is GNU OpenMP, which is not fork-safe: a forked mutant that runs aeon's parallel kernels
    # again dies of SIGTERM, which mutmut reports as "suspicious". numba's own workqueue layer is.
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NUMBA_THREADING_LAYER": "workqueue"}
    return subprocess.run(
        [MUTMUT, "run", "--max-children", str(jobs), *names], check=False, cwd=folder, env=environment
    ).returncode


def show(name: str) -> int:
    for module in MODULES.values():
        folder = STAGING / module.name
        if name in statuses(folder):
            return subprocess.run([MUTMUT, "show", name], check=False, cwd=folder).returncode
    print(f"mutate: no mutant named {name!r} in {STAGING} (run ./dev mutate first)", file=sys.stderr)
    return 2


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "modules", nargs="*", metavar="MODULE", help=f"one of {', '.join(MODULES)} (default: all)"
    )
    parser.add_argument("--report", action="store_true", help="print the scores of earlier runs only")
    parser.add_argument(
        "--survivors", action="store_true", help="test the last run's survivors again (after new tests)"
    )
    parser.add_argument("--show", metavar="NAME", help="print one mutant's diff")
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=DEFAULT_JOBS,
        help=f"mutants tested at once (default {DEFAULT_JOBS}: three per core, as the tests mostly wait "
        "on sockets and timeouts)",
    )
    args = parser.parse_args(argv)
    if args.show:
        return show(args.show)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}: choose from {', '.join(MODULES)}")
    chosen = [MODULES[name] for name in args.modules] or list(MODULES.values())
    failed = (
        []
        if args.report
        else [module.name for module in chosen if run(module, again=args.survivors, jobs=args.jobs) != 0]
    )
    for module in chosen:
        report(module)
    if failed:
        print(f"mutate: mutmut failed for {', '.join(failed)} (its output is above)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # `./dev mutate --report | head` ends quietly; only as a command: main() also runs inside tests,
    # where the default action would let a later test's write to a closed socket kill pytest.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
