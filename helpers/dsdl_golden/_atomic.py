"""Replace a file atomically: write a temporary file beside it, then rename it over the file.

A reader, or a process killed half-way, sees the old file or the new one, never a part of either; a
failed write leaves the old file as it was and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["replace_atomically", "write_atomically"]


def replace_atomically(
    path: Path, write: Callable[[Path], object], *, mode: int | None = None, durable: bool = False
) -> None:
    """Call ``write`` with a temporary path beside ``path``, then rename that file over ``path``.

    ``mode``: the file's permission bits, exactly (whatever the umask); the temporary file exists
    with no more than owner access before anything is written into it, so a secret is never readable
    by others, even for a moment. Without ``mode``, what the umask gives a new file, or what ``write``
    sets (``shutil.copy2``). ``durable``: on stable storage (fsync) before the rename.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if mode is not None:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.chmod(temporary, mode)
        write(temporary)
        if durable:
            descriptor = os.open(temporary, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def write_atomically(
    path: Path, data: bytes | str, *, mode: int | None = None, durable: bool = False
) -> None:
    """:func:`replace_atomically` with ``data`` as the new content (text as UTF-8)."""
    content = data.encode() if isinstance(data, str) else data
    replace_atomically(path, lambda temporary: temporary.write_bytes(content), mode=mode, durable=durable)
