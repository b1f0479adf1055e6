"""The table of :func:`dsdl_golden.model_registry.compare_models`: versions ranked by one metric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from dsdl_golden._registry.errors import RegistryError, VersionNotFoundError
from dsdl_golden._registry.values import lower_is_better
from dsdl_golden._registry.versions import ModelVersionInfo

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DELTA", "comparison_table"]

#: The column of each version's metric minus the best version's (0 for the best).
DELTA: Final = "delta_to_best"


def comparison_table(
    name: str, versions: Sequence[ModelVersionInfo], metric: str, greater_is_better: bool | None
) -> pd.DataFrame:
    """One row per version, best ``metric`` first (versions without it last, newer first on ties)."""
    import pandas as pd

    if not versions:
        raise VersionNotFoundError(f"registered model {name!r} has no version yet: log one with log_model")
    logged = sorted({key for version in versions for key in version.metrics})
    if metric not in logged:
        raise RegistryError(
            f"no compared version of {name!r} logged the metric {metric!r}; "
            + (f"their metrics: {', '.join(logged)}" if logged else "they logged no metrics")
        )
    greater = not lower_is_better(metric) if greater_is_better is None else greater_is_better
    others = [key for key in logged if key != metric]
    frame = pd.DataFrame(
        [
            {
                "version": version.version,
                "aliases": ", ".join(version.aliases),
                "run_id": version.run_id,
                "created": version.created,
                metric: version.metrics.get(metric, float("nan")),
                **{key: version.metrics.get(key, float("nan")) for key in others},
            }
            for version in versions
        ]
    )
    best = frame[metric].max() if greater else frame[metric].min()
    frame[DELTA] = frame[metric] - best
    ranked = frame[["version", "aliases", "run_id", "created", metric, DELTA, *others]].sort_values(
        [metric, "version"], ascending=[not greater, False], na_position="last", kind="stable"
    )
    return ranked.reset_index(drop=True)
