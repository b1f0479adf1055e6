"""The image's root file system: Debian from mmdebstrap, then the locked Python environment.

Commands inside the root run through ``chroot`` in a private mount namespace (``unshare --mount``,
as root) with ``/dev``, ``/proc`` and the wheel directory bound in, so that nothing is mounted on
the host afterwards. ``SOURCE_DATE_EPOCH`` is set for every step: mmdebstrap then writes the same
root for the same packages, and Python compiles bytecode with checked hashes instead of times.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["debian_root", "in_root", "sha256_of"]

WHEELS_MOUNT = "/run/golden-wheels"


def sha256_of(path: Path) -> str:
    """The sha256 of a file, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _environment(epoch: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": "/root",
        "SOURCE_DATE_EPOCH": str(epoch),
        # no .pyc from merely running Python (time-stamped); compileall writes them, hash-based
        "PYTHONDONTWRITEBYTECODE": "1",
        **(extra or {}),
    }


def debian_root(base: Mapping[str, object], root: Path, epoch: int, apt_cache: Path) -> None:
    """Bootstrap Debian (``[base]`` of the spec) into ``root``; downloaded .debs are kept in ``apt_cache``."""
    apt_cache.mkdir(parents=True, exist_ok=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    packages = ",".join(str(name) for name in base["packages"])  # type: ignore[attr-defined]
    command = [
        "mmdebstrap",
        "--mode=root",
        f"--variant={base['variant']}",
        f"--include={packages}",
        '--aptopt=APT::Install-Recommends "false"',
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        '--setup-hook=mkdir -p "$1"/var/cache/apt/archives/',
        f"--setup-hook=sync-in {apt_cache} /var/cache/apt/archives/",
        f"--customize-hook=sync-out /var/cache/apt/archives {apt_cache}",
        "--skip=download/empty",
        '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*',
        str(base["suite"]),
        str(root),
        str(base["mirror"]),
    ]
    subprocess.run(command, env=_environment(epoch), check=True)


def in_root(
    root: Path, command: Sequence[str], epoch: int, wheels: Path | None = None, accept: tuple[int, ...] = (0,)
) -> None:
    """Run ``command`` inside ``root`` (chroot in a private mount namespace); ``wheels`` is bound on
    :data:`WHEELS_MOUNT`; an exit status outside ``accept`` raises ``CalledProcessError``."""
    mounts = ['mount --rbind /dev "$0/dev"', 'mount -t proc proc "$0/proc"']
    if wheels is not None:
        (root / WHEELS_MOUNT.lstrip("/")).mkdir(parents=True, exist_ok=True)
        mounts.append(f'mount --bind "{wheels}" "$0{WHEELS_MOUNT}"')
    script = " && ".join([*mounts, 'exec chroot "$0" "$@"'])
    arguments = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(root), *command]
    status = subprocess.run(arguments, env=_environment(epoch), check=False).returncode
    if status not in accept:
        raise subprocess.CalledProcessError(status, arguments)
    if wheels is not None:
        shutil.rmtree(root / WHEELS_MOUNT.lstrip("/"), ignore_errors=True)


def remove_run_leftovers(root: Path) -> None:
    """What building leaves in the root and the image must not hold (caches, machine ids)."""
    for relative in ("root/.cache", "var/cache/ldconfig/aux-cache", "etc/machine-id"):
        path = root / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    (root / "etc" / "machine-id").write_text("")  # systemd's "uninitialised", as Debian images ship it
    os.makedirs(root / "tmp", exist_ok=True)
