"""Fitted per-column encoders: each turns one input column into a block of float64 output features.

Dataclasses holding arrays are declared ``eq=False`` (compared by identity): a field-wise ``==`` on
arrays is ambiguous.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import numpy as np

from dsdl_golden._preprocessing.parsing import (
    DATETIME_PARTS,
    Coded,
    Family,
    Numbers,
    datetime_parts,
    factorize_text,
    parse_booleans,
    parse_datetimes,
    parse_numbers,
)
from dsdl_golden._preprocessing.stats import DriftReference, Scaling, Strategy, apply_scaling, fit_scaling

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray

NumericKind = Literal["numeric", "boolean", "datetime"]
AddIndicator = Literal["auto"] | bool
Parsed = TypeVar("Parsed")

_PARSERS: dict[NumericKind, Callable[[pd.Series[Any]], Numbers]] = {
    "numeric": parse_numbers,
    "boolean": parse_booleans,
    "datetime": parse_datetimes,
}
_UNSEEN_EXAMPLES = 5
_TOP_CATEGORIES = 10


@dataclass(frozen=True)
class ColumnReport:
    """What one column looked like at apply time."""

    missing: int
    unparsable: int = 0
    infinite: int = 0
    unseen: int = 0
    unseen_examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "unseen_examples": list(self.unseen_examples)}


class ColumnEncoder(ABC, Generic[Parsed]):
    """One fitted input column: parse it whole, report on it, then write its features rows by rows."""

    family: Family  # dtype family of the column at fit

    @property
    @abstractmethod
    def width(self) -> int:
        """Number of output features."""

    @property
    @abstractmethod
    def action(self) -> str:
        """What the encoder does, in words."""

    @abstractmethod
    def feature_names(self, column: str) -> list[str]:
        """Output feature names for the input column named ``column``."""

    @abstractmethod
    def parse(self, series: pd.Series[Any]) -> Parsed:
        """Parse a column as fitted (type drift is coerced, not an error)."""

    @abstractmethod
    def report(self, parsed: Parsed) -> ColumnReport:
        """Missing, unparsable and unseen values of a parsed column."""

    @abstractmethod
    def write(self, parsed: Parsed, rows: slice, out: NDArray[np.float64]) -> None:
        """Write the features of ``rows`` into ``out``: zeros of shape ``(len(rows), width)``."""

    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Fitted statistics, JSON-ready."""


@dataclass(frozen=True, eq=False)
class NumericEncoder(ColumnEncoder[Numbers]):
    """Numeric, boolean or datetime column: impute, optional missing indicator, scale each part.

    Booleans are imputed with their most frequent value and not scaled; datetimes become epoch
    seconds, hour, day of week and month, each imputed and scaled like a numeric column.
    """

    kind: NumericKind
    family: Family
    strategy: Strategy
    scalings: tuple[Scaling, ...]
    indicator: bool
    missing_fraction: float
    drift: DriftReference | None

    @property
    def width(self) -> int:
        return len(self.scalings) + self.indicator

    @property
    def action(self) -> str:
        steps = {
            "numeric": ["parse as number"],
            "boolean": ["map to 1/0"],
            "datetime": ["split into " + "/".join(DATETIME_PARTS) + " (UTC)"],
        }[self.kind]
        steps.append(f"impute {self.strategy}")
        if self.indicator:
            steps.append("add missing indicator")
        if self.kind != "boolean":
            steps.append("standard-scale")
        return ", ".join(steps)

    def feature_names(self, column: str) -> list[str]:
        names = [f"{column}_{part}" for part in DATETIME_PARTS] if self.kind == "datetime" else [column]
        return names + [f"missingindicator_{column}"] * self.indicator

    def parse(self, series: pd.Series[Any]) -> Numbers:
        return _PARSERS[self.kind](series)

    def report(self, parsed: Numbers) -> ColumnReport:
        missing = int(np.count_nonzero(np.isnan(parsed.values))) - parsed.unparsable - parsed.infinite
        return ColumnReport(missing, parsed.unparsable, parsed.infinite)

    def write(self, parsed: Numbers, rows: slice, out: NDArray[np.float64]) -> None:
        values = parsed.values[rows]
        missing = np.isnan(values)
        for j, (part, scaling) in enumerate(zip(_parts(self.kind, values), self.scalings, strict=True)):
            apply_scaling(part, missing, scaling, out[:, j])
        if self.indicator:
            out[:, -1] = missing

    def stats(self) -> dict[str, Any]:
        parts = DATETIME_PARTS if self.kind == "datetime" else ("value",)
        stats: dict[str, Any] = {
            "missing_fraction": self.missing_fraction,
            "parts": {part: asdict(scaling) for part, scaling in zip(parts, self.scalings, strict=True)},
        }
        if self.drift is not None:
            stats["decile_edges"] = self.drift.edges.tolist()
        return stats


def fit_numeric(
    kind: NumericKind, numbers: Numbers, family: Family, *, strategy: Strategy, add_indicator: AddIndicator
) -> NumericEncoder:
    """Fit a numeric, boolean or datetime column from its parsed values."""
    missing = np.isnan(numbers.values)
    strategy = "most_frequent" if kind == "boolean" else strategy
    scalings = tuple(
        fit_scaling(part, missing, strategy, standardize=kind != "boolean")
        for part in _parts(kind, numbers.values)
    )
    indicator = add_indicator is True or (add_indicator == "auto" and bool(missing.any()))
    drift = DriftReference.fit(numbers.values, missing) if kind == "numeric" else None
    return NumericEncoder(kind, family, strategy, scalings, indicator, float(missing.mean()), drift)


