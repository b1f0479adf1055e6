"""DSDL's own build path, built: the Dockerfile ``golden dsdl-overlay`` writes into a stand-in DSDL
checkout, built with buildah (chroot isolation, no daemon) as DSDL's build.sh would build it, and
compared with the image ``image/build`` made (``--image ARCHIVE``; ``image/test`` runs this).

tag_mapping.csv's base image (python:3.11-slim-bookworm) cannot be pulled here; its stand-in is a
Debian bookworm root from the builder's own :func:`goldenimage.rootfs.debian_root` with the spec's
packages (Debian's python3 and python3-venv), the other kind of base the Dockerfile supports. pip
installs offline from the builder's wheel cache, mounted into the build; the locked environment is
several GB, so the build installs a slice of the overlay's own requirements file, hashes and all,
through the same Dockerfile steps.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dsdl_checkout import fake_checkout, have_mirror
from oci_testing import archive_manifest

from dsdl_golden import cli
from goldenimage.build import source_state
from goldenimage.dsdl import load_overlay
from goldenimage.rootfs import debian_root
from goldenimage.spec import ROOT, load_spec

pytestmark = [pytest.mark.image, pytest.mark.integration, pytest.mark.slow]

SPEC = load_spec()
OVERLAY = load_overlay(SPEC)
CACHE = ROOT / ".tools" / "cache" / "image"
WHEELS_MOUNT = "/run/golden-wheels"
STAND_IN = "localhost/python-standin:bookworm"
IMAGE = f"localhost/mltk-container-{SPEC.name}:test"
#: The slice of the lock the test build installs: an sdist built offline (splunk-sdk, with setuptools
#: from the wheel cache) with its dependencies, and a binary wheel.
SLICE = ("splunk-sdk", "deprecation", "packaging", "orjson")
#: What image/build adds that DSDL's build path does not: the SBOM of the installed environment.
ONLY_IN_IMAGE_BUILD = {"etc/golden/sbom.cdx.json"}


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (buildah with chroot isolation, mmdebstrap)"
    for tool in ("buildah", "mmdebstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {tool})"
    if not have_mirror():
        return "no mirror of splunk/splunk-mltk-container-docker"
    if not (CACHE / "wheels").is_dir():
        return f"no wheel cache in {CACHE / 'wheels'}: run image/build first"
    return None


@dataclass(frozen=True)
class Buildah:
    """buildah with its own storage (vfs) under ``directory``, removed with it."""

    directory: Path

    def __call__(self, *arguments: str) -> str:
        return self._run([], arguments)

    def offline(self, *arguments: str) -> str:
        """``buildah arguments`` in a network namespace of its own (chroot isolation cannot make one)."""
        return self._run(["unshare", "--net"], arguments)

    def _run(self, prefix: list[str], arguments: tuple[str, ...]) -> str:
        storage = ["--root", str(self.directory / "storage"), "--runroot", str(self.directory / "run")]
        command = [*prefix, "buildah", *storage, "--storage-driver", "vfs", *arguments]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise AssertionError(
                f"buildah {' '.join(arguments)}: {result.returncode}\n{result.stderr[-4000:]}"
            )
        return result.stdout.strip()


@dataclass(frozen=True)
class Built:
    """The image built through DSDL's path: a container of it and where its root is mounted."""

    buildah: Buildah
    container: str
    root: Path

    def run(self, script: str) -> list[str]:
        """``script`` run in the container as its configured user; its output lines."""
        return self.buildah(
            "run", "--isolation", "chroot", self.container, "--", "sh", "-c", script
        ).splitlines()


def _stand_in(buildah: Buildah, work: Path) -> None:
    """A Debian bookworm base image with the spec's packages, tagged :data:`STAND_IN`."""
    root = work / "stand-in"
    debian_root(SPEC.base, root, source_state().base_epoch, CACHE / "apt")
    container = buildah("from", "scratch")
    mounted = buildah("mount", container)
    subprocess.run(["cp", "-a", f"{root}/.", mounted], check=True)
    buildah("umount", container)
    buildah("commit", "--rm", container, STAND_IN)
    shutil.rmtree(root)


def _slice_requirements(checkout: Path) -> str:
    """Write the :data:`SLICE` lines of the overlay's requirements file as a requirements file."""
    full = (checkout / "requirements_files" / OVERLAY.row.base_requirements).read_text().splitlines()
    lines = [line for line in full if line.split("==")[0] in SLICE]
    assert len(lines) == len(SLICE)
    (checkout / "requirements_files" / "empresa_slice.txt").write_text("\n".join(lines) + "\n")
    return "empresa_slice.txt"


