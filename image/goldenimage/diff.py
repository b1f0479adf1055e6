"""What differs between two image archives: the manifests, then per layer the files that differ."""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

from goldenimage.oci import open_archive

__all__ = ["differences"]


def _read(archive: Path) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """The config and the (digest, compressed bytes) of each layer, in order."""
    with open_archive(archive) as (manifest, blob):
        config = json.loads(blob(manifest["config"]["digest"]))
        layers = [(layer["digest"], blob(layer["digest"])) for layer in manifest["layers"]]
    return config, layers


def _files(layer: bytes) -> dict[str, str]:
    """Each entry of a layer: its metadata and, for files, the sha256 of the content."""
    entries = {}
    with tarfile.open(fileobj=__import__("io").BytesIO(gzip.decompress(layer))) as archive:
        for member in archive:
            content = archive.extractfile(member) if member.isreg() else None
            digest = hashlib.sha256(content.read()).hexdigest()[:16] if content else member.linkname
            entries[member.name] = (
                f"{member.mode:o} {member.uid}:{member.gid} {member.mtime} {member.type!r} {digest}"
            )
    return entries


def differences(first: Path, second: Path, limit: int = 50) -> list[str]:
    """One line per difference (the config's fields, then per layer the files), empty when identical."""
    config_a, layers_a = _read(first)
    config_b, layers_b = _read(second)
    lines = [
        f"config {key}: {config_a.get(key)!r} != {config_b.get(key)!r}"
        for key in sorted(set(config_a) | set(config_b))
        if key != "rootfs" and config_a.get(key) != config_b.get(key)
    ]
    history = [entry["created_by"] for entry in config_a.get("history", [])]
    for position, ((digest_a, blob_a), (digest_b, blob_b)) in enumerate(
        zip(layers_a, layers_b, strict=False)
    ):
        if digest_a == digest_b:
            continue
        name = history[position] if position < len(history) else f"layer {position}"
        lines.append(f"{name}: {digest_a} != {digest_b}")
        files_a, files_b = _files(blob_a), _files(blob_b)
        changed = sorted(
            path for path in set(files_a) | set(files_b) if files_a.get(path) != files_b.get(path)
        )
        lines += [
            f"  {path}: {files_a.get(path, '(absent)')} != {files_b.get(path, '(absent)')}"
            for path in changed[:limit]
        ]
        if len(changed) > limit:
            lines.append(f"  ... {len(changed) - limit} more files differ")
    if len(layers_a) != len(layers_b):
        lines.append(f"layer count: {len(layers_a)} != {len(layers_b)}")
    return lines
