"""Standard preprocessing of Splunk data: route columns by type, impute, scale and encode.

Splunk hands data over as a DataFrame in which every value may be text. :class:`StandardPreprocessor`
decides per column, at fit time, what the column holds, and records why (:meth:`describe`):

- numeric (a numeric dtype, nullable Int64/Float64 included, timedelta as seconds, or text whose
  every value is a number): imputed (median by default), missing indicator where useful, scaled
  with StandardScaler's semantics (population standard deviation, near-constant columns get scale 1);
- datetime (datetime dtype with or without time zone, Period (its start), ISO 8601 text, or listed
  in ``datetime_columns``, ``_time`` by default
  because its epoch-seconds text "1700000000.000" would otherwise read as a number): epoch seconds,
  hour, day of week and month (UTC), each imputed and scaled like a number;
- boolean (bool or nullable boolean dtype, or text of true/false, yes/no, t/f, 1/0 in any case):
  1/0, missing values imputed with the most frequent value, missing indicator where useful;
- categorical (other text, category dtype included, with at most ``max_categories`` distinct
  values): one-hot over the sorted categories, unseen categories ignored
  (OneHotEncoder(handle_unknown="ignore")). Missing values are their own category (``<col>_nan``,
  last, as OneHotEncoder does) rather than imputed: in event data "missing" is often informative,
  and imputing would guess a value nobody saw;
- high-cardinality text: frequency encoding, one feature holding the share of fit rows with the
  value (unseen values -> 0);
- empty columns are dropped, constant ones too (unless ``drop_constant=False``), and reported.

Frequency encoding rather than hashing for high-cardinality columns: one bounded feature in [0, 1]
per column instead of the 16-32 a hashing trick needs to keep collisions rare, deterministic and
collision-free, readable in :meth:`describe`, and it carries the signal that matters most in event
data, how common a value is. Measured (``benchmarks/test_bench_preprocessor.py``, 200,000 rows of a
skewed id column): frequency encoding 7 ms and 1.6 MB of output, FeatureHasher(32) 206 ms and 51 MB.

Output is a dense float64 array (``set_output(transform="pandas")`` for a DataFrame) with the
features of each kept input column together, in input order, named like scikit-learn names them:
``col``, ``missingindicator_col``, ``col_category``, ``col_nan``, ``col_hour``... Fitting refuses
input whose columns would give two features the same name (a column ``c`` with the category ``x``
next to a column ``c_x``), as ColumnTransformer does; frames with duplicated column names are refused
too. Infinite values are treated as missing; they are counted apart, in :meth:`describe`'s reasons
and in ``last_transform_report_`` (``infinite``, next to ``missing`` and ``unparsable``).

At apply time the fitted schema is checked: missing columns raise a ValueError naming them, extra
columns are ignored, type drift (numbers arriving as text, unparsable text, unseen categories) is
coerced and reported in ``last_transform_report_``; :meth:`StandardPreprocessor.drift_report` gives
the population stability index of each numeric column against its fit-time deciles.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pandas.api.types import is_timedelta64_dtype
from sklearn.base import BaseEstimator, TransformerMixin  # type: ignore[import-untyped]
from sklearn.utils.validation import check_is_fitted  # type: ignore[import-untyped]

from dsdl_golden._preprocessing.detection import Inferred, infer_column
from dsdl_golden._preprocessing.encoders import (
    AddIndicator,
    ColumnEncoder,
    NumericEncoder,
    fit_frequency,
    fit_numeric,
    fit_one_hot,
    fit_ordinal,
)
from dsdl_golden._preprocessing.inputs import (
    as_frame,
    check_unique_columns,
    check_unique_outputs,
    positional_names,
)
from dsdl_golden._preprocessing.parsing import (
    Coded,
    Family,
    Numbers,
    dtype_family,
    factorize_text,
    float_values,
    missing_mask,
)
from dsdl_golden._preprocessing.stats import STRATEGIES, Strategy, fill_value
from dsdl_golden._preprocessing.suspects import suspect_warnings
from dsdl_golden._user_warnings import warn_user

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["StandardPreprocessor", "encode_categorical", "handle_missing", "standard_preprocessing"]

MissingStrategy = Literal["median", "mean", "most_frequent", "constant", "drop"]
CategoricalMethod = Literal["onehot", "frequency", "ordinal"]
_MISSING_STRATEGIES: tuple[MissingStrategy, ...] = ("median", "mean", "most_frequent", "constant", "drop")
#: Rows are written in chunks of about this many output bytes.
_CHUNK_BYTES = 4 << 20
_CATEGORICAL_FITS: dict[str, Callable[[Coded, Family], ColumnEncoder[Any]]] = {
    "onehot": fit_one_hot,
    "frequency": fit_frequency,
    "ordinal": fit_ordinal,
}


@dataclass(frozen=True)
class FittedColumn:
    """The fit-time decision for one input column; no encoder means the column is dropped."""

    name: str
    position: int
    kind: str
    reason: str
    encoder: ColumnEncoder[Any] | None

    def summary(self) -> dict[str, Any]:
        """JSON-ready description: kind, reason, action, output features, fitted statistics."""
        encoder = self.encoder
        return {
            "kind": self.kind,
            "reason": self.reason,
            "action": encoder.action if encoder else "drop",
            "output_features": encoder.feature_names(self.name) if encoder else [],
            "stats": encoder.stats() if encoder else {},
        }


class StandardPreprocessor(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Route columns by detected type and turn them into one float64 feature matrix.

    Parameters
    ----------
    max_categories : int, default 20
        Text columns with more distinct values are frequency-encoded instead of one-hot encoded.
    impute_strategy : {"median", "mean", "most_frequent"}, default "median"
        Fill value for numeric and datetime columns (booleans always use the most frequent value).
    add_indicator : "auto", True or False, default "auto"
        Missing indicators for numeric, datetime and boolean columns: "auto" adds one for the columns
        that had missing values at fit (like ``MissingIndicator(features="missing-only")``).
    datetime_columns : tuple of str, default ("_time",)
        Columns parsed as timestamps (epoch seconds or ISO 8601) whatever their values look like.
    drop_constant : bool, default True
        Drop columns holding a single value and no missing values (empty columns are always dropped).

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only when fitted on a DataFrame with string column names.
    columns_ : list of FittedColumn, one per input column (see :meth:`describe`).
    last_transform_report_ : dict, what the last :meth:`transform` saw (missing, unparsable,
        infinite and unseen values per column, extra columns, type drift).
    """

    def __init__(
        self,
        *,
        max_categories: int = 20,
        impute_strategy: Strategy = "median",
        add_indicator: AddIndicator = "auto",
        datetime_columns: Collection[str] = ("_time",),
        drop_constant: bool = True,
    ) -> None:
        self.max_categories = max_categories
        self.impute_strategy = impute_strategy
        self.add_indicator = add_indicator
        self.datetime_columns = datetime_columns
        self.drop_constant = drop_constant

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def fit(self, X: Any, y: Any = None) -> StandardPreprocessor:  # noqa: N803 (scikit-learn API)
        """Detect each column's kind and fit its encoder; ``y`` is ignored."""
        self._check_params()
        frame, named = as_frame(X)
        self.n_features_in_ = frame.shape[1]
        if named:
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        columns = [self._fit_column(i, name, frame[name]) for i, name in enumerate(frame.columns)]
        check_unique_outputs(
            (
                (column.name, column.encoder.feature_names(column.name))
                for column in columns
                if column.encoder
            ),
            f"{type(self).__name__} would output feature",
        )
        self.columns_ = columns
        return self

    def transform(self, X: Any) -> NDArray[np.float64]:  # noqa: N803 (scikit-learn API)
        """Encode ``X`` (fitted columns required, extra columns ignored) and record a transform report."""
        check_is_fitted(self, "columns_")
        frame, extra = self._fitted_frame(X)
        kept = self._kept()
        parsed = [encoder.parse(frame[column.name]) for column, encoder in kept]
        reports = {
            column.name: {
                **encoder.report(values).to_dict(),
                "dtype_at_fit": encoder.family,
                "dtype": dtype_family(frame[column.name]),
            }
            for (column, encoder), values in zip(kept, parsed, strict=True)
        }
        self.last_transform_report_ = _transform_summary(frame.shape[0], extra, reports)
        return _write_features([encoder for _, encoder in kept], parsed, frame.shape[0])

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> NDArray[np.object_]:
        """Output feature names (``input_features`` renames the input columns, scikit-learn style)."""
        check_is_fitted(self, "columns_")
        names = self._input_names(input_features)
        features = [
            f for column, encoder in self._kept() for f in encoder.feature_names(names[column.position])
        ]
        return np.asarray(features, dtype=object)

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable summary of every fit-time decision, for telemetry."""
        check_is_fitted(self, "columns_")
        return {
            "parameters": {**self.get_params(), "datetime_columns": list(self.datetime_columns)},
            "n_features_in": self.n_features_in_,
            "n_features_out": self._n_features_out(),
            "dropped_columns": [column.name for column in self.columns_ if column.encoder is None],
            "columns": {column.name: column.summary() for column in self.columns_},
        }

    def drift_report(self, X: Any) -> dict[str, Any]:  # noqa: N803 (scikit-learn API)
        """Population stability index of each numeric column of ``X`` against its fit-time deciles.

        Shares are listed per bin: the fit-time deciles' bins, then missing values (a PSI above 0.25
        is commonly read as a major shift, 0.1-0.25 as a moderate one).
        """
        check_is_fitted(self, "columns_")
        frame, extra = self._fitted_frame(X)
        columns: dict[str, dict[str, Any]] = {}
        for column, encoder in self._kept():
            if isinstance(encoder, NumericEncoder) and encoder.drift is not None:
                values = encoder.parse(frame[column.name]).values
                psi, shares = encoder.drift.psi(values, np.isnan(values))
                columns[column.name] = {
                    "psi": psi,
                    "bin_edges": encoder.drift.edges.tolist(),
                    "expected_shares": encoder.drift.expected.tolist(),
                    "actual_shares": shares.tolist(),
                }
        return {"n_rows": frame.shape[0], "extra_columns": extra, "columns": columns}

    def _check_params(self) -> None:
        """Raise a ValueError naming the parameter to fix."""
        if not _is_positive_int(self.max_categories):
            raise ValueError(f"max_categories must be a positive integer, got {self.max_categories!r}.")
        if self.impute_strategy not in STRATEGIES:
            raise ValueError(f"impute_strategy must be one of {STRATEGIES}, got {self.impute_strategy!r}.")
        if not (self.add_indicator == "auto" or isinstance(self.add_indicator, bool)):
            raise ValueError(f"add_indicator must be 'auto', True or False, got {self.add_indicator!r}.")
        columns: object = self.datetime_columns
        if isinstance(columns, str | bytes) or not isinstance(columns, Collection):
            raise ValueError(
                f"datetime_columns must be a tuple of column names such as ('_time',), got {columns!r}."
            )
        if not all(isinstance(name, str) for name in columns):
            raise ValueError(f"datetime_columns must hold column names (str), got {columns!r}.")
        if not isinstance(self.drop_constant, bool):
            raise ValueError(f"drop_constant must be True or False, got {self.drop_constant!r}.")

    def _fit_column(self, position: int, name: str, series: pd.Series[Any]) -> FittedColumn:
        """Decide what one column is and fit its encoder (none when the column is dropped)."""
        inferred = infer_column(
            series, name, max_categories=self.max_categories, datetime_columns=self.datetime_columns
        )
        dropped = inferred.kind == "empty" or (inferred.constant and self.drop_constant)
        encoder = None if dropped else self._fit_encoder(inferred, dtype_family(series))
        return FittedColumn(name, position, inferred.kind, inferred.reason, encoder)

    def _fit_encoder(self, inferred: Inferred, family: Family) -> ColumnEncoder[Any]:
        """The encoder for a kept column."""
        parsed = inferred.parsed
        if isinstance(parsed, Coded):
            return (
                fit_one_hot(parsed, family)
                if inferred.kind == "categorical"
                else fit_frequency(parsed, family)
            )
        assert isinstance(parsed, Numbers)
        assert inferred.kind in ("numeric", "boolean", "datetime")
        return fit_numeric(
            inferred.kind,
            parsed,
            family,
            strategy=self.impute_strategy,
            add_indicator=self.add_indicator,
        )

    def _kept(self) -> list[tuple[FittedColumn, ColumnEncoder[Any]]]:
        """Columns that produce features, with their encoders, in input order."""
        return [(column, column.encoder) for column in self.columns_ if column.encoder is not None]

    def _n_features_out(self) -> int:
        """Number of output features."""
        return sum(encoder.width for _, encoder in self._kept())

    def _fitted_names(self) -> list[str]:
        """Input column names seen at fit (x0..xn when the input had no names)."""
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return positional_names(self.n_features_in_)

    def _input_names(self, input_features: Sequence[str] | None) -> list[str]:
        """Input names for get_feature_names_out, validated like scikit-learn does."""
        fitted = self._fitted_names()
        if input_features is None:
            return fitted
        names = [str(name) for name in input_features]
        if len(names) != self.n_features_in_:
            raise ValueError(
                f"input_features should have length equal to number of features ({self.n_features_in_}), "
                f"got {len(names)}"
            )
        if hasattr(self, "feature_names_in_") and names != fitted:
            raise ValueError(f"input_features is not equal to feature_names_in_: {names} != {fitted}")
        return names

    def _fitted_frame(self, data: Any) -> tuple[pd.DataFrame, list[str]]:
        """``data`` with the fitted columns reachable by name, and the names of extra columns it has."""
        frame, named = as_frame(data)
        fitted = self._fitted_names()
        fitted_named = hasattr(self, "feature_names_in_")
        if named and fitted_named:
            missing = [name for name in fitted if name not in frame.columns]
            if missing:
                raise ValueError(
                    f"X is missing {len(missing)} column(s) the preprocessor was fitted on: {missing}. "
                    "Pass a DataFrame that has them (extra columns are ignored)."
                )
            known = set(fitted)
            return frame, [name for name in frame.columns if name not in known]
        if named != fitted_named:
            have, fitted_with = ("has", "without") if named else ("does not have valid", "with")
            warn_user(
                f"X {have} feature names, but {type(self).__name__} was fitted {fitted_with} feature names; "
                "columns are matched by position."
            )
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {frame.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return frame.set_axis(fitted, axis=1), []


def _write_features(
    encoders: list[ColumnEncoder[Any]], parsed: list[Any], n_rows: int
) -> NDArray[np.float64]:
    """The output matrix, written in row chunks small enough to stay in cache while all columns fill them."""
    bounds = np.cumsum([0, *(encoder.width for encoder in encoders)])
    out = np.zeros((n_rows, bounds[-1]))
    chunk = max(1, _CHUNK_BYTES // (out.itemsize * max(out.shape[1], 1)))
    for first in range(0, n_rows, chunk):
        rows = slice(first, first + chunk)
        block = out[rows]
        for encoder, values, start, stop in zip(encoders, parsed, bounds[:-1], bounds[1:], strict=True):
            encoder.write(values, rows, block[:, start:stop])
    return out


def _transform_summary(n_rows: int, extra: list[str], reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The transform report: per-column counts plus the columns that drifted in type or category."""
    return {
        "n_rows": n_rows,
        "extra_columns": extra,
        "type_drift": [
            name
            for name, report in reports.items()
            if report["unparsable"] or report["dtype"] != report["dtype_at_fit"]
        ],
        "unseen_categories": [name for name, report in reports.items() if report["unseen"]],
        "columns": reports,
    }


