"""Tests of dsdl_golden._csv_codec: Arrow's CSV path gives exactly what pandas' gives.

``read_csv(text)`` must equal ``pd.read_csv(BytesIO(text.encode()), float_precision="round_trip")``
for any text ``to_csv(index=False)`` writes; ``write_csv(frame)`` must read back (the same way) to
exactly what ``frame.to_csv(index=False)`` reads back to. "Exactly": ``assert_frame_equal`` with
``check_exact=True`` (names, order, dtypes, values, NaN positions) and the same sign of every zero.
"""

from __future__ import annotations

import io
import math
import re
import string
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from golden_testing import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsdl_golden import _csv_codec
from dsdl_golden._csv_codec import read_csv, write_csv

PROPERTY_SETTINGS = settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: Text that looks like something other than text to one CSV reader or another.
TRICKY_TEXT = [
    *("", " ", "  ", "\t", "NA", "N/A", "#N/A", "<NA>", "null", "NULL", "None", "nan", "NaN", "-nan"),
    *("NAN", "Nan", "+nan", "nan(1)", "True", "true", "TRUE", "tRuE", "False", "fALSE", " True"),
    *("007", "-0", "+0", "+1", " +1", "1e5", "1E5", "1.", ".5", "1e", "1_000", "0x1F", "0X10", "-0x1"),
    *("inf", "-inf", "+inf", "Infinity", "-INFINITY", " inf", "inf ", "1e999", "-1e999", "1e-999"),
    *("9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809"),
    *("18446744073709551615", "18446744073709551616", "\t1\n", "1\r", "\x0b1", "\x0c2.5", "\n3"),
    *("2024-01-01", "2024-01-01T12:34:56", "2024-01-01 12:34:56.789+01:00", "2024-01-01T00:00:00Z"),
    *("12:00", "12:00:00", "1700000000.123", "a,b", 'say "hi"', '"', "line1\nline2", "x\r\ny", "\r"),
    *("é✓日本", "  padded  ", "a\x00b", "\ufeffbom", "A\u2028B"),
]
CSV_ALPHABET = string.ascii_letters[:6] + string.digits[:4] + ' ,"\n\r\t.+-eE:é✓\x00'
NAMES = st.one_of(
    st.sampled_from(["", " ", "a", "a", "a.1", "NA", "nan", "0", "Unnamed: 0", 'q"', "x,y", "l\nm"]),
    st.text(alphabet="ab ", max_size=3),
)
#: A carriage return not before a newline: pandas 3.0's tokenizer mis-reads the lines after one (it
#: loses a comma, or returns rows read from outside its buffer, different on every call), so the only
#: exact answer is pandas' own: read_csv must hand such text to pandas, write_csv must write to_csv's.
BARE_CR = re.compile(r"\r(?!\n)")


class DelegatedError(Exception):
    """Raised in place of pandas' reading, to see that read_csv hands text to pandas."""


