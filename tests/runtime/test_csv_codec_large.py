"""CSV texts larger than one chunk of pandas' parser, and CSV bodies larger than one network read.

pandas parses a text in chunks of rows (``TextReader.buffer_lines``: the largest power of two below
``2**20 // columns``, at least ``2**19`` cells), each with types of its own: a column whose first
chunk holds only integers and whose second holds text comes back as a mix of ints and strings.
``dsdl_golden._csv_codec`` gives pandas' frame for every text, so at the smallest chunk pandas
makes it must hand such texts to pandas; below ``_ONE_CHUNK`` cells (one chunk for any width) it
reads them with Arrow. The model API reads a request body in the pieces the server hands it: a
large CSV must reach the model whole, whatever its pieces.
"""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
from golden_testing import dsdl_module, serve

from dsdl_golden import _csv_codec
from dsdl_golden._csv_codec import read_csv
from dsdl_golden.config import load_settings
from dsdl_golden.runtime import create_app


def pandas_read(text: str) -> pd.DataFrame:
    """The reference: how pandas (DSDL) reads CSV text, with floats parsed exactly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)  # mixed chunk types: the point here
        return pd.read_csv(io.BytesIO(text.encode()), float_precision="round_trip")


def codec_read(data: str | bytes) -> pd.DataFrame:
    """``read_csv(data)``; pandas' warning about mixed chunk types is part of what it hands back."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        return read_csv(data)


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal names, dtypes and values (the type of each value of object columns), zero signs included."""
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for (name, left), (_, right) in zip(got.items(), expected.items(), strict=True):
        if left.dtype == object:
            assert list(map(type, left)) == list(map(type, right)), name
        if left.dtype.kind == "f":
            np.testing.assert_array_equal(np.signbit(left.to_numpy()), np.signbit(right.to_numpy()))


def pandas_chunk_rows(columns: int) -> int:
    """Rows in each chunk pandas' C parser reads of a text of ``columns`` columns."""
    heuristic, rows = 2**20 // columns, 1
    while rows * 2 < heuristic:
        rows *= 2
    return rows


def csv_text(column: list[str], width: int) -> str:
    """Column ``a`` holding ``column``, then ``width - 1`` integer columns."""
    others = [f"c{index}" for index in range(width - 1)]
    lines = [",".join(["a", *others])]
    lines += [",".join([value, *[str(row)] * len(others)]) for row, value in enumerate(column)]
    return "\n".join(lines) + "\n"


def integers(count: int) -> list[str]:
    return [str(value) for value in range(count)]


#: Column ``a`` of a text one row longer than pandas' first chunk (``rows``): types change at the edge.
EDGE_COLUMNS = {
    "integers, then text first in the second chunk": lambda rows: [*integers(rows), "x"],
    "text last in the first chunk, then integers": lambda rows: [*integers(rows - 1), "x", "7"],
    "negative zeros, then a float first in the second chunk": lambda rows: ["-0"] * rows + ["0.5"],
}


@pytest.mark.slow
@pytest.mark.parametrize("width", [1, 8])  # 2**19 + 1 and 2**19 + 8 cells: pandas' smallest chunked texts
@pytest.mark.parametrize("case", EDGE_COLUMNS)
def test_a_text_one_row_past_pandas_first_chunk_reads_as_pandas_reads_it(case: str, width: int) -> None:
    rows = pandas_chunk_rows(width)
    assert rows * width == 2**19
    text = csv_text(EDGE_COLUMNS[case](rows), width)

    expected = pandas_read(text)

    if case.startswith("negative"):  # chunk one: integer zeros, so the float column has +0.0 only
        assert expected["a"].dtype == np.float64
        assert not np.signbit(expected["a"].to_numpy()).any()
    else:  # the edge is where pandas' chunks meet: one type on each side
        assert type(expected["a"].iloc[rows - 1]) is not type(expected["a"].iloc[rows])
    assert_same(codec_read(text), expected)
    assert_same(codec_read(text.encode()), expected)


def test_one_chunk_of_any_width_is_read_by_arrow_and_one_row_more_still_reads_as_pandas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    width = 2
    rows = _csv_codec._ONE_CHUNK // width  # 2**18 cells, half pandas' smallest chunk
    column = [*integers(rows - 1), "x"]  # numbers and text: what chunks would type differently
    at_limit, past_limit = csv_text(column, width), csv_text([*column, "8"], width)
    expected_at_limit, expected_past_limit = pandas_read(at_limit), pandas_read(past_limit)

    def through_pandas(data: bytes) -> pd.DataFrame:
        raise AssertionError("a text of one chunk went through pandas")

    with monkeypatch.context() as patch:
        patch.setattr(_csv_codec, "_pandas_read", through_pandas)
        assert_same(codec_read(at_limit), expected_at_limit)
    assert_same(codec_read(past_limit), expected_past_limit)


# --- the model API: a CSV body of many network reads -----------------------------------------------

TOKEN = "api-large-body-3e71c0d2"
META = {"options": {"params": {"algo": "barebone"}, "model_name": "large"}}


@pytest.fixture
def echo_api(srv: Path) -> Iterator[str]:
    """The model API with a module whose apply returns the ``x`` column it was given."""
    model = srv / "app" / "model"
    (model / "barebone.py").write_text(dsdl_module(model / "data", apply_value="df['x']"))
    environment = {"api_token": TOKEN, "GOLDEN_SRV_DIR": str(srv), "GOLDEN_SPOOL_DIR": str(srv.parent / "sp")}
    with serve(create_app(load_settings(environment), environment)) as url:
        yield url


def pieces(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.integration
@pytest.mark.parametrize("transfer", ["content-length", "chunked"])
def test_a_csv_body_of_many_network_reads_reaches_the_model_whole(echo_api: str, transfer: str) -> None:
    values = np.random.default_rng(3).standard_normal(150_000)  # a 3 MB body: about 50 reads of 64 KiB
    frame = pd.DataFrame({"i": np.arange(values.size), "x": values})
    body = json.dumps({"data": frame.to_csv(index=False), "meta": META}).encode()
    data: bytes | Iterator[bytes] = body if transfer == "content-length" else pieces(body, 65_537)

    response = requests.post(echo_api + "/fit", data=data, headers={"Authorization": TOKEN}, timeout=60)

    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "success", answer["message"]
    results = pandas_read(answer["results"])
    np.testing.assert_array_equal(results["index"].to_numpy(), values)  # every row, in order, exact
