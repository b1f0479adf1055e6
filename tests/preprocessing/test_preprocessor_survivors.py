"""Preprocessing behaviour users notice that the main suite's examples did not pin down.

Row chunks of transform output, values exactly on drift bin edges, ties of the most frequent value
and the ``max_categories`` limit itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from dsdl_golden.preprocessor import _CHUNK_BYTES, StandardPreprocessor, handle_missing

# --- transform output written in row chunks -------------------------------------------------------

#: One-hot width that makes a row chunk about a thousand rows (4 MiB / (8 bytes x 513 features)).
N_CATEGORIES = 512


def _wide_frame(n_rows: int) -> pd.DataFrame:
    codes = np.arange(n_rows) * 7 % N_CATEGORIES
    return pd.DataFrame(
        {"kind": [f"k{code:03d}" for code in codes], "bytes": np.arange(n_rows, dtype=np.float64) ** 1.5}
    )


@pytest.mark.timeout(60)
def test_transform_larger_than_a_chunk_equals_row_by_row_pieces_and_sklearn() -> None:
    width = N_CATEGORIES + 1  # one-hot of "kind", then "bytes"
    chunk_rows = _CHUNK_BYTES // (8 * width)
    n_rows = 2 * chunk_rows + 5  # crosses two chunk boundaries
    frame = _wide_frame(n_rows)
    preprocessor = StandardPreprocessor(max_categories=N_CATEGORIES).fit(frame)
    whole = preprocessor.transform(frame)
    assert whole.shape == (n_rows, width)

    pieces = [preprocessor.transform(frame.iloc[first : first + 250]) for first in range(0, n_rows, 250)]
    np.testing.assert_array_equal(whole, np.vstack(pieces))
    # Every row is one-hot: one 1 per row, no row left as zeros at a chunk edge.
    np.testing.assert_array_equal(whole[:, :N_CATEGORIES].sum(axis=1), np.ones(n_rows))
    onehot = OneHotEncoder(sparse_output=False).fit_transform(frame[["kind"]])
    np.testing.assert_array_equal(whole[:, :N_CATEGORIES], onehot)
    scaled = StandardScaler().fit_transform(frame[["bytes"]])[:, 0]
    np.testing.assert_allclose(whole[:, N_CATEGORIES], scaled, rtol=1e-12, atol=1e-12)


# --- PSI bins: a value on an edge belongs to the bin above it ----------------------------------------


def _shares(values: np.ndarray, edges: list[float]) -> list[float]:
    """Reference shares: bins [edges[i-1], edges[i]) by pandas.cut, then the missing rows."""
    observed = values[~np.isnan(values)]
    bins = pd.cut(observed, [-np.inf, *edges, np.inf], right=False, labels=False)
    counts = np.bincount(np.asarray(bins, dtype=np.intp), minlength=len(edges) + 1)
    return [*(counts / values.size), np.count_nonzero(np.isnan(values)) / values.size]


def test_drift_report_puts_values_on_a_bin_edge_in_the_upper_bin() -> None:
    # Runs of ten equal values placed so that every fit-time decile falls inside a run: edges 0..8.
    fit_values = np.concatenate([[-1.0] * 5, np.repeat(np.arange(10.0), 10), [np.nan]])
    preprocessor = StandardPreprocessor().fit(pd.DataFrame({"a": fit_values}))
    new_values = np.array([-1.0, *range(10), np.nan])  # every edge exactly, one value per bin
    column = preprocessor.drift_report(pd.DataFrame({"a": new_values}))["columns"]["a"]

    edges = column["bin_edges"]
    assert edges == [float(edge) for edge in range(9)]
    expected, actual = _shares(fit_values, edges), _shares(new_values, edges)
    assert column["expected_shares"] == pytest.approx(expected, rel=1e-12)
    assert column["actual_shares"] == pytest.approx(actual, rel=1e-12)
    # No bin is empty, so the PSI is the textbook sum, no floor involved.
    psi = sum((a - e) * np.log(a / e) for a, e in zip(actual, expected, strict=True))
    assert column["psi"] == pytest.approx(psi, rel=1e-9)


# --- most frequent value: ties go to the smallest, as SimpleImputer -----------------------------------


def test_handle_missing_most_frequent_tie_takes_smallest_like_simple_imputer() -> None:
    frame = pd.DataFrame(
        {
            "port": [443.0, 80.0, np.nan, 443.0, 80.0, 22.0],  # 443 seen first, 80 smaller
            "host": ["web", "db", np.nan, "web", "db", "app"],  # "web" seen first, "db" smaller
        }
    )
    filled = handle_missing(frame, "most_frequent")
    imputer = SimpleImputer(strategy="most_frequent")
    expected = {
        "port": imputer.fit_transform(frame[["port"]])[:, 0].tolist(),
        "host": imputer.fit_transform(frame[["host"]].astype(object))[:, 0].tolist(),
    }
    assert expected["port"][2] == 80.0
    assert expected["host"][2] == "db"
    assert filled["port"].tolist() == expected["port"]
    assert filled["host"].tolist() == expected["host"]


def test_preprocessor_most_frequent_tie_imputes_smallest_like_simple_imputer() -> None:
    frame = pd.DataFrame({"port": ["443", "80", None, "443", "80", "22"]})  # 443 seen first, 80 smaller
    preprocessor = StandardPreprocessor(impute_strategy="most_frequent", add_indicator=False).fit(frame)
    fill = preprocessor.describe()["columns"]["port"]["stats"]["parts"]["value"]["fill"]
    numbers = pd.DataFrame({"port": [443.0, 80.0, np.nan, 443.0, 80.0, 22.0]})
    assert fill == SimpleImputer(strategy="most_frequent").fit(numbers).statistics_[0] == 80.0
    out = preprocessor.transform(frame)
    assert out[2, 0] == out[1, 0]  # the missing row is encoded like the row holding 80


def test_boolean_missing_values_on_a_tie_are_imputed_false_like_simple_imputer() -> None:
    frame = pd.DataFrame({"flag": ["true", "false", None, "true", "false"]})
    preprocessor = StandardPreprocessor(add_indicator=False).fit(frame)
    out = preprocessor.transform(frame)
    expected = SimpleImputer(strategy="most_frequent").fit_transform(
        pd.DataFrame({"flag": [1.0, 0.0, np.nan, 1.0, 0.0]})
    )
    np.testing.assert_array_equal(out, expected)
    assert out[2, 0] == 0.0


# --- max_categories: at most that many distinct values are one-hot encoded ------------------------------


def test_text_with_exactly_max_categories_values_is_one_hot_encoded() -> None:
    frame = pd.DataFrame({"status": ["ok", "fail", "retry", "ok", "fail"]})
    preprocessor = StandardPreprocessor(max_categories=3).fit(frame)
    column = preprocessor.describe()["columns"]["status"]
    assert column["kind"] == "categorical"
    assert preprocessor.get_feature_names_out().tolist() == ["status_fail", "status_ok", "status_retry"]
    np.testing.assert_array_equal(
        preprocessor.transform(frame), OneHotEncoder(sparse_output=False).fit_transform(frame)
    )


def test_text_with_one_more_than_max_categories_values_is_frequency_encoded() -> None:
    frame = pd.DataFrame({"status": ["ok", "fail", "retry", "ok", "lost"]})
    preprocessor = StandardPreprocessor(max_categories=3).fit(frame)
    assert preprocessor.describe()["columns"]["status"]["kind"] == "high_cardinality"
    assert preprocessor.get_feature_names_out().tolist() == ["status"]
    np.testing.assert_allclose(preprocessor.transform(frame)[:, 0], [0.4, 0.2, 0.2, 0.4, 0.2])
