"""tools/poetry_simple_index.py against a package index served on loopback.

The index serves a package both ways PyPI does: the per-version JSON API and the
simple API (PEP 691 JSON pages with PEP 658 metadata files).  Poetry must derive
the same release data from either, so the lock written through the fallback is
the lock Poetry writes against full PyPI.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from poetry.core.constraints.version import Version
from poetry.core.packages.dependency_group import MAIN_GROUP
from poetry.core.version.markers import AnyMarker
from poetry.packages.locker import Locker
from poetry.packages.transitive_package_info import TransitivePackageInfo
from poetry.repositories.exceptions import PackageNotFoundError
from poetry.repositories.legacy_repository import LegacyRepository
from poetry.repositories.pypi_repository import PyPiRepository
from poetry.utils.authenticator import Authenticator

import poetry_simple_index as wrapper

METADATA = """Metadata-Version: 2.1
Name: Alpha-Pkg
Version: 1.0
Summary: Alpha package for the index test
Requires-Python: >=3.9
Requires-Dist: beta>=2
Requires-Dist: gamma; sys_platform == "linux"
Requires-Dist: delta[fast]>=1; extra == "speed"
Provides-Extra: speed
"""


def build_wheel(name: str, version: str, metadata: str) -> bytes:
    """A minimal but valid wheel: METADATA, WHEEL and RECORD in the dist-info."""
    dist_info = f"{name}-{version}.dist-info"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr(f"{name}/__init__.py", "")
        wheel.writestr(f"{dist_info}/METADATA", metadata)
        wheel.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{dist_info}/RECORD", "")
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FakeIndex:
    """Files, metadata and the two APIs, as PyPI lays them out."""

    base: str = ""
    json_api: bool = True
    files: dict[str, bytes] = field(default_factory=dict)

    def add_release(self) -> None:
        self.files["alpha_pkg-1.0-py3-none-any.whl"] = build_wheel("alpha_pkg", "1.0", METADATA)
        self.files["alpha_pkg-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"] = build_wheel(
            "alpha_pkg", "1.0", METADATA
        )

    def simple_page(self) -> dict[str, object]:
        return {
            "meta": {"api-version": "1.1"},
            "name": "alpha-pkg",
            "versions": ["1.0"],
            "files": [
                {
                    "filename": name,
                    "url": f"{self.base}/files/{name}",
                    "hashes": {"sha256": sha256(data)},
                    "requires-python": ">=3.9",
                    "core-metadata": {"sha256": sha256(METADATA.encode())},
                    "size": len(data),
                    "upload-time": "2026-01-02T03:04:05.000000Z",
                    "yanked": False,
                }
                for name, data in sorted(self.files.items())
            ],
        }

    def release_json(self) -> dict[str, object]:
        return {
            "info": {
                "name": "Alpha-Pkg",
                "version": "1.0",
                "summary": "Alpha package for the index test",
                "requires_dist": [
                    "beta>=2",
                    'gamma; sys_platform == "linux"',
                    'delta[fast]>=1; extra == "speed"',
                ],
                "requires_python": ">=3.9",
                "yanked": False,
                "yanked_reason": None,
            },
            "urls": [
                {
                    "filename": name,
                    "url": f"{self.base}/files/{name}",
                    "digests": {"sha256": sha256(data)},
                    "packagetype": "bdist_wheel",
                    "size": len(data),
                    "upload_time_iso_8601": "2026-01-02T03:04:05.000000Z",
                    "yanked": False,
                }
                for name, data in sorted(self.files.items())
            ],
        }

    def respond(self, path: str) -> tuple[int, str, bytes]:
        if path == "/simple/alpha-pkg/":
            return 200, "application/vnd.pypi.simple.v1+json", json.dumps(self.simple_page()).encode()
        if path == "/pypi/alpha-pkg/1.0/json" and self.json_api:
            return 200, "application/json", json.dumps(self.release_json()).encode()
        if path.startswith("/files/"):
            name = path.removeprefix("/files/")
            if name.endswith(".metadata") and name.removesuffix(".metadata") in self.files:
                return 200, "text/plain", METADATA.encode()
            if name in self.files:
                return 200, "application/octet-stream", self.files[name]
        return 404, "text/plain", b"not found"


@pytest.fixture(scope="module", autouse=True)
def fallbacks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the wrapper's fallbacks once, with a local wheel directory."""
    wheels = tmp_path_factory.mktemp("wheels")
    (wheels / "alpha_pkg-1.0-py3-none-any.whl").write_bytes(build_wheel("alpha_pkg", "1.0", METADATA))
    (wheels / "unrelated-2.0-py3-none-any.whl").write_bytes(build_wheel("unrelated", "2.0", "Name: x\n"))
    wrapper.install_fallbacks(wrapper.LocalWheels([wheels]))
    return wheels


