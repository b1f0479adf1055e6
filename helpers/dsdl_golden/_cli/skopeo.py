"""skopeo, the daemonless image copier: push an OCI archive keeping its digests (signed by
:mod:`dsdl_golden._cli.signing` when asked), read a manifest back.

Credentials reach skopeo only as an auth file (:mod:`dsdl_golden._cli.registry_auth`); everything
skopeo prints passes through :meth:`~dsdl_golden._cli.registry_auth.RegistryAuth.redact` first.
"""

from __future__ import annotations

import collections
import hashlib
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

from dsdl_golden._cli.registry_auth import RegistryAuth

__all__ = ["INSTALL_HINT", "Skopeo", "SkopeoError", "fatal_message", "find_skopeo", "log_messages"]

INSTALL_HINT: Final = (
    "skopeo is not installed (not found on PATH): install it with `apt-get install skopeo` "
    "(Debian/Ubuntu; `dnf install skopeo` on Fedora/RHEL)"
)
_LOG: Final = re.compile(r'level=(?P<level>[a-z]+) msg="(?P<message>(?:[^"\\]|\\.)*)"')
_ESCAPE: Final = re.compile(r"\\(.)")
_TAIL: Final = 20


class SkopeoError(Exception):
    """skopeo is missing or failed; ``str()`` is the explanation, secrets redacted."""


def find_skopeo() -> str:
    """The path of ``skopeo`` on ``PATH``; raises :class:`SkopeoError` with :data:`INSTALL_HINT`."""
    executable = shutil.which("skopeo")
    if executable is None:
        raise SkopeoError(INSTALL_HINT)
    return executable


def log_messages(lines: Iterable[str], level: str) -> list[str]:
    """The ``msg`` of each of skopeo's log lines (``time=... level=LEVEL msg="..."``) at ``level``,
    unescaped."""
    matches = (_LOG.search(line) for line in lines)
    return [
        _ESCAPE.sub(r"\1", match.group("message"))
        for match in matches
        if match is not None and match.group("level") == level
    ]


def fatal_message(lines: list[str]) -> str:
    """What skopeo's output says went wrong: the ``msg`` of its last ``level=fatal`` line, else its last
    non-empty line."""
    fatal = log_messages(lines, "fatal")
    if fatal:
        return fatal[-1]
    return next((line.strip() for line in reversed(lines) if line.strip()), "no message")


@dataclass(frozen=True)
class Skopeo:
    """skopeo at ``executable``, talking to registries with ``auth`` and TLS verified or not."""

    executable: str
    auth: RegistryAuth
    tls_verify: bool

    def copy_command(self, source: str, reference: str, options: Sequence[str] = ()) -> list[str]:
        """``skopeo copy --preserve-digests ... OPTIONS SOURCE docker://REFERENCE``: the manifest goes
        to the registry byte for byte (skopeo fails rather than convert it)."""
        command = [
            self.executable,
            "copy",
            "--preserve-digests",
            f"--dest-tls-verify={_flag(self.tls_verify)}",
        ]
        if self.auth.authfile is not None:
            command += ["--dest-authfile", str(self.auth.authfile)]
        return [*command, *options, source, f"docker://{reference}"]

    def inspect_command(self, reference: str) -> list[str]:
        """``skopeo inspect --raw docker://REFERENCE``: the registry's manifest, as stored."""
        command = [self.executable, "inspect", "--raw", f"--tls-verify={_flag(self.tls_verify)}"]
        if self.auth.authfile is not None:
            command += ["--authfile", str(self.auth.authfile)]
        return [*command, f"docker://{reference}"]

    def push(self, archive: Path, reference: str, log: TextIO, options: Sequence[str] = ()) -> None:
        """Push ``archive`` to ``reference`` (with skopeo's copy ``options``); the command and skopeo's
        progress go to ``log``, redacted. Raises :class:`SkopeoError` with skopeo's message when it fails."""
        command = self.copy_command(f"oci-archive:{archive}", reference, options)
        print(f"running: {self.auth.redact(shlex.join(command))}", file=log, flush=True)
        tail: collections.deque[str] = collections.deque(maxlen=_TAIL)
        with subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                redacted = self.auth.redact(line.rstrip("\n"))
                tail.append(redacted)
                print(f"  {redacted}", file=log, flush=True)
        if process.returncode != 0:
            raise SkopeoError(
                f"pushing to {reference} failed (skopeo exit status {process.returncode}): "
                f"{fatal_message(list(tail))}"
            )

    def manifest_digest(self, reference: str) -> str:
        """``sha256:<hex>`` of the manifest the registry serves for ``reference``."""
        result = subprocess.run(
            self.inspect_command(reference), stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
        if result.returncode != 0:
            output = self.auth.redact(result.stderr.decode("utf-8", errors="replace"))
            raise SkopeoError(
                f"cannot read the manifest of {reference} back from the registry "
                f"(skopeo exit status {result.returncode}): {fatal_message(output.splitlines())}"
            )
        return f"sha256:{hashlib.sha256(result.stdout).hexdigest()}"


def _flag(value: bool) -> str:
    return "true" if value else "false"
