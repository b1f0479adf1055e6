"""How the preprocessor reads values whose type drifted, or that Splunk sends as text.

Numbers sent as text are read as exactly the float Python's ``float()`` gives, whatever the string
dtype; a column fitted as boolean that arrives as numbers keeps its 0/1 values and reports the
others; numeric epoch seconds in a datetime column (``_time``) give pandas' calendar parts, with
values past the year 9999 and infinities reported apart from missing values; missing datetimes
raise no numpy warnings; a frequency-encoded column reports its dtype at fit. Also: the reason
describe() gives for each kind of text, that every distinct value (not only a first sample) must
parse, the counts of rows that do not parse, and the whole message when fit refuses a frame.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import check_array  # type: ignore[import-untyped]

from dsdl_golden.preprocessor import StandardPreprocessor

#: 0.1 + 0.2 is one ulp above 0.3. pd.to_numeric reads its text "0.30000000000000004" as 0.3, float()
#: and a cast of the column read it exactly; scaled, the two give different features.
CLOSE = 0.1 + 0.2


def _fitted_around_close() -> StandardPreprocessor:
    preprocessor = StandardPreprocessor(add_indicator=False).fit(pd.DataFrame({"a": [CLOSE, -CLOSE, 0.0]}))
    exact, rounded = preprocessor.transform(pd.DataFrame({"a": [CLOSE, 0.3]}))[:, 0]
    assert exact != rounded  # the features tell the two numbers apart
    return preprocessor


# --- numbers as text ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["object", "str", "string[python]", "string[pyarrow]"])
def test_numbers_sent_as_text_are_read_exactly_like_float(dtype: str) -> None:
    preprocessor = _fitted_around_close()
    numbers = [CLOSE, -CLOSE, 0.3, 0.0, np.nan]
    text = pd.Series(["0.30000000000000004", "-0.30000000000000004", "0.3", "0", None], dtype=dtype)
    assert [float(value) for value in text[:-1]] == numbers[:-1]
    expected = preprocessor.transform(pd.DataFrame({"a": numbers}))
    np.testing.assert_array_equal(preprocessor.transform(pd.DataFrame({"a": text})), expected)
    report = preprocessor.last_transform_report_
    assert (report["columns"]["a"]["missing"], report["columns"]["a"]["unparsable"]) == (1, 0)
    assert report["type_drift"] == ["a"]  # text where numbers were fitted


def test_python_string_numbers_with_blanks_around_them_are_read_exactly() -> None:
    # float() ignores surrounding blanks: " 0.30000000000000004 " is that float, not 0.3.
    preprocessor = _fitted_around_close()
    text = pd.Series([" 0.30000000000000004", "-0.30000000000000004 ", " 0 "], dtype="string[python]")
    expected = preprocessor.transform(pd.DataFrame({"a": [CLOSE, -CLOSE, 0.0]}))
    np.testing.assert_array_equal(preprocessor.transform(pd.DataFrame({"a": text})), expected)


# --- a boolean column that arrives as numbers -------------------------------------------------------


def test_boolean_column_sent_as_numbers_keeps_zero_and_one_and_reports_the_rest() -> None:
    fitted = pd.DataFrame({"flag": ["false", "true", "false", ""]})  # most frequent: false
    preprocessor = StandardPreprocessor().fit(fitted)
    assert preprocessor.get_feature_names_out().tolist() == ["flag", "missingindicator_flag"]
    drifted = pd.DataFrame({"flag": [1.0, 0.0, 2.0, np.inf, np.nan, -1.0, 1.0]})
    out = preprocessor.transform(drifted)
    # 2, -1 and inf are no booleans: imputed with the most frequent value (0) like the missing row.
    np.testing.assert_array_equal(out[:, 0], [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(out[:, 1], [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    report = preprocessor.last_transform_report_
    assert report["columns"]["flag"] | {"unseen_examples": []} == {
        "missing": 1,
        "unparsable": 2,
        "infinite": 1,
        "unseen": 0,
        "unseen_examples": [],
        "dtype_at_fit": "text",
        "dtype": "numeric",
    }
    assert report["type_drift"] == ["flag"]


def test_boolean_column_sent_as_integers_gives_the_same_features_as_booleans() -> None:
    fitted = pd.DataFrame({"flag": pd.array([True, False, None, True], dtype="boolean")})
    preprocessor = StandardPreprocessor().fit(fitted)
    as_integers = preprocessor.transform(pd.DataFrame({"flag": pd.array([1, 0, None, 1], dtype="Int64")}))
    np.testing.assert_array_equal(as_integers, preprocessor.transform(fitted))
    assert preprocessor.last_transform_report_["columns"]["flag"]["unparsable"] == 0


# --- numeric epoch seconds in a datetime column --------------------------------------------------------


def _raw_parts(preprocessor: StandardPreprocessor, out: np.ndarray, column: str) -> pd.DataFrame:
    """Datetime parts before scaling, from the fitted statistics describe() reports."""
    parts = preprocessor.describe()["columns"][column]["stats"]["parts"]
    return pd.DataFrame(
        {part: out[:, j] * stats["scale"] + stats["mean"] for j, (part, stats) in enumerate(parts.items())}
    )


def test_numeric_time_is_epoch_seconds_and_values_past_year_9999_are_unparsable() -> None:
    seconds = [1_700_000_000.0, 3e11, 1_704_067_200.0, np.nan, -3e11, np.inf, 86_400.0 * 45 + 3_600 * 5]
    frame = pd.DataFrame({"_time": seconds})
    preprocessor = StandardPreprocessor().fit(frame)
    column = preprocessor.describe()["columns"]["_time"]
    assert column["kind"] == "datetime"
    assert column["reason"] == (
        "listed in datetime_columns; 2 values did not parse and are treated as missing; "
        "1 infinite values are treated as missing"
    )
    out = preprocessor.transform(frame)
    assert preprocessor.last_transform_report_["columns"]["_time"] | {"unseen_examples": []} == {
        "missing": 1,
        "unparsable": 2,
        "infinite": 1,
        "unseen": 0,
        "unseen_examples": [],
        "dtype_at_fit": "numeric",
        "dtype": "numeric",
    }
    missing = np.array([False, True, False, True, True, True, False])
    np.testing.assert_array_equal(out[:, -1], missing)  # the missing indicator
    stamps = pd.to_datetime(pd.Series(seconds)[~missing], unit="s", utc=True)
    expected = np.column_stack(
        [
            (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1),
            stamps.dt.hour,
            stamps.dt.dayofweek,
            stamps.dt.month,
        ]
    )
    np.testing.assert_allclose(_raw_parts(preprocessor, out, "_time")[~missing], expected, atol=1e-5)


def test_float32_time_is_read_as_the_values_it_holds() -> None:
    # float32 cannot hold 1700000100: the column holds 1700000128, whose shortest text is 1.7000001e+09.
    seconds = np.array([1_700_000_128.0, 1_700_003_840.0, 1_700_100_096.0], dtype=np.float32)
    as_float32 = StandardPreprocessor().fit(pd.DataFrame({"_time": seconds}))
    as_float64 = StandardPreprocessor().fit(pd.DataFrame({"_time": seconds.astype(np.float64)}))
    assert (
        as_float32.describe()["columns"]["_time"]["stats"]
        == as_float64.describe()["columns"]["_time"]["stats"]
    )
    np.testing.assert_array_equal(
        as_float32.transform(pd.DataFrame({"_time": seconds})),
        as_float64.transform(pd.DataFrame({"_time": seconds.astype(np.float64)})),
    )


def test_missing_datetimes_raise_no_numpy_warnings() -> None:
    frame = pd.DataFrame({"_time": ["2024-01-01T00:00:00Z", None, "2024-03-01T05:00:00Z", ""]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        preprocessor = StandardPreprocessor().fit(frame)
        out = preprocessor.transform(frame)
    np.testing.assert_array_equal(out[:, -1], [0.0, 1.0, 0.0, 1.0])


# --- frequency encoding ---------------------------------------------------------------------------------


def test_frequency_encoded_column_reports_its_dtype_at_fit_and_no_drift() -> None:
    frame = pd.DataFrame({"user": [f"u{i % 30}" for i in range(60)]})
    preprocessor = StandardPreprocessor().fit(frame)
    assert preprocessor.describe()["columns"]["user"]["kind"] == "high_cardinality"
    preprocessor.transform(frame)
    report = preprocessor.last_transform_report_
    assert (report["columns"]["user"]["dtype_at_fit"], report["columns"]["user"]["dtype"]) == ("text", "text")
    assert report["type_drift"] == []


# --- why describe() says a text column is of its kind ------------------------------------------------------


def test_describe_gives_the_reason_for_each_kind_of_text() -> None:
    frame = pd.DataFrame(
        {
            "note": ["", None, "null", "NaN"],
            "status": ["a", "b", "a", ""],
            "host": ["a", "b", "c", "d"],
            "ok": ["yes", "no", "T", "f"],
            "bytes": ["1.5", "2", "", "1e3"],
            "seen": ["2024-01-01", "2024-01-02T03:00:00Z", "", None],
        }
    )
    columns = StandardPreprocessor(max_categories=3).fit(frame).describe()["columns"]
    assert {name: (column["kind"], column["reason"]) for name, column in columns.items()} == {
        "note": ("empty", "no observed values"),
        "status": ("categorical", "text with 2 distinct values <= max_categories"),
        "host": ("high_cardinality", "text with 4 distinct values > max_categories"),
        "ok": ("boolean", "text of boolean tokens (true/false, yes/no, t/f, 1/0)"),
        "bytes": ("numeric", "text where every value is a number"),
        "seen": ("datetime", "text where every value is an ISO 8601 timestamp"),
    }


def test_describe_gives_the_reason_for_each_dtype_with_its_unit_and_content() -> None:
    frame = pd.DataFrame(
        {
            "took": pd.to_timedelta([1, 2, 3, 4], unit="s"),
            "count": [1, 2, 3, 4],
            "flag": [True, False, True, False],
            "maybe": pd.array([True, None, False, True], dtype="boolean"),
            "at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"], utc=True),
            "month": pd.period_range("2026-01", periods=4, freq="M"),
            "nothing": [np.nan] * 4,
            "rate": [2.5] * 4,
            "load": [1.0, np.inf, 2.0, -np.inf],
        }
    )
    columns = StandardPreprocessor().fit(frame).describe()["columns"]

    def dtype(name: str) -> str:
        return f"{frame[name].dtype} dtype"

    assert {name: (column["kind"], column["reason"]) for name, column in columns.items()} == {
        "took": ("numeric", f"{dtype('took')} (seconds)"),
        "count": ("numeric", dtype("count")),
        "flag": ("boolean", "bool dtype"),
        "maybe": ("boolean", "boolean dtype"),
        "at": ("datetime", dtype("at")),
        "month": ("datetime", "period[M] dtype (start of each period)"),
        "nothing": ("empty", "no observed values"),
        "rate": ("numeric", "float64 dtype; single value 2.5"),
        "load": ("numeric", "float64 dtype; 2 infinite values are treated as missing"),
    }


def test_a_listed_datetime_column_says_how_many_values_did_not_parse() -> None:
    frame = pd.DataFrame({"when": ["2026-01-01", "soon", "2026-01-03", None, "later"], "n": [1, 2, 3, 4, 5]})
    column = StandardPreprocessor(datetime_columns=["when"]).fit(frame).describe()["columns"]["when"]
    assert (column["kind"], column["reason"]) == (
        "datetime",
        "listed in datetime_columns; 2 values did not parse and are treated as missing",
    )


def test_text_is_numeric_only_if_every_distinct_value_is_a_number_not_just_the_first_hundred() -> None:
    values = [str(i) for i in range(100)] + ["oops"]  # the first 100 distinct values are numbers
    column = StandardPreprocessor().fit(pd.DataFrame({"x": values})).describe()["columns"]["x"]
    assert (column["kind"], column["reason"]) == (
        "high_cardinality",
        "text with 101 distinct values > max_categories",
    )


# --- counts of values that do not parse, wherever they are in the column ---------------------------------


@pytest.mark.parametrize(
    ("values", "missing", "unparsable", "infinite"),
    [
        (["oops", "1", "oops", "inf", ""], 1, 2, 1),  # the first value does not parse
        (["inf", "1", "x", "-inf", "inf"], 0, 1, 3),  # the first value is infinite
        (["1", "2.5", "", "3"], 1, 0, 0),  # every value parses (through the missing token)
    ],
)
def test_text_sent_to_a_numeric_column_counts_each_row_that_does_not_parse(
    values: list[str], missing: int, unparsable: int, infinite: int
) -> None:
    preprocessor = StandardPreprocessor().fit(pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
    preprocessor.transform(pd.DataFrame({"a": values}))
    report = preprocessor.last_transform_report_["columns"]["a"]
    assert (report["missing"], report["unparsable"], report["infinite"]) == (missing, unparsable, infinite)


def test_boolean_text_batch_without_any_value_is_all_imputed() -> None:
    preprocessor = StandardPreprocessor().fit(pd.DataFrame({"flag": ["true", "false", "true", ""]}))
    out = preprocessor.transform(pd.DataFrame({"flag": ["", None, "NULL"]}))
    np.testing.assert_array_equal(out, [[1.0, 1.0]] * 3)  # most frequent value, missing indicator set
    report = preprocessor.last_transform_report_["columns"]["flag"]
    assert (report["missing"], report["unparsable"], report["infinite"]) == (3, 0, 0)


# --- frames the preprocessor refuses: the whole message ----------------------------------------------------


def _fit_error(frame: pd.DataFrame) -> str:
    with pytest.raises(ValueError, match=r"required|duplicate|Complex") as caught:
        StandardPreprocessor().fit(frame)
    return str(caught.value)


def _sklearn_error(array: np.ndarray) -> str:
    with pytest.raises(ValueError, match="required") as caught:
        check_array(array)
    return str(caught.value)


def test_frames_without_rows_or_columns_get_sklearns_message_and_the_fix() -> None:
    assert _fit_error(pd.DataFrame({"a": []})) == (
        _sklearn_error(np.empty((0, 1))).removesuffix(".") + ": pass a DataFrame with at least one row."
    )
    assert _fit_error(pd.DataFrame(index=[0, 1])) == (
        _sklearn_error(np.empty((2, 0))).removesuffix(".") + ": pass a DataFrame with at least one column."
    )


def test_duplicate_and_complex_columns_are_named_in_the_fit_error() -> None:
    assert _fit_error(pd.DataFrame([[1.0, 2.0, 3.0]], columns=["a", "b", "a"])) == (
        "X has duplicate column names ['a']; rename them so each name is unique "
        "(for instance by assigning a new list to .columns)."
    )
    assert _fit_error(pd.DataFrame({"a": [1.0, 2.0], "z": [1j, 2j]})) == (
        "Complex data not supported: columns ['z']; pass real parts or magnitudes instead."
    )
