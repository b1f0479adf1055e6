"""The container's start refreshes DSDL's volume from the image and never overwrites the user's files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from golden_testing import child_environ

from dsdl_golden.refresh import RECORD, main, refresh

ALWAYS = ("main.py", "__init__.py")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """An image's /dltk/app: DSDL's entry points, two exported notebooks, empty directories, debris."""
    app = tmp_path / "dltk" / "app"
    write(app / "__init__.py", "")
    write(app / "main.py", "from dsdl_golden.runtime import app\n")
    write(app / "model" / "__init__.py", "")
    write(app / "model" / "example_keras.py", "# image 1.0\n")
    write(app / "model" / "template_empresa_base.py", "# image 1.0\n")
    write(app / "model" / "__pycache__" / "example_keras.cpython-311.pyc", "stale")
    write(app / "model" / ".ipynb_checkpoints" / "x-checkpoint.py", "debris")
    (app / "model" / "data").mkdir()
    (app / "graphics").mkdir()
    return app


def test_a_fresh_volume_gets_the_image_files_and_directories_and_a_record(
    image: Path, tmp_path: Path
) -> None:
    srv = tmp_path / "srv" / "app"
    report = refresh(image, srv, always=ALWAYS)
    files = [
        "__init__.py",
        "main.py",
        "model/__init__.py",
        "model/example_keras.py",
        "model/template_empresa_base.py",
    ]
    assert sorted(report.copied) == files
    assert (report.updated, report.kept, report.unchanged) == ([], [], [])
    assert (srv / "model" / "data").is_dir()
    assert (srv / "graphics").is_dir()
    assert not (srv / "model" / "__pycache__").exists()
    assert not (srv / "model" / ".ipynb_checkpoints").exists()
    assert sorted(json.loads((srv / RECORD).read_text())) == files
    assert refresh(image, srv, always=ALWAYS).unchanged == sorted(files)  # the next start: nothing to do


def test_a_new_image_updates_untouched_files_and_keeps_the_users(image: Path, tmp_path: Path) -> None:
    srv = tmp_path / "srv" / "app"
    refresh(image, srv, always=ALWAYS)
    write(srv / "model" / "example_keras.py", "# my own model, exported under the example's name\n")
    write(srv / "model" / "my_model.py", "# mine alone\n")
    write(image / "model" / "example_keras.py", "# image 2.0\n")
    write(image / "model" / "template_empresa_base.py", "# image 2.0\n")

    report = refresh(image, srv, always=ALWAYS)
    assert report.updated == ["model/template_empresa_base.py"]
    assert report.kept == ["model/example_keras.py"]
    assert (srv / "model" / "template_empresa_base.py").read_text() == "# image 2.0\n"
    assert (
        srv / "model" / "example_keras.py"
    ).read_text() == "# my own model, exported under the example's name\n"
    assert (srv / "model" / "my_model.py").read_text() == "# mine alone\n"
    assert report.lines(image, srv)[0] == (
        f"kept your {srv}/model/example_keras.py: it differs from the image's copy, which is "
        f"{image}/model/example_keras.py"
    )
    assert report.lines(image, srv)[-1] == f"{srv}: 0 copied, 1 updated, 1 kept, 3 unchanged"

    assert refresh(image, srv, always=ALWAYS).kept == ["model/example_keras.py"]  # kept at every start
    (srv / "model" / "example_keras.py").unlink()
    assert refresh(image, srv, always=ALWAYS).copied == ["model/example_keras.py"]  # until removed


@pytest.mark.parametrize("record", [None, "not json {", '["a list"]'])
def test_without_a_readable_record_differing_modules_are_kept_but_the_entry_points_replaced(
    image: Path, tmp_path: Path, record: str | None
) -> None:
    srv = tmp_path / "srv" / "app"  # a volume from DSDL's own image, or with a damaged record
    write(srv / "main.py", "# DSDL's main.py: another API\n")
    write(srv / "model" / "example_keras.py", "# somebody's module\n")
    if record is not None:
        write(srv / RECORD, record)
    report = refresh(image, srv, always=ALWAYS)
    assert report.updated == ["main.py"]
    assert report.kept == ["model/example_keras.py"]
    assert (srv / "main.py").read_text() == "from dsdl_golden.runtime import app\n"
    assert (srv / "model" / "example_keras.py").read_text() == "# somebody's module\n"


def test_notebooks_edited_in_place_survive(tmp_path: Path) -> None:
    shipped = write(tmp_path / "dltk" / "notebooks" / "template_empresa_base.ipynb", '{"v": 1}')
    srv = tmp_path / "srv" / "notebooks"
    refresh(shipped.parent, srv)
    write(srv / "template_empresa_base.ipynb", '{"v": 1, "mine": true}')
    assert refresh(shipped.parent, srv).kept == ["template_empresa_base.ipynb"]
    assert (srv / "template_empresa_base.ipynb").read_text() == '{"v": 1, "mine": true}'


def test_the_command_prints_what_it_kept(image: Path, tmp_path: Path) -> None:
    srv = tmp_path / "srv" / "app"
    write(srv / "model" / "example_keras.py", "# mine\n")
    run = subprocess.run(
        [sys.executable, "-m", "dsdl_golden.refresh", str(image), str(srv), "--always", "main.py"],
        capture_output=True,
        text=True,
        env=child_environ(),
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        f"bootstrap: kept your {srv}/model/example_keras.py: it differs from the image's copy, which is "
        f"{image}/model/example_keras.py",
        f"bootstrap: {srv}: 4 copied, 0 updated, 1 kept, 0 unchanged",
    ]


def test_a_volume_that_cannot_be_written_stops_the_start_with_what_to_fix(
    image: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(image), "/proc/golden-srv/app"]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"bootstrap: cannot refresh /proc/golden-srv/app from {image}: ")
    assert "the volume must be writable by user id" in error
