"""Signed images: ``golden image push --sign-by`` and ``golden image policy``.

Signing is skopeo's GPG "simple signing": ``skopeo copy --sign-by FINGERPRINT`` signs the manifest
digest with a secret key of the user's keyring (``$GNUPGHOME``, else ``~/.gnupg``). A registry such as
distribution's ``docker-registry`` has no signature API, so skopeo writes the signature to the
*lookaside* that containers-registries.d(5) configures for the registry (``lookaside-staging``, else
``lookaside``: a ``file://`` directory, published where verifiers read it).

Before pushing, :func:`prepare_signing` asks skopeo where it would write the signature: without a
lookaside for the registry skopeo silently keeps the signature in a directory of this machine
(``/var/lib/containers/sigstore``) where no verifier finds it, so that is refused, as is a lookaside
skopeo cannot write to (``http(s)://`` without a ``lookaside-staging``). (A registry with the
signature API extension, OpenShift's, needs no lookaside: sign for it with skopeo itself.)

Verifying is containers-policy.json(5) (podman, CRI-O, skopeo): :func:`policy_document` rejects every
image except those of one repository signed by the key (``signedBy``, ``matchRepository``), and
:func:`registries_d_yaml` tells them where that repository's signatures are read.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from dsdl_golden._cli.skopeo import Skopeo, log_messages

__all__ = [
    "Signing",
    "SigningError",
    "failure_hint",
    "lookaside_url",
    "parse_fingerprint",
    "policy_document",
    "prepare_signing",
    "public_key",
    "registries_d_name",
    "registries_d_yaml",
    "run_policy",
]

_COMMAND: Final = "golden image policy"
_FINGERPRINT: Final = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
#: skopeo's (containers/image's) debug messages saying where signatures of the destination go.
_NOT_CONFIGURED: Final = re.compile(r"No signature storage configuration found for ")
_CONFIGURED: Final = re.compile(
    r'Using "(?:lookaside|lookaside-staging|sigstore|sigstore-staging)" (?P<url>\S+)'
)
_CONFIGURE: Final = (
    "configure a lookaside for the repository in a registries.d YAML file (lookaside-staging: "
    "file:///DIR where signers write, lookaside: where verifiers read; `golden image policy "
    "--lookaside DIR_OR_URL --registries-d DIR` writes one) and pass --registries-d DIR"
)
_ARMORED_PUBLIC: Final = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"
_ARMORED_SECRET: Final = b"-----BEGIN PGP PRIVATE KEY BLOCK-----"
_PUBLIC_KEY_TAG: Final = 6
_SECRET_KEY_TAG: Final = 5
_LOOKASIDE_SCHEMES: Final = ("file", "http", "https")


class SigningError(Exception):
    """Signing or the policy cannot be set up as asked; ``str()`` says what to configure."""


def parse_fingerprint(text: str) -> str:
    """A GPG key fingerprint (40 hex digits, 64 for v5 keys; spaces ignored), upper-case; raises
    ValueError naming where to find it."""
    fingerprint = text.replace(" ", "").upper()
    if not _FINGERPRINT.fullmatch(fingerprint):
        raise ValueError(
            f"expected the fingerprint of a GPG key (40 hex digits, as `gpg --list-secret-keys` shows "
            f"it); got {text!r}"
        )
    return fingerprint


@dataclass(frozen=True)
class Signing:
    """Sign with the secret key ``fingerprint``; skopeo reads registries.d from ``registries_d`` (None:
    its default, ``/etc/containers/registries.d`` or ``~/.config/containers/registries.d``)."""

    fingerprint: str
    registries_d: Path | None

    @classmethod
    def of(cls, sign_by: str | None, registries_d: str | None) -> Signing | None:
        """The signing that ``--sign-by`` and ``--registries-d`` ask for (None: no signing); raises
        :class:`SigningError` for a registries.d that is not a directory or without ``--sign-by``."""
        if sign_by is None:
            if registries_d is not None:
                raise SigningError("--registries-d DIR configures where signatures go: give --sign-by too")
            return None
        if registries_d is not None and not Path(registries_d).is_dir():
            raise SigningError(f"--registries-d {registries_d}: no such directory")
        return cls(sign_by, Path(registries_d) if registries_d is not None else None)

    @property
    def registries_options(self) -> list[str]:
        """``--registries.d DIR`` for skopeo, when a directory was given."""
        return ["--registries.d", str(self.registries_d)] if self.registries_d is not None else []

    @property
    def options(self) -> list[str]:
        """skopeo copy's options that sign the pushed manifest."""
        return ["--sign-by", self.fingerprint, *self.registries_options]

    def where(self) -> str:
        """The registries.d skopeo reads, for messages."""
        if self.registries_d is not None:
            return f"--registries-d {self.registries_d}"
        return "skopeo's registries.d (/etc/containers/registries.d, or ~/.config/containers/registries.d)"


