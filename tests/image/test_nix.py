"""The Nix side of the image (flake.nix, image/nix/) checked with Debian's Nix 2.8, offline.

Nix 2.8 cannot evaluate current nixpkgs or fetch anything here, so these tests check what it can:
every .nix file parses; flake.lock pins exactly flake.nix's inputs; and the image config the flake
exports (lib.imageConfig: image/nix/config.nix, builtins only) equals what the daemonless builder
writes from the same image/spec.toml (goldenimage.oci.image_config), evaluated both directly and
through flake.nix with stub inputs. Each Nix command runs with its own store, home and settings
under the test's temporary directory. ``image/nix-check`` installs Nix and runs this file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from goldenimage.oci import created, image_config
from goldenimage.spec import ROOT, load_spec

NIX_INSTANTIATE = shutil.which("nix-instantiate")
NIX = shutil.which("nix")
pytestmark = pytest.mark.skipif(
    NIX_INSTANTIATE is None or NIX is None,
    reason="Nix is not installed (image/nix-check installs Debian's nix-bin and runs these tests)",
)

SKIPPED_DIRECTORIES = {".git", ".venv", ".tools", "build", "node_modules", "__pycache__"}
NIX_FILES = sorted(
    path.relative_to(ROOT).as_posix()
    for path in ROOT.rglob("*.nix")
    if not SKIPPED_DIRECTORIES & set(path.relative_to(ROOT).parts)
)
# What flake.nix's lib.imageConfig reads (copied into a temporary flake, which Nix reads as a path).
FLAKE_FILES = ("flake.nix", "flake.lock", "pyproject.toml", "image/spec.toml", *NIX_FILES)
EPOCH = 1_790_000_000
REVISION = "0123456789abcdef0123456789abcdef01234567+dirty"


@pytest.fixture
def nix(tmp_path: Path) -> Any:
    """Run a Nix command in ``tmp_path``: own store, state, home and configuration; no network."""
    home = tmp_path / "home"
    (home / "nix-conf").mkdir(parents=True)
    environment = {
        "PATH": f"{Path(str(NIX)).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "NIX_CONF_DIR": str(home / "nix-conf"),  # not the machine's /etc/nix/nix.conf
        "NIX_USER_CONF_FILES": "",
        "NIX_CONFIG": "extra-experimental-features = nix-command flakes\nsubstituters =\n",
    }
    store = str(tmp_path / "store")

    def run(*arguments: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        command = [arguments[0], "--store", store, *arguments[1:]]
        return subprocess.run(
            command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300, check=False
        )

    return run


def _evaluate(nix: Any, expression: str) -> Any:
    result = nix("nix-instantiate", "--eval", "--strict", "--json", "--expr", expression, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _python_config(epoch: int, revision: str) -> dict[str, Any]:
    return dict(image_config(load_spec(), (), epoch, revision)["config"])


def _assert_same_config(from_nix: dict[str, Any], from_python: dict[str, Any]) -> None:
    """Field by field; Env as the environment it sets (the spec's env table: no order in Nix)."""
    assert sorted(from_nix) == sorted(from_python)
    for field in sorted(from_python):
        if field == "Env":
            continue
        assert from_nix[field] == from_python[field], field
    names = [entry.split("=", 1)[0] for entry in from_nix["Env"]]
    assert names == sorted(set(names)), "Env: one entry per variable, in name order"
    assert dict(entry.split("=", 1) for entry in from_nix["Env"]) == dict(
        entry.split("=", 1) for entry in from_python["Env"]
    )


def _flake_copy(tmp_path: Path) -> Path:
    flake = tmp_path / "flake"
    for relative in FLAKE_FILES:
        (flake / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / relative, flake / relative)
    return flake


def test_the_nix_files_are_found() -> None:
    assert {"flake.nix", "image/nix/config.nix", "image/nix/image.nix", "image/nix/poetry-lock.nix"} <= set(
        NIX_FILES
    )


@pytest.mark.parametrize("relative", NIX_FILES)
def test_every_nix_file_parses(nix: Any, relative: str) -> None:
    result = nix("nix-instantiate", "--parse", str(ROOT / relative))
    assert result.returncode == 0, result.stderr


def test_the_flake_lock_pins_every_input_of_flake_nix(nix: Any) -> None:
    inputs = _evaluate(nix, "builtins.attrNames (import ./flake.nix).inputs")
    lock = json.loads((ROOT / "flake.lock").read_text())
    assert lock["version"] == 7
    assert sorted(lock["nodes"]["root"]["inputs"]) == inputs
    for name, node in lock["nodes"].items():
        if name == "root":
            continue
        locked = node["locked"]
        assert locked["type"] == "github", name
        assert len(locked["rev"]) == 40, name
        assert int(locked["rev"], 16) >= 0, name
        assert locked["narHash"].startswith("sha256-"), name


def test_nix_finds_the_flake_lock_in_sync_offline(nix: Any, tmp_path: Path) -> None:
    flake = _flake_copy(tmp_path)
    result = nix("nix", "flake", "lock", "--no-update-lock-file", "--offline", f"path:{flake}")
    assert result.returncode == 0, result.stderr
    assert (flake / "flake.lock").read_bytes() == (ROOT / "flake.lock").read_bytes()


def test_nix_refuses_a_flake_lock_that_misses_an_input(nix: Any, tmp_path: Path) -> None:
    flake = _flake_copy(tmp_path)
    lock = json.loads((flake / "flake.lock").read_text())
    del lock["nodes"]["root"]["inputs"]["pyproject-nix"]
    (flake / "flake.lock").write_text(json.dumps(lock, indent=2) + "\n")
    result = nix("nix", "flake", "lock", "--no-update-lock-file", "--offline", f"path:{flake}")
    assert result.returncode != 0


@pytest.mark.parametrize(
    "epoch",
    [0, 951_782_400, 951_868_799, 1_709_251_199, 4_107_542_399, 4_107_542_400, EPOCH, 1_786_936_886],
)
def test_time_nix_writes_the_created_time_of_the_python_builder(nix: Any, epoch: int) -> None:
    assert _evaluate(nix, f"import ./image/nix/time.nix {epoch}") == created(epoch)


def test_config_nix_is_the_config_the_python_builder_writes(nix: Any) -> None:
    from_nix = _evaluate(
        nix,
        f'import ./image/nix/config.nix {{ spec = import ./image/nix/spec.nix ./.; revision = "{REVISION}";'
        f" epoch = {EPOCH}; }}",
    )
    assert from_nix["User"] == "1001:0"
    assert from_nix["Labels"]["org.opencontainers.image.revision"] == REVISION
    _assert_same_config(from_nix, _python_config(EPOCH, REVISION))


def test_the_flakes_lib_image_config_is_the_python_builders(nix: Any, tmp_path: Path) -> None:
    flake = _flake_copy(tmp_path)
    stub = tmp_path / "stub"  # every input replaced by an empty flake: nothing fetched, nothing built
    stub.mkdir()
    (stub / "flake.nix").write_text("{ outputs = _: { }; }\n")
    overrides = [
        argument
        for name in json.loads((flake / "flake.lock").read_text())["nodes"]["root"]["inputs"]
        for argument in ("--override-input", name, f"path:{stub}")
    ]
    common = ["--offline", "--no-write-lock-file", *overrides]
    metadata = nix("nix", "flake", "metadata", "--json", *common, f"path:{flake}")
    assert metadata.returncode == 0, metadata.stderr
    epoch = json.loads(metadata.stdout)["lastModified"]
    result = nix("nix", "eval", "--json", *common, f"path:{flake}#lib.imageConfig")
    assert result.returncode == 0, result.stderr
    from_flake = json.loads(result.stdout)
    # A path (not a git checkout) has no revision: the flake says so as image/build would not.
    assert from_flake["Labels"]["org.opencontainers.image.revision"] == "dirty"
    _assert_same_config(from_flake, _python_config(epoch, "dirty"))
