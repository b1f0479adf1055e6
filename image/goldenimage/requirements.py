"""What the image installs, read from ``poetry.lock``: one locked file per package, with its sha256.

Poetry 2 writes, per package, ``groups``, ``markers`` (one string, or one per group) and ``files``
(name and hash, no URL). The image takes the ``main`` group with the spec's extras, evaluates the
markers for the image's platform (Debian bookworm's CPython 3.11 on x86_64 Linux) and picks, per
package, the best wheel for that platform (its tags, most specific first), else the sdist.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename

__all__ = ["LockedFile", "image_platforms", "image_tags", "locked_files", "requirements_text"]

#: glibc of Debian bookworm (2.36): manylinux wheels up to this version install.
GLIBC = (2, 36)


@dataclass(frozen=True)
class LockedFile:
    """The file to install for one locked package."""

    name: str
    version: str
    filename: str
    sha256: str
    source: str | None
    all_hashes: tuple[str, ...]

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


def image_platforms(glibc: tuple[int, int] = GLIBC) -> list[str]:
    """Platform tags of the image's Linux, most specific first (pip's ``--platform`` list)."""
    return [
        *(f"manylinux_{glibc[0]}_{minor}_x86_64" for minor in range(glibc[1], 4, -1)),
        "manylinux2014_x86_64",
        "manylinux2010_x86_64",
        "manylinux1_x86_64",
        "linux_x86_64",
    ]


def image_tags(python: tuple[int, int] = (3, 11), glibc: tuple[int, int] = GLIBC) -> list[Tag]:
    """Wheel tags the image's Python accepts, most specific first (as pip orders them)."""
    platforms = image_platforms(glibc)
    return [
        *cpython_tags(python, platforms=platforms),
        *compatible_tags(python, "cp311", platforms=platforms),
    ]


def _marker_holds(
    markers: str | Mapping[str, str] | None, environment: Mapping[str, str], extras: Iterable[str]
) -> bool:
    if markers is None:
        return True
    text = markers if isinstance(markers, str) else markers.get("main")
    if text is None:
        return True
    marker = Marker(text)
    return any(marker.evaluate({**environment, "extra": extra}) for extra in ("", *extras))


def _best_file(package: Mapping[str, Any], ranks: Mapping[Tag, int]) -> tuple[str, str]:
    best: tuple[int, str, str] | None = None
    sdist: tuple[str, str] | None = None
    for entry in package["files"]:
        filename, digest = entry["file"], entry["hash"].removeprefix("sha256:")
        if filename.endswith(".whl"):
            _, _, _, tags = parse_wheel_filename(filename)
            rank = min((ranks[tag] for tag in tags if tag in ranks), default=None)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, filename, digest)
        elif filename.endswith((".tar.gz", ".zip")):
            sdist = (filename, digest)
    if best is not None:
        return best[1], best[2]
    if sdist is not None:
        return sdist
    raise ValueError(
        f"{package['name']} {package['version']}: no wheel for the image's platform and no sdist"
    )


def locked_files(lock: Path, extras: Iterable[str], environment: Mapping[str, str]) -> list[LockedFile]:
    """The files to install, sorted by package name; raises ``ValueError`` naming a package that cannot be."""
    document = tomllib.loads(lock.read_text())
    chosen_extras = tuple(extras)
    ranks = {tag: rank for rank, tag in enumerate(image_tags())}
    files = []
    for package in document["package"]:
        if "main" not in package.get("groups", ["main"]):
            continue
        if not _marker_holds(package.get("markers"), environment, chosen_extras):
            continue
        filename, digest = _best_file(package, ranks)
        source = package.get("source", {}).get("reference")
        files.append(
            LockedFile(
                name=canonicalize_name(package["name"]),
                version=package["version"],
                filename=filename,
                sha256=digest,
                source=source,
                all_hashes=tuple(entry["hash"].removeprefix("sha256:") for entry in package["files"]),
            )
        )
    return sorted(files, key=lambda item: item.name)


def requirements_text(files: Iterable[LockedFile]) -> str:
    """A pip requirements file (``name==version --hash=...``) with every locked hash of each package."""
    lines = []
    for item in files:
        hashes = " ".join(f"--hash=sha256:{digest}" for digest in item.all_hashes)
        lines.append(f"{item.name}=={item.version} {hashes}")
    return "\n".join(lines) + "\n"