def pandas_read(text: str) -> pd.DataFrame:
    """The reference: how pandas (DSDL) reads CSV text, with floats parsed exactly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)  # mixed chunk types: part of the reference
        return pd.read_csv(io.BytesIO(text.encode()), float_precision="round_trip")


def outcome(function: Callable[[], pd.DataFrame]) -> pd.DataFrame | type[BaseException]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            return function()
    except Exception as error:
        return type(error)


def assert_same(
    got: pd.DataFrame | type[BaseException], expected: pd.DataFrame | type[BaseException]
) -> None:
    """Equal frames, zero signs included, or the same exception."""
    if not isinstance(got, pd.DataFrame) or not isinstance(expected, pd.DataFrame):
        assert got is expected
        return
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for (_, left), (_, right) in zip(got.items(), expected.items(), strict=True):
        if left.dtype.kind == "f":
            values, reference = left.to_numpy(), right.to_numpy()
            known = ~np.isnan(reference)
            np.testing.assert_array_equal(np.signbit(values[known]), np.signbit(reference[known]))


def assert_reads_like_pandas(text: str) -> None:
    if BARE_CR.search(text):
        with mock.patch.object(_csv_codec, "_pandas_read", side_effect=DelegatedError):
            for data in (text, text.encode()):
                with pytest.raises(DelegatedError):
                    read_csv(data)
        return
    expected = outcome(lambda: pandas_read(text))
    assert_same(outcome(lambda: read_csv(text)), expected)
    assert_same(outcome(lambda: read_csv(text.encode())), expected)


def assert_writes_like_pandas(frame: pd.DataFrame) -> None:
    written, expected = write_csv(frame), frame.to_csv(index=False)
    assert isinstance(written, str)
    if BARE_CR.search(expected):
        assert written == expected
    else:
        assert_same(outcome(lambda: pandas_read(written)), outcome(lambda: pandas_read(expected)))


# --- strategies -----------------------------------------------------------------------------------


def _series(elements: st.SearchStrategy[Any], rows: int, dtype: Any = None) -> st.SearchStrategy[pd.Series]:
    return st.lists(elements, min_size=rows, max_size=rows).map(lambda values: pd.Series(values, dtype=dtype))


def _iso(moment: datetime, sep: str, spec: str) -> str:
    return moment.isoformat(sep=sep, timespec=spec)


ISO_TEXT = st.builds(
    _iso,
    st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=-5))]),
    ),
    st.sampled_from(["T", " "]),
    st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"]),
) | st.dates().map(str)
TEXT = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(alphabet=CSV_ALPHABET, max_size=6),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=6),
    st.from_regex(r"\A[ \t]?[+-]?[0-9]{0,3}\.?[0-9]{0,3}([eE][+-]?[0-9]{1,3})?[ \t]?\Z"),
    ISO_TEXT,
)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
INTEGRAL_FLOATS = st.integers(-(10**6), 10**6).map(float) | st.sampled_from([0.0, -0.0, 1.0, 2.0**53])


def read_columns(rows: int) -> st.SearchStrategy[pd.Series]:
    """Columns of frames a Splunk search (or a model) could hand to ``to_csv``."""
    return st.one_of(
        _series(st.integers(-(2**63), 2**63 - 1), rows, "int64"),
        _series(st.integers(-1000, 1000), rows, "int64"),
        _series(st.integers(0, 2**64 - 1), rows, "uint64"),
        _series(FLOATS, rows, "float64"),
        _series(INTEGRAL_FLOATS | st.none(), rows, "float64"),
        _series(st.floats(1e9, 2e9), rows, "float64"),  # epoch seconds (_time)
        _series(st.booleans(), rows, "bool"),
        _series(st.booleans() | st.none(), rows, object),
        _series(TEXT | st.none(), rows, "str"),
        _series(st.sampled_from(TRICKY_TEXT) | st.none(), rows, "str"),
        _series(ISO_TEXT | st.none(), rows, "str"),
        _series(st.none(), rows, "float64"),
        _series(st.none(), rows, "str"),
    )


def write_columns(rows: int) -> st.SearchStrategy[pd.Series]:
    """Columns of result frames a model's ``apply`` returns."""
    mixed = st.one_of(st.integers(-5, 5), FLOATS, TEXT, st.booleans(), st.none())
    moments = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1))
    return st.one_of(
        read_columns(rows),
        _series(st.floats(width=32), rows, "float32"),
        _series(st.floats(width=16), rows, "float16"),
        _series(st.integers(-128, 127), rows, "int8"),
        _series(st.integers(-5, 5) | st.none(), rows, "Int64"),
        _series(FLOATS.filter(lambda x: not math.isnan(x)) | st.none(), rows, "Float64"),
        _series(st.booleans() | st.none(), rows, "boolean"),
        _series(TEXT | st.none(), rows, "string"),
        _series(mixed, rows, object),
        _series(moments, rows, "datetime64[ns]"),
        _series(moments | st.none(), rows, "datetime64[ns]").map(lambda s: s.dt.tz_localize("UTC")),
        _series(st.sampled_from(["yes", "no", "1", "NA"]) | st.none(), rows, "category"),
        _series(st.integers(0, 3), rows, "category"),
    )


@st.composite
def frames(
    draw: st.DrawFn,
    columns: Callable[[int], st.SearchStrategy[pd.Series]],
    names: st.SearchStrategy[Any] = NAMES,
    min_columns: int = 1,
) -> pd.DataFrame:
    rows = draw(st.integers(0, 8))
    width = draw(st.integers(min_columns, 5))
    frame = pd.DataFrame({i: draw(columns(rows)) for i in range(width)}, index=range(rows))
    frame.columns = draw(st.lists(names, min_size=width, max_size=width))
    return frame


# --- read_csv: properties -------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(frames(read_columns))
def test_read_csv_reads_what_to_csv_writes_as_pandas_does(frame: pd.DataFrame) -> None:
    assert_reads_like_pandas(frame.to_csv(index=False))


