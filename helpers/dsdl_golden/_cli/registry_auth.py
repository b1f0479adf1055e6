"""Registry credentials for skopeo: always in an auth file, never on a command line, never printed.

Three sources, in this order:

- ``--creds-env NAME``: the environment variable ``NAME`` holds ``USER:PASSWORD``; it is written to a
  private temporary auth file (mode 0600 in a 0700 directory) for the registry, removed afterwards.
- ``--authfile FILE``, else the file named by ``REGISTRY_AUTH_FILE``: a containers-auth.json
  (``podman login --authfile``, ``skopeo login``, Docker's ``config.json``).
- neither: skopeo's own defaults (``${XDG_RUNTIME_DIR}/containers/auth.json``, ``~/.docker/config.json``).

Every secret known from the auth file (``auth`` values, encoded and decoded, their passwords, identity
and registry tokens) can be redacted from a text with :meth:`RegistryAuth.redact`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "AUTH_FILE_VARIABLE",
    "REDACTED",
    "CredentialsError",
    "RegistryAuth",
    "registry_auth",
    "secrets_of",
]

AUTH_FILE_VARIABLE: Final = "REGISTRY_AUTH_FILE"
REDACTED: Final = "***"
_TOKEN_KEYS: Final = ("identitytoken", "registrytoken")


class CredentialsError(Exception):
    """The credentials cannot be used; ``str()`` says why and never contains a secret."""


@dataclass(frozen=True)
class RegistryAuth:
    """The auth file to give skopeo (None: skopeo's defaults) and the secrets it holds."""

    authfile: Path | None
    secrets: frozenset[str] = frozenset()

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by :data:`REDACTED` (longest first)."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text


def _decoded(auth: str) -> Iterable[str]:
    """``USER:PASSWORD`` and ``PASSWORD`` of a base64 ``auth`` value, if it decodes."""
    try:
        pair = base64.b64decode(auth, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ()
    return (pair, pair.partition(":")[2])


def secrets_of(document: Any) -> frozenset[str]:
    """The secrets of a containers-auth.json document: the non-empty ``auth`` values (as written and
    decoded, and the password alone) and identity and registry tokens of every ``auths`` entry."""
    auths = document.get("auths") if isinstance(document, dict) else None
    found: set[str] = set()
    for entry in auths.values() if isinstance(auths, dict) else ():
        if not isinstance(entry, dict):
            continue
        auth = entry.get("auth")
        if isinstance(auth, str):
            found.update((auth, *_decoded(auth)))
        found.update(entry[key] for key in _TOKEN_KEYS if isinstance(entry.get(key), str))
    return frozenset(secret for secret in found if secret)


def _read_authfile(path: Path, source: str) -> RegistryAuth:
    """The auth file named by ``source`` (``--authfile`` or the variable), checked before use."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CredentialsError(f"{source} {path}: no such auth file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CredentialsError(f"{source} {path}: cannot read it: {type(error).__name__}") from None
    except json.JSONDecodeError as error:
        raise CredentialsError(
            f"{source} {path}: not a JSON auth file (line {error.lineno}, column {error.colno})"
        ) from None
    return RegistryAuth(path, secrets_of(document))


def _user_password(name: str, environ: Mapping[str, str]) -> str:
    """The ``USER:PASSWORD`` in the variable ``name``; errors name the variable, never its value."""
    value = environ.get(name)
    if value is None:
        raise CredentialsError(f"--creds-env {name}: the environment variable {name} is not set")
    user, separator, password = value.partition(":")
    if not (user and separator and password):
        raise CredentialsError(
            f"--creds-env {name}: expected USER:PASSWORD in ${name} (its value is not shown)"
        )
    return value


@contextlib.contextmanager
def registry_auth(
    registry: str, *, authfile: Path | None, creds_env: str | None, environ: Mapping[str, str]
) -> Iterator[RegistryAuth]:
    """The credentials for ``registry`` (``HOST[:PORT]``) from the first source given (see the module);
    a temporary auth file made for ``creds_env`` exists only inside the ``with`` block."""
    if creds_env is not None:
        pair = _user_password(creds_env, environ)
        document = {"auths": {registry: {"auth": base64.b64encode(pair.encode()).decode("ascii")}}}
        with tempfile.TemporaryDirectory(prefix="golden-auth-") as directory:
            path = Path(directory) / "auth.json"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                json.dump(document, file)
            yield RegistryAuth(path, secrets_of(document))
        return
    if authfile is not None:
        yield _read_authfile(authfile, "--authfile")
    elif environ.get(AUTH_FILE_VARIABLE):
        yield _read_authfile(Path(environ[AUTH_FILE_VARIABLE]), AUTH_FILE_VARIABLE)
    else:
        yield RegistryAuth(None)
