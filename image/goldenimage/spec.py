"""``image/spec.toml``: the one description of the image, read by this builder and by flake.nix."""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ImageSpec", "LayerRule", "load_spec"]

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "image" / "spec.toml"


@dataclass(frozen=True)
class LayerRule:
    """Files of the root file system that go into one layer: matching ``paths`` and no ``not_paths``."""

    name: str
    description: str
    paths: tuple[str, ...]
    not_paths: tuple[str, ...] = ()

    def matches(self, path: str) -> bool:
        """Whether ``path`` (relative, no leading ``/``) belongs here, if no earlier layer took it."""
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.paths) and not any(
            fnmatch.fnmatchcase(path, pattern) for pattern in self.not_paths
        )


@dataclass(frozen=True)
class ImageSpec:
    """The parsed spec; ``raw`` is the TOML document as read."""

    name: str
    version: str
    raw: dict[str, Any]
    layers: tuple[LayerRule, ...]

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.raw["config"])

    @property
    def base(self) -> dict[str, Any]:
        return dict(self.raw["base"])

    @property
    def python(self) -> dict[str, Any]:
        return dict(self.raw["python"])

    @property
    def reference(self) -> str:
        """``<name>:<version>``."""
        return f"{self.name}:{self.version}"

    def layer_of(self, path: str) -> str:
        """The name of the first layer that takes ``path``."""
        for rule in self.layers:
            if rule.matches(path):
                return rule.name
        raise ValueError(f"no layer of image/spec.toml takes {path!r}: the last layer must match every path")


def load_spec(path: Path = SPEC_PATH, pyproject: Path = ROOT / "pyproject.toml") -> ImageSpec:
    """Read the spec; the version is the project's (``[project].version`` of ``pyproject``)."""
    raw = tomllib.loads(path.read_text())
    version = tomllib.loads(pyproject.read_text())["project"]["version"]
    layers = tuple(
        LayerRule(
            entry["name"], entry["description"], tuple(entry["paths"]), tuple(entry.get("not_paths", ()))
        )
        for entry in raw["layers"]
    )
    if not layers or layers[-1].paths != ("*",) or layers[-1].not_paths:
        raise ValueError(f'{path}: the last layer must take every remaining path (paths = ["*"])')
    return ImageSpec(name=raw["image"]["name"], version=version, raw=raw, layers=layers)
