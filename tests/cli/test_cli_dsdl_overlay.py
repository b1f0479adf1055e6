"""``golden dsdl-overlay`` on a stand-in DSDL checkout: the tag_mapping.csv row as build.sh reads it, the
requirements file, the Dockerfile, the build context, idempotence and the errors. The checkout is made
twice (tests/support/dsdl_checkout.py): from our stand-in written from DSDL's contract, always, and from
the mirror's own build.sh, tag_mapping.csv and .gitignore when the mirror of DSDL's repository is there.
(tests/image/test_dsdl_overlay.py builds the result with buildah.)"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from dsdl_checkout import FROM_MIRROR, STAND_IN, DsdlFiles, have_mirror

from dsdl_golden import cli
from goldenimage.dsdl import TAG_MAPPING_HEADER, TagRow, images_stanza, load_overlay, with_row
from goldenimage.requirements import locked_files, requirements_text
from goldenimage.spec import ROOT, load_spec

NO_MIRROR = pytest.mark.skipif(
    not have_mirror(), reason="no mirror of splunk/splunk-mltk-container-docker (/work/.mirror/...)"
)

SPEC = load_spec()
OVERLAY = load_overlay(SPEC)
TAG = SPEC.name


@dataclasses.dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str


def golden(*argv: str | Path) -> Run:
    """``golden argv`` in this process, with its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(arg) for arg in argv])
    return Run(status, out.getvalue(), err.getvalue())


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(STAND_IN, id="stand-in"),
        pytest.param(FROM_MIRROR, id="mirror", marks=NO_MIRROR),
    ],
)
def dsdl(request: pytest.FixtureRequest) -> DsdlFiles:
    """Where the checkout's files come from: our stand-in written from DSDL's contract, or the mirror."""
    source: DsdlFiles = request.param
    return source


@pytest.fixture(scope="module")
def overlaid(dsdl: DsdlFiles, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """A stand-in checkout with the overlay written once, and that run."""
    checkout = dsdl.checkout(tmp_path_factory.mktemp("dsdl"))
    return checkout, golden("dsdl-overlay", checkout, "--project", ROOT)


def build_sh_reads(checkout: Path, tag: str) -> dict[str, str]:
    """The row's fields as the checkout's build.sh reads them: its own grep and ``echo $line | cut`` lines."""
    parsing = [
        line.strip()
        for line in (checkout / "build.sh").read_text().splitlines()
        if re.match(r"\s*(line=\$\(grep |\w+=\$\(echo \$line \| cut )", line)
    ]
    names = [line.split("=", 1)[0] for line in parsing[1:]]
    script = "\n".join([*parsing, *(f'printf "%s\\n" "${name}"' for name in names)])
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=checkout,
        env={"PATH": os.defpath, "tag": tag},
        capture_output=True,
        text=True,
        check=True,
    )
    return {"tag": tag, **dict(zip(names, result.stdout.splitlines(), strict=True))}


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_the_run_reports_what_it_wrote(overlaid: tuple[Path, Run]) -> None:
    checkout, run = overlaid
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == f"{checkout / 'tag_mapping.csv'}: row {TAG} added"
    assert f"build: cd {checkout} && ./build.sh {TAG} local/ {SPEC.version}" in lines
    assert "Successfully built" not in run.out  # pip's output goes to stderr


def test_the_row_reads_back_through_build_sh(dsdl: DsdlFiles, overlaid: tuple[Path, Run]) -> None:
    checkout, _ = overlaid
    table = (checkout / "tag_mapping.csv").read_text()
    original = dsdl.file("tag_mapping.csv").decode()
    assert table.startswith(original)  # DSDL's rows untouched, ours appended
    assert [line for line in table.splitlines() if line.startswith(f"{TAG},")] == [OVERLAY.row.line()]
    fields = build_sh_reads(checkout, TAG)
    assert fields == dataclasses.asdict(OVERLAY.row)
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", fields["base_image"])
    assert (checkout / "dockerfiles" / fields["dockerfile"]).is_file()
    assert (checkout / "requirements_files" / fields["base_requirements"]).is_file()
    assert fields["specific_requirements"] == "empty.txt"
    assert f"requirements_files/{fields['specific_requirements']}" in dsdl.paths()
    if dsdl.whole_tree:  # DSDL's contract does not list its dockerfiles
        assert f"dockerfiles/{fields['requirements_dockerfile']}" in dsdl.paths()
    assert fields["runtime"] == "none"
    assert SPEC.version in fields["title"]


def test_the_requirements_are_the_lock_exported_with_hashes(overlaid: tuple[Path, Run]) -> None:
    checkout, _ = overlaid
    python = SPEC.python
    exported = requirements_text(locked_files(ROOT / "poetry.lock", python["extras"], python["platform"]))
    written = (checkout / "requirements_files" / OVERLAY.row.base_requirements).read_text()
    assert written == exported
    lines = written.splitlines()
    assert all(re.fullmatch(r"\S+==\S+( --hash=sha256:[0-9a-f]{64})+", line) for line in lines)
    assert any(line.startswith("torch==2.13.0+cpu ") for line in lines)


