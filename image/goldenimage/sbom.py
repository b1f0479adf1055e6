"""A CycloneDX 1.5 SBOM of every Debian and Python package in the root file system.

Debian packages come from dpkg's status file, Python distributions from the environment's
``*.dist-info/METADATA``; Python components carry the sha256 of the locked file that was installed.
The document depends only on the content (its serial number is derived from the image's name,
version and revision; its time is ``SOURCE_DATE_EPOCH``).
"""

from __future__ import annotations

import email.parser
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

__all__ = ["debian_packages", "python_packages", "sbom"]


def debian_packages(root: Path) -> list[dict[str, str]]:
    """Installed Debian packages: name, version, architecture."""
    packages = []
    for stanza in (root / "var/lib/dpkg/status").read_text().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" ")
        )
        if fields.get("Status", "").endswith(" installed"):
            packages.append(
                {"name": fields["Package"], "version": fields["Version"], "arch": fields["Architecture"]}
            )
    return sorted(packages, key=lambda package: package["name"])


def python_packages(site_packages: Path) -> list[dict[str, str]]:
    """Installed Python distributions: name and version from their metadata."""
    parser = email.parser.HeaderParser()
    packages = []
    for metadata in sorted(site_packages.glob("*.dist-info/METADATA")):
        headers = parser.parsestr(metadata.read_text(encoding="utf-8", errors="replace"))
        packages.append({"name": canonicalize_name(headers["Name"]), "version": headers["Version"]})
    return sorted(packages, key=lambda package: package["name"])


def sbom(
    name: str,
    version: str,
    revision: str,
    created: str,
    *,
    root: Path,
    site_packages: Path,
    hashes: Mapping[str, str],
) -> dict[str, Any]:
    """The SBOM document; ``hashes`` maps a Python package name to the sha256 of its installed file."""
    components: list[dict[str, Any]] = []
    for package in debian_packages(root):
        purl = (
            f"pkg:deb/debian/{package['name']}@{package['version']}?arch={package['arch']}&distro=debian-12"
        )
        components.append(
            {
                "type": "library",
                "bom-ref": purl,
                "name": package["name"],
                "version": package["version"],
                "purl": purl,
            }
        )
    for package in python_packages(site_packages):
        purl = f"pkg:pypi/{package['name']}@{package['version']}"
        component: dict[str, Any] = {
            "type": "library",
            "bom-ref": purl,
            "name": package["name"],
            "version": package["version"],
            "purl": purl,
        }
        if package["name"] in hashes:
            component["hashes"] = [{"alg": "SHA-256", "content": hashes[package["name"]]}]
        components.append(component)
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"https://dsdl-golden/{name}/{version}/{revision}")
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": created,
            "component": {"type": "container", "name": name, "version": version},
            "tools": {"components": [{"type": "application", "name": "dsdl-golden image/build"}]},
        },
        "components": components,
    }
