"""Fault injection and the control API: busy replies, refused connections, dropped connections,
slow answers, and ``/__mock__/`` over HTTP."""

from __future__ import annotations

import json
import socket
import ssl
import time

import pytest
import requests
from emulator_values import TOKEN

from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration

EVENT = "/services/collector/event"
HEADERS = {"Authorization": f"Splunk {TOKEN}"}


def batch(start: int, count: int) -> str:
    return "".join(json.dumps({"event": f"e{number}"}) for number in range(start, start + count))


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_busy_for_n_requests_then_accepting(emulator: SplunkEmulator, hec: requests.Session) -> None:
    fault = emulator.inject_fault(listener="hec", path=EVENT, code=9, times=2, headers={"Retry-After": "1"})
    replies = [hec.post(emulator.hec_url + EVENT, data=batch(0, 1), headers=HEADERS) for _ in range(3)]
    assert [reply.status_code for reply in replies] == [503, 503, 200]
    assert replies[0].headers["Retry-After"] == "1"
    assert fault.times == 0
    assert emulator.faults() == []
    assert [entry["fault"] for entry in emulator.requests_log()] == [True, True, False]


def test_fault_matching_by_listener_and_path(emulator: SplunkEmulator, hec: requests.Session) -> None:
    emulator.inject_fault(listener="hec", path="/services/collector/raw", status=500, body="boom", times=None)
    assert hec.post(emulator.hec_url + EVENT, data=batch(0, 1), headers=HEADERS).status_code == 200
    raw = hec.post(emulator.hec_url + "/services/collector/raw", data="x", headers=HEADERS)
    assert (raw.status_code, raw.text) == (500, "boom")
    health = hec.get(emulator.hec_url + "/services/collector/health")
    assert health.status_code == 200
    emulator.clear_faults()
    assert hec.post(emulator.hec_url + "/services/collector/raw", data="x", headers=HEADERS).ok


def test_refused_connections_then_back_on_the_same_port(
    emulator: SplunkEmulator, hec: requests.Session
) -> None:
    port = emulator.hec_port
    assert hec.post(emulator.hec_url + EVENT, data=batch(0, 1), headers=HEADERS).ok
    emulator.refuse_connections(1.0)
    assert refused(port)
    with pytest.raises(requests.ConnectionError):
        hec.post(emulator.hec_url + EVENT, data=batch(1, 1), headers=HEADERS)
    deadline = time.monotonic() + 5
    while refused(port):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert emulator.hec_port == port
    assert hec.post(emulator.hec_url + EVENT, data=batch(2, 1), headers=HEADERS).ok
    assert [event["event"] for event in emulator.events()] == ["e0", "e2"]


def test_pause_cuts_keep_alive_connections_and_resume_reopens(
    emulator: SplunkEmulator, hec: requests.Session
) -> None:
    assert hec.post(emulator.hec_url + EVENT, data=batch(0, 1), headers=HEADERS).ok
    emulator.pause("hec")
    assert refused(emulator.hec_port)
    assert not refused(emulator.rest_port)
    with pytest.raises(requests.ConnectionError):
        hec.post(emulator.hec_url + EVENT, data=batch(1, 1), headers=HEADERS)
    emulator.resume()
    assert hec.post(emulator.hec_url + EVENT, data=batch(2, 1), headers=HEADERS).ok


def test_restart_keeps_ports_and_data(emulator: SplunkEmulator, hec: requests.Session) -> None:
    ports = (emulator.hec_port, emulator.rest_port)
    hec.post(emulator.hec_url + EVENT, data=batch(0, 1), headers=HEADERS)
    emulator.restart()
    assert (emulator.hec_port, emulator.rest_port) == ports
    assert hec.post(emulator.hec_url + EVENT, data=batch(1, 1), headers=HEADERS).ok
    assert len(emulator.events()) == 2


def test_drop_connection_after_n_events(emulator: SplunkEmulator, hec: requests.Session) -> None:
    emulator.drop_after_events(25)
    assert hec.post(emulator.hec_url + EVENT, data=batch(0, 10), headers=HEADERS).ok
    with pytest.raises(requests.ConnectionError):
        hec.post(emulator.hec_url + EVENT, data=batch(10, 20), headers=HEADERS)
    assert [event["event"] for event in emulator.events()] == [f"e{number}" for number in range(25)]
    assert emulator.requests_log()[-1]["dropped"] is True
    assert hec.post(emulator.hec_url + EVENT, data=batch(30, 1), headers=HEADERS).ok
    assert len(emulator.events()) == 26


def test_drop_connection_without_answer(emulator: SplunkEmulator, hec: requests.Session) -> None:
    emulator.inject_fault(listener="hec", drop_connection=True)
    with pytest.raises(requests.ConnectionError):
        hec.post(emulator.hec_url + EVENT, data=batch(0, 1), headers=HEADERS)
    assert emulator.events() == []
    assert hec.post(emulator.hec_url + EVENT, data=batch(0, 1), headers=HEADERS).ok


