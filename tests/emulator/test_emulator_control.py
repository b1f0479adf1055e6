"""The ``/__mock__/`` control API's guard: a control token, masked secrets, loopback only, and
hostile bodies on the control API and on splunkd REST."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_values import AUTH_TOKEN, PASSWORD, TOKEN, USER

from dsdl_golden import cli
from dsdl_golden.emulator import ControlClient, ControlError, SplunkEmulator

pytestmark = pytest.mark.integration

EVENT = "/services/collector/event"
UNNAMED = "11111111-2222-3333-4444-555555555555"
DEEP = "[" * 100_000 + "]" * 100_000


def owner(emulator: SplunkEmulator) -> dict[str, str]:
    return {"Authorization": f"Bearer {emulator.control_token}"}


def control(emulator: SplunkEmulator, hec: requests.Session, method: str, path: str, **options: Any) -> Any:
    headers = {**owner(emulator), **options.pop("headers", {})}
    return hec.request(method, f"{emulator.rest_url}/__mock__/{path}", headers=headers, timeout=10, **options)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "info"),
        ("GET", "hec/events"),
        ("GET", "requests"),
        ("GET", "config"),
        ("PUT", "config"),
        ("POST", "reset"),
        ("POST", "datasets"),
        ("POST", "faults"),
        ("POST", "pause"),
        ("GET", "nope"),
    ],
)
def test_control_api_needs_the_control_token(
    emulator: SplunkEmulator, hec: requests.Session, method: str, path: str
) -> None:
    for base in (emulator.rest_url, emulator.hec_url):
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Splunk {TOKEN}"},
            {"Authorization": f"Bearer {AUTH_TOKEN}"},
        ):
            reply = hec.request(method, f"{base}/__mock__/{path}", headers=headers, json={"listener": "rest"})
            assert reply.status_code == 401, (base, headers)
            assert reply.headers["WWW-Authenticate"] == 'Bearer realm="emulator control"'
            assert "token" in reply.json()["error"]
    assert control(emulator, hec, "GET", "info").json()["hec_url"] == emulator.hec_url
    assert len(emulator.control_token) >= 32
    assert SplunkEmulator().control_token != SplunkEmulator().control_token


def test_control_api_masks_secrets_unless_the_owner_asks(
    emulator: SplunkEmulator, hec: requests.Session
) -> None:
    emulator.add_hec_token(UNNAMED, allow_query_string=True)
    basic = base64.b64encode(f"x:{TOKEN}".encode()).decode()
    assert hec.post(
        emulator.hec_url + EVENT, data='{"event":"a"}', headers={"Authorization": f"Basic {basic}"}
    ).ok
    assert hec.post(emulator.hec_url + EVENT, data='{"event":"b"}', params={"token": UNNAMED}).ok
    login = hec.post(
        emulator.rest_url + "/services/auth/login",
        data={"username": USER, "password": PASSWORD, "output_mode": "json"},
    )
    session_key = login.json()["sessionKey"]
    cookie = {"Cookie": f"splunkd_{emulator.rest_port}={session_key}"}
    assert hec.get(emulator.rest_url + "/services/server/info", headers=cookie).ok
    secrets = (TOKEN, UNNAMED, PASSWORD, session_key, basic, emulator.control_token)

    for path in ("requests", "hec/events", "config", "info"):
        masked = control(emulator, hec, "GET", path).text
        assert not [secret for secret in secrets if secret in masked], path
        revealed = control(emulator, hec, "GET", path, params={"reveal": "true"}).text
        assert [secret for secret in secrets if secret in revealed], path
    assert not [
        secret for secret in secrets if secret in control(emulator, hec, "PUT", "config", json={}).text
    ]

    log = control(emulator, hec, "GET", "requests").json()
    assert [entry["headers"].get("Authorization") for entry in log[:2]] == ["Basic ****", None]
    assert log[1]["query"] == {"token": "****"}
    assert "password=****" in log[2]["body"]
    assert log[3]["headers"]["Cookie"] == f"splunkd_{emulator.rest_port}=****"
    events = control(emulator, hec, "GET", "hec/events").json()
    assert [event["token_name"] for event in events] == ["tests", "****"]
    assert control(emulator, hec, "GET", "hec/events", params={"token": UNNAMED}).json()[0]["event"] == "b"
    config = control(emulator, hec, "GET", "config").json()
    assert {token["token"] for token in config["hec_tokens"]} == {"****"}
    # the Python API is the owner's: unmasked
    assert emulator.requests_log("hec")[0]["headers"]["Authorization"] == f"Basic {basic}"


def test_control_client_sends_the_control_token(emulator: SplunkEmulator) -> None:
    ca = emulator.ca_bundle
    with pytest.raises(ControlError, match="401"):
        ControlClient(emulator.rest_url, ca).info()
    client = ControlClient(emulator.rest_url, ca, token=emulator.control_token)
    assert client.info()["rest_url"] == emulator.rest_url
    client.add_hec_token(UNNAMED, name="later")
    assert "later" in [token["name"] for token in client.config()["hec_tokens"]]
    assert UNNAMED in [token["token"] for token in client.config(reveal=True)["hec_tokens"]]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.com"])
def test_non_loopback_addresses_need_an_explicit_flag(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="allow_remote=True"):
        SplunkEmulator(host=host)
    assert cli.main(["emulator", "--host", host, "--hec-port", "0", "--rest-port", "0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err
    SplunkEmulator(host=host, allow_remote=True)  # allowed when asked for (not started here)
    for loopback in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        SplunkEmulator(host=loopback)


@pytest.mark.timeout(60)  # were the file accepted, the command would serve until stopped
@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--dataset", "web", "{rows}"], "dataset file {rows}: line 2 column 7: NaN is not valid JSON"),
        (["--config", "[" * 100_000], "JSON nested more than 512 levels deep"),
        (["--config", '{"max_content_length": 1e400}'], "1e400 is beyond the range of a double"),
    ],
)
def test_emulator_command_reads_its_json_strictly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], problem: str
) -> None:
    rows = tmp_path / "web.jsonl"
    rows.write_text('{"a": 1}\n{"a": NaN}\n')
    arguments = [option.replace("{rows}", str(rows)) for option in options]
    assert cli.main(["emulator", "--hec-port", "0", "--rest-port", "0", *arguments]) == 2
    assert problem.replace("{rows}", str(rows)) in capsys.readouterr().err


def test_control_api_rejects_hostile_bodies(
    emulator: SplunkEmulator, hec: requests.Session, tmp_path: Path
) -> None:
    for body in (
        DEEP.encode(),
        b'{"x": "\xff"}',
        b'{"max_content_length": NaN}',
        b'{"log_body_bytes": 1e400}',
    ):
        reply = control(emulator, hec, "PUT", "config", data=body)
        assert reply.status_code == 400, body[:20]
        assert "error" in reply.json()
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    reply = control(emulator, hec, "POST", "datasets", json={"name": "web", "path": str(fifo)})
    assert reply.status_code == 400
    assert "regular file" in reply.json()["error"]
    relative = control(emulator, hec, "POST", "datasets", json={"name": "web", "path": "rows.csv"})
    assert relative.status_code == 400
    assert "absolute" in relative.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":' + DEEP.encode() + b"}",
        b'{"a": NaN}',
        b'{"a": -1e400}',
        b'{"a": "\xff\xfe"}',
    ],
)
def test_kvstore_rejects_hostile_json(emulator: SplunkEmulator, hec: requests.Session, body: bytes) -> None:
    auth = {"Authorization": f"Bearer {AUTH_TOKEN}"}
    base = emulator.rest_url + "/servicesNS/nobody/search/storage/collections"
    assert hec.post(base + "/config", data={"name": "c"}, headers=auth).status_code in (200, 201)
    for path in ("/data/c/", "/data/c/k1", "/data/c/batch_save", "/data/c/batch_find"):
        payload = b"[" + body + b"]" if "batch" in path else body
        reply = hec.post(base + path, data=payload, headers={**auth, "Content-Type": "application/json"})
        assert reply.status_code == 400, (path, reply.text[:200])
        assert reply.json()["messages"][0]["type"] == "ERROR"
    deep_query = hec.get(base + "/data/c/", params={"query": "[" * 5_000 + "]" * 5_000}, headers=auth)
    assert deep_query.status_code == 400
    assert all(entry["status"] == 400 for entry in emulator.requests_log("rest")[1:])
