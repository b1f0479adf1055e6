"""The emulator at and past the sizes where splunkd batches or limits: like Splunk, nothing lost or repeated.

- KV store ``batch_save`` takes at most ``max_documents_per_batch_save`` (1,000, limits.conf
  ``[kvstore]``) documents: a batch of 1,000 is saved whole, in order; one more and splunkd refuses
  the request (400) and saves none of it (``../shared/specs/splunk-protocol.md`` §2.8).
- KV store queries page with ``skip``/``limit``: pages put together give every document once.
- ``search/jobs/export`` streams its NDJSON lines in pieces of 500 rows: every row is in the stream
  once, in order, with ``lastrow`` on the last one only (§2.6).
- Listings (``data/indexes``, ``data/inputs/http``) page as splunkd's: 30 entries unless ``count``
  says otherwise (0 or less: all, as splunk-sdk's ``list()`` asks), from ``offset``.

Through the real splunk-sdk over loopback HTTPS.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from emulator_values import AUTH_TOKEN
from splunklib import binding, client

from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration

MAX_DOCUMENTS_PER_BATCH_SAVE = 1000
EXPORT_PIECE_ROWS = 500  # rows per piece of the emulator's export stream


@pytest.fixture
def service(emulator: SplunkEmulator) -> client.Service:
    return client.connect(host="127.0.0.1", port=emulator.rest_port, token=AUTH_TOKEN)


@pytest.fixture
def collection(service: client.Service) -> client.KVStoreCollectionData:
    service.kvstore.create("scores", fields={"n": "number"})
    return service.kvstore["scores"].data


def documents(count: int, start: int = 0) -> list[dict[str, Any]]:
    """Documents ``n`` = start..start+count-1; every third one with its own ``_key``."""
    return [{"n": n, **({"_key": f"doc-{n}"} if n % 3 == 0 else {})} for n in range(start, start + count)]


def stored_numbers(collection: client.KVStoreCollectionData) -> list[int]:
    return [document["n"] for document in collection.query(sort="n")]


def test_a_batch_save_of_exactly_the_limit_saves_every_document_and_answers_their_keys_in_order(
    collection: client.KVStoreCollectionData,
) -> None:
    batch = documents(MAX_DOCUMENTS_PER_BATCH_SAVE)

    keys = collection.batch_save(*batch)

    assert len(keys) == MAX_DOCUMENTS_PER_BATCH_SAVE
    assert len(set(keys)) == MAX_DOCUMENTS_PER_BATCH_SAVE
    assert [key for key, document in zip(keys, batch, strict=True) if "_key" in document] == [
        document["_key"] for document in batch if "_key" in document
    ]
    assert stored_numbers(collection) == list(range(MAX_DOCUMENTS_PER_BATCH_SAVE))
    assert [collection.query_by_id(key)["n"] for key in keys[:3] + keys[-3:]] == [0, 1, 2, 997, 998, 999]


def test_a_batch_save_of_one_document_more_than_the_limit_is_refused_whole(
    collection: client.KVStoreCollectionData,
) -> None:
    collection.batch_save(*documents(5, start=5000))  # already there: must stay as they are

    with pytest.raises(binding.HTTPError) as refused:
        collection.batch_save(*documents(MAX_DOCUMENTS_PER_BATCH_SAVE + 1))

    assert refused.value.status == 400
    assert str(MAX_DOCUMENTS_PER_BATCH_SAVE) in str(refused.value)
    assert stored_numbers(collection) == list(range(5000, 5005))  # not one document of the batch saved


def test_two_batch_saves_of_the_limit_then_pages_of_a_query_give_every_document_once(
    collection: client.KVStoreCollectionData,
) -> None:
    total = 2 * MAX_DOCUMENTS_PER_BATCH_SAVE + 1
    for start in range(0, total, MAX_DOCUMENTS_PER_BATCH_SAVE):
        collection.batch_save(*documents(min(MAX_DOCUMENTS_PER_BATCH_SAVE, total - start), start=start))

    pages = [collection.query(sort="n", skip=skip, limit=300) for skip in range(0, total, 300)]

    assert [len(page) for page in pages] == [300] * (total // 300) + [total % 300]
    assert [document["n"] for page in pages for document in page] == list(range(total))


@pytest.mark.parametrize("rows", [EXPORT_PIECE_ROWS, 2 * EXPORT_PIECE_ROWS + 1])
def test_an_export_of_more_rows_than_one_piece_streams_every_row_once_in_order(
    service: client.Service, rows: int
) -> None:
    query = f"| makeresults count={rows} | streamstats count as n | table n"

    lines = service.jobs.export(query, output_mode="json").read().decode().splitlines()

    items = [json.loads(line) for line in lines]
    assert [item["offset"] for item in items] == list(range(rows))
    assert [item["result"]["n"] for item in items] == [str(n) for n in range(1, rows + 1)]
    assert [index for index, item in enumerate(items) if item.get("lastrow")] == [rows - 1]
    assert not any(item["preview"] for item in items)


TOKENS = 40  # more than one default page of a listing (30)


@pytest.fixture
def many_tokens(emulator: SplunkEmulator) -> list[str]:
    names = [f"token-{number:02d}" for number in range(TOKENS)]
    for name in names:
        emulator.add_hec_token(f"hec-{name}", name=name)
    return names


def listed(service: client.Service, **query: Any) -> tuple[list[str], dict[str, Any]]:
    answer = json.loads(service.get("data/inputs/http", output_mode="json", **query).body.read())
    return [entry["name"].removeprefix("http://") for entry in answer["entry"]], answer["paging"]


def test_a_listing_pages_like_splunkd(service: client.Service, many_tokens: list[str]) -> None:
    every = sorted(listed(service, count=0)[0])
    assert set(many_tokens) <= set(every)
    total = len(every)
    first, paging = listed(service)
    assert (len(first), paging) == (30, {"total": total, "perPage": 30, "offset": 0})
    rest, paging = listed(service, count=0, offset=30)
    assert (len(rest), paging) == (total - 30, {"total": total, "perPage": 0, "offset": 30})
    assert sorted(first + rest) == every
    assert len(listed(service, count=5, offset=35)[0]) == 5


def test_splunk_sdk_lists_a_page_unless_asked_for_all_and_pages_on_request(
    service: client.Service, many_tokens: list[str]
) -> None:
    # Inputs.list("http") sends no count: splunkd answers its first 30 inputs; count=0 gives every one.
    assert len(service.inputs.list("http")) == 30
    names = [entry.name.removeprefix("http://") for entry in service.inputs.list("http", count=0)]
    assert set(many_tokens) <= set(names)
    assert len(names) == len(set(names))
    paged = [entry.name for entry in service.indexes.iter(pagesize=1)]
    assert paged == [entry.name for entry in service.indexes.list()]