def standard_preprocessing(
    df: pd.DataFrame,
    *,
    target: str | None = None,
    ignore: Collection[Hashable] = (),
    preprocessor: StandardPreprocessor | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, StandardPreprocessor]:
    """Features of ``df`` as a DataFrame, and the preprocessor that made them.

    Without ``preprocessor`` a new :class:`StandardPreprocessor` (``options`` are its parameters) is
    fitted; with one, ``df`` is only transformed. The ``target`` column and the ``ignore`` columns
    are never features: they are required when fitting and dropped, when present, when transforming.

    When fitting, a ``UserWarning`` names each kept column that is probably not a feature, and how
    to leave it out: without ``target``, a column named like a target (``target``, ``label``, ``y``,
    ``class``, ``churn``, ``outcome``, ``is_...``); and a column that looks like an identifier (named
    ``id``, ``..._id``, ``...Id`` or ``...uuid``, or over more than 50 rows one distinct value per
    row of category text, or of integers in one consecutive run). See
    ``dsdl_golden._preprocessing.suspects`` for the exact rules.

    Parameters
    ----------
    df : DataFrame
        At least one row and one column, column names unique.
    target : str, optional
        Column left out of the features.
    ignore : collection of column names, optional
        Other columns left out of the features (identifiers, leaks); a single name is accepted too.
    preprocessor : StandardPreprocessor, optional
        A fitted preprocessor to reuse; None fits a new one.
    **options
        Parameters of the new :class:`StandardPreprocessor` (only without ``preprocessor``).

    Returns
    -------
    features : DataFrame
        One float64 column per output feature, with ``df``'s index.
    preprocessor : StandardPreprocessor
        The fitted preprocessor (``preprocessor`` itself when one was passed).

    Raises
    ------
    TypeError
        ``df`` is not a DataFrame.
    ValueError
        Duplicated column names, no rows or no columns, ``target`` or an ``ignore`` column missing
        when fitting, ``options`` with a ``preprocessor``, output feature names that would repeat, or
        (transforming) columns the preprocessor was fitted on are missing.

    Warns
    -----
    UserWarning
        When fitting: a kept column looks like a target or an identifier (see above).

    Examples
    --------
    >>> import pandas as pd
    >>> from dsdl_golden.preprocessor import standard_preprocessing
    >>> df = pd.DataFrame({"bytes": ["1", "3", ""], "status": ["ok", "fail", "ok"], "y": [0, 1, 0]})
    >>> features, preprocessor = standard_preprocessing(df, target="y")
    >>> features.columns.tolist()
    ['bytes', 'missingindicator_bytes', 'status_fail', 'status_ok']
    >>> features["missingindicator_bytes"].tolist()
    [0.0, 0.0, 1.0]
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = standard_preprocessing(df)
    >>> print(caught[0].message)
    column 'y' looks like a target but is used as a feature: pass target='y' to keep it out ...
    >>> standard_preprocessing(df, ignore=["y"])[0].columns.tolist()
    ['bytes', 'missingindicator_bytes', 'status_fail', 'status_ok']
    """
    _require_frame(df)
    if preprocessor is not None and options:
        raise ValueError(
            f"options {sorted(options)} only apply when fitting; drop them or pass preprocessor=None."
        )
    left_out = _left_out_columns(df, target, ignore, fitting=preprocessor is None)
    features = df.drop(columns=left_out) if left_out else df
    if preprocessor is None:
        preprocessor = StandardPreprocessor(**options).fit(features)
        _warn_about_suspects(features, preprocessor, target_given=target is not None)
    values: Any = preprocessor.transform(features)  # a DataFrame after set_output(transform="pandas")
    if isinstance(values, pd.DataFrame):
        return values, preprocessor
    names = preprocessor.get_feature_names_out()
    return pd.DataFrame(values, columns=names, index=features.index, copy=False), preprocessor


