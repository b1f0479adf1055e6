"""``golden export`` and ``golden check``: a notebook to a model module, and the module's contract check.

Both reuse :func:`dsdl_golden.export.export_notebook` and :mod:`dsdl_golden.contract`; this module
only adds the command-line answers: what is printed where and the exit status (0 clean, 1 problems
found, 2 the command could not do its work).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from dsdl_golden.config import load_settings
from dsdl_golden.contract import check_module, check_source
from dsdl_golden.export import ExportError, export_notebook

__all__ = ["NO_NAMED_CELLS", "check", "export", "import_roots", "model_imports"]

#: Why a notebook without named cells exports nothing (printed after ``<notebook>: ``).
NO_NAMED_CELLS: Final = (
    "no code cell has a name, nothing to export: DSDL exports only the cells whose metadata has "
    'a "name" (mltkc_import, mltkc_init, mltkc_fit, mltkc_apply, mltkc_save, mltkc_load, mltkc_summary)'
)


def _fail(command: str, message: str) -> int:
    """Print ``golden <command>: <message>`` on stderr; returns 2."""
    print(f"golden {command}: {message}", file=sys.stderr)
    return 2


def _report(label: str, problems: Sequence[str]) -> int:
    """One ``<label>: <problem>`` line per problem on stdout; 1 if any, else 0."""
    for problem in problems:
        print(f"{label}: {problem}")
    return 1 if problems else 0


def export(notebook: str, output_dir: str | None) -> int:
    """``golden export``: export ``notebook``, print the module's path and its contract problems.

    The module goes to ``output_dir`` (default: ``<GOLDEN_SRV_DIR>/app/model``). Returns 0 when the
    module is clean, 1 when :func:`check_source` finds problems or nothing was exported (no named
    cells), 2 when the notebook cannot be exported.
    """
    path = Path(notebook)
    if not path.is_file():
        return _fail("export", f"{notebook}: no such notebook file")
    try:
        module = export_notebook(path, output_dir)
    except ExportError as error:
        return _fail("export", str(error))
    except OSError as error:
        return _fail(
            "export",
            f"cannot write the module: {error}; pass -o DIR or set GOLDEN_SRV_DIR to a writable directory",
        )
    if module is None:
        return _report(notebook, [NO_NAMED_CELLS])
    print(module)
    return _report(str(module), check_source(module.read_text(encoding="utf-8"), str(module)))


def import_roots(module: Path, srv_dir: Path) -> list[Path]:
    """Where ``app.model`` is imported from for ``module``, as the runtime would find it.

    The runtime puts ``<GOLDEN_SRV_DIR>`` on ``sys.path``; a module that itself lies in a DSDL
    layout (``<root>/app/model/<name>.py``) is checked against its own ``<root>`` first.
    """
    roots: list[Path] = []
    parent = module.resolve().parent
    if parent.name == "model" and parent.parent.name == "app":
        roots.append(parent.parent.parent)
    if srv_dir.resolve() not in roots:
        roots.append(srv_dir.resolve())
    return roots


@contextlib.contextmanager
def model_imports(roots: Sequence[Path]) -> Iterator[None]:
    """``roots`` on ``sys.path`` while the block runs; afterwards ``sys.path`` and the ``app``
    packages in ``sys.modules`` are as before, so that a check leaves the process as it found it."""
    saved_path = list(sys.path)
    saved_modules = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "app"}
    for root in reversed(roots):
        sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in [name for name in sys.modules if name.split(".")[0] == "app"]:
            if name not in saved_modules:
                del sys.modules[name]
        sys.modules.update(saved_modules)


def _check_module(module: Path, srv_dir: Path) -> list[str]:
    """:func:`check_module` with ``app.model`` importable."""
    with model_imports(import_roots(module, srv_dir)):
        return check_module(module)


def check(target: str) -> int:
    """``golden check``: import the module (a notebook is exported to a temporary directory first),
    call ``summary()`` and print ``ok: ...`` or one line per problem.

    Returns 0 when the module honours the contract, 1 on problems (or a notebook without named
    cells), 2 when the file cannot be read or exported.
    """
    path = Path(target)
    if not path.is_file():
        return _fail("check", f"{target}: no such file")
    srv_dir = load_settings().srv_dir
    if path.suffix == ".ipynb":
        with tempfile.TemporaryDirectory(prefix="golden-check-") as directory:
            try:
                module = export_notebook(path, directory)
            except ExportError as error:
                return _fail("check", str(error))
            if module is None:
                return _report(target, [NO_NAMED_CELLS])
            problems = _check_module(module, srv_dir)
    else:
        try:
            problems = _check_module(path, srv_dir)
        except (OSError, UnicodeDecodeError) as error:
            return _fail("check", f"{target}: cannot read the module: {error}")
    if not problems:
        print(f"ok: {target} honours DSDL's module contract")
    return _report(target, problems)
