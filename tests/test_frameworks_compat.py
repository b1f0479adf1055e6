"""The locked environment runs every seed library together, CPU-only."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from golden_testing import child_environ

SMOKE = Path(__file__).parent / "support" / "frameworks_smoke.py"


@pytest.fixture(scope="module")
def smoke() -> dict[str, object]:
    """Run the smoke script once in a fresh interpreter of this environment."""
    completed = subprocess.run(
        [sys.executable, str(SMOKE)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=child_environ(),
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout.splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.slow
def test_every_seed_library_imports_in_one_process(smoke: dict[str, dict[str, str]]) -> None:
    for name, version in smoke["versions"].items():
        distribution = {"tensorflow": "tensorflow-cpu"}.get(name, name)
        assert version == importlib.metadata.version(distribution), name


@pytest.mark.slow
def test_frameworks_are_cpu_builds(smoke: dict[str, object]) -> None:
    assert str(smoke["versions"]["torch"]).endswith("+cpu")  # type: ignore[index]
    assert smoke["torch_cuda"] is None
    assert smoke["torch_cuda_available"] is False
    assert smoke["tensorflow_gpus"] == 0


@pytest.mark.slow
def test_tiny_fits_learn(smoke: dict[str, dict[str, float]]) -> None:
    for framework in ("tensorflow", "torch"):
        assert smoke[framework]["last_loss"] < 0.01 * smoke[framework]["first_loss"], framework
    assert smoke["aeon"]["accuracy"] == 1.0
    assert smoke["statsmodels"]["slope"] == pytest.approx(3.0, abs=0.05)
    assert smoke["statsmodels"]["intercept"] == pytest.approx(2.0, abs=0.3)
    assert smoke["scikit-learn"]["accuracy"] > 0.9
    assert smoke["plotting"]["png_bytes"] > 1000
    assert smoke["plotting"]["rows_restored"] == 10


def test_no_cuda_distribution_is_installed() -> None:
    names = {dist.metadata["Name"].lower() for dist in importlib.metadata.distributions()}
    assert not {name for name in names if name.startswith(("nvidia-", "triton", "cuda-"))}
