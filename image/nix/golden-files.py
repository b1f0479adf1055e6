"""Write dsdl_golden's files into the Nix image's root: what image/build writes, by the same code.

Run by image/nix/image.nix (extraCommands) with the image's own Python environment:
``python golden-files.py SOURCE ROOT REVISION EPOCH``, SOURCE being a copy of the repository's
image/, template/ and pyproject.toml. goldenimage.build.golden_files lays out /dltk (image/rootfs,
DSDL's app/ tree, the notebooks and their exported modules), /srv, /etc/golden/{version,image.json}
and the dltk line of /etc/passwd.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(source: Path, root: Path, revision: str, epoch: int) -> None:
    """Lay out ``root`` from the repository copy ``source``."""
    sys.path.insert(0, str(source / "image"))
    from goldenimage import build, spec

    # goldenimage finds the repository from its own location: point it at the copy.
    spec.ROOT = build.ROOT = source
    loaded = spec.load_spec(source / "image" / "spec.toml", source / "pyproject.toml")
    build.golden_files(loaded, root, revision, epoch)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
