"""Files replaced atomically: whole or not at all, with exact permissions, nothing left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dsdl_golden._atomic import replace_atomically, write_atomically


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_new_content_replaces_the_old(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text("old\n")
    write_atomically(path, "new ñ\n")
    assert path.read_bytes() == "new ñ\n".encode()
    assert [entry.name for entry in tmp_path.iterdir()] == ["model.py"]


@pytest.mark.parametrize("mode", [0o600, 0o664])
def test_the_mode_is_exact_whatever_the_umask(tmp_path: Path, mode: int) -> None:
    previous = os.umask(0o077)
    try:
        write_atomically(tmp_path / "file", b"x", mode=mode, durable=True)
    finally:
        os.umask(previous)
    assert mode_of(tmp_path / "file") == mode


def test_a_secret_is_never_readable_by_others_while_it_is_written(tmp_path: Path) -> None:
    seen: list[int] = []

    def write(temporary: Path) -> None:
        seen.append(mode_of(temporary))
        temporary.write_text("token=secret\n")
        seen.append(mode_of(temporary))

    previous = os.umask(0o002)
    try:
        replace_atomically(tmp_path / "settings.env", write, mode=0o600)
    finally:
        os.umask(previous)
    assert seen == [0o600, 0o600]


def test_without_a_mode_a_new_file_gets_what_the_umask_gives(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        write_atomically(tmp_path / "record.json", "{}\n")
    finally:
        os.umask(previous)
    assert mode_of(tmp_path / "record.json") == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "lineage.json"
    path.write_text("old\n")

    def fail(temporary: Path) -> None:
        temporary.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        replace_atomically(path, fail)
    assert path.read_text() == "old\n"
    assert [entry.name for entry in tmp_path.iterdir()] == ["lineage.json"]
