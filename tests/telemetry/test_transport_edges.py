"""What the HEC transport puts on the wire and how it reads HEC's answers, and how the spool lets go
of its files on close.

HEC: the exact headers of a request (``Authorization: Splunk <token>``, JSON content type, gzip
encoding, the acknowledgement channel), a body that is gzip at the fastest level with no timestamp
(the same events always make the same bytes), redirects that are not followed (the token stays with
the configured URL), one kept-alive connection, and replies read field by field: HEC's ``text``,
``code``, ``acks`` taken only when they have the documented type, JSON that is not an object, long
texts and connection errors cut to one short line.

Spool: close releases every lock it holds (its own directory's and each adopted one's), even when a
cursor file cannot be written, so the next process replays what was left; a cursor saved on commit
or close is where the next process resumes; closing twice is harmless.
"""

from __future__ import annotations

import errno
import gzip
import os
from pathlib import Path

import pytest
import urllib3
from delivery_testing import event
from spool_testing import drain, payloads, record

from dsdl_golden._telemetry.hec import ACK_PATH, EVENT_PATH, HEALTH_PATH, HecTransport, Verdict
from dsdl_golden._telemetry.spool import Spool
from dsdl_golden.config import Secret
from dsdl_golden.emulator import SplunkEmulator


def sent(splunk: SplunkEmulator, path: str) -> list[dict[str, object]]:
    return [entry for entry in splunk.requests_log("hec") if entry["path"] == path]


# --- the request ---------------------------------------------------------------------------------


def test_a_gzipped_post_carries_the_token_json_type_and_gzip_encoding_headers(
    splunk: SplunkEmulator, transport: HecTransport, hec_token: str
) -> None:
    assert transport.post([event(1)]).verdict is Verdict.ACCEPTED
    (entry,) = sent(splunk, EVENT_PATH)
    assert entry["method"] == "POST"
    headers = entry["headers"]
    assert isinstance(headers, dict)
    assert headers["Authorization"] == f"Splunk {hec_token}"
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Encoding"] == "gzip"
    assert "X-Splunk-Request-Channel" not in headers


def test_send_gzips_by_default_a_body_made_by_encode(splunk: SplunkEmulator, transport: HecTransport) -> None:
    body = HecTransport.encode([event(1), event(2)])
    assert gzip.decompress(body) == event(1) + b"\n" + event(2)
    assert transport.send(body).verdict is Verdict.ACCEPTED
    assert sorted(e["event"]["number"] for e in splunk.events(index="main")) == [1, 2]
    (entry,) = sent(splunk, EVENT_PATH)
    assert (entry["method"], entry["gzip"]) == ("POST", True)


def test_requests_on_a_channel_name_it_in_the_channel_header(splunk: SplunkEmulator, ack_token: str) -> None:
    assert splunk.ca_bundle is not None
    acked = HecTransport(splunk.hec_url, Secret(ack_token), verify=splunk.ca_bundle, timeout=5.0)
    try:
        acked.open_channel()
        reply = acked.post([event(1)])
        assert reply.verdict is Verdict.ACCEPTED
        assert reply.ack_id is not None
        acked.acknowledged([reply.ack_id])
    finally:
        acked.close()
    entries = sent(splunk, EVENT_PATH) + sent(splunk, ACK_PATH)
    assert len(entries) == 2
    for entry in entries:
        headers = entry["headers"]
        assert isinstance(headers, dict)
        assert headers["X-Splunk-Request-Channel"] == acked.channel
        assert headers["Authorization"] == f"Splunk {ack_token}"


def test_the_same_events_encode_to_the_same_bytes_at_the_fastest_gzip_level() -> None:
    body = HecTransport.encode([event(1), event(2)])
    assert body[:3] == b"\x1f\x8b\x08"  # gzip, deflate
    assert body[4:8] == bytes(4)  # no modification time: a resent batch is byte for byte the same
    assert body[8] == 4  # XFL 4: the fastest compression (cheap on the caller's CPU)
    assert HecTransport.encode([event(1), event(2)], compress=False) == event(1) + b"\n" + event(2)


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else(
    splunk: SplunkEmulator, transport: HecTransport
) -> None:
    splunk.inject_fault(
        listener="hec", path=EVENT_PATH, status=302, headers={"Location": HEALTH_PATH}, body=""
    )
    reply = transport.post([event(1)])
    assert (reply.status, reply.verdict) == (302, Verdict.CONFIGURATION)
    assert [entry["path"] for entry in splunk.requests_log("hec")] == [EVENT_PATH]


def test_requests_reuse_one_kept_alive_connection(splunk: SplunkEmulator, transport: HecTransport) -> None:
    for number in range(3):
        assert transport.post([event(number)]).verdict is Verdict.ACCEPTED
    clients = {entry["client"] for entry in sent(splunk, EVENT_PATH)}
    assert len(clients) == 1


# --- the reply -----------------------------------------------------------------------------------