def _left_out_columns(
    df: pd.DataFrame, target: str | None, ignore: Collection[Hashable], *, fitting: bool
) -> list[Hashable]:
    """``target`` and ``ignore`` columns present in ``df``; when fitting, all of them must be."""
    ignored: list[Hashable] = [ignore] if isinstance(ignore, str) else list(ignore)
    if fitting:
        if target is not None and target not in df.columns:
            raise ValueError(f"target column {target!r} is not in df; columns are {list(df.columns)}.")
        missing = [name for name in ignored if name not in df.columns]
        if missing:
            raise ValueError(f"ignore columns {missing} are not in df; columns are {list(df.columns)}.")
    named = ignored if target is None else [target, *ignored]
    return list(dict.fromkeys(name for name in named if name in df.columns))


def _warn_about_suspects(
    features: pd.DataFrame, preprocessor: StandardPreprocessor, *, target_given: bool
) -> None:
    """Warn about each kept column that looks like a target or an identifier (never fails)."""
    kinds = [column.kind if column.encoder else None for column in preprocessor.columns_]
    for message in suspect_warnings(features, kinds, target_given=target_given):
        warn_user(message)


def handle_missing(
    df: pd.DataFrame,
    strategy: MissingStrategy = "median",
    *,
    columns: Sequence[Hashable] | None = None,
    fill_value: Any = None,
) -> pd.DataFrame:
    """A new DataFrame with the missing values of ``columns`` filled, or their rows dropped.

    ``median``/``mean`` fill numeric columns (all of them when ``columns`` is None), which become
    float64 like SimpleImputer's output (timedelta columns stay timedeltas); ``most_frequent`` and
    ``constant`` (``fill_value``) fill any column; ``drop`` removes the rows with a missing value.
    Text values "", "nan" and "null" count as missing, like NaN/None; infinite values do not.

    Parameters
    ----------
    df : DataFrame
        Column names must be unique; a frame without rows or columns is returned as a copy.
    strategy : {"median", "mean", "most_frequent", "constant", "drop"}, default "median"
        ``most_frequent`` breaks ties like SimpleImputer, taking the smallest tied value, when the
        tied values can be ordered; values that cannot (ints and strings in one column) go to the
        one that comes first in the column.
    columns : sequence of column names, optional
        Columns to fill or to look at for ``drop``; default: the numeric columns for
        ``median``/``mean``, every column otherwise.
    fill_value : scalar, optional
        The value for ``constant``; it must fit the column's dtype.

    Returns
    -------
    DataFrame
        A copy of ``df``; ``df`` itself is not changed.

    Raises
    ------
    TypeError
        ``df`` is not a DataFrame.
    ValueError
        Duplicated column names, an unknown strategy or column, ``median``/``mean`` of a column that
        is not numeric, that has no observed value or that holds infinite values, ``constant``
        without ``fill_value``, or a ``fill_value`` of another type than the column's.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from dsdl_golden.preprocessor import handle_missing
    >>> df = pd.DataFrame({"a": [1.0, np.nan, 3.0], "s": ["x", "", 1]})
    >>> handle_missing(df)["a"].tolist()
    [1.0, 2.0, 3.0]
    >>> handle_missing(df, "most_frequent", columns=["s"])["s"].tolist()
    ['x', 'x', 1]
    >>> handle_missing(df, "drop").index.tolist()
    [0, 2]
    """
    _require_frame(df)
    if strategy not in _MISSING_STRATEGIES:
        raise ValueError(f"strategy must be one of {_MISSING_STRATEGIES}, got {strategy!r}.")
    if strategy == "constant" and fill_value is None:
        raise ValueError(
            "strategy='constant' needs fill_value, e.g. handle_missing(df, 'constant', fill_value=0)."
        )
    selected = _select_columns(df, columns, numeric_only=strategy in ("median", "mean"))
    masks = {name: missing_mask(df[name]) for name in selected}
    if strategy == "drop":
        kept: pd.DataFrame = df.loc[~np.logical_or.reduce([np.zeros(len(df), dtype=bool), *masks.values()])]
        return kept.copy()
    result = df.copy()
    for name, mask in masks.items():
        if mask.any():
            result[name] = _filled(df[name], mask, strategy, fill_value)
    return result


