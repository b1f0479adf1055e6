"""``golden image push REF``: publish the OCI archive ``image/build`` wrote, with its digest unchanged.

1. The archive: ``--archive FILE``, else ``build/image/<name>-<version>.oci.tar`` of the project
   (:mod:`dsdl_golden._cli.project`); its manifest digest is read from its ``index.json`` and checked
   against the manifest blob.
2. ``skopeo copy --preserve-digests oci-archive:ARCHIVE docker://REF`` (:mod:`dsdl_golden._cli.skopeo`)
   with the credentials of :mod:`dsdl_golden._cli.registry_auth`; skopeo's progress goes to stderr.
   With ``--sign-by FINGERPRINT`` skopeo also signs the manifest with that GPG key, the signature
   stored in the lookaside that registries.d configures (:mod:`dsdl_golden._cli.signing`).
3. The registry's manifest is read back (``skopeo inspect --raw``) and its sha256 must equal the
   archive's manifest digest.
4. ``REF@sha256:...`` is printed on stdout: the reference to deploy.

Exit status: 0 pushed (and signed) and verified; 1 the push or its signing failed or the registry holds
another digest; 2 the push could not start (no archive, no skopeo, unusable credentials, project or
registries.d directory). Messages never contain a secret: skopeo's output is redacted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from dsdl_golden._cli.project import ProjectError, default_archive, find_project
from dsdl_golden._cli.registry_auth import CredentialsError, registry_auth
from dsdl_golden._cli.signing import Signing, SigningError, failure_hint, prepare_signing
from dsdl_golden._cli.skopeo import Skopeo, SkopeoError, find_skopeo

__all__ = ["ArchiveError", "Reference", "archive_digest", "parse_reference", "parse_repository", "run"]

_COMPONENT: Final = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST: Final = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
_REPOSITORY: Final = rf"(?P<registry>{_HOST}(?::[0-9]+)?)/(?P<repository>{_COMPONENT}(?:/{_COMPONENT})*)"
_REFERENCE: Final = re.compile(rf"{_REPOSITORY}:(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})")
_COMMAND: Final = "golden image push"
_REFUSED: Final = ("unauthorized", "authentication required", "denied")
_LOGIN_HINT: Final = " (log in with --authfile FILE, REGISTRY_AUTH_FILE or --creds-env NAME)"


class ArchiveError(Exception):
    """The archive is missing or not an OCI image archive; ``str()`` says what to do."""


@dataclass(frozen=True)
class Reference:
    """Where to push: ``REGISTRY/REPOSITORY:TAG``."""

    registry: str
    repository: str
    tag: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def _names_registry(match: re.Match[str] | None) -> bool:
    """Whether the first component of a matched name is a registry host (so that nothing goes to
    Docker Hub by accident)."""
    registry = match.group("registry") if match else ""
    return "." in registry or ":" in registry or registry == "localhost"


def parse_reference(text: str) -> Reference:
    """``HOST[:PORT]/REPOSITORY:TAG`` (the registry named, so nothing goes to Docker Hub by accident;
    the tag explicit); raises ValueError with an example otherwise."""
    match = _REFERENCE.fullmatch(text)
    if match is None or not _names_registry(match):
        raise ValueError(
            f"expected HOST[:PORT]/REPOSITORY:TAG (lower-case repository, explicit tag), e.g. "
            f"registry.example.com/dsdl/golden-cpu-empresa:0.1.0; got {text!r}"
        )
    return Reference(match.group("registry"), match.group("repository"), match.group("tag"))


def parse_repository(text: str) -> str:
    """``HOST[:PORT]/REPOSITORY`` (the registry named, no tag), as given; raises ValueError with an
    example otherwise."""
    if not _names_registry(re.fullmatch(_REPOSITORY, text)):
        raise ValueError(
            f"expected HOST[:PORT]/REPOSITORY (lower-case repository, no tag), e.g. "
            f"registry.example.com/dsdl/golden-cpu-empresa; got {text!r}"
        )
    return text


def _member(archive: tarfile.TarFile, path: Path, name: str) -> bytes:
    """The content of the member ``name`` of ``archive`` (the file ``path``)."""
    try:
        file = archive.extractfile(name)
    except KeyError:
        file = None
    if file is None:
        raise ArchiveError(f"{path}: not an OCI image archive ({name} is missing)")
    return file.read()


def archive_digest(path: Path) -> str:
    """The manifest digest of the OCI archive ``path`` (the one image of its ``index.json``, as
    ``image/build`` prints and writes it to ``.digest``), checked against the manifest blob."""
    try:
        with tarfile.open(path) as archive:
            index: Any = json.loads(_member(archive, path, "index.json"))
            manifests = index.get("manifests") if isinstance(index, dict) else None
            if not isinstance(manifests, list) or len(manifests) != 1 or not isinstance(manifests[0], dict):
                raise ArchiveError(f"{path}: index.json must list exactly one image manifest")
            digest = str(manifests[0].get("digest", ""))
            blob = _member(archive, path, f"blobs/sha256/{digest.removeprefix('sha256:')}")
    except (OSError, tarfile.TarError, ValueError) as error:
        raise ArchiveError(f"{path}: not a readable OCI image archive: {error}") from None
    if f"sha256:{hashlib.sha256(blob).hexdigest()}" != digest:
        raise ArchiveError(f"{path}: the manifest blob does not match its digest {digest}: rebuild it")
    return digest


def resolve_archive(archive: str | None, project: str | None) -> Path:
    """``archive`` if given, else the project's default archive; raises :class:`ArchiveError` when the
    file is missing (saying how to build it)."""
    if archive is not None:
        path = Path(archive)
    else:
        path = default_archive(find_project(Path.cwd(), Path(project) if project is not None else None))
    if not path.is_file():
        raise ArchiveError(
            f"no image archive at {path}: build it with `sudo image/build` (or pass --archive FILE)"
        )
    return path


def _fail(message: str, status: int) -> int:
    print(f"{_COMMAND}: {message}", file=sys.stderr)
    return status


def run(args: Any) -> int:
    """``golden image push``: the arguments of :func:`dsdl_golden.cli` in, the exit status out."""
    reference: Reference = args.reference
    try:
        signing = Signing.of(args.sign_by, args.registries_d)
        archive = resolve_archive(args.archive, args.project)
        digest = archive_digest(archive)
        executable = find_skopeo()
    except (SigningError, ProjectError, ArchiveError, SkopeoError) as error:
        return _fail(str(error), 2)
    if not args.tls_verify:
        print(f"{_COMMAND}: warning: --no-tls-verify: {reference.registry} is not verified", file=sys.stderr)
    authfile = Path(args.authfile) if args.authfile is not None else None
    try:
        with registry_auth(
            reference.registry, authfile=authfile, creds_env=args.creds_env, environ=os.environ
        ) as auth:
            skopeo = Skopeo(executable, auth, args.tls_verify)
            options = prepare_signing(skopeo, str(reference), signing, sys.stderr) if signing else []
            print(f"pushing {archive} ({digest}) to {reference}", file=sys.stderr, flush=True)
            skopeo.push(archive, str(reference), sys.stderr, options)
            pushed = skopeo.manifest_digest(str(reference))
    except CredentialsError as error:
        return _fail(str(error), 2)
    except SigningError as error:
        return _fail(str(error), 1)
    except SkopeoError as error:
        refused = any(word in str(error) for word in _REFUSED)
        hint = _LOGIN_HINT if refused else (failure_hint(str(error)) if signing else "")
        return _fail(f"{error}{hint}", 1)
    if pushed != digest:
        return _fail(
            f"the registry serves {reference} with manifest digest {pushed}, not the archive's {digest}: "
            "it changed the image on the way (does it keep OCI manifests as pushed?)",
            1,
        )
    print(f"{reference}@{digest}")
    return 0
