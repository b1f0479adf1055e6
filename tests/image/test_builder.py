"""The image builder's pieces on small inputs: spec, lock selection, layers, archive, SBOM, differ."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from golden_testing import child_environ

from goldenimage.build import LOWER_LAYER_INPUTS, source_state
from goldenimage.diff import differences
from goldenimage.layers import assign_layers, prune_compressed_cache, write_layer
from goldenimage.oci import write_archive
from goldenimage.requirements import locked_files, requirements_text
from goldenimage.sbom import sbom
from goldenimage.spec import ROOT, load_spec

SPEC = load_spec()
SITE = "opt/venv/lib/python3.11/site-packages"
EPOCH = 1_790_000_000


def test_the_spec_gives_the_contract_and_the_project_version() -> None:
    config = SPEC.config
    assert (config["user"], config["workdir"]) == ("1001:0", "/srv")
    assert config["ports"] == [5000, 8888, 6006, 6000]
    assert config["entrypoint"][-1] == "/dltk/bootstrap_fast.sh"
    assert (ROOT / "image" / "rootfs" / config["entrypoint"][-1].lstrip("/")).is_file()
    assert SPEC.reference == f"golden-cpu-empresa:{SPEC.version}"
    assert [rule.name for rule in SPEC.layers] == ["debian", "frameworks", "environment", "golden"]


def test_only_changes_to_the_lower_layers_inputs_restamp_them(tmp_path: Path) -> None:
    def commit(path: str, when: int) -> None:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(f"changed at {when}\n")
        stamp = f"@{when} +0000"
        environment = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, "HOME": str(tmp_path)}
        environment |= {"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1"}
        for command in (["add", path], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", path]):
            subprocess.run(["git", *command], cwd=tmp_path, env=environment, check=True)

    subprocess.run(
        ["git", "init", "-q", str(tmp_path)], check=True, env=child_environ(GIT_CONFIG_NOSYSTEM="1")
    )
    commit("poetry.lock", EPOCH)
    commit("helpers/dsdl_golden/runtime.py", EPOCH + 100)  # our package: the top layer only
    first = source_state(tmp_path)
    assert (first.epoch, first.base_epoch) == (EPOCH + 100, EPOCH)
    assert not first.revision.endswith("+dirty")
    commit(f"{LOWER_LAYER_INPUTS[-1]}/layers.py", EPOCH + 200)  # the builder: every layer
    assert source_state(tmp_path).base_epoch == EPOCH + 200
    (tmp_path / "poetry.lock").write_text("uncommitted\n")
    assert source_state(tmp_path).revision.endswith("+dirty")


@pytest.mark.parametrize(
    ("path", "layer"),
    [
        ("usr/bin/python3.11", "debian"),
        ("etc/ssl/certs/ca-certificates.crt", "debian"),
        (f"{SITE}/torch/lib/libtorch_cpu.so", "frameworks"),
        (f"{SITE}/tensorflow/__init__.py", "frameworks"),
        (f"{SITE}/numpy/__init__.py", "environment"),
        ("opt/venv/bin/python", "environment"),
        (f"{SITE}/dsdl_golden/runtime.py", "golden"),
        (f"{SITE}/dsdl_golden-0.1.0.dist-info/RECORD", "golden"),
        ("dltk/bootstrap_fast.sh", "golden"),
        ("etc/passwd", "golden"),
        ("etc/golden/image.json", "golden"),
        ("srv/", "golden"),
    ],
)
def test_files_go_to_layers_by_how_often_they_change(path: str, layer: str) -> None:
    assert SPEC.layer_of(path) == layer


def test_the_lock_gives_one_cpu_file_per_package_for_bookworms_python() -> None:
    python = SPEC.python
    files = {
        item.name: item for item in locked_files(ROOT / "poetry.lock", python["extras"], python["platform"])
    }
    assert files["torch"].filename.startswith("torch-2.13.0+cpu-cp311-cp311-manylinux")
    assert files["torch"].source == "pytorch-cpu"
    assert files["tensorflow-cpu"].filename.endswith("cp311-cp311-manylinux_2_27_x86_64.whl")
    assert files["numpy"].filename.endswith(("x86_64.whl",))
    assert {"jupyterlab", "mlflow", "splunk-opentelemetry", "tensorboard", "fastapi"} <= set(files)
    assert not {name for name in files if name.startswith(("nvidia-", "cuda-", "triton"))}
    assert not {"pytest", "ruff", "colorama", "pywin32", "appnope"} & set(files)
    assert [item.name for item in files.values() if not item.is_wheel] == ["splunk-sdk"]
    text = requirements_text([files["torch"]])
    assert text.startswith("torch==2.13.0+cpu --hash=sha256:")


def make_root(path: Path) -> Path:
    """A small root file system with what the real one has: files, links, modes, empty directories."""
    (path / "usr/bin").mkdir(parents=True)
    (path / "usr/bin/tool").write_text("#!/bin/sh\n")
    (path / "usr/bin/tool").chmod(0o755)
    os.link(path / "usr/bin/tool", path / "usr/bin/tool-again")
    (path / "usr/bin/alias").symlink_to("tool")
    (path / f"{SITE}/torch").mkdir(parents=True)
    (path / f"{SITE}/torch/__init__.py").write_text("x = 1\n")
    (path / f"{SITE}/numpy").mkdir(parents=True)
    (path / f"{SITE}/numpy/__init__.py").write_text("y = 2\n")
    (path / "dltk/app").mkdir(parents=True)
    (path / "dltk/app/main.py").write_text("from dsdl_golden.runtime import app\n")
    (path / "dltk/app/main.py").chmod(0o640)
    (path / "srv").mkdir()
    (path / "tmp").mkdir()
    (path / "tmp").chmod(0o1777)
    (path / "etc").mkdir()
    (path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (path / "etc/passwd").chmod(0o664)
    return path


def write_all(root: Path, destination: Path) -> list:  # type: ignore[type-arg]
    assigned = assign_layers(SPEC, root)
    return [
        write_layer(
            root,
            assigned[rule.name],
            destination,
            EPOCH,
            name=rule.name,
            description=rule.description,
            user_trees=("dltk", "srv"),
        )
        for rule in SPEC.layers
    ]


def members(blob: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(blob) as archive:
        return {member.name: member for member in archive}


def test_layers_depend_only_on_content(tmp_path: Path) -> None:
    first = write_all(make_root(tmp_path / "a"), tmp_path / "layers-a")
    other = make_root(tmp_path / "b")
    for path in other.rglob("*"):
        if not path.is_symlink():
            os.utime(path, (1, 1))  # other times, other inode numbers: the same layers
    second = write_all(other, tmp_path / "layers-b")
    assert [(layer.diff_id, layer.digest) for layer in first] == [
        (layer.diff_id, layer.digest) for layer in second
    ]
    golden = members(first[3].blob)
    assert (golden["dltk/app/main.py"].uid, golden["dltk/app/main.py"].gid) == (1001, 0)
    assert oct(golden["dltk/app/main.py"].mode) == "0o660"  # the group gets the user's permissions
    assert (golden["srv"].uid, golden["srv"].isdir()) == (1001, True)
    assert oct(golden["tmp"].mode) == "0o1777"
    assert (golden["etc/passwd"].uid, oct(golden["etc/passwd"].mode)) == (0, "0o664")
    debian = members(first[0].blob)
    assert debian["usr/bin/tool-again"].isreg()  # a hard link is a file: layers do not point at each other
    assert debian["usr/bin/alias"].linkname == "tool"
    assert {member.mtime for member in debian.values()} == {EPOCH}
    assert {"usr", "usr/bin"} <= set(debian)
    assert set(members(first[1].blob)) >= {f"{SITE}/torch/__init__.py", "opt"}


def test_the_archive_is_reproducible_consistent_and_diffable(tmp_path: Path) -> None:
    root = make_root(tmp_path / "root")
    layers = tuple(write_all(root, tmp_path / "layers"))
    one = write_archive(SPEC, layers, tmp_path / "one.tar", EPOCH, "abc")
    two = write_archive(SPEC, layers, tmp_path / "two.tar", EPOCH, "abc")
    assert (tmp_path / "one.tar").read_bytes() == (tmp_path / "two.tar").read_bytes()
    assert one.manifest_digest == two.manifest_digest
    with tarfile.open(one.archive) as archive:

        def blob(digest: str) -> bytes:
            member = archive.extractfile(f"blobs/sha256/{digest.split(':')[1]}")
            assert member is not None
            data = member.read()
            assert hashlib.sha256(data).hexdigest() == digest.split(":")[1]
            return data

        index = json.loads(archive.extractfile("index.json").read())  # type: ignore[union-attr]
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        docker = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
        for layer in manifest["layers"]:
            blob(layer["digest"])
    assert config["config"]["User"] == "1001:0"
    assert config["config"]["ExposedPorts"] == {
        "5000/tcp": {},
        "8888/tcp": {},
        "6006/tcp": {},
        "6000/tcp": {},
    }
    assert config["rootfs"]["diff_ids"] == [layer.diff_id for layer in layers]
    assert config["config"]["Labels"]["org.opencontainers.image.revision"] == "abc"
    # Docker's health check, durations in nanoseconds (the container test runs its command in the image)
    assert config["config"]["Healthcheck"] == {
        "Test": ["CMD", "/opt/venv/bin/golden", "health"],
        "Interval": 30_000_000_000,
        "Timeout": 10_000_000_000,
        "StartPeriod": 120_000_000_000,
        "Retries": 3,
    }
    assert docker[0]["RepoTags"] == [f"localhost/{SPEC.reference}"]
    assert differences(one.archive, two.archive) == []

    (root / "dltk/app/main.py").write_text("changed\n")
    changed = write_archive(
        SPEC, tuple(write_all(root, tmp_path / "layers-2")), tmp_path / "three.tar", EPOCH, "abc"
    )
    lines = differences(one.archive, changed.archive)
    assert lines[0].startswith("golden image build: golden")
    assert lines[1].startswith("  dltk/app/main.py:")
    assert len(lines) == 2


def test_the_sbom_lists_debian_and_python_packages(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(
        "Package: python3\nStatus: install ok installed\nVersion: 3.11.2-1+b1\nArchitecture: amd64\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n"
    )
    site = root / SITE
    (site / "Numpy-2.3.5.dist-info").mkdir(parents=True)
    (site / "Numpy-2.3.5.dist-info/METADATA").write_text(
        "Metadata-Version: 2.1\nName: Numpy\nVersion: 2.3.5\n"
    )
    facts = ("img", "1.0", "rev", "2026-12-01T00:00:00Z")
    document = sbom(*facts, root=root, site_packages=site, hashes={"numpy": "ab" * 32})
    assert document == sbom(*facts, root=root, site_packages=site, hashes={"numpy": "ab" * 32})
    purls = {component["purl"]: component for component in document["components"]}
    assert set(purls) == {
        "pkg:deb/debian/python3@3.11.2-1+b1?arch=amd64&distro=debian-12",
        "pkg:pypi/numpy@2.3.5",
    }
    assert purls["pkg:pypi/numpy@2.3.5"]["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert document["bomFormat"] == "CycloneDX"


def test_a_layer_compressed_before_is_reused_by_content_and_the_cache_keeps_one_image(tmp_path: Path) -> None:
    root = make_root(tmp_path / "root")
    paths = assign_layers(SPEC, root)["golden"]
    cache = tmp_path / "compressed"

    def write(destination: str) -> Any:
        return write_layer(
            root,
            paths,
            tmp_path / destination,
            EPOCH,
            name="golden",
            description="",
            user_trees=("dltk",),
            compressed_cache=cache,
        )

    first = write("one")
    (cached,) = cache.iterdir()
    assert cached.name == f"{first.diff_id.split(':')[1]}.tar.gz"
    cached.write_bytes(first.blob.read_bytes())  # the cache is what a rebuild copies
    assert write("two").digest == first.digest
    (root / "dltk/app/main.py").write_text("other content\n")
    changed = write("three")
    assert changed.diff_id != first.diff_id
    assert len(list(cache.iterdir())) == 2
    prune_compressed_cache(cache, [changed])
    (kept,) = cache.iterdir()
    assert kept.name == f"{changed.diff_id.split(':')[1]}.tar.gz"
