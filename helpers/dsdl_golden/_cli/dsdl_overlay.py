"""``golden dsdl-overlay``: make a checkout of splunk-mltk-container-docker build this image with
DSDL's own ``./build.sh``.

The files come from the image builder (``image/goldenimage/dsdl.py``) of the dsdl-golden checkout
(:func:`dsdl_golden._cli.project.find_project`); this module loads that builder, turns its errors
into messages and prints what was written, the build command and the ``images.conf`` stanza the
build will write. It only makes sense in a checkout of dsdl-golden, never in the image.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from dsdl_golden._cli.project import ProjectError, find_project

__all__ = ["OverlayError", "overlay", "run", "use_builder"]


class OverlayError(Exception):
    """Why the overlay cannot be written, worded for the user."""


def use_builder(project: Path) -> None:
    """Make ``goldenimage``, the image builder in ``project``'s ``image/``, importable."""
    image = project / "image"
    if not (image / "goldenimage" / "dsdl.py").is_file():
        raise OverlayError(f"{project}: no image/goldenimage/dsdl.py (the image builder)")
    loaded = sys.modules.get("goldenimage")
    if (
        loaded is not None
        and Path(str(loaded.__file__)).parent.resolve() != (image / "goldenimage").resolve()
    ):
        raise OverlayError(f"another image builder is already loaded: {Path(str(loaded.__file__)).parent}")
    if str(image) not in sys.path:
        sys.path.insert(0, str(image))


@contextlib.contextmanager
def _child_output_to_stderr() -> Iterator[None]:
    """Send what child processes (pip) print to stderr, keeping stdout for the result."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def overlay(checkout: Path, project: Path, repo: str, version: str | None) -> list[str]:
    """Write the overlay into ``checkout`` with ``project``'s builder; returns the lines to print."""
    use_builder(project)
    from goldenimage.build import source_state
    from goldenimage.dsdl import TAG_MAPPING, images_stanza, write_overlay
    from goldenimage.spec import load_spec

    spec = load_spec()
    source = source_state()
    try:
        with _child_output_to_stderr():
            written = write_overlay(checkout, spec, source.revision, source.epoch)
    except ValueError as error:
        raise OverlayError(str(error)) from error
    except subprocess.CalledProcessError as error:
        command = " ".join(str(part) for part in error.cmd)
        raise OverlayError(f"{command}: exit status {error.returncode}") from error
    tag, image_version = written.row.tag, version or spec.version
    return [
        f"{checkout / TAG_MAPPING}: row {tag} {'replaced' if written.replaced else 'added'}",
        f"{checkout / written.dockerfile}",
        f"{checkout / written.requirements}: {written.packages} locked packages, every file's sha256",
        f"{checkout / written.context}/: {written.wheel.name}, the image's /dltk and /etc/golden",
        f"build: cd {checkout} && ./build.sh {tag} {repo} {image_version}",
        "images.conf stanza the build writes (images_conf_files/images.conf):",
        *images_stanza(written.row, repo, image_version).splitlines(),
    ]


def run(checkout: str, project: str | None, repo: str, version: str | None) -> int:
    """``golden dsdl-overlay``: 0 when written, 2 with a message on stderr when not."""
    try:
        if not repo.endswith("/"):
            raise OverlayError(f"--repo {repo!r} must end with '/' (Splunk pulls repo + image)")
        root = find_project(Path.cwd(), Path(project) if project is not None else None)
        lines = overlay(Path(checkout), root, repo, version)
    except (OverlayError, ProjectError) as error:
        print(f"golden dsdl-overlay: {error}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
