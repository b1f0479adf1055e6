"""`import dsdl_golden` and the `golden` CLI stay light: no framework is imported up front."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("tensorflow", "torch", "mlflow", "pandas", "numpy", "sklearn", "scipy", "matplotlib", "splunklib")


@pytest.mark.parametrize("module", ["dsdl_golden", "dsdl_golden.config", "dsdl_golden.cli"])
def test_light_modules_import_no_heavy_library(module: str) -> None:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}