def _parts(kind: NumericKind, values: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """The column's numeric parts: datetimes split into several, other kinds are one part."""
    return datetime_parts(values) if kind == "datetime" else [values]


@dataclass(frozen=True, eq=False)
class Located:
    """Rows as positions in the fitted categories: ``K`` = missing, ``K + 1`` = unseen (K categories)."""

    codes: NDArray[np.intp]
    report: ColumnReport


def locate(series: pd.Series[Any], categories: pd.Index[str]) -> Located:
    """Positions of a column's values among ``categories`` (values are compared as text)."""
    coded = factorize_text(series)
    k = len(categories)
    positions = categories.get_indexer(coded.uniques)
    unseen = positions < 0
    positions[unseen] = k + 1
    codes = np.append(positions, k)[coded.codes]
    examples = tuple(str(value) for value in coded.uniques[unseen][:_UNSEEN_EXAMPLES])
    n_unseen = int(np.count_nonzero(codes == k + 1))
    return Located(codes, ColumnReport(coded.n_missing, unseen=n_unseen, unseen_examples=examples))


class _CategoricalEncoder(ColumnEncoder[Located]):
    """Categorical column: parsing locates values among the fitted categories."""

    categories: pd.Index[str]

    def parse(self, series: pd.Series[Any]) -> Located:
        return locate(series, self.categories)

    def report(self, parsed: Located) -> ColumnReport:
        return parsed.report


@dataclass(frozen=True, eq=False)
class OneHotEncoding(_CategoricalEncoder):
    """One-hot over the sorted fitted categories; missing is its own last category, unseen rows are 0."""

    family: Family
    categories: pd.Index[str]
    has_missing: bool

    @property
    def width(self) -> int:
        return len(self.categories) + self.has_missing

    @property
    def action(self) -> str:
        return "one-hot (missing values as their own category, unseen categories ignored)"

    def feature_names(self, column: str) -> list[str]:
        names = [f"{column}_{category}" for category in self.categories]
        return names + [f"{column}_nan"] * self.has_missing

    def write(self, parsed: Located, rows: slice, out: NDArray[np.float64]) -> None:
        codes = parsed.codes[rows]
        hot = np.flatnonzero(codes < self.width)
        out[hot, codes[hot]] = 1.0

    def stats(self) -> dict[str, Any]:
        return {"categories": self.categories.tolist(), "missing_category": self.has_missing}


@dataclass(frozen=True, eq=False)
class _LookupEncoding(_CategoricalEncoder):
    """One feature: a value per category, then the values for missing and for unseen rows."""

    family: Family
    categories: pd.Index[str]
    table: NDArray[np.float64]

    @property
    def width(self) -> int:
        return 1

    def feature_names(self, column: str) -> list[str]:
        return [column]

    def write(self, parsed: Located, rows: slice, out: NDArray[np.float64]) -> None:
        out[:, 0] = self.table[parsed.codes[rows]]


@dataclass(frozen=True, eq=False)
class FrequencyEncoding(_LookupEncoding):
    """Share of fit rows holding the value (missing counts as a value); unseen values get 0."""

    @property
    def action(self) -> str:
        return "frequency-encode (share of fit rows with the value; unseen values -> 0)"

    def stats(self) -> dict[str, Any]:
        shares = self.table[: len(self.categories)]
        top = np.argsort(-shares, kind="stable")[:_TOP_CATEGORIES]
        return {
            "n_categories": len(self.categories),
            "missing_frequency": float(self.table[-2]),
            "top_frequencies": {str(self.categories[i]): float(shares[i]) for i in top},
        }


@dataclass(frozen=True, eq=False)
class OrdinalEncoding(_LookupEncoding):
    """Position among the sorted fitted categories; missing and unseen values are NaN."""

    @property
    def action(self) -> str:
        return "ordinal-encode (position among sorted categories; missing and unseen -> NaN)"

    def stats(self) -> dict[str, Any]:
        return {"categories": self.categories.tolist()}


def fit_one_hot(coded: Coded, family: Family) -> OneHotEncoding:
    """One-hot encoder of a low-cardinality column."""
    return OneHotEncoding(family, coded.uniques.sort_values(), coded.n_missing > 0)


def fit_frequency(coded: Coded, family: Family) -> FrequencyEncoding:
    """Frequency encoder of a high-cardinality column."""
    counts = np.bincount(coded.codes[coded.codes >= 0], minlength=len(coded.uniques))
    table = np.append(counts, [coded.n_missing, 0]) / coded.codes.size
    return FrequencyEncoding(family, coded.uniques, table)


def fit_ordinal(coded: Coded, family: Family) -> OrdinalEncoding:
    """Ordinal encoder of a categorical column."""
    categories = coded.uniques.sort_values()
    table = np.append(np.arange(len(categories), dtype=np.float64), [np.nan, np.nan])
    return OrdinalEncoding(family, categories, table)
