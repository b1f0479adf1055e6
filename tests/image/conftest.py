"""The container tests run on a built archive: ``pytest tests/image --image build/image/<name>.oci.tar``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def image_archive(request: pytest.FixtureRequest) -> Path:
    archive: Path | None = request.config.getoption("--image")
    if archive is None:
        pytest.skip("no --image ARCHIVE: the container test runs in CI after image/build (see .ci/run)")
    return archive
