"""Releases: the semantic version, CHANGELOG.md, and ``image/release`` recording an image in it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from oci_testing import tiny_archive

from goldenimage.release import (
    SEMANTIC_VERSION,
    UNRELEASED,
    BuiltImage,
    ReleaseError,
    add_release,
    built_image,
    main,
    package_changes,
    packages_of_section,
    sbom_packages,
)
from goldenimage.spec import ROOT, load_spec

SPEC = load_spec()
DIGEST = "sha256:" + "ab" * 32
CHANGELOG = f"# Changelog\n\nIntro.\n\n{UNRELEASED}\n\n### Added\n- the first model API\n"


def sbom(python: dict[str, str], debian: dict[str, str]) -> dict[str, object]:
    return {
        "components": [
            *({"name": n, "version": v, "purl": f"pkg:pypi/{n}@{v}"} for n, v in python.items()),
            *(
                {"name": n, "version": v, "purl": f"pkg:deb/debian/{n}@{v}?arch=amd64&distro=debian-12"}
                for n, v in debian.items()
            ),
            {"name": "golden-cpu-empresa", "version": "1.0.0", "type": "container"},
        ]
    }


def image(version: str, python: dict[str, str], debian: dict[str, str] | None = None) -> BuiltImage:
    packages = sbom_packages(sbom(python, debian or {"python3": "3.11.2-1+b1"}))
    return BuiltImage("golden-cpu-empresa", version, "0123abc", DIGEST, packages)


def test_the_project_version_is_semantic_and_the_changelog_has_the_unreleased_notes() -> None:
    assert SEMANTIC_VERSION.fullmatch(SPEC.version)
    text = (ROOT / "CHANGELOG.md").read_text()
    assert f"\n{UNRELEASED}\n" in text
    released = re.findall(r"^## \[(\d[^\]]*)\] - (\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    for version, _ in released:
        assert SEMANTIC_VERSION.fullmatch(version), version
        assert re.search(
            rf"- Reference: `golden-cpu-empresa:{re.escape(version)}@sha256:[0-9a-f]{{64}}`", text
        )


def test_the_sbom_gives_python_and_debian_packages_by_their_package_urls() -> None:
    packages = sbom_packages(sbom({"pandas": "2.3.3", "numpy": "2.3.5"}, {"tini": "0.19.0-1"}))
    assert packages == {"Python": {"numpy": "2.3.5", "pandas": "2.3.3"}, "Debian": {"tini": "0.19.0-1"}}


def test_a_first_release_takes_the_unreleased_notes_and_lists_the_images_packages() -> None:
    text = add_release(CHANGELOG, image("1.0.0", {"pandas": "2.3.3", "numpy": "2.3.5"}), "2026-12-01")
    assert text.startswith(f"# Changelog\n\nIntro.\n\n{UNRELEASED}\n\n## [1.0.0] - 2026-12-01\n\n")
    section = text.split("## [1.0.0] - 2026-12-01\n\n", 1)[1]
    assert section.startswith("### Added\n- the first model API\n\n### Image\n\n")
    assert f"- Reference: `golden-cpu-empresa:1.0.0@{DIGEST}`" in section
    assert "- Source revision: `0123abc`" in section
    assert "- Packages, from the image's SBOM (`/etc/golden/sbom.cdx.json`): 2 Python, 1 Debian\n" in section
    assert "this is the first release with an image" in section
    assert "| numpy | 2.3.5 |\n| pandas | 2.3.3 |" in section
    assert packages_of_section(section) == {
        "Python": {"numpy": "2.3.5", "pandas": "2.3.3"},
        "Debian": {"python3": "3.11.2-1+b1"},
    }


def test_the_next_release_says_what_changed_since_the_last_ones_list() -> None:
    first = add_release(CHANGELOG, image("1.0.0", {"pandas": "2.3.3", "numpy": "2.3.5"}), "2026-12-01")
    notes = first.replace(f"{UNRELEASED}\n", f"{UNRELEASED}\n\n### Fixed\n- a leak\n", 1)
    second = add_release(notes, image("1.1.0", {"pandas": "2.4.0", "scipy": "1.16.0"}), "2027-01-15")
    assert second.index("## [1.1.0] - 2027-01-15") < second.index("## [1.0.0] - 2026-12-01")
    section = second.split("## [1.1.0] - 2027-01-15\n\n", 1)[1].split("## [1.0.0]", 1)[0]
    assert section.startswith("### Fixed\n- a leak\n\n### Image\n")
    assert "- Changed packages since 1.0.0: 3" in section
    assert (
        "- Python `numpy` 2.3.5 removed\n- Python `pandas` 2.3.3 → 2.4.0\n- Python `scipy` 1.16.0 added"
        in section
    )
    assert second.count(UNRELEASED) == 1
    assert "- the first model API" in second.split("## [1.0.0]", 1)[1], (
        "the earlier notes stay where they were"
    )


def test_package_changes_cover_both_kinds_and_nothing_when_equal() -> None:
    before = {"Python": {"a": "1"}, "Debian": {"libc6": "2.36-9"}}
    after = {"Python": {"a": "1"}, "Debian": {"libc6": "2.36-9+deb12u10"}}
    assert package_changes(before, after) == ["- Debian `libc6` 2.36-9 → 2.36-9+deb12u10"]
    assert package_changes(after, after) == []


@pytest.mark.parametrize(
    ("changelog", "version", "message"),
    [
        (CHANGELOG, "1.0", "'1.0' is no semantic version"),
        (CHANGELOG, "01.0.0", "'01.0.0' is no semantic version"),
        (CHANGELOG + "\n## [1.0.0] - 2026-01-01\n", "1.0.0", "already has a section for 1.0.0"),
        ("# Changelog\n\n## [0.9.0] - 2026-01-01\n", "1.0.0", "has no '## [Unreleased]' section"),
    ],
)
def test_what_cannot_be_released_is_refused_with_what_to_do(
    changelog: str, version: str, message: str
) -> None:
    with pytest.raises(ReleaseError, match=re.escape(message)):
        add_release(changelog, image(version, {"pandas": "2.3.3"}), "2026-12-01")


def test_a_prerelease_is_a_semantic_version() -> None:
    assert "## [1.0.0-rc.1] - 2026-12-01" in add_release(CHANGELOG, image("1.0.0-rc.1", {}), "2026-12-01")


def test_the_built_image_is_read_from_image_builds_files(tmp_path: Path) -> None:
    archive = tiny_archive(tmp_path)
    output = tmp_path / "output"
    output.mkdir()
    stem = output / f"{SPEC.name}-{SPEC.version}"
    shutil.copyfile(archive.archive, f"{stem}.oci.tar")
    Path(f"{stem}.digest").write_text(archive.manifest_digest + "\n")
    Path(f"{stem}.sbom.cdx.json").write_text(json.dumps(sbom({"numpy": "2.3.5"}, {"tini": "0.19.0-1"})))
    built = built_image(SPEC, output)
    assert built == BuiltImage(
        SPEC.name,
        SPEC.version,
        "test-one",
        archive.manifest_digest,
        {"Python": {"numpy": "2.3.5"}, "Debian": {"tini": "0.19.0-1"}},
    )


def test_no_build_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(CHANGELOG)
    assert main(["--output", str(tmp_path), "--changelog", str(changelog)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"image/release: no image of {SPEC.version} was built (")
    assert err.rstrip().endswith("missing): run image/build")
    assert changelog.read_text() == CHANGELOG


def test_an_image_of_another_commit_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tiny_archive(tmp_path)
    stem = tmp_path / f"{SPEC.name}-{SPEC.version}"
    shutil.copyfile(archive.archive, f"{stem}.oci.tar")
    Path(f"{stem}.digest").write_text(archive.manifest_digest + "\n")
    Path(f"{stem}.sbom.cdx.json").write_text(json.dumps(sbom({}, {})))
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(CHANGELOG)
    assert main(["--output", str(tmp_path), "--changelog", str(changelog)]) == 2
    assert "image/release: the image was built from test-one, this tree is " in capsys.readouterr().err
    assert changelog.read_text() == CHANGELOG
