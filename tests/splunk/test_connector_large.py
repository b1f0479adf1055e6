"""splunk_connector with more data than one batch or one block: every row once, in order.

``send_results`` posts rows to HEC in batches of at most ``batch_events`` events and ``batch_bytes``
bytes; ``get_data(method="export")`` parses splunkd's NDJSON stream a block (1 MiB) at a time, so
result lines are cut at block edges. Against the Splunk emulator over loopback HTTPS, through the
real splunk-sdk, and (for the block reader) on in-memory streams cut at every possible place.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from golden_testing import connector_settings

from dsdl_golden import splunk_connector as splunk
from dsdl_golden._splunk.search import _ndjson_blocks
from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator

SEARCH_TOKEN = "search-token-large-6a0d93"
HEC_TOKEN = "hec-token-large-27c4e1"
EVENT_PATH = "/services/collector/event"
EXPORT_BLOCK = 1 << 20  # bytes of the export stream parsed at a time (_ndjson_blocks' default)


@pytest.fixture
def server(fresh_emulator: SplunkEmulator) -> SplunkEmulator:
    fresh_emulator.add_auth_token(SEARCH_TOKEN)
    fresh_emulator.add_index("ml_results")
    fresh_emulator.add_hec_token(HEC_TOKEN, name="results", indexes=["main", "ml_results"])
    fresh_emulator.configure(log_body_bytes=2_000_000)  # whole request bodies in the request log
    return fresh_emulator


@pytest.fixture
def settings(server: SplunkEmulator, tmp_path: Path) -> Callable[..., Settings]:
    return connector_settings(server, tmp_path, search_token=SEARCH_TOKEN, hec_token=HEC_TOKEN)


# --- send_results: batches of events and of bytes ------------------------------------------------


def posted_bodies(server: SplunkEmulator) -> list[list[str]]:
    """The event lines of each HEC request (decompressed), in order; every request was accepted."""
    posts = [entry for entry in server.requests_log("hec") if entry["path"] == EVENT_PATH]
    assert [entry["status"] for entry in posts] == [200] * len(posts)
    bodies = [entry["body"].split("\n") for entry in posts]
    assert [len(lines) for lines in bodies] == [entry["events"] for entry in posts]
    return bodies


@pytest.mark.integration
@pytest.mark.parametrize(
    ("rows", "text", "limits"),
    [
        pytest.param(2001, "", (1000, 800_000), id="one-row-past-two-event-batches"),
        pytest.param(1700, "t" * 900, (1000, 800_000), id="byte-batches-of-the-default-size"),
        pytest.param(61, "t" * 50, (1000, 1_000), id="many-small-byte-batches"),
        pytest.param(3, "t" * 450_000, (1000, 800_000), id="rows-of-more-than-half-a-batch"),
    ],
)
def test_send_results_of_more_than_one_batch_delivers_every_row_once_in_order_in_full_batches(
    server: SplunkEmulator, settings: Callable[..., Settings], rows: int, text: str, limits: tuple[int, int]
) -> None:
    batch_events, batch_bytes = limits
    frame = pd.DataFrame({"n": range(rows), "text": [text + str(n) for n in range(rows)]})

    report = splunk.send_results(
        frame,
        index="ml_results",
        time_field=None,
        batch_events=batch_events,
        batch_bytes=batch_bytes,
        settings=settings(),
    )

    assert report.ok, str(report)
    assert report.sent == rows
    assert [event["event"]["n"] for event in server.events(index="ml_results")] == list(range(rows))
    bodies = posted_bodies(server)
    assert len(bodies) > 1
    assert [json.loads(line)["event"]["n"] for lines in bodies for line in lines] == list(range(rows))
    for lines, following in itertools.pairwise(bodies):
        size = len("\n".join(lines).encode())
        assert len(lines) <= batch_events
        assert size <= batch_bytes
        # full: the next row would have made the request too long (within the separator's byte)
        assert len(lines) == batch_events or size + 2 * len(b"\n") + len(following[0].encode()) > batch_bytes
    assert len(bodies[-1]) <= batch_events
    assert len("\n".join(bodies[-1]).encode()) <= batch_bytes


# --- get_data(method="export"): the NDJSON stream read in blocks ----------------------------------


def ndjson(count: int) -> tuple[bytes, list[dict[str, Any]]]:
    """Export lines (one result each, lines of different lengths) and the items they hold."""
    items = [
        {"preview": False, "offset": n, "result": {"n": str(n), "pad": "p" * (n % 7)}} for n in range(count)
    ]
    return b"".join(json.dumps(item).encode() + b"\n" for item in items), items


def read_blocks(data: bytes, block_bytes: int) -> list[dict[str, Any]]:
    return [item for block in _ndjson_blocks(io.BytesIO(data), block_bytes) for item in block]


def test_ndjson_blocks_cut_anywhere_give_every_line_once_in_order() -> None:
    data, items = ndjson(12)
    longest = max(map(len, data.split(b"\n")))
    for block_bytes in range(1, 3 * longest):  # blocks that end inside, at and after each line end
        assert read_blocks(data, block_bytes) == items, block_bytes
        assert read_blocks(data.rstrip(b"\n"), block_bytes) == items, block_bytes  # no final newline


def test_ndjson_blocks_of_the_default_size_give_every_line_of_a_longer_stream() -> None:
    data, items = ndjson(60_000)
    assert len(data) > 2 * EXPORT_BLOCK
    got = [item for block in _ndjson_blocks(io.BytesIO(data)) for item in block]
    assert got == items


@pytest.mark.integration
def test_an_export_search_longer_than_one_block_returns_every_row_once_in_order(
    server: SplunkEmulator, settings: Callable[..., Settings]
) -> None:
    rows = 14_000
    server.add_dataset("index=long", [{"n": n, "text": "w" * 100} for n in range(rows)])
    shortest_line = len('{"preview":false,"offset":0,"result":{"n":"0","text":""}}\n') + 100
    assert rows * shortest_line > 2 * EXPORT_BLOCK  # the stream spans three blocks at least

    frame = splunk.get_data("index=long", earliest="0", method="export", settings=settings(), progress=False)

    assert frame["n"].tolist() == list(range(rows))
    assert (frame["text"] == "w" * 100).all()
