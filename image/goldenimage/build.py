"""Build the image: Debian root, locked environment, dsdl_golden and DSDL's layout, layers, archive."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from goldenimage.layers import Layer, assign_layers, prune_compressed_cache, write_layer
from goldenimage.oci import Image, created, write_archive
from goldenimage.pyenv import build_wheel, fetch_locked_files, install_environment
from goldenimage.requirements import locked_files
from goldenimage.rootfs import debian_root, remove_run_leftovers
from goldenimage.sbom import sbom
from goldenimage.spec import ROOT, ImageSpec, LayerRule, load_spec

__all__ = ["LOWER_LAYER_INPUTS", "BuildPaths", "SourceState", "build_image", "source_state"]

#: What the layers below the last one are made from (besides Debian's archive and the downloaded
#: files, which the lock pins): their files carry the time of the last commit that changed these,
#: so that a commit touching only dsdl_golden, the notebooks or the docs leaves them bit-identical.
LOWER_LAYER_INPUTS = ("poetry.lock", "image/spec.toml", "image/goldenimage")

T = TypeVar("T")


@dataclass(frozen=True)
class BuildPaths:
    """Where a build works, caches downloads and writes its results."""

    work: Path
    cache: Path
    output: Path


@dataclass(frozen=True)
class SourceState:
    """The sources a build is made from.

    ``revision``: the git commit (``+dirty`` with uncommitted changes); ``epoch``: its commit time,
    the ``SOURCE_DATE_EPOCH`` of the top layer and the image config; ``base_epoch``: the commit time
    of the last change to :data:`LOWER_LAYER_INPUTS`, the ``SOURCE_DATE_EPOCH`` of the layers below.
    """

    revision: str
    epoch: int
    base_epoch: int


def _git(checkout: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=checkout, capture_output=True, text=True, check=True
    ).stdout.strip()


def source_state(checkout: Path = ROOT) -> SourceState:
    """The :class:`SourceState` of ``checkout`` (this one by default)."""
    revision = _git(checkout, "rev-parse", "HEAD")
    dirty = _git(checkout, "status", "--porcelain", "--untracked-files=no")
    epoch = int(_git(checkout, "log", "-1", "--format=%ct"))
    base_epoch = _git(checkout, "log", "-1", "--format=%ct", "--", *LOWER_LAYER_INPUTS)
    return SourceState(
        revision=f"{revision}+dirty" if dirty else revision,
        epoch=epoch,
        base_epoch=int(base_epoch) if base_epoch else epoch,  # a shallow clone may not see that commit
    )


def _step(name: str, action: Callable[[], T]) -> T:
    started = time.monotonic()
    print(f"image/build: {name} ...", file=sys.stderr, flush=True)
    result = action()
    print(f"image/build: {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return result


def golden_files(spec: ImageSpec, root: Path, revision: str, epoch: int) -> None:
    """DSDL's layout, the image's own files, and the facts telemetry reads about the image."""
    from dsdl_golden.export import export_notebook
    from dsdl_golden.workspace import copy_notebooks, lay_out

    dltk = root / "dltk"
    shutil.copytree(ROOT / "image" / "rootfs" / "dltk", dltk, dirs_exist_ok=True)
    lay_out(dltk)
    shutil.rmtree(dltk / "notebooks")
    copy_notebooks(ROOT / "template", dltk / "notebooks")
    for notebook in sorted((ROOT / "template").glob("*.ipynb")):  # ready for | fit MLTKContainer algo=<name>
        export_notebook(notebook, dltk / "app" / "model")
    (root / "srv").mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    golden = root / "etc" / "golden"
    golden.mkdir(parents=True, exist_ok=True)
    (golden / "version").write_text(spec.version + "\n")
    facts = {"name": spec.name, "version": spec.version, "revision": revision, "created": created(epoch)}
    (golden / "image.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    passwd = root / "etc" / "passwd"
    passwd.write_text(passwd.read_text() + "dltk:x:1001:0:dltk user:/dltk:/sbin/nologin\n")
    for writable in spec.raw["layout"]["group_writable"]:
        path = root / writable.lstrip("/")
        if path.is_file():
            path.chmod(0o664)


def build_image(paths: BuildPaths, source: SourceState, *, reuse_compressed: bool = True) -> Image:
    """Build from clean state in ``paths.work`` (removed when the image is written); returns the image.

    Downloads always come from the cache; ``reuse_compressed`` also reuses layers compressed by an
    earlier build when their content is the same (the reproducibility check turns it off).
    """
    spec = load_spec()
    revision, epoch, base_epoch = source.revision, source.epoch, source.base_epoch
    if paths.work.exists():
        shutil.rmtree(paths.work)
    root = paths.work / "rootfs"
    _step("Debian root (mmdebstrap)", lambda: debian_root(spec.base, root, base_epoch, paths.cache / "apt"))
    python = spec.python
    files = locked_files(ROOT / "poetry.lock", python["extras"], python["platform"])
    _step("locked files (download, sha256)", lambda: fetch_locked_files(files, paths.cache / "wheels"))
    built = paths.work / "built"
    wheels = [paths.cache / "wheels" / item.filename for item in files if item.is_wheel]
    wheels += [
        build_wheel(paths.cache / "wheels" / item.filename, built, base_epoch)
        for item in files
        if not item.is_wheel
    ]
    wheels.append(_step("dsdl_golden wheel", lambda: build_wheel(ROOT, built, epoch)))
    hashes = _step(
        "Python environment",
        lambda: install_environment(root, python, wheels, base_epoch, paths.work / "wheels"),
    )
    golden_files(spec, root, revision, epoch)
    site_packages = root / python["venv"].lstrip("/") / "lib/python3.11/site-packages"
    document = sbom(
        spec.name,
        spec.version,
        revision,
        created(epoch),
        root=root,
        site_packages=site_packages,
        hashes=hashes,
    )
    sbom_text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    (root / "etc" / "golden" / "sbom.cdx.json").write_text(sbom_text)
    remove_run_leftovers(root)
    trees = tuple(tree.lstrip("/") for tree in (spec.raw["layout"]["dltk"], spec.raw["layout"]["srv"]))
    assigned = assign_layers(spec, root)

    def layer(rule: LayerRule) -> Layer:
        return write_layer(
            root,
            assigned[rule.name],
            paths.work / "layers",
            epoch if rule is spec.layers[-1] else base_epoch,
            name=rule.name,
            description=rule.description,
            user_trees=trees,
            compressed_cache=paths.cache / "layers" if reuse_compressed else None,
        )

    layers = [_step(f"layer {rule.name}", lambda rule=rule: layer(rule)) for rule in spec.layers]  # type: ignore[misc]
    paths.output.mkdir(parents=True, exist_ok=True)
    archive = paths.output / f"{spec.name}-{spec.version}.oci.tar"
    image = _step("archive", lambda: write_archive(spec, tuple(layers), archive, epoch, revision))
    (paths.output / f"{spec.name}-{spec.version}.sbom.cdx.json").write_text(sbom_text)
    (paths.output / f"{spec.name}-{spec.version}.digest").write_text(image.manifest_digest + "\n")
    shutil.rmtree(paths.work)  # the root alone is 3.6 GB; the next build starts from clean state anyway
    if reuse_compressed:
        prune_compressed_cache(paths.cache / "layers", layers)
    return image
