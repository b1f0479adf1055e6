"""poetry.lock is complete, hash-locked, fresh and CPU-only."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from poetry.factory import Factory

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lock() -> dict[str, Any]:
    return tomllib.loads((ROOT / "poetry.lock").read_text())


@pytest.fixture(scope="module")
def packages(lock: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {package["name"]: package for package in lock["package"]}


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_lock_matches_pyproject() -> None:
    assert Factory().create_poetry(ROOT).locker.is_fresh(), "run ./dev lock and commit poetry.lock"


def test_every_locked_file_has_a_sha256(packages: dict[str, dict[str, Any]]) -> None:
    for name, package in packages.items():
        assert package["files"], f"{name} has no files"
        for entry in package["files"]:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", entry["hash"]), (name, entry)


def test_no_cuda_package_is_locked(packages: dict[str, dict[str, Any]]) -> None:
    assert not [name for name in packages if name.startswith(("nvidia-", "cuda-", "triton"))]


def test_torch_is_the_cpu_build_from_the_declared_cpu_index(
    packages: dict[str, dict[str, Any]], pyproject: dict[str, Any]
) -> None:
    torch = packages["torch"]
    cpu_source = {source["name"]: source["url"] for source in pyproject["tool"]["poetry"]["source"]}[
        "pytorch-cpu"
    ]
    assert torch["version"].endswith("+cpu")
    assert torch["source"] == {"type": "legacy", "url": cpu_source, "reference": "pytorch-cpu"}
    assert all("+cpu-" in entry["file"] for entry in torch["files"])
    assert any(entry["file"].endswith("cp311-cp311-manylinux_2_28_x86_64.whl") for entry in torch["files"])


def test_tensorflow_is_the_cpu_distribution(packages: dict[str, dict[str, Any]]) -> None:
    assert "tensorflow-cpu" in packages
    assert "tensorflow" not in packages


def test_only_declared_sources_and_no_local_paths_are_in_the_lock(
    lock: dict[str, Any], pyproject: dict[str, Any]
) -> None:
    declared = {source["url"] for source in pyproject["tool"]["poetry"]["source"]}
    used = {package["source"]["url"] for package in lock["package"] if "source" in package}
    assert used <= declared
    assert "file:" not in (ROOT / "poetry.lock").read_text()


def test_one_numpy_serves_every_framework(packages: dict[str, dict[str, Any]]) -> None:
    assert [name for name in packages if name == "numpy"] == ["numpy"]
    for dependent in ("tensorflow-cpu", "aeon", "statsmodels", "scikit-learn", "scipy", "pandas"):
        assert "numpy" in packages[dependent].get("dependencies", {}), dependent


def test_tool_poetry_pin_matches_the_dev_group_pin(pyproject: dict[str, Any]) -> None:
    tool_pin = re.search(
        r"^poetry==([^\s\\]+)", (ROOT / "tools" / "poetry-requirements.txt").read_text(), re.M
    )
    assert tool_pin is not None
    assert pyproject["tool"]["poetry"]["group"]["dev"]["dependencies"]["poetry"] == tool_pin.group(1)