@PROPERTY_SETTINGS
@given(frames(lambda rows: _series(TEXT | st.none(), rows, "str"), names=st.sampled_from("abc")))
def test_read_csv_reads_text_columns_as_pandas_does(frame: pd.DataFrame) -> None:
    assert_reads_like_pandas(frame.to_csv(index=False))


@PROPERTY_SETTINGS
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=60))
def test_read_csv_parses_floats_exactly(values: list[float]) -> None:
    texts = [repr(value) for value in values]
    column = read_csv("x\n" + "\n".join(texts) + "\n")["x"].to_numpy()
    assert column.dtype == np.float64
    expected = np.array([float(text) for text in texts])
    np.testing.assert_array_equal(column.view(np.uint64), expected.view(np.uint64))


def test_read_csv_parses_random_bit_patterns_exactly() -> None:
    rng = np.random.default_rng(20240501)
    values = rng.integers(0, 2**64, size=100_000, dtype=np.uint64, endpoint=False).view(np.float64)
    values = values[np.isfinite(values)]
    texts = [repr(float(value)) for value in values]
    column = read_csv("x\n" + "\n".join(texts) + "\n")["x"].to_numpy()
    expected = np.array([float(text) for text in texts])
    np.testing.assert_array_equal(column.view(np.uint64), expected.view(np.uint64))
    np.testing.assert_array_equal(column.view(np.uint64), values.view(np.uint64))


@pytest.mark.parametrize(
    "text",
    [
        "2.2250738585072011e-308",  # the largest subnormal, written long
        "2.2250738585072012e-308",
        "4.9406564584124654e-324",
        "2.4703282292062328e-324",  # just above half the least subnormal
        "9007199254740993e0",  # 2**53 + 1: ties to even
        "9007199254740993.0",
        "0.1000000000000000055511151231257827021181583404541015625",
        "1.7976931348623157e308",
        "1.7976931348623158e308",  # still rounds to the largest double
        "1e-400",
        "-0.0",
        "123456789012345678901234567890.5",
    ],
)
def test_read_csv_parses_hard_decimals_exactly(text: str) -> None:
    column = read_csv(f"x,y\n{text},1.5\n")["x"].to_numpy()
    assert column.view(np.uint64)[0] == np.array([float(text)]).view(np.uint64)[0]
    assert_reads_like_pandas(f"x,y\n{text},1.5\n")


# --- read_csv: examples ---------------------------------------------------------------------------

