"""Refresh DSDL's volume from the image at each container start, keeping what the user made.

DSDL's bootstrap copies the image's ``/dltk/app`` over ``/srv/app`` and ``/dltk/notebooks`` over
``/srv/notebooks`` at every start: a module a user exported under the name of an image module
(``app/model/example_keras.py``, say), or a shipped notebook edited in place, is overwritten.
:func:`refresh` copies instead only

- what is missing in the volume;
- what the image put there itself and nobody changed since: a file whose content is still the
  one the previous refresh installed, which a file ``.golden-image-files.json`` in the volume's
  directory records (path -> SHA-256);
- DSDL's entry points, which belong to the image whatever their content (``always``: for ``app``,
  ``main.py`` and the ``__init__.py`` files).

Any other file that differs from the image's is kept and named in the report, with where the
image's copy is. A volume from before this record existed has none: its differing files are kept
(nothing of the user's is ever overwritten on a guess).

From the image's bootstrap::

    python -m dsdl_golden.refresh /dltk/app /srv/app --always main.py --always __init__.py
    python -m dsdl_golden.refresh /dltk/notebooks /srv/notebooks
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from dsdl_golden._atomic import replace_atomically, write_atomically

__all__ = ["RECORD", "RefreshReport", "main", "refresh"]

#: The record, in the destination directory, of what the image installed there (path -> SHA-256).
RECORD: Final = ".golden-image-files.json"
_SKIPPED_PARTS: Final = frozenset({"__pycache__", ".ipynb_checkpoints"})


@dataclass
class RefreshReport:
    """What :func:`refresh` did, as paths relative to the destination."""

    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def lines(self, source: Path, destination: Path) -> list[str]:
        """What a person reads at the container's start: each kept file, then the counts."""
        kept = [
            f"kept your {destination / path}: it differs from the image's copy, which is {source / path}"
            for path in self.kept
        ]
        counts = (
            f"{destination}: {len(self.copied)} copied, {len(self.updated)} updated, "
            f"{len(self.kept)} kept, {len(self.unchanged)} unchanged"
        )
        return [*kept, counts]


def _digest(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _read_record(path: Path) -> dict[str, str]:
    """The record at ``path``; a missing or damaged one is empty (then nothing counts as the image's)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict):
        return {}
    return {str(key): value for key, value in record.items() if isinstance(value, str)}


def _write_record(path: Path, record: dict[str, str]) -> None:
    write_atomically(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def _image_files(source: Path, destination: Path) -> Iterator[Path]:
    """The files of ``source``, relative to it; its directories are made in ``destination`` on the way
    (DSDL's empty ``app/model/data``, ``app/graphics``, ``notebooks/data``)."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if _SKIPPED_PARTS.intersection(relative.parts):
            continue
        if path.is_dir():
            (destination / relative).mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            yield relative


def _copy(source: Path, target: Path) -> None:
    """Copy through a temporary file, so that a start killed half-way leaves no half-written module."""
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(target, lambda temporary: shutil.copy2(source, temporary))


def refresh(source: Path, destination: Path, *, always: Iterable[str] = ()) -> RefreshReport:
    """Bring ``destination`` up to the image's ``source`` without overwriting the user's files.

    Parameters
    ----------
    source : Path
        The image's directory (``/dltk/app``, ``/dltk/notebooks``).
    destination : Path
        Its copy in DSDL's volume (``/srv/app``, ``/srv/notebooks``); created if missing.
    always : iterable of str
        File names that always belong to the image: replaced whatever their content.

    Returns
    -------
    RefreshReport

    Raises
    ------
    OSError
        The volume cannot be written (the container cannot start with a stale or missing app).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "image").mkdir()
    >>> _ = (root / "image" / "model.py").write_text("IMAGE = 1\\n")
    >>> refresh(root / "image", root / "srv").copied
    ['model.py']
    >>> _ = (root / "srv" / "model.py").write_text("MINE = 1\\n")
    >>> _ = (root / "image" / "model.py").write_text("IMAGE = 2\\n")
    >>> refresh(root / "image", root / "srv").kept
    ['model.py']
    >>> (root / "srv" / "model.py").read_text()
    'MINE = 1\\n'
    """
    names = frozenset(always)
    destination.mkdir(parents=True, exist_ok=True)
    previous = _read_record(destination / RECORD)
    record: dict[str, str] = {}
    report = RefreshReport()
    for relative in _image_files(source, destination):
        key, target = relative.as_posix(), destination / relative
        wanted = _digest(source / relative)
        if not target.is_file():
            _copy(source / relative, target)
            report.copied.append(key)
        else:
            present = _digest(target)
            if present == wanted:
                report.unchanged.append(key)
            elif relative.name in names or previous.get(key) == present:
                _copy(source / relative, target)
                report.updated.append(key)
            else:
                report.kept.append(key)
                continue
        record[key] = wanted
    _write_record(destination / RECORD, record)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m dsdl_golden.refresh SOURCE DESTINATION [--always NAME ...]``; prints the report."""
    parser = argparse.ArgumentParser(
        prog="python -m dsdl_golden.refresh",
        description="Refresh DSDL's volume from the image, keeping the user's files (see the module).",
    )
    parser.add_argument("source", type=Path)
    parser.add_argument("destination", type=Path)
    parser.add_argument("--always", action="append", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    try:
        report = refresh(args.source, args.destination, always=args.always)
    except OSError as error:
        print(
            f"bootstrap: cannot refresh {args.destination} from {args.source}: {error}; the volume must be "
            f"writable by user id {os.getuid()} (group 0)",
            file=sys.stderr,
        )
        return 1
    for line in report.lines(args.source, args.destination):
        print(f"bootstrap: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
