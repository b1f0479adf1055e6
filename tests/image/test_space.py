"""image/build's check of the room on disk: folders on one file system add up, and the message names it."""

from __future__ import annotations

import shutil
from pathlib import Path

from goldenimage.space import shortfalls


def test_a_build_that_fits_is_let_through(tmp_path: Path) -> None:
    assert shortfalls({tmp_path / "work": 1, tmp_path / "not" / "made" / "yet": 1}) == []


def test_folders_on_one_file_system_add_up_and_the_shortfall_names_it(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    half = free * 3 // 5  # each fits alone, not both (a margin for what others write meanwhile)
    assert shortfalls({tmp_path / "work": half}) == []
    (message,) = shortfalls({tmp_path / "work": half, tmp_path / "output": half})
    assert message.startswith(f"{2 * half / 10**9:.1f} GB on the file system of {tmp_path}, ")
    assert message.endswith(" GB free")