READ_EXAMPLES = {
    "ints": pd.DataFrame({"a": [1, -2, 3], "b": [2**63 - 1, -(2**63), 0]}),
    "uint64": pd.DataFrame({"a": np.array([2**64 - 1, 1], dtype=np.uint64)}),
    "int64 least with missing": pd.DataFrame({"a": [-(2**63), None, 1]}, dtype=object),
    "floats": pd.DataFrame(
        {"a": [1.5, np.nan, np.inf, -np.inf, -0.0], "b": [1e308, 5e-324, 1e-310, -1e-5, 0.1]}
    ),
    "integral floats": pd.DataFrame({"a": [0.0, 1.0, -0.0, 2.0**60], "b": [1, 2, 3, 4]}),
    "infinity only": pd.DataFrame({"a": [np.inf, 1.0]}),
    "epoch seconds": pd.DataFrame({"_time": [1700000000.123, 1700000001.0, 1.7e9]}),
    "bools": pd.DataFrame({"a": [True, False], "b": [True, None]}),
    "text": pd.DataFrame({"a": ["x,y", 'q"u"', "l1\nl2\nl3", "é✓日本", " sp ", "\r\n"]}),
    "multivalue": pd.DataFrame({"a": ["GET\nPOST", "GET"], "n": [1, 2]}),
    "na words": pd.DataFrame({"a": ["NA", "null", "nan", "x", "None", "#N/A"]}),
    "number words": pd.DataFrame({"a": ["007", "1e5", "+1", "-0"], "b": ["True", "x", "1", "2"]}),
    "leading plus": pd.DataFrame({"a": ["+1", "+44", "33"], "b": [1.5, 2.0, 3.0]}),
    "leading plus floats": pd.DataFrame({"a": ["+1.5", "2"]}),
    "leading plus with missing": pd.DataFrame({"a": ["-0", None, "+0"], "b": ["+1", None, "2"]}),
    "exponent and integral": pd.DataFrame({"a": [1.0, 2.0], "b": [1e16, 1e-20]}),
    "hexadecimal": pd.DataFrame({"a": ["0x1F", "0x10"], "b": [1, 2]}),
    "hexadecimal elsewhere": pd.DataFrame({"a": ["0x1F", "y"], "b": [1, 2]}),
    "nan words": pd.DataFrame({"a": ["NAN", "1.5"], "b": ["nan(1)", "2"], "c": ["+nan", "3"]}),
    "padded infinity": pd.DataFrame({"a": [" inf", "1.5"], "b": ["inf ", "2"], "c": ["1e999", "1"]}),
    "booleans any case": pd.DataFrame({"a": ["tRuE", "FaLsE"], "b": ["true", "FALSE"], "c": [" True", "x"]}),
    "padded numbers": pd.DataFrame(
        {"a": ["\r1", "2"], "b": ["1\n", "2"], "c": ["\x0b1.5", "2"], "d": [" 1 ", "\t2"]}
    ),
    "beyond int64": pd.DataFrame({"a": ["9223372036854775808", "1"], "b": ["-9223372036854775809", "2"]}),
    "beyond uint64": pd.DataFrame({"a": ["18446744073709551616", "2.5"], "b": ["18446744073709551616", "1"]}),
    "beyond int64 with missing": pd.DataFrame({"a": [None, "18446744073709551616", "1e"], "b": [1, 2, 3]}),
    "iso timestamps": pd.DataFrame(
        {
            "t": ["2024-01-01T00:00:00", "2024-01-02T03:04:05"],
            "z": ["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123+01:00"],
            "d": ["2024-01-01", None],
            "h": ["12:00:00", "13:00"],
            "s": ["2024-01-01 00:00:00.123456789", "2024-01-01 00:00:00"],
        }
    ),
    "empty columns": pd.DataFrame(
        {"a": [None, None], "b": [1, 2], "c": pd.Series([None, None], dtype="str")}
    ),
    "lone empty column": pd.DataFrame({"a": [None, None]}),
    "lone blank values": pd.DataFrame({"a": ["x", " ", "\t", "y"]}),
    "lone text with missing": pd.DataFrame({"a": ["x", None, ""]}),
    "nul": pd.DataFrame({"a": ["a\x00b", "c"], "b": ["1\x00", "2"]}),
    "duplicate names": pd.DataFrame([[1, 2, 3]], columns=["a", "a", "a.1"]),
    "empty names": pd.DataFrame([[1, 2, 3]], columns=["", "b", ""]),
    "blank names": pd.DataFrame([[1, 2]], columns=[" ", "b"]),
    "lone blank name": pd.DataFrame({" ": [1, 2]}),
    "names like values": pd.DataFrame([[1, 2, 3, 4]], columns=["NA", "1", "True", "nan"]),
    "names needing quotes": pd.DataFrame([[1, 2]], columns=["a,b", 'c"\nd']),
    "int names": pd.DataFrame(np.arange(6).reshape(3, 2)),
}
READ_TEXTS = {
    "header only": "a,b\n",
    "duplicate header only": "a,a\n",
    "crlf": "a,b\r\n1,2\r\n3,x\r\n",
    "bom": "\ufeffa,b\n1,2\n",
    "blank lines": "a,b\n1,2\n\n3,4\n",
    "blank line lone column": "a\n1\n \n2\n",
    "quoted empty lone column": 'a\n1\n""\n2\n',
    "quoted numbers": 'a,b\n"1","2.5"\n"3","4"\n',
    "short row": "a,b\n1\n",
    "long row": "a,b\n1,2,3\n",
    "empty": "",
    "newline only": "\n",
}


@pytest.mark.parametrize("name", READ_EXAMPLES)
def test_read_csv_examples(name: str) -> None:
    assert_reads_like_pandas(READ_EXAMPLES[name].to_csv(index=False))


@pytest.mark.parametrize("name", READ_TEXTS)
def test_read_csv_texts(name: str) -> None:
    assert_reads_like_pandas(READ_TEXTS[name])


def test_read_csv_invalid_utf8_raises_as_pandas_does() -> None:
    data = b"a,b\n\xff\xfe,1\n"
    expected = outcome(lambda: pd.read_csv(io.BytesIO(data), float_precision="round_trip"))
    assert_same(outcome(lambda: read_csv(data)), expected)


