"""Stand-in checkouts of splunk/splunk-mltk-container-docker for the tests of ``golden dsdl-overlay``.

Only what ``golden dsdl-overlay`` and DSDL's ``build.sh`` look at is written into a temporary directory, from
one of two sources (:data:`SOURCES`):

- :data:`STAND_IN`, always there: files written by us from what DSDL's contract documents
  (/work/shared/specs/dsdl-contract.md §4): ``tag_mapping.csv`` with the verbatim header and the example row,
  the empty ``requirements_files/empty.txt``, and :data:`STAND_IN_BUILD_SH`, our minimal script that repeats
  only build.sh's documented row lookup and images.conf stanza. None of it is DSDL's code.
- :data:`FROM_MIRROR`, when the bare mirror of DSDL's repository is there (:func:`have_mirror`): DSDL's own
  ``build.sh``, ``tag_mapping.csv``, ``requirements_files/empty.txt`` and ``.gitignore``; nothing of DSDL's
  is kept in this repository.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from golden_testing import child_environ

__all__ = [
    "CHECKOUT_FILES",
    "FROM_MIRROR",
    "MIRROR",
    "SOURCES",
    "STAND_IN",
    "STAND_IN_BUILD_SH",
    "DsdlFiles",
    "dsdl_file",
    "dsdl_paths",
    "fake_checkout",
    "have_mirror",
]

#: The bare mirror of DSDL's repository that the session tools make.
MIRROR = Path("/work/.mirror/splunk+splunk-mltk-container-docker/repo")
CHECKOUT_FILES = ("build.sh", "tag_mapping.csv", "requirements_files/empty.txt", ".gitignore")


def have_mirror() -> bool:
    """Whether the mirror is there (tests that need it skip otherwise)."""
    return (MIRROR / "HEAD").is_file()


def dsdl_file(path: str) -> bytes:
    """A file of DSDL's repository at the mirror's ``HEAD``."""
    return subprocess.run(
        ["git", "--git-dir", str(MIRROR), "show", f"HEAD:{path}"],
        capture_output=True,
        check=True,
        env=child_environ(),
    ).stdout


def dsdl_paths() -> set[str]:
    """Every file path of DSDL's repository at the mirror's ``HEAD``."""
    listing = subprocess.run(
        ["git", "--git-dir", str(MIRROR), "ls-tree", "-r", "--name-only", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
        env=child_environ(),
    ).stdout
    return set(listing.splitlines())


#: Our stand-in for DSDL's build.sh (contract §4). It keeps build.sh's documented ``grep "^<tag>,"`` row
#: lookup, the ``cut -d','`` reading of each field, nvidia written as "none,nvidia" and the images.conf
#: stanza; it leaves out build_package.sh, the compiled requirements and ``docker build``.
_STANZA_ECHO = (
    r'echo -e "[$tag]\ntitle = $title\nimage = mltk-container-$tag:$version\nrepo = $repo'
    r'\nruntime = $runtime" > ./images_conf_files/$tag-images.txt'
)
STAND_IN_BUILD_SH = r"""#!/bin/bash
# dsdl-golden's test stand-in for build.sh of splunk/splunk-mltk-container-docker, written from DSDL's
# contract (/work/shared/specs/dsdl-contract.md section 4), NOT DSDL's code. It repeats only the
# documented tag_mapping.csv row lookup and the images.conf writing; it builds nothing and never runs docker.
# Usage: ./build.sh <tag> [repo=local/] [version=latest]
tag="$1"
repo="${2:-local/}"
version="${3:-latest}"

line=$(grep "^${tag}," tag_mapping.csv)
if [ -z "$line" ]; then
  echo "no row for tag $tag in tag_mapping.csv" >&2
  exit 1
fi
base_image=$(echo $line | cut -d',' -f2)
dockerfile=$(echo $line | cut -d',' -f3)
base_requirements=$(echo $line | cut -d',' -f4)
specific_requirements=$(echo $line | cut -d',' -f5)
runtime=$(echo $line | cut -d',' -f6)
requirements_dockerfile=$(echo $line | cut -d',' -f7)
title=$(echo $line | cut -d',' -f8)
echo "Image: ${repo}mltk-container-$tag:$version (FROM $base_image, ./dockerfiles/$dockerfile," \
  "requirements $base_requirements $specific_requirements; not built by this stand-in)"

if [ "$runtime" = "nvidia" ]; then
  runtime="none,nvidia"
fi

mkdir -p ./images_conf_files
{stanza_echo}
cat ./images_conf_files/*-images.txt > ./images_conf_files/images.conf
""".replace("{stanza_echo}", _STANZA_ECHO)

_STAND_IN_FILES = {
    "build.sh": STAND_IN_BUILD_SH.encode(),
    # the verbatim header and the example row of the contract
    "tag_mapping.csv": (
        b"Tags:,base_image,dockerfile,base_requirements,specific_requirements,runtime,requirements_dockerfile,"
        b"stanza_name\n"
        b"golden-cpu,redhat/ubi9,Dockerfile.redhat,base_functional.txt,specific_golden_cpu_redhat.txt,none,"
        b"Dockerfile.redhat.requirements,Red Hat UBI Golden CPU (5.2.4)\n"
    ),
    "requirements_files/empty.txt": b"",
}


@dataclass(frozen=True)
class DsdlFiles:
    """Where a stand-in checkout's files come from."""

    name: str
    #: The checkout's files (a subset of :data:`CHECKOUT_FILES`) and their contents.
    files: Callable[[], dict[str, bytes]]
    #: Every file path of the source: DSDL's whole tree for the mirror, just :attr:`files` for the stand-in.
    paths: Callable[[], set[str]]
    #: Whether :attr:`paths` is DSDL's whole tree (checks of paths the contract does not name need it).
    whole_tree: bool

    def file(self, path: str) -> bytes:
        return self.files()[path]

    def checkout(self, directory: Path) -> Path:
        """Write the files under ``directory``; returns ``directory``."""
        for name, content in self.files().items():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        (directory / "build.sh").chmod(0o755)
        return directory


STAND_IN = DsdlFiles(
    name="stand-in",
    files=lambda: dict(_STAND_IN_FILES),
    paths=lambda: set(_STAND_IN_FILES),
    whole_tree=False,
)
FROM_MIRROR = DsdlFiles(
    name="mirror",
    files=lambda: {name: dsdl_file(name) for name in CHECKOUT_FILES},
    paths=dsdl_paths,
    whole_tree=True,
)
SOURCES = (STAND_IN, FROM_MIRROR)


def fake_checkout(directory: Path, source: DsdlFiles = FROM_MIRROR) -> Path:
    """Write ``source``'s files (by default :data:`CHECKOUT_FILES` from the mirror) under ``directory``."""
    return source.checkout(directory)