@pytest.fixture
def index() -> Iterator[FakeIndex]:
    fake = FakeIndex()
    fake.add_release()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, content_type, body = fake.respond(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def lock_entry(index: FakeIndex, tmp_path: Path) -> dict[str, object]:
    """The poetry.lock entry Poetry writes for alpha-pkg 1.0 from this index."""
    package = PyPiRepository(url=index.base + "/", disable_cache=True).package(
        "alpha-pkg", Version.parse("1.0")
    )
    locker = Locker(tmp_path / "poetry.lock", {})
    return locker._dump_package(package, TransitivePackageInfo(0, {MAIN_GROUP}, {MAIN_GROUP: AnyMarker()}))


def test_simple_api_gives_the_lock_entry_of_the_json_api(index: FakeIndex, tmp_path: Path) -> None:
    from_json = lock_entry(index, tmp_path)
    index.json_api = False
    from_simple = lock_entry(index, tmp_path)

    assert from_simple == from_json
    assert from_simple["description"] == "Alpha package for the index test"
    assert len(from_simple["files"]) == 2  # type: ignore[arg-type]
    assert "source" not in from_simple


def test_download_links_fall_back_to_the_simple_api(index: FakeIndex) -> None:
    index.json_api = False
    repository = PyPiRepository(url=index.base + "/", disable_cache=True)
    package = repository.package("alpha-pkg", Version.parse("1.0"))

    links = repository.find_links_for_package(package)

    assert sorted(link.filename for link in links) == sorted(index.files)
    assert all(link.hashes["sha256"] == sha256(index.files[link.filename]) for link in links)


def test_package_from_simple_api_locks_without_a_source(index: FakeIndex) -> None:
    index.json_api = False
    package = PyPiRepository(url=index.base + "/", disable_cache=True).package(
        "alpha-pkg", Version.parse("1.0")
    )

    assert package.source_type is None
    assert package.source_url is None
    assert {str(dependency) for dependency in package.requires} >= {"beta (>=2)"}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poetry waits between its five connection attempts; the test need not."""
    monkeypatch.setattr(Authenticator, "_get_backoff", lambda self, response, attempt: 0.0)


@pytest.mark.usefixtures("no_retry_wait")
def test_unreachable_explicit_source_is_served_from_local_wheels(fallbacks: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/whl/cpu"
    repository = LegacyRepository("cpu-index", url, disable_cache=True)

    package = repository.package("alpha-pkg", Version.parse("1.0"))

    wheel = fallbacks / "alpha_pkg-1.0-py3-none-any.whl"
    assert package.source_type == "legacy"
    assert package.source_url == url
    assert package.source_reference == "cpu-index"
    assert package.files == [
        {"file": wheel.name, "hash": f"sha256:{sha256(wheel.read_bytes())}", "url": wheel.as_uri()}
    ]
    assert {str(dependency) for dependency in package.requires} >= {"beta (>=2)"}


@pytest.mark.usefixtures("no_retry_wait")
def test_unreachable_source_without_a_local_wheel_names_the_directories(fallbacks: Path) -> None:
    repository = LegacyRepository(
        "cpu-index", f"http://127.0.0.1:{closed_port()}/whl/cpu", disable_cache=True
    )

    with pytest.raises(PackageNotFoundError, match=str(fallbacks)):
        repository.package("missing-pkg", Version.parse("1.0"))


def test_reachable_source_that_lacks_a_package_does_not_fall_back(index: FakeIndex) -> None:
    repository = LegacyRepository("other", index.base + "/simple", disable_cache=True)

    with pytest.raises(PackageNotFoundError):
        repository.package("unrelated", Version.parse("2.0"))


def test_find_links_options_are_taken_off_the_poetry_arguments() -> None:
    directories, rest = wrapper.split_arguments(["--find-links", "/a", "lock", "--find-links=/b", "-v"])

    assert directories == [Path("/a"), Path("/b")]
    assert rest == ["lock", "-v"]
