"""``image/release``: record the image that ``image/build`` made of this commit as a release in CHANGELOG.md.

The release is the project's version (``[project].version``, a semantic version ``MAJOR.MINOR.PATCH``
with an optional ``-prerelease``). Its CHANGELOG.md section (Keep a Changelog) takes the notes
written under ``## [Unreleased]`` and adds an ``### Image`` part: the image reference with its manifest
digest, the source revision, and the package list of the image's SBOM (Python and Debian, each name
and version), with what changed since the previous release's list. A new empty ``[Unreleased]``
section goes on top.

It refuses, saying why: an archive of another version, of another commit or of a tree with
uncommitted changes (its digest would not be this commit's), a version already released, a version
that is not semantic, a changelog without an ``[Unreleased]`` section.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from goldenimage.build import source_state
from goldenimage.oci import archive_config
from goldenimage.spec import ROOT, ImageSpec, load_spec

__all__ = [
    "BuiltImage",
    "ReleaseError",
    "add_release",
    "built_image",
    "main",
    "package_changes",
    "packages_of_section",
    "sbom_packages",
]

SEMANTIC_VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?")
UNRELEASED = "## [Unreleased]"
_HEADING = re.compile(r"^## \[([^\]]+)\]", re.MULTILINE)
_TABLE = re.compile(r"<summary>(Python|Debian) packages \(\d+\)</summary>\n\n(.*?)\n</details>", re.DOTALL)
_KINDS = {"pypi": "Python", "deb": "Debian"}

Packages = dict[str, dict[str, str]]  # kind ("Python", "Debian") -> name -> version


class ReleaseError(Exception):
    """The release cannot be recorded; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class BuiltImage:
    """What ``image/build`` wrote: the image's name, version, revision, manifest digest and packages."""

    name: str
    version: str
    revision: str
    digest: str
    packages: Packages


def sbom_packages(document: Mapping[str, Any]) -> Packages:
    """The Python and Debian packages of a CycloneDX SBOM, by their package URLs."""
    packages: Packages = {kind: {} for kind in _KINDS.values()}
    for component in document.get("components", ()):
        kind = _KINDS.get(str(component.get("purl", "")).removeprefix("pkg:").split("/", 1)[0])
        if kind is not None:
            packages[kind][str(component["name"])] = str(component["version"])
    return {kind: dict(sorted(names.items())) for kind, names in packages.items()}


def built_image(spec: ImageSpec, output: Path) -> BuiltImage:
    """The image ``image/build`` wrote to ``output`` for ``spec``'s name and version."""
    stem = output / f"{spec.name}-{spec.version}"
    files = {kind: stem.with_name(f"{stem.name}.{kind}") for kind in ("oci.tar", "digest", "sbom.cdx.json")}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise ReleaseError(
            f"no image of {spec.version} was built ({', '.join(missing)} missing): run image/build"
        )
    labels = archive_config(files["oci.tar"])["config"]["Labels"]
    return BuiltImage(
        name=spec.name,
        version=labels["org.opencontainers.image.version"],
        revision=labels["org.opencontainers.image.revision"],
        digest=files["digest"].read_text().strip(),
        packages=sbom_packages(json.loads(files["sbom.cdx.json"].read_text())),
    )


def packages_of_section(section: str) -> Packages:
    """The package tables an earlier release's section holds (empty kinds when it has none)."""
    packages: Packages = {kind: {} for kind in _KINDS.values()}
    for kind, table in _TABLE.findall(section):
        for row in table.splitlines()[2:]:
            name, version = (cell.strip().strip("`") for cell in row.strip("|").split("|"))
            packages[kind][name] = version
    return packages


def package_changes(before: Packages, after: Packages) -> list[str]:
    """One line per package added, removed or changed, Python first, each kind by name."""
    lines = []
    for kind in _KINDS.values():
        old, new = before.get(kind, {}), after.get(kind, {})
        for name in sorted(old.keys() | new.keys()):
            if name not in old:
                lines.append(f"- {kind} `{name}` {new[name]} added")
            elif name not in new:
                lines.append(f"- {kind} `{name}` {old[name]} removed")
            elif old[name] != new[name]:
                lines.append(f"- {kind} `{name}` {old[name]} → {new[name]}")
    return lines