def test_read_csv_empty_text_raises_pandas_error() -> None:
    with pytest.raises(pd.errors.EmptyDataError):
        read_csv("")


# --- read_csv: texts pandas parses in chunks (more than 2**18 cells) -------------------------------


def _chunked(column: list[Any]) -> pd.DataFrame:
    rows = len(column)
    return pd.DataFrame({"a": column, **{f"c{i}": np.arange(rows) * 0.5 for i in range(9)}})


CHUNK_ROWS = 150_000  # with ten columns pandas parses chunks of 65536 rows
CHUNKED = {
    "text then integers": ["x"] + [str(i) for i in range(1, CHUNK_ROWS)],
    "integers then text": [str(i) for i in range(CHUNK_ROWS - 1)] + ["x"],
    "text then booleans": ["x"] + ["True"] * (CHUNK_ROWS - 1),
    "text, missing chunk, text": ["x"] * 70_000 + [None] * 70_000 + ["y"] * (CHUNK_ROWS - 140_000),
    "booleans, missing chunk": [True] * 70_000 + [None] * 70_000 + [False] * (CHUNK_ROWS - 140_000),
    "integers, missing chunk": [1] * 70_000 + [None] * 70_000 + [2] * (CHUNK_ROWS - 140_000),
    "integers then floats": [1] * 70_000 + [0.5] * (CHUNK_ROWS - 70_000),
    "negative zero integers then floats": ["-0"] * 70_000 + [0.5] * (CHUNK_ROWS - 70_000),
    "text only": [f"user{i}" for i in range(CHUNK_ROWS)],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", CHUNKED)
def test_read_csv_chunked_texts(name: str) -> None:
    assert_reads_like_pandas(_chunked(CHUNKED[name]).to_csv(index=False))


# --- write_csv ------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(frames(write_columns, names=NAMES | st.integers(0, 3), min_columns=0))
def test_write_csv_reads_back_as_to_csv_does(frame: pd.DataFrame) -> None:
    assert_writes_like_pandas(frame)


@PROPERTY_SETTINGS
@given(frames(lambda rows: _series(FLOATS | INTEGRAL_FLOATS, rows, "float64"), names=st.sampled_from("abc")))
def test_write_csv_writes_floats_exactly(frame: pd.DataFrame) -> None:
    assert_writes_like_pandas(frame)


WRITE_EXAMPLES = {
    "numbers": pd.DataFrame({"a": [1, 2], "b": [0.1, 2.5], "c": [np.nan, 1e300]}),
    "integral floats": pd.DataFrame({"a": [1.0, 2.0], "b": [-0.0, 0.0], "c": [1e15, 123456789012345.0]}),
    "integral floats with missing": pd.DataFrame({"a": [1.0, np.nan], "b": [1, 2]}),
    "special floats": pd.DataFrame({"a": [np.inf, -np.inf, np.nan, -0.0, 5e-324, 1.7976931348623157e308]}),
    "float32": pd.DataFrame({"a": np.array([0.1, 1 / 3, 16777216.0, 3.4028235e38], dtype=np.float32)}),
    "float32 integral": pd.DataFrame({"a": np.array([1.0, -0.0], dtype=np.float32), "b": [1, 2]}),
    "float16": pd.DataFrame({"a": np.array([0.1, 2.0], dtype=np.float16), "b": [1, 2]}),
    "lone float with missing": pd.DataFrame({"prediction": [1.5, np.nan, 2.5]}),
    "lone float": pd.DataFrame({"prediction": [1.0, 0.0, 1.0]}),
    "lone text with missing": pd.DataFrame({"a": pd.Series(["x", None], dtype="str")}),
    "lone blank text": pd.DataFrame({"a": pd.Series(["x", " ", "\t", ""], dtype="str")}),
    "lone blank name": pd.DataFrame({" ": [1, 2]}),
    "lone nullable": pd.DataFrame({"a": pd.Series([1, None], dtype="Int64")}),
    "bools": pd.DataFrame({"a": [True, False], "b": pd.Series([True, None], dtype="boolean")}),
    "bools with missing object": pd.DataFrame({"a": [True, None, False], "b": [1, 2, 3]}),
    "text": pd.DataFrame(
        {"a": ["x,y", 'q"', "l1\nl2", " sp ", "", "NA", "007", "1e5", "True"], "b": range(9)}
    ),
    "carriage returns": pd.DataFrame({"a": ["1\r", "x\r\ny", "\r"], "b": [1, 2, 3]}),
    "carriage return in a name": pd.DataFrame({"a\r": [1, 2], "b": [1, 2]}),
    "string dtype": pd.DataFrame({"a": pd.Series(["x", None, "1"], dtype="string"), "b": [1, 2, 3]}),
    "unnamed ndarray": pd.DataFrame(np.arange(6.0).reshape(3, 2)),
    "int and text names": pd.DataFrame([[1, 2]], columns=[0, "0"]),
    "duplicate names": pd.DataFrame([[1, 2]], columns=["a", "a"]),
    "mixed object": pd.DataFrame({"a": [1, "x", 2.5, None, True], "b": range(5)}),
    "datetimes": pd.DataFrame(
        {"t": pd.to_datetime(["2024-01-01 00:00:00", "2024-01-02 03:04:05"]), "b": [1, 2]}
    ),
    "aware datetimes": pd.DataFrame(
        {"t": pd.to_datetime(["2024-01-01", None]).tz_localize("UTC"), "b": [1, 2]}
    ),
    "categoricals": pd.DataFrame({"a": pd.Categorical(["x", None, "x"]), "b": pd.Categorical([1, 2, 1])}),
    "nullable numbers": pd.DataFrame(
        {"a": pd.Series([1, None], dtype="Int64"), "b": pd.Series([1.0, 2.0], dtype="Float64")}
    ),
    "arrow numbers": pd.DataFrame({"a": pd.Series([1.0, 2.0], dtype="double[pyarrow]"), "b": [1, 2]}),
    "sparse": pd.DataFrame({"a": pd.arrays.SparseArray([1.0, 0.0]), "b": [1, 2]}),
    "no rows": pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype="str")}),
    "no columns": pd.DataFrame(index=range(3)),
    "nothing": pd.DataFrame(),
}


