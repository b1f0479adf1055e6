"""Fixtures of the model registry tests: MLflow without telemetry and without the caller's servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from golden_testing import local_quiet_mlflow


@pytest.fixture(scope="module", autouse=True)
def mlflow_environment() -> Iterator[pytest.MonkeyPatch]:
    """For a module: none of the caller's MLflow servers or HTTP settings, no telemetry, no progress bars."""
    with pytest.MonkeyPatch.context() as patch:
        local_quiet_mlflow(patch)
        yield patch
