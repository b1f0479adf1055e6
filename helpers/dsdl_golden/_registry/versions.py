"""Registered model versions: what :mod:`dsdl_golden.model_registry` returns of one, and finding one
from ``"latest"``, a number or ``"@alias"`` with errors that list what exists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from dsdl_golden._html import html_table
from dsdl_golden._registry.errors import AliasNotFoundError, ModelNotRegisteredError, VersionNotFoundError
from dsdl_golden._registry.store import Store
from dsdl_golden._registry.values import LATEST, VersionSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MODEL_COLUMNS",
    "ModelVersionInfo",
    "model_table",
    "registered_model",
    "resolve_version",
    "version_info",
    "version_numbers",
]

#: The columns of :func:`model_table`.
MODEL_COLUMNS: Final = ("name", "versions", "latest", "aliases", "updated", "description")
#: How many registered names an error about an unknown name lists.
LISTED_NAMES: Final = 10


@dataclass(frozen=True)
class ModelVersionInfo:
    """One version of a registered model, with what its MLflow run logged.

    Attributes
    ----------
    name : str
        The registered model's name.
    version : int
        The version number (1 for the first).
    run_id : str or None
        The MLflow run that logged it.
    source : str
        The URI MLflow loads the model from.
    aliases : tuple of str
        The aliases that name this version (``champion``, ...).
    tags : dict
        The version's tags.
    metrics : dict
        The run's metrics (finite numbers).
    params : dict
        The run's parameters (text).
    created : datetime
        When the version was registered (UTC).
    """

    name: str
    version: int
    run_id: str | None
    source: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    metrics: dict[str, float]
    params: dict[str, str]
    created: datetime

    def _rows(self) -> list[tuple[str, str]]:
        def listed(values: dict[str, Any]) -> str:
            return (
                ", ".join(
                    f"{key}={value:.6g}" if isinstance(value, float) else f"{key}={value}"
                    for key, value in sorted(values.items())
                )
                or "-"
            )

        return [
            ("aliases", ", ".join(self.aliases) or "-"),
            ("run_id", self.run_id or "-"),
            ("source", self.source),
            ("created", self.created.isoformat(timespec="seconds")),
            ("metrics", listed(self.metrics)),
            ("params", listed(self.params)),
            ("tags", listed(self.tags)),
        ]

    def __str__(self) -> str:
        return "\n".join(
            [f"{self.name} version {self.version}", *(f"  {key}: {value}" for key, value in self._rows())]
        )

    def _repr_html_(self) -> str:
        return html_table(["", "value"], self._rows(), caption=f"{self.name} version {self.version}")


def _does_not_exist(error: Exception) -> bool:
    return getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


def registered_model(client: Any, name: str, store: Store) -> Any:
    """MLflow's ``RegisteredModel`` called ``name``, or :class:`ModelNotRegisteredError` listing names."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as error:
        if not _does_not_exist(error):
            raise
    names = sorted(model.name for model in client.search_registered_models(max_results=LISTED_NAMES + 1))
    if not names:
        known = "it has no registered model yet: log one with log_model"
    else:
        more = ", ..." if len(names) > LISTED_NAMES else ""
        known = f"registered models: {', '.join(names[:LISTED_NAMES])}{more}"
    raise ModelNotRegisteredError(f"no registered model {name!r} in the registry at {store.shown}; {known}")


def version_numbers(client: Any, name: str) -> list[int]:
    """The version numbers of registered model ``name``, ascending."""
    return sorted(int(version.version) for version in client.search_model_versions(f"name = '{name}'"))


def resolve_version(client: Any, name: str, version: VersionSpec, store: Store) -> Any:
    """MLflow's ``ModelVersion`` that ``version`` (checked by ``check_version_spec``) names."""
    model = registered_model(client, name, store)
    if isinstance(version, str) and version.startswith("@"):
        aliases = {alias: int(number) for alias, number in dict(model.aliases).items()}
        alias = version[1:]
        if alias not in aliases:
            known = ", ".join(f"@{key} (version {value})" for key, value in sorted(aliases.items()))
            raise AliasNotFoundError(
                f"no version of {name!r} has the alias {alias!r}; "
                + (
                    f"its aliases: {known}"
                    if known
                    else "it has no alias yet: set one with promote or set_alias"
                )
            )
        return client.get_model_version(name, str(aliases[alias]))
    numbers = version_numbers(client, name)
    if not numbers:
        raise VersionNotFoundError(f"registered model {name!r} has no version yet: log one with log_model")
    wanted = numbers[-1] if version == LATEST else version
    if wanted not in numbers:
        raise VersionNotFoundError(
            f"registered model {name!r} has no version {wanted}; its versions: {', '.join(map(str, numbers))}"
        )
    return client.get_model_version(name, str(wanted))


def version_info(client: Any, version: Any) -> ModelVersionInfo:
    """:class:`ModelVersionInfo` of MLflow's ``ModelVersion``, with its run's metrics and parameters."""
    run = client.get_run(version.run_id) if version.run_id else None
    return ModelVersionInfo(
        name=version.name,
        version=int(version.version),
        run_id=version.run_id or None,
        source=str(version.source),
        aliases=tuple(sorted(version.aliases)),
        tags=dict(version.tags),
        metrics={} if run is None else dict(run.data.metrics),
        params={} if run is None else dict(run.data.params),
        created=datetime.fromtimestamp(version.creation_timestamp / 1000, UTC),
    )


def _utc(milliseconds: int | None) -> datetime | None:
    return None if milliseconds is None else datetime.fromtimestamp(milliseconds / 1000, UTC)


def model_table(client: Any) -> pd.DataFrame:
    """Every registered model: its name, version count, newest version, aliases, update time."""
    import pandas as pd

    rows = []
    for model in client.search_registered_models(order_by=["name ASC"]):
        numbers = version_numbers(client, model.name)
        aliases = sorted(dict(model.aliases).items(), key=lambda item: (int(item[1]), item[0]))
        rows.append(
            {
                "name": model.name,
                "versions": len(numbers),
                "latest": numbers[-1] if numbers else None,
                "aliases": ", ".join(f"{alias}={number}" for alias, number in aliases),
                "updated": _utc(model.last_updated_timestamp),
                "description": model.description or "",
            }
        )
    table = pd.DataFrame(rows, columns=list(MODEL_COLUMNS))
    return table.astype({"versions": "int64", "latest": "Int64"})  # a model without versions: <NA>