def test_the_dockerfile_is_dsdls_style_with_the_specs_settings(overlaid: tuple[Path, Run]) -> None:
    checkout, _ = overlaid
    text = (checkout / "dockerfiles" / OVERLAY.row.dockerfile).read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
    assert instructions[:5] == [
        "ARG BASE_IMAGE",
        "FROM ${BASE_IMAGE}",
        "ARG TAG",
        "ARG REQUIREMENTS_PYTHON_BASE",
        "ARG REQUIREMENTS_PYTHON_SPECIFIC",
    ]
    config = SPEC.config
    assert instructions[-7:] == [
        f"USER {config['user']}",
        f"WORKDIR {config['workdir']}",
        "EXPOSE " + " ".join(map(str, config["ports"])),
        f"VOLUME {json.dumps(config['volumes'])}",
        f"STOPSIGNAL {config['stop_signal']}",
        "HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3"
        ' CMD ["/opt/venv/bin/golden", "health"]',
        f"ENTRYPOINT {json.dumps(config['entrypoint'])}",
    ]
    for name, value in config["env"].items():
        assert f'{name}="{value}"' in text
    assert "--require-hashes --no-deps ${PIP_INDEX_OPTIONS}" in text
    assert f"python3 -m venv {SPEC.python['venv']}" in text
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    assert not re.search(r"@[A-Z_]+@", text)


def test_the_context_holds_the_wheel_and_the_images_files(overlaid: tuple[Path, Run]) -> None:
    checkout, _ = overlaid
    context = checkout / OVERLAY.context
    assert [wheel.name for wheel in (context / "dist").iterdir()] == [
        f"dsdl_golden-{SPEC.version}-py3-none-any.whl"
    ]
    rootfs = context / "rootfs"
    assert (rootfs / "dltk" / "bootstrap_fast.sh").stat().st_mode & 0o111
    assert (rootfs / "dltk" / ".jupyter" / "jupyter_server_config.py").is_file()
    assert (rootfs / "dltk" / "app" / "main.py").is_file()
    assert (rootfs / "dltk" / "app" / "model" / "template_empresa_base.py").is_file()
    assert (rootfs / "dltk" / "notebooks" / "template_empresa_base.ipynb").is_file()
    assert (rootfs / "etc" / "golden" / "version").read_text() == f"{SPEC.version}\n"
    assert not (rootfs / "etc" / "passwd").exists()
    for path in (rootfs / "dltk").rglob("*"):
        mode = path.stat().st_mode
        assert (mode >> 3) & 0o7 == (mode >> 6) & 0o7, path  # group = user, as in the image


def test_everything_the_dockerfile_copies_is_written(overlaid: tuple[Path, Run]) -> None:
    checkout, _ = overlaid
    text = (checkout / "dockerfiles" / OVERLAY.row.dockerfile).read_text()
    sources = re.findall(r"^COPY (?:--chown=\S+ )?(\S+) ", text, flags=re.MULTILINE)
    literal = [source for source in sources if "${" not in source]
    assert literal
    written = [path for path in (checkout / OVERLAY.context).rglob("*") if path.is_file()]
    for source in literal:
        assert any(path.is_relative_to(checkout / source) for path in written), source


