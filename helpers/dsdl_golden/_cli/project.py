"""The dsdl-golden checkout a command works in, and the image archive ``image/build`` writes there.

The project root is the directory whose ``pyproject.toml`` names the ``dsdl-golden`` project: the
current directory or the first of its parents that has one, or the directory given with ``--project``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Final

__all__ = ["PROJECT_NAME", "ProjectError", "default_archive", "find_project", "is_project"]

PROJECT_NAME: Final = "dsdl-golden"


class ProjectError(Exception):
    """No dsdl-golden checkout where one was looked for; ``str()`` says what to do."""


def _pyproject(directory: Path) -> dict[str, object] | None:
    """``directory/pyproject.toml`` as a dict, or None when there is none or it is not TOML."""
    try:
        return tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def is_project(directory: Path) -> bool:
    """Whether ``directory`` holds the dsdl-golden ``pyproject.toml``."""
    document = _pyproject(directory)
    project = document.get("project") if document is not None else None
    return isinstance(project, dict) and project.get("name") == PROJECT_NAME


def find_project(start: Path, explicit: Path | None = None) -> Path:
    """The project root: ``explicit`` if given (it must be one), else ``start`` or its nearest parent
    that is one. Raises :class:`ProjectError` otherwise."""
    if explicit is not None:
        if not is_project(explicit):
            raise ProjectError(f"--project {explicit}: no pyproject.toml of {PROJECT_NAME} there")
        return explicit.resolve()
    start = start.resolve()
    for directory in (start, *start.parents):
        if is_project(directory):
            return directory
    raise ProjectError(
        f"{start} is not inside a {PROJECT_NAME} checkout (no pyproject.toml naming it here or above): "
        "run from the checkout, or pass --project DIR or --archive FILE"
    )


def default_archive(root: Path) -> Path:
    """``build/image/<image name>-<version>.oci.tar`` under ``root``, as ``image/build`` names it: the
    name from ``image/spec.toml``, the version from ``pyproject.toml`` (:class:`ProjectError` when
    they cannot be read)."""
    try:
        spec = tomllib.loads((root / "image" / "spec.toml").read_text(encoding="utf-8"))
        name = spec["image"]["name"]
        version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise ProjectError(
            f"{root}: cannot name the image archive from image/spec.toml and pyproject.toml "
            f"({type(error).__name__}: {error}): pass --archive FILE"
        ) from None
    return root / "build" / "image" / f"{name}-{version}.oci.tar"
