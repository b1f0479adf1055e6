"""``golden image push`` to a real registry (Debian's ``docker-registry``, distribution 2.x) on loopback,
and the image pulled back with skopeo: the same manifest digest, config and layers as the archive.

The archive is ``--image ARCHIVE`` when given (image/test: the built image), else a small one written
by the builder's own archive writer (seconds). Root only (image/test runs it); skipped without
``docker-registry`` or ``skopeo``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from oci_testing import (
    PASSWORD,
    PASSWORD_BCRYPT,
    USER,
    Manifest,
    archive_manifest,
    child_environment,
    free_port,
    given_or_tiny_archive,
    golden_push,
    serve_registry,
    skopeo,
    tiny_archive,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="root only: image/test runs it"),
    pytest.mark.skipif(
        shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
        reason="needs docker-registry and skopeo (apt-get install docker-registry skopeo; image/test does)",
    ),
]

REPOSITORY = "golden-cpu-empresa"
TAG = "TEST"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """An open registry on loopback: ``HOST:PORT``."""
    with serve_registry(tmp_path / "registry") as address:
        yield address


@pytest.fixture
def registry_with_login(tmp_path: Path) -> Iterator[str]:
    """A registry on loopback that takes only :data:`USER` with :data:`PASSWORD`: ``HOST:PORT``."""
    with serve_registry(tmp_path / "registry", htpasswd=f"{USER}:{PASSWORD_BCRYPT}\n") as address:
        yield address


@pytest.fixture
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """``--image ARCHIVE``, else a small archive."""
    return given_or_tiny_archive(request, tmp_path / "image")


@pytest.fixture
def hermetic_environment(tmp_path: Path) -> dict[str, str]:
    """No credentials or settings of the caller: HOME and the runtime dir are empty directories."""
    return child_environment(tmp_path)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def test_push_keeps_the_digests(
    registry: str, archive: Path, tmp_path: Path, hermetic_environment: dict[str, str]
) -> None:
    reference = f"{registry}/{REPOSITORY}:{TAG}"
    expected = archive_manifest(archive)
    pushed = golden_push(reference, "--no-tls-verify", "--archive", str(archive), env=hermetic_environment)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == f"{reference}@{expected.digest}\n"

    served = Manifest(
        skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{reference}", env=hermetic_environment)
    )
    assert served.raw == expected.raw
    assert served.digest == expected.digest

    pulled = tmp_path / "pulled"
    skopeo(
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        f"docker://{registry}/{REPOSITORY}@{expected.digest}",
        f"oci:{pulled}",
        env=hermetic_environment,
    )
    pulled_manifest = Manifest(
        (pulled / "blobs" / "sha256" / expected.digest.removeprefix("sha256:")).read_bytes()
    )
    assert pulled_manifest.digest == expected.digest
    assert pulled_manifest.layer_digests == expected.layer_digests
    assert pulled_manifest.config_digest == expected.config_digest
    for digest in [expected.config_digest, *expected.layer_digests]:
        assert sha256_file(pulled / "blobs" / "sha256" / digest.removeprefix("sha256:")) == digest


def test_push_to_a_registry_refusing_the_connection_fails_with_skopeos_message(
    tmp_path: Path, hermetic_environment: dict[str, str]
) -> None:
    closed = f"127.0.0.1:{free_port()}"
    archive = tiny_archive(tmp_path / "image").archive
    pushed = golden_push(f"{closed}/{REPOSITORY}:{TAG}", "--archive", str(archive), env=hermetic_environment)
    assert (pushed.returncode, pushed.stdout) == (1, "")
    last = pushed.stderr.splitlines()[-1]
    assert last.startswith(
        f"golden image push: pushing to {closed}/{REPOSITORY}:{TAG} failed (skopeo exit status 1): "
    )
    assert "connection refused" in last


def test_push_logs_in_with_creds_env_and_never_shows_the_password(
    registry_with_login: str, tmp_path: Path, hermetic_environment: dict[str, str]
) -> None:
    reference = f"{registry_with_login}/{REPOSITORY}:{TAG}"
    archive = tiny_archive(tmp_path / "image").archive
    command = [reference, "--no-tls-verify", "--archive", str(archive)]
    anonymous = golden_push(*command, env=hermetic_environment)
    assert anonymous.returncode == 1
    assert anonymous.stderr.splitlines()[-1].endswith(
        "unauthorized: authentication required "
        "(log in with --authfile FILE, REGISTRY_AUTH_FILE or --creds-env NAME)"
    )

    environment = {**hermetic_environment, "PUSH_CREDS": f"{USER}:{PASSWORD}"}
    command += ["--creds-env", "PUSH_CREDS"]
    pushed = golden_push(*command, env=environment)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == f"{reference}@{archive_manifest(archive).digest}\n"
    assert PASSWORD not in pushed.stdout + pushed.stderr

    wrong = {**hermetic_environment, "PUSH_CREDS": f"{USER}:{PASSWORD}-wrong"}
    refused = golden_push(*command, env=wrong)
    assert refused.returncode == 1
    assert PASSWORD not in refused.stdout + refused.stderr
