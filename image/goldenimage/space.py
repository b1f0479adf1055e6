"""Room on disk for a build, checked before it starts: a full disk is named at once, with what to do."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

GB = 10**9
# Measured with image/build (golden-cpu-empresa 0.1.0): the Debian root with the environment takes
# 3.6 GB, the largest layer's tar 2.0 GB beside it, the compressed layers 1.0 GB; the archive 1.0 GB.
WORK_BYTES = 6 * GB
ARCHIVE_BYTES = 1 * GB


def shortfalls(needs: Mapping[Path, int]) -> list[str]:
    """What is missing where: ``needs`` maps folders (made or not) to the bytes a step will write there.

    Folders on one file system add up. Returns one phrase per file system with too little room.
    """
    by_device: dict[int, tuple[Path, int]] = {}
    for folder, need in needs.items():
        existing = next(path for path in (folder, *folder.parents) if path.exists())
        device = existing.stat().st_dev
        first, total = by_device.get(device, (existing, 0))
        by_device[device] = (first, total + need)
    missing = []
    for existing, need in by_device.values():
        free = shutil.disk_usage(existing).free
        if free < need:
            missing.append(f"{need / GB:.1f} GB on the file system of {existing}, {free / GB:.1f} GB free")
    return missing
