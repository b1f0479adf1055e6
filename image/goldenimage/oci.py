"""The image's config and manifests, written as one archive that podman, docker and skopeo load.

The archive is an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/...``) with
Docker's ``manifest.json`` beside it pointing at the same blobs (as ``docker save`` writes since
Docker 25), so ``podman load``, ``docker load`` and ``skopeo copy oci-archive:...`` all accept it.
Every byte depends only on the layers and the spec: JSON with sorted keys, tar entries sorted with
fixed times and owners.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from goldenimage.layers import Layer
from goldenimage.spec import ImageSpec

__all__ = ["Image", "archive_config", "healthcheck", "image_config", "open_archive", "write_archive"]

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class Image:
    """A written image archive and its digests."""

    archive: Path
    manifest_digest: str
    config_digest: str
    layers: tuple[Layer, ...]


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def created(epoch: int) -> str:
    """``SOURCE_DATE_EPOCH`` as the RFC 3339 time the image says it was created."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def healthcheck(check: dict[str, Any]) -> dict[str, Any]:
    """Docker's ``Healthcheck`` (durations in nanoseconds), an extension of the OCI config that Docker
    honours (moby's docker-image-spec, ``DockerOCIImageConfigExt``)."""
    seconds = 1_000_000_000
    return {
        "Test": list(check["test"]),
        "Interval": check["interval_seconds"] * seconds,
        "Timeout": check["timeout_seconds"] * seconds,
        "StartPeriod": check["start_period_seconds"] * seconds,
        "Retries": check["retries"],
    }


def image_config(spec: ImageSpec, layers: tuple[Layer, ...], epoch: int, revision: str) -> dict[str, Any]:
    """The OCI image config: the spec's runtime settings, labels, the layers' diff_ids and history."""
    settings = spec.config
    labels = {
        "org.opencontainers.image.title": spec.raw["image"]["title"],
        "org.opencontainers.image.description": spec.raw["image"]["description"],
        "org.opencontainers.image.version": spec.version,
        "org.opencontainers.image.revision": revision,
        "org.opencontainers.image.created": created(epoch),
        "org.opencontainers.image.licenses": spec.raw["image"]["licenses"],
        "org.opencontainers.image.ref.name": spec.reference,
    }
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": created(epoch),
        "config": {
            "User": settings["user"],
            "WorkingDir": settings["workdir"],
            "Entrypoint": list(settings["entrypoint"]),
            # In name order, as Nix's builtins.fromTOML gives them: both builders write the same list.
            "Env": [f"{name}={value}" for name, value in sorted(settings["env"].items())],
            "ExposedPorts": {f"{port}/tcp": {} for port in settings["ports"]},
            "Volumes": {volume: {} for volume in settings["volumes"]},
            "StopSignal": settings["stop_signal"],
            "Healthcheck": healthcheck(settings["healthcheck"]),
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [
            {
                "created": created(epoch),
                "created_by": f"golden image build: {layer.name} ({layer.description})",
            }
            for layer in layers
        ],
    }


def _add(
    archive: tarfile.TarFile, name: str, data: bytes | None = None, path: Path | None = None, epoch: int = 0
) -> None:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = epoch, 0, 0, "", "", 0o644
    if path is not None:
        info.size = path.stat().st_size
        with open(path, "rb") as content:
            archive.addfile(info, content)
    else:
        assert data is not None
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


def _blob(digest: str) -> str:
    return f"blobs/sha256/{digest.removeprefix('sha256:')}"


def write_archive(
    spec: ImageSpec, layers: tuple[Layer, ...], destination: Path, epoch: int, revision: str
) -> Image:
    """Write the image archive ``destination``; returns its digests."""
    config = _json(image_config(spec, layers, epoch, revision))
    config_digest = _digest(config)
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": LAYER, "digest": layer.digest, "size": layer.size} for layer in layers],
            "annotations": {"org.opencontainers.image.ref.name": spec.version},
        }
    )
    manifest_digest = _digest(manifest)
    index = _json(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": MANIFEST,
                    "digest": manifest_digest,
                    "size": len(manifest),
                    "annotations": {
                        "io.containerd.image.name": f"localhost/{spec.reference}",
                        "org.opencontainers.image.ref.name": spec.version,
                    },
                }
            ],
        }
    )
    docker_manifest = _json(
        [
            {
                "Config": _blob(config_digest),
                "RepoTags": [f"localhost/{spec.reference}"],
                "Layers": [_blob(layer.digest) for layer in layers],
            }
        ]
    )
    entries: list[tuple[str, bytes | None, Path | None]] = [
        ("blobs", None, None),
        ("blobs/sha256", None, None),
        (_blob(config_digest), config, None),
        (_blob(manifest_digest), manifest, None),
        *((_blob(layer.digest), None, layer.blob) for layer in layers),
        ("index.json", index, None),
        ("manifest.json", docker_manifest, None),
        ("oci-layout", _json({"imageLayoutVersion": "1.0.0"}), None),
    ]
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(destination, "w", format=tarfile.PAX_FORMAT) as archive:
        for name, data, path in sorted(entries, key=lambda entry: entry[0]):
            if data is None and path is None:
                info = tarfile.TarInfo(name)
                info.type, info.mode, info.mtime, info.uname, info.gname = (
                    tarfile.DIRTYPE,
                    0o755,
                    epoch,
                    "",
                    "",
                )
                archive.addfile(info)
            else:
                _add(archive, name, data, path, epoch)
    return Image(destination, manifest_digest, config_digest, layers)


@contextlib.contextmanager
def open_archive(archive: Path) -> Iterator[tuple[dict[str, Any], Callable[[str], bytes]]]:
    """The manifest of the single image in an OCI archive, and a reader of the archive's blobs by digest."""
    with tarfile.open(archive) as image:

        def read(name: str) -> bytes:
            member = image.extractfile(name)
            if member is None:
                raise ValueError(f"{archive}: {name} is no file")
            return member.read()

        def blob(digest: str) -> bytes:
            return read(f"blobs/sha256/{digest.removeprefix('sha256:')}")

        index = json.loads(read("index.json"))
        yield json.loads(blob(index["manifests"][0]["digest"])), blob


def archive_config(archive: Path) -> dict[str, Any]:
    """The image config of the single image in an OCI archive."""
    with open_archive(archive) as (manifest, blob):
        return dict(json.loads(blob(manifest["config"]["digest"])))