def _filled(
    series: pd.Series[Any], mask: NDArray[np.bool_], strategy: MissingStrategy, value: Any
) -> pd.Series[Any]:
    """The column with its ``mask`` rows filled by ``strategy`` (``value`` for ``constant``)."""
    timedelta = is_timedelta64_dtype(series.dtype)
    if strategy in ("median", "mean"):
        fill = _observed_fill(series[~mask], strategy)
        if timedelta:
            return series.mask(mask, pd.Timedelta(seconds=fill))
        return series.astype(np.float64).mask(mask, fill)
    if strategy == "most_frequent":
        value = _observed_fill(series[~mask], strategy)
    try:
        filled = series.mask(mask, value)
    except (TypeError, ValueError) as error:
        raise _fill_error(series, value) from error
    if series.dtype not in (filled.dtype, object):
        raise _fill_error(series, value)  # pandas would have made it an object column
    return filled


def _fill_error(series: pd.Series[Any], value: Any) -> ValueError:
    """The error for a fill value that does not fit the column's dtype."""
    return ValueError(
        f"cannot fill column {series.name!r} of dtype {series.dtype} with {value!r}: "
        "pass a fill_value of the column's type."
    )


def _observed_fill(observed: pd.Series[Any], strategy: Strategy) -> Any:
    """Median or mean (float, seconds for timedeltas) or most frequent value of a column's observed values.

    Ties of the most frequent value go to the smallest, like SimpleImputer, when the tied values can
    be ordered, and otherwise (ints and strings, say) to the one that comes first in the column.
    """
    if observed.empty:
        raise ValueError(
            f"column {observed.name!r} has no observed values to take a {strategy} from; "
            "drop it or use strategy='constant'."
        )
    if strategy == "most_frequent":
        return _mode(observed)  # the value itself: no float round trip for integers above 2**53
    values = float_values(observed)
    infinite = int(np.count_nonzero(np.isinf(values)))
    if infinite:
        raise ValueError(
            f"column {observed.name!r} holds {infinite} infinite values, which are not missing values and "
            f"would enter its {strategy}: make them missing first (df.replace([np.inf, -np.inf], np.nan)) "
            "or use strategy='most_frequent' or 'constant'."
        )
    return fill_value(values, strategy)