def test_slow_responses(emulator: SplunkEmulator, hec: requests.Session) -> None:
    emulator.inject_fault(listener="hec", delay_ms=300, times=1)
    with pytest.raises(requests.Timeout):
        hec.post(emulator.hec_url + EVENT, data=batch(0, 1), headers=HEADERS, timeout=0.1)
    assert hec.post(emulator.hec_url + EVENT, data=batch(1, 1), headers=HEADERS).ok
    deadline = time.monotonic() + 5
    while len(emulator.requests_log()) < 2:  # the slow request is logged once its delay is over
        assert time.monotonic() < deadline
        time.sleep(0.05)
    log = sorted(emulator.requests_log(), key=lambda entry: entry["id"])
    assert [entry["fault"] for entry in log] == [True, False]


def test_rest_listener_faults(emulator: SplunkEmulator, hec: requests.Session) -> None:
    emulator.inject_fault(listener="rest", status=503, body={"messages": []})
    reply = hec.get(emulator.rest_url + "/services/server/info")
    assert (reply.status_code, reply.text) == (503, '{"messages":[]}')


def test_a_fault_content_type_replaces_the_default_one(emulator: SplunkEmulator) -> None:
    """A fault's own ``Content-Type`` header is the only one sent (not a second one after it)."""
    emulator.inject_fault(
        listener="rest", status=502, body="<html></html>", headers={"content-type": "text/html"}
    )
    emulator.inject_fault(
        listener="rest", status=503, body={"messages": []}, headers={"Content-Type": "text/x"}
    )
    for expected in ("text/html", "text/x"):
        with socket.create_connection(("127.0.0.1", emulator.rest_port), timeout=5) as raw:
            context = ssl.create_default_context(cafile=str(emulator.ca_bundle))
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"GET /services/server/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                head = b"".join(iter(lambda: tls.recv(65536), b"")).partition(b"\r\n\r\n")[0].decode()
        types = [
            line.partition(":")[2].strip()
            for line in head.split("\r\n")
            if line.lower().startswith("content-type:")
        ]
        assert types == [expected]


def test_control_api_over_http(emulator: SplunkEmulator, hec: requests.Session) -> None:
    control = emulator.rest_url + "/__mock__"
    hec.headers["Authorization"] = f"Bearer {emulator.control_token}"
    hec.post(emulator.hec_url + EVENT, data='{"event":"a","index":"web"}{"event":"b"}', headers=HEADERS)
    assert [event["event"] for event in hec.get(control + "/hec/events", params={"index": "web"}).json()] == [
        "a"
    ]
    assert len(hec.get(emulator.hec_url + "/__mock__/hec/events", params={"kind": "event"}).json()) == 2
    assert [entry["path"] for entry in hec.get(control + "/requests", params={"listener": "hec"}).json()] == [
        EVENT
    ]
    fault = {
        "match": {"listener": "hec", "path": EVENT},
        "times": 1,
        "status": 503,
        "body": {"text": "Server is busy", "code": 9},
    }
    assert hec.post(control + "/faults", json=fault).status_code == 201
    assert len(hec.get(control + "/faults").json()) == 1
    assert hec.post(emulator.hec_url + EVENT, data=batch(0, 1), headers=HEADERS).status_code == 503
    config = hec.put(
        control + "/config",
        json={"max_content_length": 10, "hec_tokens": [{"token": "T2", "index": "web", "useACK": False}]},
    ).json()
    assert config["max_content_length"] == 10
    assert [token["token"] for token in config["hec_tokens"]][-1] == "****"
    revealed = hec.get(control + "/config", params={"reveal": "true"}).json()
    assert "T2" in [token["token"] for token in revealed["hec_tokens"]]
    assert hec.put(control + "/config", json={"no_such_setting": 1}).status_code == 400
    assert hec.put(control + "/config", json={"max_content_length": "big"}).status_code == 400
    assert "dot-separated" in hec.put(control + "/config", json={"splunk_version": "nine"}).json()["error"]
    assert hec.post(control + "/reset").json() == {"ok": True}
    assert hec.get(control + "/hec/events").json() == []
    assert hec.get(control + "/nope").status_code == 404
    assert hec.get(emulator.rest_url + "/services/__mock__/reset").status_code == 404


def test_control_api_datasets_and_refuse(emulator: SplunkEmulator, hec: requests.Session) -> None:
    control = emulator.rest_url + "/__mock__"
    hec.headers["Authorization"] = f"Bearer {emulator.control_token}"
    reply = hec.post(control + "/datasets", json={"name": "index=web", "rows": [{"a": 1}, {"a": 2}]})
    assert reply.json() == {"rows": 2}
    assert hec.post(control + "/refuse", json={"listener": "hec", "seconds": 2}).ok
    time.sleep(0.1)
    assert refused(emulator.hec_port)
    assert hec.post(control + "/refuse", json={"listener": "other", "seconds": 1}).status_code == 400
