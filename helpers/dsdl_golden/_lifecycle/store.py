"""Saved models on disk: one directory per save, switched into place atomically.

``<model directory>/<name>`` is a symbolic link to ``.<name>.<version>/``, which holds
``golden.json`` (the metadata) and the model's own files. A save writes a new version directory,
then replaces the link in one ``rename``: a reader sees the old model or the new one, never half of
one, and a save that fails leaves the old model in place. Saves of one name are serialised with a
lock file; older version directories are removed once the link points elsewhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import orjson

from dsdl_golden._lifecycle.params import check_name
from dsdl_golden._telemetry.client import serialise

__all__ = ["FORMAT", "METADATA_FILE", "ModelNotFoundError", "read_metadata", "saved_model_dir", "write_model"]

FORMAT: Final = "dsdl-golden-model/1"
METADATA_FILE: Final = "golden.json"


class ModelNotFoundError(FileNotFoundError):
    """No saved model of that name."""


def jsonable(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as plain JSON types (numpy values converted, NaN and infinities as None)."""
    plain: dict[str, Any] = orjson.loads(serialise(value))
    return plain


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _locked(directory: Path, name: str) -> Iterator[None]:
    with open(directory / f".{name}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _remove_old_versions(directory: Path, name: str, keep: str) -> None:
    for entry in directory.glob(f".{name}.v*"):
        if entry.name != keep and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def write_model(directory: Path, name: str, write: Callable[[Path], dict[str, Any]]) -> Path:
    """Save a model called ``name`` under ``directory``; returns the path of the saved model.

    ``write(version_dir)`` writes the model's files and returns its metadata, stored as
    ``golden.json`` with ``format`` set.
    """
    check_name(name, "model name")
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    with _locked(directory, name):
        version = f".{name}.v{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        version_dir = directory / version
        version_dir.mkdir()
        try:
            metadata = {"format": FORMAT, **write(version_dir)}
            metadata_path = version_dir / METADATA_FILE
            with open(metadata_path, "wb") as handle:
                handle.write(orjson.dumps(jsonable(metadata), option=orjson.OPT_INDENT_2))
                handle.flush()
                os.fsync(handle.fileno())
            _fsync_directory(version_dir)
            if final.exists() and not final.is_symlink():
                final.rename(directory / f".{name}.replaced-{time.time_ns()}")
            link = directory / f".{name}.link-{uuid.uuid4().hex[:8]}"
            link.symlink_to(version)
            os.replace(link, final)
            _fsync_directory(directory)
        except BaseException:
            shutil.rmtree(version_dir, ignore_errors=True)
            raise
        _remove_old_versions(directory, name, keep=version)
    return final


def saved_model_dir(directory: Path, name: str) -> Path:
    """The directory of the saved model ``name``; raises :class:`ModelNotFoundError` naming what exists."""
    check_name(name, "model name")
    path = directory / name
    if not (path / METADATA_FILE).is_file():
        available = sorted(
            entry.name
            for entry in directory.glob("*")
            if not entry.name.startswith(".") and (entry / METADATA_FILE).is_file()  # not the versions
        )
        raise ModelNotFoundError(
            f"no saved model {name!r} in {directory}: fit it first (| fit MLTKContainer ... into app:...)"
            + (f"; saved models: {', '.join(available)}" if available else "")
        )
    return path.resolve()


def read_metadata(model_dir: Path) -> dict[str, Any]:
    """The metadata of a saved model; raises ``ValueError`` for another format or a damaged file."""
    path = model_dir / METADATA_FILE
    try:
        metadata = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise ValueError(f"{path} is damaged ({error}): fit the model again") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{path} holds a JSON {type(metadata).__name__}, not an object: fit the model again")
    if metadata.get("format") != FORMAT:
        raise ValueError(
            f"{model_dir} holds format {metadata.get('format')!r}; this dsdl-golden reads {FORMAT!r}: "
            "fit the model again"
        )
    return metadata