def prepare_signing(skopeo: Skopeo, reference: str, signing: Signing, log: TextIO) -> list[str]:
    """Check where skopeo will write the signature of ``reference``, say it on ``log`` and return the
    copy options that sign; raises :class:`SigningError` (nothing pushed) when registries.d configures
    no lookaside for it, or one skopeo cannot write to.

    The check is a ``skopeo copy --debug`` from a source that does not exist: skopeo resolves the
    destination (and its signature storage, which it logs) before it opens the source, so it stops
    there without contacting the registry."""
    with tempfile.TemporaryDirectory(prefix="golden-sign-") as directory:
        command = skopeo.copy_command(
            f"oci:{Path(directory) / 'none'}", reference, ["--debug", *signing.registries_options]
        )
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", check=False
        )
    messages = log_messages(skopeo.auth.redact(result.stderr).splitlines(), "debug")
    for message in messages:
        if _NOT_CONFIGURED.search(message):
            raise SigningError(
                f"--sign-by: no lookaside is configured for {reference} in {signing.where()} (skopeo: "
                f"{message.strip()}): the signature would stay on this machine, where no verifier reads "
                f"it; {_CONFIGURE}; nothing was pushed"
            )
        configured = _CONFIGURED.search(message)
        if configured is None:
            continue
        url = configured.group("url")
        if not url.startswith("file:"):
            raise SigningError(
                f"--sign-by: skopeo cannot write signatures to {url} (only to a file:// lookaside): add "
                f"`lookaside-staging: file:///DIR` for the repository in {signing.where()} and publish DIR "
                f"there; nothing was pushed"
            )
        print(f"signing with GPG key {signing.fingerprint}; signatures stored in {url}", file=log, flush=True)
    return signing.options


def failure_hint(message: str) -> str:
    """What to do after a signed push failed with skopeo's ``message`` (skopeo signs once the manifest
    is in the registry: a failed signature leaves the image there unsigned)."""
    if "creating signature" in message.lower():
        return (
            " (the image is in the registry without a signature: --sign-by takes the fingerprint of a "
            "secret key in the GPG keyring of $GNUPGHOME or ~/.gnupg, see `gpg --list-secret-keys`)"
        )
    if "writing signature" in message.lower():
        return " (the image is in the registry without a signature: make the lookaside-staging writable)"
    return ""


def public_key(path: Path) -> Path:
    """``path``, absolute, once checked to hold an OpenPGP public key (binary, as ``gpg --export``
    writes it, or ASCII-armored); raises :class:`SigningError` saying how to export one."""
    export = "export the public key with `gpg --export FINGERPRINT > key.gpg`"
    try:
        with open(path, "rb") as file:
            head = file.read(64)
    except OSError as error:
        raise SigningError(f"--key {path}: cannot read it ({error.strerror}): {export}") from None
    text = head.lstrip()
    if text.startswith(_ARMORED_SECRET):
        raise SigningError(f"--key {path}: a secret key, which verifiers must not get: {export}")
    if not head:
        raise SigningError(f"--key {path}: empty (gpg exports nothing for an unknown key): {export}")
    if not text.startswith(_ARMORED_PUBLIC):
        first = head[0]
        # An OpenPGP packet header: bit 7 set; bit 6 set for the new format (tag in bits 5-0), else
        # the tag is in bits 5-2.
        tag = None if not first & 0x80 else first & 0x3F if first & 0x40 else (first >> 2) & 0x0F
        if tag == _SECRET_KEY_TAG:
            raise SigningError(f"--key {path}: a secret key, which verifiers must not get: {export}")
        if tag != _PUBLIC_KEY_TAG:
            raise SigningError(f"--key {path}: not an OpenPGP public key: {export}")
    return Path(os.path.abspath(path))


