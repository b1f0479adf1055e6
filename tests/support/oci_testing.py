"""Small OCI image archives written by the image builder's own archive writer, and a reader of their
manifests, for the tests of ``golden image push``."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goldenimage.layers import Layer
from goldenimage.oci import Image, write_archive
from goldenimage.spec import load_spec

EPOCH = 1_790_000_000


def _layer(directory: Path, name: str, files: dict[str, bytes]) -> Layer:
    """A gzip layer of ``files`` (fixed times and owners) in ``directory``."""
    content = io.BytesIO()
    with tarfile.open(fileobj=content, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), EPOCH, 0o644
            archive.addfile(info, io.BytesIO(data))
    uncompressed = content.getvalue()
    compressed = gzip.compress(uncompressed, mtime=0)
    blob = directory / f"{name}.tar.gz"
    blob.write_bytes(compressed)
    return Layer(
        name=name,
        description=f"test layer {name}",
        blob=blob,
        diff_id=f"sha256:{hashlib.sha256(uncompressed).hexdigest()}",
        digest=f"sha256:{hashlib.sha256(compressed).hexdigest()}",
        size=len(compressed),
        uncompressed_size=len(uncompressed),
        files=len(files),
    )


def tiny_archive(directory: Path, marker: str = "one") -> Image:
    """An OCI archive of the real spec's config with two small layers (``marker`` changes the second,
    hence every digest), written as ``image/build`` writes the real one: ``directory/tiny.oci.tar``."""
    directory.mkdir(parents=True, exist_ok=True)
    layers = (
        _layer(directory, "base", {"etc/golden/version": b"0.0.0-test\n"}),
        _layer(directory, "golden", {"dltk/app/marker.txt": marker.encode()}),
    )
    return write_archive(load_spec(), layers, directory / "tiny.oci.tar", EPOCH, f"test-{marker}")


@dataclass(frozen=True)
class Manifest:
    """An image manifest: its bytes, digest and the digests it names."""

    raw: bytes

    @property
    def digest(self) -> str:
        return f"sha256:{hashlib.sha256(self.raw).hexdigest()}"

    @property
    def document(self) -> dict[str, Any]:
        return dict(json.loads(self.raw))

    @property
    def config_digest(self) -> str:
        return str(self.document["config"]["digest"])

    @property
    def layer_digests(self) -> list[str]:
        return [str(layer["digest"]) for layer in self.document["layers"]]


def archive_manifest(archive: Path) -> Manifest:
    """The manifest of the single image in an OCI archive (``index.json`` → ``blobs/sha256/...``)."""
    with tarfile.open(archive) as image:
        index = json.loads(image.extractfile("index.json").read())  # type: ignore[union-attr]
        (entry,) = index["manifests"]
        name = f"blobs/sha256/{entry['digest'].removeprefix('sha256:')}"
        return Manifest(image.extractfile(name).read())  # type: ignore[union-attr]
