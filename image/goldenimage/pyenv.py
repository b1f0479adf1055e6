"""The image's Python environment: the locked files, checked against their hashes, installed offline.

Downloads go through pip (``pip download --no-deps --require-hashes`` for the image's platform, with
pip's own index and find-links settings and the PyTorch CPU index for torch) into a cache that later
builds reuse; every file is checked against ``poetry.lock`` before use. An sdist (splunk-sdk) is built
into a wheel here, with ``SOURCE_DATE_EPOCH``; so is dsdl_golden itself. The environment is then
installed in the root with ``pip install --no-index --require-hashes`` from those files only, and its
bytecode compiled with hash-based invalidation (nothing depends on the time of the build).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from goldenimage.requirements import LockedFile, image_platforms
from goldenimage.rootfs import WHEELS_MOUNT, in_root, sha256_of

__all__ = ["build_wheel", "fetch_locked_files", "install_environment"]

PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _pip(*arguments: str, epoch: int | None = None) -> None:
    environment = dict(os.environ)
    if epoch is not None:
        environment["SOURCE_DATE_EPOCH"] = str(epoch)
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments], env=environment, check=True
    )


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10):  # noqa: S310 - a fixed https URL
            return True
    except (OSError, ValueError):
        return False


def _download(items: list[LockedFile], cache: Path, index: list[str]) -> None:
    requirements = cache.parent / "download-requirements.txt"
    requirements.write_text(
        "".join(f"{item.name}=={item.version} --hash=sha256:{item.sha256}\n" for item in items)
    )
    platform_options = [option for platform in image_platforms() for option in ("--platform", platform)]
    _pip(
        "download",
        "--no-deps",
        "--require-hashes",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
        *platform_options,
        *index,
        "--dest",
        str(cache),
        "-r",
        str(requirements),
    )


def fetch_locked_files(files: Iterable[LockedFile], cache: Path) -> None:
    """Make sure ``cache`` holds every locked file, each with its locked sha256.

    Packages of the lock's PyTorch CPU source come from that index when it answers, else from pip's
    find-links (a local copy of the same files: the hash decides).
    """
    cache.mkdir(parents=True, exist_ok=True)
    missing = [
        item
        for item in files
        if not (cache / item.filename).is_file() or sha256_of(cache / item.filename) != item.sha256
    ]
    from_pypi = [item for item in missing if item.source is None]
    from_torch = [item for item in missing if item.source is not None]
    if from_pypi:
        _download(from_pypi, cache, [])
    if from_torch:
        index = ["--index-url", PYTORCH_CPU_INDEX] if _reachable(PYTORCH_CPU_INDEX + "/") else ["--no-index"]
        _download(from_torch, cache, index)
    for item in missing:
        if not (cache / item.filename).is_file() or sha256_of(cache / item.filename) != item.sha256:
            raise RuntimeError(
                f"{item.filename}: not found, or its sha256 differs from poetry.lock; "
                f"delete it from {cache} and rebuild"
            )


def build_wheel(source: Path, destination: Path, epoch: int) -> Path:
    """A wheel of ``source`` (an sdist or a project directory) in ``destination``, made reproducibly."""
    destination.mkdir(parents=True, exist_ok=True)
    before = set(destination.glob("*.whl"))
    _pip(
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        str(destination),
        str(source),
        epoch=epoch,
    )
    built = sorted(set(destination.glob("*.whl")) - before) or sorted(destination.glob("*.whl"))
    name = source.name.split("-")[0].replace("-", "_").lower() if source.is_file() else ""
    chosen = [wheel for wheel in built if wheel.name.lower().startswith(name)] if name else built
    if len(chosen) != 1:
        raise RuntimeError(f"building {source} gave {[wheel.name for wheel in built]}, expected one wheel")
    return chosen[0]


def prune(site_packages: Path, named: Iterable[str], paths: Iterable[str]) -> None:
    """Remove the directories called one of ``named`` and the ``paths`` (relative to ``site_packages``)."""
    names = set(named)
    doomed = [
        Path(directory) / name
        for directory, dirnames, _ in os.walk(site_packages)
        for name in dirnames
        if name in names
    ]
    doomed += [site_packages / path for path in paths]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)


def install_environment(
    root: Path, python: dict[str, Any], wheels: list[Path], epoch: int, staging: Path
) -> dict[str, str]:
    """Create the spec's venv in ``root``, install ``wheels`` (and nothing else), prune what the spec
    leaves out and compile the bytecode; returns package name -> sha256 of its installed file."""
    venv = python["venv"]
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    hashes: dict[str, str] = {}
    lines = []
    for wheel in wheels:
        os.link(
            wheel, staging / wheel.name
        ) if wheel.stat().st_dev == staging.stat().st_dev else shutil.copy2(wheel, staging / wheel.name)
        digest = sha256_of(wheel)
        lines.append(f"{WHEELS_MOUNT}/{wheel.name} --hash=sha256:{digest}\n")
        hashes[wheel.name.split("-")[0].replace("_", "-").lower()] = digest
    (staging / "install.txt").write_text("".join(sorted(lines)))
    in_root(root, ["/usr/bin/python3", "-m", "venv", venv], epoch)
    in_root(
        root,
        [
            f"{venv}/bin/python",
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-index",
            "--no-deps",
            "--no-compile",
            "--require-hashes",
            "-r",
            f"{WHEELS_MOUNT}/install.txt",
        ],
        epoch,
        wheels=staging,
    )
    site_packages = f"{venv}/lib/python3.11/site-packages"
    for direct_url in (root / site_packages.lstrip("/")).glob("*.dist-info/direct_url.json"):
        direct_url.unlink()  # the path of the build's wheel directory, meaningless in the image
        record = direct_url.parent / "RECORD"
        record.write_text(
            "".join(
                line
                for line in record.read_text().splitlines(keepends=True)
                if not line.startswith(direct_url.parent.name + "/direct_url.json")
            )
        )
    # Files a package ships for other Python versions (torch's py312 tests) do not compile: status 1.
    prune(
        root / site_packages.lstrip("/"), python.get("prune_directories_named", ()), python.get("prune", ())
    )
    in_root(
        root,
        [
            f"{venv}/bin/python",
            "-m",
            "compileall",
            "-f",
            "-qq",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            site_packages,
        ],
        epoch,
        accept=(0, 1),
    )
    shutil.rmtree(staging)
    return hashes