def _mode(observed: pd.Series[Any]) -> Any:
    """Most frequent value; ties: the smallest when they can be ordered, else the first in the column."""
    codes, uniques = pd.factorize(observed)  # uniques in order of first appearance
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    tied = list(uniques[counts == counts.max()])
    try:
        return min(tied)
    except TypeError:
        return tied[0]


def encode_categorical(
    df: pd.DataFrame,
    columns: Sequence[Hashable] | None = None,
    method: CategoricalMethod = "onehot",
) -> pd.DataFrame:
    """A new DataFrame with categorical ``columns`` (default: every text column) encoded in place.

    ``onehot``: one 0/1 column per sorted category, ``<col>_<category>``, missing values as ``<col>_nan``;
    ``frequency``: the share of rows holding the value; ``ordinal``: the position among the sorted
    categories (missing -> NaN). Values are compared as text.

    Parameters
    ----------
    df : DataFrame
        Column names must be unique. A frame without columns, or without text columns when
        ``columns`` is None, is returned as a copy; without rows, one-hot columns have no categories.
    columns : sequence of column names, optional
        Columns to encode, of any dtype; default: the text columns (object, string and category
        dtypes; numbers, booleans, datetimes, timedeltas and periods are left alone).
    method : {"onehot", "frequency", "ordinal"}, default "onehot"

    Returns
    -------
    DataFrame
        The columns of ``df`` in order, each encoded one replaced by its encoding.

    Raises
    ------
    TypeError
        ``df`` is not a DataFrame.
    ValueError
        Duplicated column names, an unknown method or column, or two output columns with the same
        name (a column ``c`` holding ``x`` next to a column ``c_x``): like scikit-learn's
        ColumnTransformer, output names are never silently repeated or renamed; rename a column.

    Examples
    --------
    >>> import pandas as pd
    >>> from dsdl_golden.preprocessor import encode_categorical
    >>> df = pd.DataFrame({"n": [1, 2, 3], "c": ["b", "a", None]})
    >>> encode_categorical(df).columns.tolist()
    ['n', 'c_a', 'c_b', 'c_nan']
    >>> encode_categorical(df, method="frequency")["c"].round(2).tolist()
    [0.33, 0.33, 0.33]
    >>> encode_categorical(pd.DataFrame({"c": ["x", "y"], "c_x": [1.0, 2.0]}))
    Traceback (most recent call last):
    ...
    ValueError: encode_categorical would output column 'c_x' twice: from column 'c' and from column 'c_x'. ...
    """
    _require_frame(df)
    fit = _CATEGORICAL_FITS.get(method)
    if fit is None:
        raise ValueError(f"method must be one of {sorted(_CATEGORICAL_FITS)}, got {method!r}.")
    selected = set(_select_columns(df, columns, text_only=columns is None))
    if not selected:
        return df.copy()
    pieces = [_encoded(df[name], name, fit) if name in selected else df[[name]] for name in df.columns]
    check_unique_outputs(
        ((name, [str(c) for c in piece.columns]) for name, piece in zip(df.columns, pieces, strict=True)),
        "encode_categorical would output column",
    )
    return pd.concat(pieces, axis=1)


