"""``golden image push`` to a real registry (Debian's ``docker-registry``, distribution 2.x) on loopback,
and the image pulled back with skopeo: the same manifest digest, config and layers as the archive.

The archive is ``--image ARCHIVE`` when given (image/test: the built image), else a small one written
by the builder's own archive writer (seconds). Root only (image/test runs it); skipped without
``docker-registry`` or ``skopeo``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from oci_testing import Manifest, archive_manifest, tiny_archive

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
STARTUP_TIMEOUT = 30.0
USER = "pusher"
PASSWORD = "pw-registry-7d3e0b-DISTINCTIVE"
#: bcrypt of PASSWORD (cost 4), as htpasswd -B writes it.
PASSWORD_BCRYPT = "$2b$04$6mCUY5h6tY09zMQ./CgCO.Vxl9/U4S0wwNAtxHFMZOooajsQxCCcm"

REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
http:
  addr: 127.0.0.1:{port}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"docker-registry exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError as error:
            if error.code == 401:  # serving, and asking for a login
                return
            time.sleep(0.1)
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    pytest.fail(f"docker-registry did not answer {url} within {STARTUP_TIMEOUT} s:\n{log.read_text()}")


@contextlib.contextmanager
def serve_registry(directory: Path, htpasswd: str | None = None) -> Iterator[str]:
    """A registry on ``127.0.0.1:<free port>`` storing in ``directory`` (logins checked against the
    ``htpasswd`` text when given); yields ``HOST:PORT``. Stopped (terminate, then kill) on leaving."""
    directory.mkdir()
    port = free_port()
    config = directory / "registry.yml"
    text = REGISTRY_CONFIG.format(storage=directory / "storage", port=port)
    if htpasswd is not None:
        (directory / "htpasswd").write_text(htpasswd)
        text += f"auth:\n  htpasswd:\n    realm: test\n    path: {directory / 'htpasswd'}\n"
    config.write_text(text)
    log = directory / "registry.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/v2/", process, log)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
    given: Path | None = request.config.getoption("--image")
    return given if given is not None else tiny_archive(tmp_path / "image").archive


@pytest.fixture
def hermetic_environment(tmp_path: Path) -> dict[str, str]:
    """No credentials or settings of the caller: HOME and the runtime dir are empty directories."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home),
        "TMPDIR": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


def skopeo(*arguments: str, env: dict[str, str]) -> bytes:
    """skopeo's stdout; fails the test with its stderr."""
    result = subprocess.run(["skopeo", *arguments], env=env, capture_output=True, check=False, timeout=1800)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def golden_push(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``golden image push ARGUMENTS`` as a user runs it (a process of its own)."""
    return subprocess.run(
        [sys.executable, "-m", "dsdl_golden", "image", "push", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


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