@NO_MIRROR  # DSDL's contract does not document its .gitignore: this needs DSDL's own file
def test_everything_written_can_be_committed_to_a_fork(tmp_path: Path) -> None:
    checkout = FROM_MIRROR.checkout(tmp_path / "dsdl")
    assert golden("dsdl-overlay", checkout, "--project", ROOT).status == 0
    written = [path for path in checkout.rglob("*") if path.is_file()]
    assert (checkout / ".gitignore") in written
    git = {"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(["git", "init", "-q", str(checkout)], env=git, check=True)
    ignored = subprocess.run(
        ["git", "-C", str(checkout), "check-ignore", "--stdin"],
        input="\n".join(str(path.relative_to(checkout)) for path in written),
        env=git,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert ignored == ""  # DSDL's .gitignore ignores wheels/ and build/, for instance


@pytest.mark.parametrize("runtime", ["none", "nvidia"])
def test_the_stanza_is_what_build_sh_writes(dsdl: DsdlFiles, runtime: str) -> None:
    echo = next(
        line for line in dsdl.file("build.sh").decode().splitlines() if line.startswith('echo -e "[$tag]')
    )
    script = echo.replace("> ./images_conf_files/$tag-images.txt", "")
    row = dataclasses.replace(OVERLAY.row, runtime=runtime)
    nvidia = 'if [ "$runtime" = "nvidia" ]; then runtime="none,nvidia"; fi; '
    written = subprocess.run(
        ["bash", "-c", f"{nvidia}{script}", "bash"],
        env={
            "tag": row.tag,
            "title": row.title,
            "version": "1.2.3",
            "repo": "registry.example/",
            "runtime": runtime,
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert images_stanza(row, "registry.example/", "1.2.3") == written


def test_running_it_again_changes_nothing(overlaid: tuple[Path, Run]) -> None:
    checkout, _ = overlaid
    before = snapshot(checkout)
    again = golden("dsdl-overlay", checkout, "--project", ROOT)
    assert again.status == 0, again.err
    assert again.out.splitlines()[0] == f"{checkout / 'tag_mapping.csv'}: row {TAG} replaced"
    after = snapshot(checkout)
    assert after.keys() == before.keys()
    assert [name for name in after if after[name] != before[name]] == []


def test_a_stale_row_is_replaced_where_it_was() -> None:
    stale = dataclasses.replace(OVERLAY.row, base_image="python:3.9", title="Old")
    text = "\n".join(
        [TAG_MAPPING_HEADER, "a,x,y,z,w,none,v,A", stale.line(), "b,x,y,z,w,none,v,B", stale.line()]
    )
    replaced, was_there = with_row(text, OVERLAY.row)
    assert was_there
    assert replaced.splitlines() == [
        TAG_MAPPING_HEADER,
        "a,x,y,z,w,none,v,A",
        OVERLAY.row.line(),
        "b,x,y,z,w,none,v,B",
    ]
    appended, was_there = with_row(TAG_MAPPING_HEADER, OVERLAY.row)  # no final newline
    assert (appended, was_there) == (f"{TAG_MAPPING_HEADER}\n{OVERLAY.row.line()}\n", False)


@pytest.mark.parametrize(
    "change",
    [
        {"dockerfile": "Dockerfile,x"},
        {"base_image": "python 3.11"},
        {"runtime": ""},
        {"title": "A, B"},
        {"title": "A*"},
    ],
)
def test_a_field_build_sh_would_mangle_is_refused(change: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"tag_mapping\.csv"):
        TagRow(**{**dataclasses.asdict(OVERLAY.row), **change}).line()


def not_a_checkout(tmp_path: Path, case: str) -> Path:
    checkout = tmp_path / "dsdl"
    if case == "missing":
        return checkout
    checkout.mkdir()
    if case in ("no-table", "other-table"):
        (checkout / "build.sh").write_text("#!/bin/bash\n")
    if case == "other-table":
        (checkout / "tag_mapping.csv").write_text("tag,image\n")
    if case == "no-build-sh":
        (checkout / "tag_mapping.csv").write_text(TAG_MAPPING_HEADER + "\n")
    return checkout


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "no such directory"),
        ("no-build-sh", "no build.sh"),
        ("no-table", "no tag_mapping.csv"),
        ("other-table", "tag_mapping.csv does not start with DSDL's header"),
    ],
)
def test_a_directory_that_is_not_a_dsdl_checkout_is_refused(tmp_path: Path, case: str, message: str) -> None:
    checkout = not_a_checkout(tmp_path, case)
    run = golden("dsdl-overlay", checkout, "--project", ROOT)
    assert (run.status, run.out) == (2, "")
    assert run.err.startswith(
        f"golden dsdl-overlay: {checkout}: not a checkout of splunk-mltk-container-docker: {message}"
    )
    assert run.err.count("\n") == 1
    assert not (checkout / "dockerfiles").exists()
    assert not (checkout / OVERLAY.context).exists()


def test_outside_the_project_it_says_where_to_run(
    dsdl: DsdlFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout = dsdl.checkout(tmp_path / "dsdl")
    monkeypatch.chdir(tmp_path)
    run = golden("dsdl-overlay", checkout)
    assert (run.status, run.out) == (2, "")
    assert run.err.startswith(f"golden dsdl-overlay: {tmp_path} is not inside a dsdl-golden checkout")
    other = tmp_path / "other"
    other.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    run = golden("dsdl-overlay", checkout, "--project", other)
    assert run.status == 2
    assert "no pyproject.toml of dsdl-golden there" in run.err
    assert (checkout / "tag_mapping.csv").read_bytes() == dsdl.file("tag_mapping.csv")


def test_a_project_without_the_image_builder_is_refused(dsdl: DsdlFiles, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "dsdl-golden"\n')
    run = golden("dsdl-overlay", dsdl.checkout(tmp_path / "dsdl"), "--project", tmp_path)
    assert (run.status, run.out) == (2, "")
    assert run.err == f"golden dsdl-overlay: {tmp_path}: no image/goldenimage/dsdl.py (the image builder)\n"


def test_a_repo_prefix_must_end_with_a_slash(dsdl: DsdlFiles, tmp_path: Path) -> None:
    run = golden("dsdl-overlay", dsdl.checkout(tmp_path), "--project", ROOT, "--repo", "registry.example")
    assert (run.status, run.out) == (2, "")
    assert "must end with '/'" in run.err
