"""Fixtures of the model registry tests: MLflow without telemetry and without the caller's servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

#: MLflow's variables that would send a test elsewhere, and its usage telemetry switched off.
FOREIGN_MLFLOW = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
)
QUIET_MLFLOW = {"MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


@pytest.fixture(scope="module", autouse=True)
def mlflow_environment() -> Iterator[pytest.MonkeyPatch]:
    """For a module: none of the caller's MLflow servers or HTTP settings, no telemetry, no progress bars."""
    with pytest.MonkeyPatch.context() as patch:
        for name in FOREIGN_MLFLOW:
            patch.delenv(name, raising=False)
        for name, value in QUIET_MLFLOW.items():
            patch.setenv(name, value)
        yield patch
