"""Notebook to model module, with DSDL's rule, safely, and as a Jupyter post-save hook.

DSDL's rule (``../shared/specs/dsdl-contract.md`` §3): a code cell is exported iff its metadata has
a ``name`` (the template's cells are ``mltkc_import``, ``mltkc_init``...); markdown and free test
cells are not. Each exported cell gets ``# In[<n>]:`` and its source through IPython's input
transformer, as DSDL's nbconvert template does. Unlike DSDL's export:

- IPython magics and shell escapes (``%matplotlib inline``, ``!pip install x``) are commented out
  instead of becoming ``get_ipython()`` calls, which fail when the API imports the module; the
  bodies of ``%%time``/``%%capture`` cells are kept;
- the module is written atomically (a reader never sees half a module) and only when the notebook
  has named cells;
- a notebook whose name cannot be a module name is refused with the reason.

Use :func:`export_notebook`, ``golden export NOTEBOOK [-o DIR]`` or the Jupyter hook
:func:`post_save` (``c.FileContentsManager.post_save_hook = "dsdl_golden.export.post_save"``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from dsdl_golden._atomic import write_atomically
from dsdl_golden._lifecycle.params import check_name

__all__ = ["ExportError", "export_notebook", "module_source", "post_save"]

HEADER: Final = "#!/usr/bin/env python\n# coding: utf-8\n"
#: Cell magics whose body is Python and is kept.
_PYTHON_CELL_MAGICS: Final = frozenset({"time", "timeit", "capture", "prun"})


class ExportError(ValueError):
    """The notebook cannot be exported; the message says why and what to do."""


def _comment(lines: list[str], reason: str) -> list[str]:
    return [f"# ({reason}) {line}" if line.strip() else line for line in lines]


def _python_of(source: str) -> str:
    """A cell's source as plain Python: magics commented out, IPython syntax transformed."""
    from IPython.core.inputtransformer2 import TransformerManager

    lines = source.splitlines()
    stripped = source.lstrip()
    if stripped.startswith("%%"):
        first = stripped.splitlines()[0]
        magic = first[2:].split(maxsplit=1)[0] if len(first) > 2 else ""
        at = next(index for index, line in enumerate(lines) if line.strip())
        if magic in _PYTHON_CELL_MAGICS:
            return _python_of("\n".join(lines[at + 1 :]))
        return "\n".join(_comment(lines, "IPython cell magic, not run outside Jupyter"))
    transformed = TransformerManager().transform_cell(source).splitlines()
    if len(transformed) != len(lines):
        return "\n".join(transformed)
    return "\n".join(
        f"# (IPython magic, not run outside Jupyter) {original}"
        if new != original and "get_ipython()" in new
        else new
        for original, new in zip(lines, transformed, strict=True)
    )


def module_source(notebook: Any) -> str | None:
    """The module exported from ``notebook`` (an ``nbformat`` node, a path or JSON text); None
    when no code cell has a ``name``."""
    import nbformat

    if isinstance(notebook, str | os.PathLike) and not str(notebook).lstrip().startswith("{"):
        node = nbformat.read(os.fspath(notebook), as_version=4)
    elif isinstance(notebook, str):
        node = nbformat.reads(notebook, as_version=4)
    else:
        node = notebook
    parts = [HEADER]
    for cell in node.cells:
        if cell.cell_type != "code" or "name" not in cell.metadata:
            continue
        count = cell.get("execution_count") or " "
        parts.append(f"\n\n# In[{count}]:\n\n\n{_python_of(cell.source)}\n")
    return "".join(parts) if len(parts) > 1 else None


def _write_module(path: Path, text: str) -> None:
    """The module, writable by the group too (the image's users share group 0)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text, mode=0o664, durable=True)


def export_notebook(
    notebook: str | os.PathLike[str], output_dir: str | os.PathLike[str] | None = None
) -> Path | None:
    """Export ``notebook`` to ``<output_dir>/<notebook name>.py``; returns the module's path.

    Parameters
    ----------
    notebook : path of an ``.ipynb`` file
    output_dir : path, optional
        Default: the model package directory, ``<GOLDEN_SRV_DIR>/app/model``.

    Returns
    -------
    Path or None
        None when the notebook has no named cells (nothing to export).

    Raises
    ------
    ExportError
        The notebook's name cannot be a module name, or it is not a notebook.
    """
    path = Path(notebook)
    try:
        name = check_name(path.stem, "notebook name")
    except ValueError as error:
        raise ExportError(f"{error}; rename the notebook (e.g. SuNombre_Modelo_CasoUso_v1.ipynb)") from None
    try:
        source = module_source(path)
    except Exception as error:  # nbformat's and json's many error types
        raise ExportError(f"{path} is not a readable notebook: {error}") from error
    if source is None:
        return None
    if output_dir is None:
        from dsdl_golden.config import load_settings

        output_dir = load_settings().model_package_dir
    target = Path(output_dir) / f"{name}.py"
    _write_module(target, source)
    return target


def post_save(model: dict[str, Any], os_path: str, contents_manager: Any, **kwargs: Any) -> None:
    """Jupyter's post-save hook: export a saved notebook and log what the contract check finds."""
    if model.get("type") != "notebook":
        return
    from dsdl_golden.contract import check_source

    log = contents_manager.log
    try:
        target = export_notebook(os_path)
    except ExportError as error:
        log.warning("dsdl-golden export skipped: %s", error)
        return
    if target is None:
        return
    log.info("dsdl-golden: exported %s to %s", os_path, target)
    for problem in check_source(target.read_text(encoding="utf-8")):
        log.warning("dsdl-golden check of %s: %s", target.name, problem)