@pytest.fixture(scope="module")
def built(image_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The image built from the overlay (skipped first without ``--image``: image/test runs it)."""
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("dsdl-build")
    checkout = fake_checkout(work / "dsdl")
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["dsdl-overlay", str(checkout), "--project", str(ROOT)]) == 0
    buildah = Buildah(work / "buildah")
    try:
        _stand_in(buildah, work)
        row = OVERLAY.row
        buildah.offline(  # apt-get must find nothing to install, pip only the mounted wheel cache
            "bud",
            "--isolation",
            "chroot",
            "--build-arg",
            f"BASE_IMAGE={STAND_IN}",
            "--build-arg",
            f"TAG={row.tag}",
            "--build-arg",
            f"REQUIREMENTS_PYTHON_BASE={_slice_requirements(checkout)}",
            "--build-arg",
            f"REQUIREMENTS_PYTHON_SPECIFIC={row.specific_requirements}",
            "--build-arg",
            f"PIP_INDEX_OPTIONS=--no-index --find-links {WHEELS_MOUNT}",
            "--volume",
            f"{CACHE / 'wheels'}:{WHEELS_MOUNT}:ro",
            "-f",
            f"dockerfiles/{row.dockerfile}",
            "-t",
            IMAGE,
            str(checkout),
        )
        container = buildah("from", IMAGE)
        yield Built(buildah, container, Path(buildah("mount", container)))
    finally:
        with contextlib.suppress(AssertionError):
            buildah("umount", "--all")
            buildah("rm", "--all")
            buildah("rmi", "--all", "--force")
        shutil.rmtree(work)


def _archive_blob(archive: Path, digest: str) -> bytes:
    with tarfile.open(archive) as image:
        blob = image.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}")
        assert blob is not None
        return blob.read()


def _tree(entries: Iterator[tuple[str, int, int, int, bytes]]) -> dict[str, tuple[int, int, int, str]]:
    """path -> (uid, gid, permission bits, sha256 of the content)."""
    return {
        path: (uid, gid, mode & 0o7777, hashlib.sha256(data).hexdigest())
        for path, uid, gid, mode, data in entries
    }


def _archive_files(archive: Path, top: str) -> dict[str, tuple[int, int, int, str]]:
    """The files and directories under ``top`` in the layer of the archive that holds them."""
    layer_index = [rule.name for rule in SPEC.layers].index(SPEC.layer_of(f"{top}/x"))
    digest = archive_manifest(archive).layer_digests[layer_index]

    def entries() -> Iterator[tuple[str, int, int, int, bytes]]:
        with tarfile.open(fileobj=io.BytesIO(_archive_blob(archive, digest)), mode="r:gz") as layer:
            for entry in layer:
                name = entry.name.removeprefix("./").rstrip("/")
                if name == top or name.startswith(f"{top}/"):
                    content = layer.extractfile(entry) if entry.isreg() else None
                    yield name, entry.uid, entry.gid, entry.mode, b"" if content is None else content.read()

    return _tree(entries())


def _mounted_files(root: Path, top: str) -> dict[str, tuple[int, int, int, str]]:
    def entries() -> Iterator[tuple[str, int, int, int, bytes]]:
        for path in [root / top, *sorted((root / top).rglob("*"))]:
            status = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            yield path.relative_to(root).as_posix(), status.st_uid, status.st_gid, status.st_mode, data

    return _tree(entries())


def test_the_config_is_the_one_image_build_writes(built: Built, image_archive: Path) -> None:
    expected: dict[str, Any] = json.loads(
        _archive_blob(image_archive, archive_manifest(image_archive).config_digest)
    )["config"]
    config: dict[str, Any] = json.loads(built.buildah("inspect", "--type", "image", IMAGE))["OCIv1"]["config"]
    for key in ("User", "WorkingDir", "Entrypoint", "ExposedPorts", "Volumes", "StopSignal"):
        assert config.get(key) == expected[key], key
    assert dict(item.split("=", 1) for item in config["Env"]) == dict(
        item.split("=", 1) for item in expected["Env"]
    )


@pytest.mark.parametrize("top", ["dltk", "etc/golden"])
def test_the_files_are_the_ones_image_build_writes(built: Built, image_archive: Path, top: str) -> None:
    expected = {
        path: facts
        for path, facts in _archive_files(image_archive, top).items()
        if path not in ONLY_IN_IMAGE_BUILD
    }
    found = _mounted_files(built.root, top)
    if top == "etc/golden":  # which commit and when: the same only when both come from one commit
        for facts in (expected, found):
            facts.pop("etc/golden/image.json")
    differing = sorted(
        path for path in expected.keys() | found.keys() if expected.get(path) != found.get(path)
    )
    # (uid, gid, mode, sha256) in the archive, then in DSDL's build; an archive built from another
    # state of the tree differs too: image/build it again
    assert differing == [], [(path, expected.get(path), found.get(path)) for path in differing[:10]]


def test_it_runs_as_the_images_user_with_dsdl_golden_installed(built: Built) -> None:
    entrypoint = SPEC.config["entrypoint"]
    venv = SPEC.python["venv"]
    lines = built.run(
        "id -u; id -g; golden --version; "
        "python -c 'import dsdl_golden, splunklib.client, orjson; print(dsdl_golden.__file__)'; "
        f"test -x {entrypoint[0]} && test -x {entrypoint[-1]} && echo entrypoint; "
        "grep ^dltk: /etc/passwd; test -w /srv && test -w /dltk/app && echo writable"
    )
    image_line = lines.pop(3)  # golden --version names the image too (its /etc/golden/image.json)
    assert image_line.startswith(f"image {SPEC.raw['image']['name']} {SPEC.version} (revision ")
    assert lines == [
        "1001",
        "0",
        f"golden {SPEC.version}",
        f"{venv}/lib/python3.11/site-packages/dsdl_golden/__init__.py",
        "entrypoint",
        "dltk:x:1001:0:dltk user:/dltk:/sbin/nologin",
        "writable",
    ]
