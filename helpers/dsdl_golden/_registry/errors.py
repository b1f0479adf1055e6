"""The errors of the model registry: each says what to fix, and none shows a credential."""

from __future__ import annotations

__all__ = [
    "AliasNotFoundError",
    "ModelNotRegisteredError",
    "RegistryError",
    "RegistryUnavailableError",
    "UnsupportedModelError",
    "VersionNotFoundError",
]


class RegistryError(Exception):
    """A model registry operation failed; the message says why and what to do."""


class RegistryUnavailableError(RegistryError):
    """MLflow is not installed, or the tracking server does not answer."""


class ModelNotRegisteredError(RegistryError, LookupError):
    """No registered model has that name (the message lists registered ones)."""


class VersionNotFoundError(RegistryError, LookupError):
    """The registered model has no such version (the message lists its versions)."""


class AliasNotFoundError(VersionNotFoundError):
    """No version of the registered model holds that alias (the message lists its aliases)."""


class UnsupportedModelError(RegistryError, TypeError):
    """The object is no model the registry knows how to save."""
