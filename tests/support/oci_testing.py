"""Small OCI image archives written by the image builder's own archive writer, a reader of their
manifests, and a registry on loopback (Debian's ``docker-registry``) with skopeo and ``golden`` run as
processes of their own, for the tests of ``golden image push`` and of signed images."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from goldenimage.layers import Layer
from goldenimage.oci import Image, write_archive
from goldenimage.spec import load_spec

EPOCH = 1_790_000_000


def _layer(directory: Path, name: str, files: dict[str, bytes]) -> Layer:
    """A gzip layer of ``files`` (fixed times and owners) in ``directory``."""
    content = io.BytesIO()
    with tarfile.open(fileobj=content, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), EPOCH, 0o644
            archive.addfile(info, io.BytesIO(data))
    uncompressed = content.getvalue()
    compressed = gzip.compress(uncompressed, mtime=0)
    blob = directory / f"{name}.tar.gz"
    blob.write_bytes(compressed)
    return Layer(
        name=name,
        description=f"test layer {name}",
        blob=blob,
        diff_id=f"sha256:{hashlib.sha256(uncompressed).hexdigest()}",
        digest=f"sha256:{hashlib.sha256(compressed).hexdigest()}",
        size=len(compressed),
        uncompressed_size=len(uncompressed),
        files=len(files),
    )


def tiny_archive(directory: Path, marker: str = "one") -> Image:
    """An OCI archive of the real spec's config with two small layers (``marker`` changes the second,
    hence every digest), written as ``image/build`` writes the real one: ``directory/tiny.oci.tar``."""
    directory.mkdir(parents=True, exist_ok=True)
    layers = (
        _layer(directory, "base", {"etc/golden/version": b"0.0.0-test\n"}),
        _layer(directory, "golden", {"dltk/app/marker.txt": marker.encode()}),
    )
    return write_archive(load_spec(), layers, directory / "tiny.oci.tar", EPOCH, f"test-{marker}")


@dataclass(frozen=True)
class Manifest:
    """An image manifest: its bytes, digest and the digests it names."""

    raw: bytes

    @property
    def digest(self) -> str:
        return f"sha256:{hashlib.sha256(self.raw).hexdigest()}"

    @property
    def document(self) -> dict[str, Any]:
        return dict(json.loads(self.raw))

    @property
    def config_digest(self) -> str:
        return str(self.document["config"]["digest"])

    @property
    def layer_digests(self) -> list[str]:
        return [str(layer["digest"]) for layer in self.document["layers"]]


def archive_manifest(archive: Path) -> Manifest:
    """The manifest of the single image in an OCI archive (``index.json`` → ``blobs/sha256/...``)."""
    with tarfile.open(archive) as image:
        index = json.loads(image.extractfile("index.json").read())  # type: ignore[union-attr]
        (entry,) = index["manifests"]
        name = f"blobs/sha256/{entry['digest'].removeprefix('sha256:')}"
        return Manifest(image.extractfile(name).read())  # type: ignore[union-attr]


def given_or_tiny_archive(request: pytest.FixtureRequest, directory: Path) -> Path:
    """``--image ARCHIVE`` when given, else a small archive written in ``directory``."""
    given: Path | None = request.config.getoption("--image")
    return given if given is not None else tiny_archive(directory).archive


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
    """A registry on ``127.0.0.1:<free port>`` storing in ``directory/storage`` (logins checked against
    the ``htpasswd`` text when given); yields ``HOST:PORT``. Stopped (terminate, then kill) on leaving."""
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


def child_environment(directory: Path) -> dict[str, str]:
    """No credentials or settings of the caller: HOME and the runtime dir are ``directory/home``,
    empty."""
    home = directory / "home"
    home.mkdir()
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home),
        "TMPDIR": str(directory),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


def skopeo(*arguments: str, env: dict[str, str]) -> bytes:
    """skopeo's stdout; fails the test with its stderr."""
    result = subprocess.run(["skopeo", *arguments], env=env, capture_output=True, check=False, timeout=1800)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def golden(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``golden ARGUMENTS`` as a user runs it (a process of its own)."""
    return subprocess.run(
        [sys.executable, "-m", "dsdl_golden", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def golden_push(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``golden image push ARGUMENTS`` as a user runs it."""
    return golden("image", "push", *arguments, env=env)
