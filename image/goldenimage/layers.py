"""Cut the root file system into layers and write each as a tar that depends only on its content.

Every path of the root goes to the first layer of the spec that takes it; each layer also holds the
directories leading to its files. Entries are sorted by path; times are ``SOURCE_DATE_EPOCH``; owners
are numeric, root's except under the group-writable DSDL trees (``/dltk``, ``/srv``), which are
``1001:0`` with the group's permissions equal to the user's (OpenShift's arbitrary user in group 0).
Hard links are stored as files (a layer must not point into another); device files are left out
(the container engine provides ``/dev``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from goldenimage.spec import ImageSpec

__all__ = ["Layer", "assign_layers", "write_layer"]

OWNER_UID = 1001


@dataclass(frozen=True)
class Layer:
    """A written layer: its compressed blob and the digests the image needs."""

    name: str
    description: str
    blob: Path
    diff_id: str
    digest: str
    size: int
    uncompressed_size: int
    files: int


def _walk(root: Path) -> Iterator[str]:
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        relative = os.path.relpath(directory, root)
        for name in sorted([*dirnames, *filenames]):
            yield name if relative == "." else f"{relative}/{name}"


def assign_layers(
    spec: ImageSpec, root: Path, skip: Iterable[str] = ("dev/*", "proc/*", "sys/*")
) -> dict[str, list[str]]:
    """Paths of ``root`` (sorted, relative) per layer name, in the spec's layer order."""
    import fnmatch

    skipped = tuple(skip)
    layers: dict[str, list[str]] = {rule.name: [] for rule in spec.layers}
    for path in _walk(root):
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in skipped):
            continue
        full = root / path
        if full.is_dir() and not full.is_symlink():
            continue  # directories come with the files below them, or with their layer if empty
        layers[spec.layer_of(path)].append(path)
    for path in _walk(root):
        full = root / path
        if (
            full.is_dir()
            and not full.is_symlink()
            and not any(fnmatch.fnmatchcase(path, pattern) for pattern in skipped)
            and not any(full.iterdir())
        ):
            layers[spec.layer_of(path + "/")].append(path)  # an empty directory (e.g. /srv, /tmp)
    return {name: sorted(paths) for name, paths in layers.items()}


def _owned_by_user(path: str, trees: tuple[str, ...]) -> bool:
    return any(path == tree or path.startswith(tree + "/") for tree in trees)


def _info(root: Path, path: str, epoch: int, trees: tuple[str, ...]) -> tarfile.TarInfo | None:
    full = root / path
    status = full.lstat()
    info = tarfile.TarInfo(path)
    info.mtime = epoch
    info.uname = info.gname = ""
    mode = stat.S_IMODE(status.st_mode)
    if _owned_by_user(path, trees):
        info.uid, info.gid = OWNER_UID, 0
        mode = (mode & ~0o070) | ((mode & 0o700) >> 3)
    else:
        info.uid, info.gid = 0, 0
    info.mode = mode
    if stat.S_ISLNK(status.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(full)
    elif stat.S_ISDIR(status.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISREG(status.st_mode):
        info.type, info.size = tarfile.REGTYPE, status.st_size
    else:
        return None  # device files, sockets, fifos
    return info


class _Hashing:
    """A write-only file that hashes and counts what passes through."""

    def __init__(self, target: BinaryIO) -> None:
        self.target, self.hash, self.size = target, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.target.write(data)

    def flush(self) -> None:
        self.target.flush()


def _with_parents(paths: list[str]) -> list[str]:
    entries = set(paths)
    for path in paths:
        parts = path.split("/")[:-1]
        entries.update("/".join(parts[: index + 1]) for index in range(len(parts)))
    return sorted(entries)


def write_layer(
    root: Path,
    paths: list[str],
    destination: Path,
    epoch: int,
    *,
    name: str,
    description: str,
    user_trees: tuple[str, ...],
    compressed_cache: Path | None = None,
) -> Layer:
    """Write ``paths`` of ``root`` as a gzip-compressed tar in ``destination``; returns its digests.

    With ``compressed_cache``, a layer whose uncompressed content (diff_id) was compressed before is
    not compressed again: the cached blob is reused (gzip output depends only on its input).
    """
    destination.mkdir(parents=True, exist_ok=True)
    tar_path = destination / f"{name}.tar"
    count = 0
    with open(tar_path, "wb") as raw:
        hashing = _Hashing(raw)
        with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.PAX_FORMAT) as archive:  # type: ignore[call-overload]
            for path in _with_parents(paths):
                info = _info(root, path, epoch, user_trees)
                if info is None:
                    continue
                if info.isreg():
                    with open(root / path, "rb") as content:
                        archive.addfile(info, content)
                else:
                    archive.addfile(info)
                count += 1
    diff_id, uncompressed = hashing.hash.hexdigest(), hashing.size
    blob = destination / f"{name}.tar.gz"
    cached = None if compressed_cache is None else compressed_cache / _cached_name(diff_id)
    if cached is not None and cached.is_file():
        shutil.copyfile(cached, blob)
    else:
        with open(tar_path, "rb") as source, open(blob, "wb") as target:
            subprocess.run(
                ["pigz", "-n", "-T", "-9", "-p", str(os.cpu_count() or 1), "-c"],
                stdin=source,
                stdout=target,
                check=True,
            )
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(blob, cached)
    tar_path.unlink()
    digest = hashlib.sha256()
    with open(blob, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return Layer(
        name=name,
        description=description,
        blob=blob,
        diff_id=f"sha256:{diff_id}",
        digest=f"sha256:{digest.hexdigest()}",
        size=blob.stat().st_size,
        uncompressed_size=uncompressed,
        files=count,
    )


def prune_compressed_cache(cache: Path, kept: Sequence[Layer]) -> None:
    """Drop the compressed layers that ``kept`` does not use: the cache holds one image's layers, not all."""
    names = {_cached_name(layer.diff_id.removeprefix("sha256:")) for layer in kept}
    for cached in cache.glob("*.tar.gz"):
        if cached.name not in names:
            cached.unlink()


def _cached_name(diff_id: str) -> str:
    return f"{diff_id}.tar.gz"
