"""Run Poetry against package indexes that serve only the simple API.

Poetry reads release metadata for PyPI from the per-version JSON API
(``/pypi/<name>/<version>/json``).  Many mirrors (and this project's build
machines) serve only the simple API: PEP 691 JSON pages and PEP 658 metadata
files.  This wrapper starts Poetry's own command line with three fallbacks:

1. PyPI release info and download links come from the simple API when the
   per-version JSON API answers nothing.  Poetry builds the same package data
   from it (files and sha256 hashes, ``Requires-Dist``, ``Requires-Python``,
   summary), so the lock is the one Poetry writes against full PyPI: no source
   URLs and no mirror host names.
2. An explicit source that cannot be reached (connection refused, no route,
   DNS failure) is served from local wheel directories (``--find-links`` or
   pip's ``find-links`` setting) holding files of that source.  The lock still
   names the real source, and every file is checked against its sha256, so a
   wheel that differs from the published one fails the install.
3. Poetry's installer and metadata reader accept those local ``file:`` links.

On a network with the full PyPI API nothing falls back and Poetry behaves as
usual.  Usage: ``python tools/poetry_simple_index.py [--find-links DIR] <poetry args>``.
"""

from __future__ import annotations

import functools
import hashlib
import html
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from poetry.console.exceptions import PoetryRuntimeError
from poetry.core.packages.utils.link import Link
from poetry.core.packages.utils.utils import url_to_path
from poetry.inspection.info import PackageInfo
from poetry.installation.executor import Executor
from poetry.repositories.exceptions import PackageNotFoundError
from poetry.repositories.http_repository import HTTPRepository
from poetry.repositories.legacy_repository import LegacyRepository
from poetry.repositories.link_sources.html import HTMLPage
from poetry.repositories.pypi_repository import PyPiRepository

logger = logging.getLogger("poetry_simple_index")


def is_unreachable(error: BaseException) -> bool:
    """True when Poetry gave up on a source because it could not connect at all."""
    cause = error.__cause__ or error.__context__
    return isinstance(error, PoetryRuntimeError) and isinstance(
        cause, (OSError, requests.exceptions.ConnectionError)
    )


def release_info_from_simple_api(repo: HTTPRepository, name: Any, version: Any) -> dict[str, Any]:
    """Build Poetry's release info for ``name==version`` from the repository's simple page."""
    page = repo.get_page(name)
    links = list(page.links_for_version(name, version))
    empty = PackageInfo(
        name=name,
        version=version.text,
        summary="",
        requires_dist=[],
        requires_python=None,
        files=[],
        yanked=page.yanked(name, version),
        cache_version=str(repo.CACHE_VERSION),
    )
    return repo._links_to_data(links, empty)


def distribution_name(filename: str) -> str | None:
    """Return the canonical project name of a wheel or sdist file name, else None."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        return str(parse_sdist_filename(filename)[0])
    except ValueError:
        return None


@functools.cache
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalWheels:
    """Distribution files in local directories, served as a simple-API page."""

    def __init__(self, directories: list[Path]) -> None:
        self.directories = [d for d in directories if d.is_dir()]

    def page(self, repo_url: str, name: str) -> HTMLPage | None:
        files = [
            path
            for directory in self.directories
            for path in sorted(directory.iterdir())
            if distribution_name(path.name) == canonicalize_name(name)
        ]
        if not files:
            return None
        anchors = "".join(
            f'<a href="{html.escape(path.as_uri())}#sha256={sha256_of(path)}">{html.escape(path.name)}</a>\n'
            for path in files
        )
        return HTMLPage(f"{repo_url.rstrip('/')}/{name}/", f"<html><body>{anchors}</body></html>")


def install_fallbacks(local: LocalWheels) -> None:
    """Patch Poetry's repositories and installer with the three fallbacks."""
    pypi_release_info = PyPiRepository._get_release_info
    pypi_links = PyPiRepository.find_links_for_package
    legacy_page = LegacyRepository._get_page
    wheel_info = HTTPRepository._get_info_from_wheel
    download_archive = Executor._download_archive

    def _get_release_info(self: PyPiRepository, name: Any, version: Any) -> dict[str, Any]:
        try:
            return pypi_release_info(self, name, version)
        except PackageNotFoundError:
            return release_info_from_simple_api(self, name, version)

    def find_links_for_package(self: PyPiRepository, package: Any) -> list[Link]:
        links = pypi_links(self, package)
        if links:
            return links
        return list(self.get_page(package.name).links_for_version(package.name, package.version))

    unreachable_sources: set[str] = set()

    def _get_page(self: LegacyRepository, name: Any) -> Any:
        if self.url not in unreachable_sources:
            try:
                return legacy_page(self, name)
            except PoetryRuntimeError as error:
                if not is_unreachable(error):
                    raise
                unreachable_sources.add(self.url)
        page = local.page(self.url, name)
        if page is None:
            raise PackageNotFoundError(
                f"Source {self.name} ({self.url}) is unreachable and no local wheel of {name} lies in"
                f" {', '.join(map(str, local.directories)) or 'any --find-links directory'}."
            )
        logger.warning("source %s is unreachable; using %s from local wheels", self.name, name)
        return page

    def _get_info_from_wheel(self: HTTPRepository, link: Link) -> PackageInfo:
        if link.scheme == "file":
            return PackageInfo.from_wheel(url_to_path(link.url))
        return wheel_info(self, link)

    def _download_archive(self: Executor, operation: Any, url: str, dest: Path) -> None:
        if url.startswith("file:"):
            shutil.copyfile(url_to_path(url.split("#", 1)[0]), dest)
            return
        download_archive(self, operation, url, dest)

    PyPiRepository._get_release_info = _get_release_info  # type: ignore[method-assign]
    PyPiRepository.find_links_for_package = find_links_for_package  # type: ignore[method-assign]
    LegacyRepository._get_page = _get_page  # type: ignore[method-assign, assignment]
    HTTPRepository._get_info_from_wheel = _get_info_from_wheel  # type: ignore[method-assign]
    Executor._download_archive = _download_archive  # type: ignore[method-assign]


def pip_find_links() -> list[Path]:
    """pip's configured find-links directories (environment or pip.conf)."""
    configured = os.environ.get("PIP_FIND_LINKS")
    if configured is None:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.find-links"],
            capture_output=True,
            text=True,
            check=False,
        )
        configured = result.stdout if result.returncode == 0 else ""
    return [Path(entry) for entry in configured.split() if "://" not in entry]


def split_arguments(argv: list[str]) -> tuple[list[Path], list[str]]:
    """Take this wrapper's ``--find-links DIR`` options off the Poetry arguments."""
    directories: list[Path] = []
    rest: list[str] = []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--find-links":
            value = next(arguments, None)
            if value is None:
                raise SystemExit("poetry_simple_index: --find-links needs a directory")
            directories.append(Path(value))
        elif argument.startswith("--find-links="):
            directories.append(Path(argument.split("=", 1)[1]))
        else:
            rest.append(argument)
    return directories, rest


def main() -> int:
    logging.basicConfig(format="%(name)s: %(message)s")
    directories, poetry_arguments = split_arguments(sys.argv[1:])
    install_fallbacks(LocalWheels(directories or pip_find_links()))
    from poetry.console.application import main as poetry_main

    sys.argv = ["poetry", *poetry_arguments]
    return poetry_main()


if __name__ == "__main__":
    sys.exit(main())