def lookaside_url(text: str) -> str:
    """The lookaside URL for ``text``: a ``file://``, ``http://`` or ``https://`` URL as given, a
    directory as an absolute ``file://`` URL; raises :class:`SigningError` for another scheme."""
    if "://" not in text:
        return Path(os.path.abspath(text)).as_uri()
    scheme = urllib.parse.urlsplit(text).scheme
    if scheme not in _LOOKASIDE_SCHEMES:
        raise SigningError(f"--lookaside {text}: expected a directory or a file://, http:// or https:// URL")
    return text


def policy_document(key: Path, repository: str) -> dict[str, Any]:
    """containers-policy.json: reject every image, except on the ``docker`` transport those of
    ``repository`` (``HOST[:PORT]/PATH``) with a valid signature by the GPG key in the file ``key``
    for that repository (any tag or digest)."""
    return {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                repository: [
                    {
                        "type": "signedBy",
                        "keyType": "GPGKeys",
                        "keyPath": str(key),
                        "signedIdentity": {"type": "matchRepository"},
                    }
                ]
            }
        },
    }


def registries_d_yaml(repository: str, lookaside: str) -> str:
    """A registries.d YAML document: the signatures of ``repository`` are read from (and, without a
    ``lookaside-staging``, written to) ``lookaside``. Strings are JSON's, a subset of YAML's."""
    return (
        f"# golden image policy: where the signatures of {repository} are (containers-registries.d(5))\n"
        f"docker:\n  {json.dumps(repository)}:\n    lookaside: {json.dumps(lookaside)}\n"
    )


def registries_d_name(repository: str) -> str:
    """The registries.d file name for ``repository`` (one per repository, rewritten in place)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", repository) + ".yaml"


def _fail(message: str, status: int) -> int:
    print(f"{_COMMAND}: {message}", file=sys.stderr)
    return status


def run_policy(args: Any) -> int:
    """``golden image policy``: the policy on stdout (or ``--output FILE``), the registries.d YAML of
    ``--lookaside`` written into ``--registries-d DIR`` or shown on stderr. Exit status 0; 2 for
    unusable arguments; 1 when a file cannot be written."""
    repository: str = args.repository
    try:
        key = public_key(Path(args.key))
        lookaside = lookaside_url(args.lookaside) if args.lookaside is not None else None
        if args.registries_d is not None and lookaside is None:
            raise SigningError(
                "--registries-d DIR is where the YAML of --lookaside goes: give --lookaside too"
            )
    except SigningError as error:
        return _fail(str(error), 2)
    policy = json.dumps(policy_document(key, repository), indent=2) + "\n"
    try:
        if args.output is None:
            sys.stdout.write(policy)
        else:
            Path(args.output).write_text(policy, encoding="utf-8")
            print(f"wrote {args.output}: only {repository} signed by {key} is accepted", file=sys.stderr)
        if lookaside is not None:
            document = registries_d_yaml(repository, lookaside)
            name = registries_d_name(repository)
            if args.registries_d is None:
                print(
                    f"registries.d: save this as /etc/containers/registries.d/{name} (or pass "
                    f"--registries-d DIR) where images are pushed and verified:\n{document}",
                    file=sys.stderr,
                    end="",
                )
            else:
                directory = Path(args.registries_d)
                directory.mkdir(parents=True, exist_ok=True)
                (directory / name).write_text(document, encoding="utf-8")
                print(f"wrote {directory / name}: signatures of {repository} at {lookaside}", file=sys.stderr)
            if not lookaside.startswith("file:"):
                print(
                    "signers also need `lookaside-staging: file:///DIR` in it, with DIR published at "
                    f"{lookaside}",
                    file=sys.stderr,
                )
    except OSError as error:
        return _fail(f"cannot write {error.filename}: {error.strerror}", 1)
    return 0
