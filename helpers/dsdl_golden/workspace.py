"""DSDL's directory layout under ``/srv`` (or any root), for the image and for ``golden dev``.

::

    <root>/app/__init__.py
    <root>/app/main.py              uvicorn app.main:app -> dsdl_golden.runtime
    <root>/app/model/__init__.py    the package of exported notebooks (app.model.<notebook>)
    <root>/app/model/data/          saved models
    <root>/app/graphics/
    <root>/notebooks/data/          staged data (mode=stage) and sample data

Existing files are left alone, so that a user's own ``app/main.py`` or modules survive.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final

__all__ = ["MAIN_PY", "copy_notebooks", "lay_out", "template_dir"]

MAIN_PY: Final = '''"""DSDL's entry point (uvicorn app.main:app): the dsdl-golden model API."""

from dsdl_golden.runtime import app  # noqa: F401
'''

_FILES: Final = {
    "app/__init__.py": "",
    "app/main.py": MAIN_PY,
    "app/model/__init__.py": "",
}
_DIRECTORIES: Final = ("app/model/data", "app/graphics", "notebooks/data")


def lay_out(root: Path) -> list[Path]:
    """Create DSDL's layout under ``root``; returns the paths created (existing ones are kept)."""
    created: list[Path] = []
    for relative in _DIRECTORIES:
        path = root / relative
        if not path.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            created.append(path)
    for relative, content in _FILES.items():
        path = root / relative
        if not path.exists():
            path.write_text(content)
            created.append(path)
    return created


def template_dir() -> Path | None:
    """The notebooks to start from: the source tree's ``template/``, else the image's ``/dltk/notebooks``."""
    for candidate in (Path(__file__).resolve().parents[2] / "template", Path("/dltk/notebooks")):
        if (candidate / "template_empresa_base.ipynb").is_file():
            return candidate
    return None


def copy_notebooks(source: Path, destination: Path) -> list[Path]:
    """Copy the template, the examples and their data into ``destination``, keeping files already there."""
    copied: list[Path] = []
    for path in sorted(source.rglob("*")):
        if not path.is_file() or ".ipynb_checkpoints" in path.parts or "__pycache__" in path.parts:
            continue
        target = destination / path.relative_to(source)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied.append(target)
    return copied