def _table(kind: str, packages: Mapping[str, str]) -> str:
    rows = "\n".join(f"| {name} | {version} |" for name, version in packages.items())
    return (
        f"<details><summary>{kind} packages ({len(packages)})</summary>\n\n"
        f"| package | version |\n|---|---|\n{rows}\n</details>"
    )


def _image_part(image: BuiltImage, previous: tuple[str, Packages] | None) -> str:
    counts = ", ".join(f"{len(names)} {kind}" for kind, names in image.packages.items())
    lines = [
        "### Image",
        "",
        f"- Reference: `{image.name}:{image.version}@{image.digest}`",
        f"- Source revision: `{image.revision}`",
        f"- Packages, from the image's SBOM (`/etc/golden/sbom.cdx.json`): {counts}",
    ]
    blocks = []
    if previous is None:
        lines.append("- Changed packages: none before, this is the first release with an image")
    else:
        version, packages = previous
        changes = package_changes(packages, image.packages)
        lines.append(f"- Changed packages since {version}: {len(changes) or 'none'}")
        if changes:
            changed = "\n".join(changes)
            blocks.append(f"<details><summary>Changed since {version}</summary>\n\n{changed}\n</details>")
    blocks += [_table(kind, names) for kind, names in image.packages.items()]
    return "\n".join(lines) + "\n\n" + "\n\n".join(blocks) + "\n"


def add_release(changelog: str, image: BuiltImage, date: str) -> str:
    """``changelog`` with the ``[Unreleased]`` notes released as ``image.version`` on ``date``."""
    if not SEMANTIC_VERSION.fullmatch(image.version):
        raise ReleaseError(
            f"{image.version!r} is no semantic version MAJOR.MINOR.PATCH[-PRERELEASE]: fix pyproject.toml"
        )
    headings = list(_HEADING.finditer(changelog))
    versions = [heading.group(1) for heading in headings]
    if image.version in versions:
        raise ReleaseError(
            f"CHANGELOG.md already has a section for {image.version}: raise [project].version first"
        )
    if "Unreleased" not in versions:
        raise ReleaseError(
            f"CHANGELOG.md has no '{UNRELEASED}' section with the notes of this release: add one"
        )
    at = versions.index("Unreleased")
    start, notes_start = headings[at].start(), headings[at].end()
    end = headings[at + 1].start() if at + 1 < len(headings) else len(changelog)
    previous = None
    if at + 1 < len(headings):
        following = headings[at + 2].start() if at + 2 < len(headings) else len(changelog)
        previous_section = changelog[headings[at + 1].start() : following]
        if _TABLE.search(previous_section):
            previous = (versions[at + 1], packages_of_section(previous_section))
    notes = changelog[notes_start:end].strip("\n")
    section = (
        f"## [{image.version}] - {date}\n\n"
        + (f"{notes}\n\n" if notes else "")
        + _image_part(image, previous)
    )
    return f"{changelog[:start]}{UNRELEASED}\n\n{section}\n{changelog[end:]}".rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="image/release", description="Record the image image/build made of this commit in CHANGELOG.md."
    )
    parser.add_argument("--changelog", type=Path, default=ROOT / "CHANGELOG.md", help="(CHANGELOG.md)")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "image", help="image/build's output")
    parser.add_argument("--date", help="the release date, YYYY-MM-DD (default: the commit's, UTC)")
    args = parser.parse_args(argv)
    try:
        spec, source = load_spec(), source_state()
        image = built_image(spec, args.output)
        if image.revision != source.revision or source.revision.endswith("+dirty"):
            raise ReleaseError(
                f"the image was built from {image.revision}, this tree is {source.revision}: "
                "commit, run image/build, then image/release"
            )
        date = args.date or datetime.fromtimestamp(source.epoch, UTC).strftime("%Y-%m-%d")
        args.changelog.write_text(add_release(args.changelog.read_text(), image, date))
    except (ReleaseError, OSError) as error:
        print(f"image/release: {error}", file=sys.stderr)
        return 2
    print(f"{args.changelog}: released {image.version} ({image.name}:{image.version}@{image.digest})")
    print(f"commit it, and tag the built commit: git tag v{image.version} {image.revision}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