def test_hecs_text_and_code_are_read_from_its_json_reply(
    splunk: SplunkEmulator, transport: HecTransport
) -> None:
    reply = transport.post([event(1)])
    assert (reply.status, reply.code, reply.text) == (200, 0, "Success")
    splunk.inject_fault(
        listener="hec", path=EVENT_PATH, status=400, body={"code": 6, "invalid-event-number": 0}
    )
    rejected = transport.post([event(2)])
    assert (rejected.code, rejected.text, rejected.invalid_event) == (6, "", 0)


def test_a_code_that_is_not_a_number_is_ignored(splunk: SplunkEmulator, transport: HecTransport) -> None:
    splunk.inject_fault(listener="hec", path=EVENT_PATH, status=400, body={"code": "7", "text": "odd"})
    reply = transport.post([event(1)])
    assert (reply.status, reply.code, reply.text) == (400, None, "odd")
    assert reply.verdict is Verdict.CONFIGURATION


def test_json_that_is_not_an_object_reads_as_a_summary_of_the_body(
    splunk: SplunkEmulator, transport: HecTransport
) -> None:
    splunk.inject_fault(listener="hec", path=EVENT_PATH, status=502, body=["busy", 1])
    reply = transport.post([event(1)])
    assert (reply.status, reply.code, reply.verdict) == (502, None, Verdict.RETRY)
    assert "busy" in reply.text


def test_hecs_text_is_cut_to_200_characters(splunk: SplunkEmulator, transport: HecTransport) -> None:
    splunk.inject_fault(listener="hec", path=EVENT_PATH, status=500, body={"code": 8, "text": "x" * 300})
    reply = transport.post([event(1)])
    assert reply.text == "x" * 200


def test_acks_that_are_not_an_object_count_as_none_acknowledged(
    splunk: SplunkEmulator, transport: HecTransport
) -> None:
    splunk.inject_fault(listener="hec", path=ACK_PATH, status=200, body={"acks": [True, True]})
    assert transport.acknowledged([0, 1]) == set()


def test_a_long_connection_error_is_cut_to_300_characters(
    transport: HecTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*args: object, **kwargs: object) -> object:
        raise urllib3.exceptions.ProtocolError("y" * 1000)

    monkeypatch.setattr(transport._pool, "request", failing)
    reply = transport.post([event(1)])
    assert reply.text == "ProtocolError: " + "y" * 300


# --- the spool lets go of its files ----------------------------------------------------------------


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def dead_directory(root: Path, name: str, records: list[bytes]) -> Path:
    """The directory a killed process left: one segment of ``records``, its lock free."""
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "seg-000000000001.log").write_bytes(b"".join(map(record, records)))
    return directory


def test_a_closed_spool_with_nothing_left_keeps_no_file_open(tmp_path: Path) -> None:
    before = open_descriptors()
    spool = Spool(tmp_path / "spool", fsync_interval=0)
    spool.append(payloads(2))
    assert drain(spool) == payloads(2)
    spool.close()
    spool.close()  # idempotent
    assert open_descriptors() == before
    assert not spool.own_directory.exists()


def test_closing_releases_every_adopted_directory_so_the_next_process_replays_them(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    dead_directory(root, "dead-a", payloads(2))
    dead_directory(root, "dead-b", payloads(2, start=2))
    (root / "dead-b" / "cursor.tmp").mkdir()  # its cursor cannot be saved
    first = Spool(root)
    first.close()  # nothing read: both directories are left for the next process

    (root / "dead-b" / "cursor.tmp").rmdir()
    second = Spool(root)
    try:
        assert sorted(drain(second)) == payloads(4)
    finally:
        second.close()


def test_an_own_directory_whose_cursor_cannot_be_saved_is_still_released_on_close(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    first = Spool(root, fsync_interval=0)
    first.append(payloads(3))
    (first.own_directory / "cursor.tmp").mkdir()
    first.close()

    (first.own_directory / "cursor.tmp").rmdir()
    second = Spool(root)
    try:
        assert drain(second) == payloads(3)
    finally:
        second.close()


def test_the_next_process_resumes_after_what_was_committed(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    dead_directory(root, "dead-a", payloads(3))
    first = Spool(root, fsync_interval=0)
    first.append(payloads(3, start=3))
    adopted = first.read_batch(1, 1 << 20)
    assert adopted is not None
    assert adopted.payloads == payloads(1)
    first.commit(adopted, 1)  # the cursor of the adopted directory is saved here
    first.close()  # and the one of its own directory here
    assert (root / "dead-a" / "cursor").read_text() == f"1 {len(record(payloads(1)[0]))}"

    second = Spool(root)
    try:
        assert sorted(drain(second)) == payloads(5, start=1)
    finally:
        second.close()


def test_a_disk_too_full_for_the_generous_preallocation_still_takes_the_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allocate = os.posix_fallocate

    def only_small(fd: int, offset: int, length: int) -> None:
        if length > 1024:  # far less than the first preallocation of 256 KiB
            raise OSError(errno.ENOSPC, "No space left on device")
        allocate(fd, offset, length)

    monkeypatch.setattr(os, "posix_fallocate", only_small)
    spool = Spool(tmp_path / "spool", fsync_interval=0)
    try:
        assert spool.append(payloads(2)) == 2
        assert drain(spool) == payloads(2)
    finally:
        spool.close()
