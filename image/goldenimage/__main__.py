"""``python -m goldenimage build|check|diff`` (run by ``image/build``)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from goldenimage.build import BuildPaths, build_image, source_state
from goldenimage.diff import differences
from goldenimage.oci import Image
from goldenimage.space import ARCHIVE_BYTES, WORK_BYTES, shortfalls
from goldenimage.spec import ROOT


def _report(image: Image) -> None:
    print(f"image:   {image.archive}")
    print(f"digest:  {image.manifest_digest}   (config {image.config_digest})")
    for layer in image.layers:
        compressed, uncompressed = layer.size / 1e6, layer.uncompressed_size / 1e6
        print(
            f"layer {layer.name:<12} {compressed:9.1f} MB compressed {uncompressed:9.1f} MB uncompressed"
            f"  {layer.files:7d} entries  {layer.digest[:19]}"
        )
    total = sum(layer.size for layer in image.layers) / 1e6
    uncompressed_total = sum(layer.uncompressed_size for layer in image.layers) / 1e6
    print(f"total   {total:9.1f} MB compressed {uncompressed_total:9.1f} MB uncompressed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="image/build", description="Build the golden-cpu-empresa image without a daemon."
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "build" / "image", help="where the archive goes (build/image)"
    )
    parser.add_argument(
        "--cache", type=Path, default=ROOT / ".tools" / "cache" / "image", help="download cache"
    )
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "work", help="scratch directory")
    parser.add_argument(
        "--check", action="store_true", help="build twice from clean state and compare the digests (CI)"
    )
    parser.add_argument("--diff", nargs=2, type=Path, metavar=("A", "B"), help="only compare two archives")
    args = parser.parse_args(argv)
    if args.diff:
        lines = differences(*args.diff)
        print("\n".join(lines) if lines else "identical")
        return 1 if lines else 0
    source = source_state()
    paths = BuildPaths(args.work, args.cache, args.output)
    if paths.work.exists():
        shutil.rmtree(paths.work)  # an earlier build's scratch: the build starts from clean state anyway
    missing = shortfalls({paths.work: WORK_BYTES, paths.output: ARCHIVE_BYTES * (2 if args.check else 1)})
    if missing:
        print(
            f"image/build: not enough room on disk, it needs {'; '.join(missing)}. Free space there "
            "(podman image prune, old build folders) or give folders elsewhere: --work, --output",
            file=sys.stderr,
        )
        return 2
    image = build_image(paths, source, reuse_compressed=not args.check)
    _report(image)
    if not args.check:
        return 0
    first = args.output / "first"
    first.mkdir(parents=True, exist_ok=True)
    kept = first / image.archive.name
    shutil.move(image.archive, kept)
    again = build_image(paths, source, reuse_compressed=False)
    if again.manifest_digest == image.manifest_digest:
        print(f"reproducible: both builds gave {again.manifest_digest}")
        shutil.rmtree(first)
        return 0
    print(f"NOT reproducible: {image.manifest_digest} then {again.manifest_digest}", file=sys.stderr)
    print("\n".join(differences(kept, again.archive)), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
