"""Versions of the libraries a model depends on, read from package metadata (nothing is imported)."""

from __future__ import annotations

import functools
import importlib.metadata
import platform
from typing import Final

__all__ = ["library_versions"]

_ALWAYS: Final = ("dsdl-golden", "numpy", "pandas", "scikit-learn", "scipy")
#: Distributions of each framework name an adapter reports.
_FRAMEWORK_DISTRIBUTIONS: Final = {
    "sklearn": ("scikit-learn",),
    "keras": ("keras", "tensorflow-cpu", "tensorflow"),
    "torch": ("torch",),
    "statsmodels": ("statsmodels",),
    "aeon": ("aeon",),
}


@functools.cache
def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def library_versions(framework: str | None = None) -> dict[str, str]:
    """Python's version and those of the installed core libraries and of ``framework``'s packages."""
    names = [*_ALWAYS, *_FRAMEWORK_DISTRIBUTIONS.get(framework or "", (framework,) if framework else ())]
    versions = {"python": platform.python_version()}
    versions.update(
        (name, version) for name in dict.fromkeys(names) if (version := _version(name)) is not None
    )
    return versions
