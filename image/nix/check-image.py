"""Check a docker-archive image built by Nix against DSDL's contract and lib.imageConfig.

``python check-image.py IMAGE.tar.gz EXPECTED-CONFIG.json SPEC.toml`` (the flake's
``checks.image-contract``): the image's config section is exactly the expected one, and its last
layer (the customisation layer) holds the contract's files with their owners and modes.
"""

from __future__ import annotations

import json
import sys
import tarfile
import tomllib
from pathlib import Path


def _member(layer: tarfile.TarFile, path: str) -> tarfile.TarInfo:
    for name in (path, f"./{path}"):
        try:
            return layer.getmember(name)
        except KeyError:
            continue
    raise AssertionError(f"{path} is not in the image's customisation layer")


def main(image: Path, expected_config: Path, spec_path: Path) -> None:
    """Raise ``AssertionError`` naming the first difference."""
    spec = tomllib.loads(spec_path.read_text())
    with tarfile.open(image) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))[0]  # type: ignore[arg-type]
        config = json.load(archive.extractfile(manifest["Config"]))  # type: ignore[arg-type]
        expected = json.loads(expected_config.read_text())
        assert config["config"] == expected, f"config {config['config']} != lib.imageConfig {expected}"
        last = archive.extractfile(manifest["Layers"][-1])
        assert last is not None
        with tarfile.open(fileobj=last) as layer:
            user = tuple(int(part) for part in spec["config"]["user"].split(":"))
            for tree in (spec["layout"]["dltk"], spec["layout"]["srv"]):
                entry = _member(layer, tree.lstrip("/"))
                assert (entry.uid, entry.gid) == user, f"{tree} owned by {entry.uid}:{entry.gid}"
            entrypoint = _member(layer, spec["config"]["entrypoint"][-1].lstrip("/"))
            assert entrypoint.mode == 0o775, f"entrypoint mode {entrypoint.mode:o}"
            assert (entrypoint.uid, entrypoint.gid) == user, "entrypoint owner"
            passwd = _member(layer, "etc/passwd")
            assert passwd.isreg(), "/etc/passwd: a file, not a link into the store"
            assert passwd.mode == 0o664, "/etc/passwd: group-writable"
            assert _member(layer, "tmp").mode == 0o1777, "the root's tmp: mode 1777"
            facts = json.load(layer.extractfile(_member(layer, "etc/golden/image.json")))  # type: ignore[arg-type]
            assert facts["created"] == expected["Labels"]["org.opencontainers.image.created"], facts
            assert _member(layer, "usr/bin/tini").issym(), "/usr/bin/tini (the entrypoint's runner)"
            assert _member(layer, spec["python"]["venv"].lstrip("/")).issym(), "the venv"
    print(f"{image}: config and DSDL layout as expected")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