def _encoded(
    series: pd.Series[Any], name: Hashable, fit: Callable[[Coded, Family], ColumnEncoder[Any]]
) -> pd.DataFrame:
    """One column encoded by a freshly fitted encoder."""
    encoder = fit(factorize_text(series), dtype_family(series))
    out = _write_features([encoder], [encoder.parse(series)], len(series))
    return pd.DataFrame(out, columns=encoder.feature_names(str(name)), index=series.index, copy=False)


def _select_columns(
    df: pd.DataFrame,
    columns: Sequence[Hashable] | None,
    *,
    numeric_only: bool = False,
    text_only: bool = False,
) -> list[Hashable]:
    """The named columns (checked to exist and, for numeric_only, to be numeric), or the default set."""
    wanted: Family | None = "numeric" if numeric_only else "text" if text_only else None
    if columns is None:
        return [name for name in df.columns if wanted is None or dtype_family(df[name]) == wanted]
    names: list[Hashable] = [columns] if isinstance(columns, str) else list(columns)
    unknown = [name for name in names if name not in df.columns]
    if unknown:
        raise ValueError(f"columns {unknown} are not in df; its columns are {list(df.columns)}.")
    if numeric_only:
        not_numeric = [name for name in names if dtype_family(df[name]) != "numeric"]
        if not_numeric:
            raise ValueError(
                f"columns {not_numeric} are not numeric: use strategy='most_frequent' or 'constant' for "
                "them, or convert them first (standard_preprocessing parses numeric text)."
            )
    return names


def _require_frame(df: Any) -> None:
    """Raise a TypeError unless ``df`` is a DataFrame, a ValueError when column names repeat."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"df must be a pandas DataFrame, got {type(df).__name__}; wrap arrays in pd.DataFrame(...)."
        )
    check_unique_columns(df, "df")


def _is_positive_int(value: object) -> bool:
    """Whether ``value`` is an integer >= 1 (booleans excluded)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and int(value) >= 1