@pytest.mark.parametrize("name", WRITE_EXAMPLES)
def test_write_csv_examples(name: str) -> None:
    assert_writes_like_pandas(WRITE_EXAMPLES[name])


# --- large frames ---------------------------------------------------------------------------------


def _floats(rows: int, columns: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    scale = 10.0 ** rng.integers(-300, 300, size=(rows, columns))
    return pd.DataFrame(
        rng.standard_normal((rows, columns)) * scale, columns=[f"f{i}" for i in range(columns)]
    )


@pytest.mark.slow
def test_large_float_frame_reads_and_writes_exactly() -> None:
    frame = _floats(100_000, 10)
    text = frame.to_csv(index=False)
    got = read_csv(text)
    assert_same(got, pandas_read(text))
    assert_same(got, frame)
    assert_same(pandas_read(write_csv(frame)), frame)


@pytest.mark.slow
def test_large_mixed_frame_reads_and_writes_like_pandas() -> None:
    rng = np.random.default_rng(11)
    rows = 60_000
    frame = pd.DataFrame(
        {
            "_time": 1.7e9 + np.arange(rows) * 0.25,
            "count": rng.integers(0, 1000, rows),
            "ratio": np.where(rng.random(rows) < 0.1, np.nan, rng.random(rows)),
            "label": rng.integers(0, 2, rows).astype(float),
            "ok": rng.random(rows) < 0.5,
            "host": pd.Series(rng.choice(["web-1", "db,2", 'q"3', "line\nfeed", "NA"], rows), dtype="str"),
        }
    )
    assert_reads_like_pandas(frame.to_csv(index=False))
    assert_writes_like_pandas(frame)


# --- the fast path is taken for common data --------------------------------------------------------


def test_common_data_does_not_go_through_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame(
        {
            "_time": [1700000000.5, 1700000001.25],
            "count": [1, 2],
            "ratio": [0.5, np.nan],
            "prediction": [1.0, 0.0],
            "ok": [True, False],
            "seen": ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"],
            "host": pd.Series(["web 1", "db,2"], dtype="str"),
        }
    )
    text = frame.to_csv(index=False)
    expected = pandas_read(text)

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("went through pandas")

    monkeypatch.setattr(_csv_codec, "_pandas_read", fail)
    monkeypatch.setattr(pd.DataFrame, "to_csv", fail)
    assert_same(read_csv(text), expected)
    written = write_csv(frame)
    monkeypatch.undo()
    assert_same(pandas_read(written), expected)
