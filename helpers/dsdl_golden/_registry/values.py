"""Checks of names and aliases, and the metrics, parameters and tags as MLflow stores them."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "LATEST",
    "VersionSpec",
    "check_alias",
    "check_model_name",
    "check_version_spec",
    "flat_params",
    "flat_tags",
    "lower_is_better",
    "scalar_metrics",
]

LATEST: Final = "latest"
#: ``"latest"``, a version number or ``"@<alias>"``.
VersionSpec = int | str

_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,255}")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,255}")
_VERSION_LIKE = re.compile(r"v\d+", re.IGNORECASE)
#: Metric names (their last dotted part) where a smaller value is better, besides ``*loss`` and ``*error``.
_LOWER_IS_BETTER: Final = frozenset(
    {"mae", "mse", "rmse", "mape", "smape", "msle", "rmsle", "brier", "brier_score"}
)


def check_model_name(name: object) -> str:
    """``name`` if it can name a registered model, else ``ValueError`` saying which names are allowed."""
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise ValueError(
            f"model name {name!r} is not allowed: use 1 to 256 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (e.g. DSDL's <algo>_<model_name>)"
        )
    return name


def check_alias(alias: object) -> str:
    """``alias`` if MLflow accepts it as an alias, else ``ValueError`` saying which aliases are allowed."""
    if (
        not isinstance(alias, str)
        or not _ALIAS.fullmatch(alias)
        or alias.lower() == LATEST
        or _VERSION_LIKE.fullmatch(alias)
    ):
        raise ValueError(
            f"alias {alias!r} is not allowed: use letters, digits, '_' or '-', starting with a letter or "
            "'_', and neither 'latest' nor v<number> (e.g. 'champion', 'challenger')"
        )
    return alias


def check_version_spec(version: object) -> VersionSpec:
    """``version`` if it is ``"latest"``, a positive int or ``"@<alias>"``, else ``ValueError``."""
    if isinstance(version, int) and not isinstance(version, bool) and version > 0:
        return version
    if version == LATEST:
        return LATEST
    if isinstance(version, str) and version.startswith("@"):
        check_alias(version[1:])
        return version
    raise ValueError(
        f"version {version!r} is not understood: give 'latest', a version number such as 3, "
        "or an alias as '@champion'"
    )


def _flat(values: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _require_mapping(values: object, what: str) -> Mapping[Any, Any]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise TypeError(f"{what} must be a dict (or None), got {type(values).__name__}")
    return values


def _is_finite_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(float(value))


def scalar_metrics(metrics: object) -> dict[str, float]:
    """The finite numbers of ``metrics`` (a dict or a ``MetricsResult``), nested keys joined with dots.

    The ``descriptor_keys`` of a ``MetricsResult`` (labels, counts, notes) and every value that is not a
    finite number (None, NaN, lists, text, booleans) are left out.
    """
    mapping = _require_mapping(metrics, "metrics")
    descriptors = frozenset(getattr(metrics, "descriptor_keys", ()))
    measured = {key: value for key, value in mapping.items() if key not in descriptors}
    return {name: float(value) for name, value in _flat(measured).items() if _is_finite_number(value)}


def flat_params(params: object) -> dict[str, str]:
    """``params`` as MLflow stores them: text values, nested keys joined with dots."""
    return {name: str(value) for name, value in _flat(_require_mapping(params, "params")).items()}


def flat_tags(tags: object) -> dict[str, str]:
    """``tags`` with text values; nested dicts are not tags and raise ``TypeError``."""
    mapping = _require_mapping(tags, "tags")
    nested = [key for key, value in mapping.items() if isinstance(value, Mapping)]
    if nested:
        raise TypeError(f"tags must map names to text, but {nested} hold dicts: give each value as text")
    return {str(key): str(value) for key, value in mapping.items()}


def lower_is_better(metric: str) -> bool:
    """Whether a smaller ``metric`` is better: error and loss metrics (mae, mse, rmse, mape, log_loss,
    brier_score, max_error, ...), judged by the name's last dotted part."""
    last = metric.rsplit(".", 1)[-1].lower()
    return last in _LOWER_IS_BETTER or last.endswith(("loss", "error"))
