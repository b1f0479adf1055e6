"""Readiness of the model API (``GET /readyz``): can it save models, load model modules, and where
does its telemetry stand.

Each check answers a word, never a path, a version or a setting (the route needs no token):

- ``model_directory``: ``ok`` when a file can be created in the model directory
  (``<srv>/app/model/data``), else ``not writable`` or ``missing``; a fit could not save its model.
- ``model_package``: ``ok`` when the package of exported notebooks (``app.model`` under ``<srv>``)
  is a directory the API can read, else ``missing`` or ``not readable``; no module could be loaded.
- ``telemetry``: ``delivering``, ``spooling`` (HEC fails, events wait on disk) or ``off``. It never
  makes the API unready: nothing is lost while it spools.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from dsdl_golden import telemetry_helper
from dsdl_golden.config import Settings

__all__ = ["Readiness", "check_readiness"]

OK: Final = "ok"


@dataclass(frozen=True)
class Readiness:
    """The checks' answers and whether the API is ready (every check but telemetry ``ok``)."""

    model_directory: str
    model_package: str
    telemetry: str

    @property
    def ready(self) -> bool:
        return self.model_directory == OK and self.model_package == OK

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ready" if self.ready else "unready",
            "checks": {
                "model_directory": self.model_directory,
                "model_package": self.model_package,
                "telemetry": self.telemetry,
            },
        }


def _writable(directory: Path) -> str:
    if not directory.is_dir():
        return "missing"
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".readyz-"):
            pass
    except OSError:
        return "not writable"
    return OK


def _readable_package(directory: Path) -> str:
    if not (directory / "__init__.py").is_file():
        return "missing"
    return OK if os.access(directory, os.R_OK | os.X_OK) else "not readable"


def check_readiness(settings: Settings) -> Readiness:
    """Run the checks against ``settings``' DSDL volume and the process's telemetry."""
    try:
        telemetry = telemetry_helper.get_telemetry().state()
    except Exception:  # telemetry that cannot even say its state is not delivering
        telemetry = "off"
    return Readiness(
        model_directory=_writable(settings.model_data_dir),
        model_package=_readable_package(settings.model_package_dir),
        telemetry=telemetry,
    )
