"""HEC over loopback HTTPS with plain requests/urllib3: every reply code, batching, gzip, acks,
metrics, limits, partial accept and connection handling."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import math
import ssl
import time
from typing import NamedTuple

import pytest
import requests
import urllib3
from emulator_values import ACK_TOKEN, CHANNEL, DISABLED_TOKEN, QUERY_TOKEN, TOKEN, WEB_ONLY_TOKEN
from golden_testing import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration

EVENT = "/services/collector/event"


def splunk(token: str) -> dict[str, str]:
    return {"Authorization": f"Splunk {token}"}


def events_json(*events: dict[str, object], separator: str = "") -> str:
    return separator.join(json.dumps(event) for event in events)


class Case(NamedTuple):
    """A request and the exact reply real HEC gives to it."""

    name: str
    headers: dict[str, str]
    body: str
    status: int
    reply: str
    query: dict[str, str] = {}  # noqa: RUF012 - never mutated
    path: str = EVENT


ONE = '{"event":"x"}'
ERROR_CASES = [
    Case("1-disabled", splunk(DISABLED_TOKEN), ONE, 403, '{"text":"Token disabled","code":1}'),
    Case("2-no-token", {}, ONE, 401, '{"text":"Token is required","code":2}'),
    Case(
        "3-bearer",
        {"Authorization": f"Bearer {TOKEN}"},
        ONE,
        401,
        '{"text":"Invalid authorization","code":3}',
    ),
    Case("3-bare-token", {"Authorization": TOKEN}, ONE, 401, '{"text":"Invalid authorization","code":3}'),
    Case("4-unknown", splunk("nope"), ONE, 403, '{"text":"Invalid token","code":4}'),
    Case("4-unknown-query", {}, ONE, 403, '{"text":"Invalid token","code":4}', {"token": "nope"}),
    Case("5-empty", splunk(TOKEN), "", 400, '{"text":"No data","code":5}'),
    Case("5-blank", splunk(TOKEN), " \n ", 400, '{"text":"No data","code":5}'),
    Case(
        "6-json",
        splunk(TOKEN),
        '{"event":',
        400,
        '{"text":"Invalid data format","code":6,"invalid-event-number":0}',
    ),
    Case(
        "6-time",
        splunk(TOKEN),
        '{"event":"a"}{"event":"b","time":"soon"}',
        400,
        '{"text":"Invalid data format","code":6,"invalid-event-number":1}',
    ),
    Case(
        "6-array",
        splunk(TOKEN),
        '[{"event":"a"}]',
        400,
        '{"text":"Invalid data format","code":6,"invalid-event-number":0}',
    ),
    Case(
        "7-missing-index",
        splunk(TOKEN),
        '{"event":"a"}{"event":"b"}{"event":"c","index":"nope"}',
        400,
        '{"text":"Incorrect index","code":7,"invalid-event-number":3}',
    ),
    Case(
        "7-not-allowed",
        splunk(WEB_ONLY_TOKEN),
        '{"event":"a","index":"main"}',
        400,
        '{"text":"Incorrect index","code":7,"invalid-event-number":1}',
    ),
    Case("10-no-channel", splunk(ACK_TOKEN), ONE, 400, '{"text":"Data channel is missing","code":10}'),
    Case(
        "11-bad-channel",
        {**splunk(ACK_TOKEN), "X-Splunk-Request-Channel": "abc"},
        ONE,
        400,
        '{"text":"Invalid data channel","code":11}',
    ),
    Case(
        "12-no-event",
        splunk(TOKEN),
        '{"event":"a"}{"time":1}',
        400,
        '{"text":"Event field is required","code":12,"invalid-event-number":1}',
    ),
    Case(
        "13-blank-event",
        splunk(TOKEN),
        '{"event":"  "}',
        400,
        '{"text":"Event field cannot be blank","code":13,"invalid-event-number":0}',
    ),
    Case(
        "13-null-event",
        splunk(TOKEN),
        '{"event":null}',
        400,
        '{"text":"Event field cannot be blank","code":13,"invalid-event-number":0}',
    ),
    Case(
        "14-ack-disabled",
        splunk(TOKEN),
        '{"acks":[0]}',
        400,
        '{"text":"ACK is disabled","code":14}',
        {"channel": CHANNEL},
        "/services/collector/ack",
    ),
    Case(
        "15-nested-fields",
        splunk(TOKEN),
        '{"event":"a","fields":{"a":{"b":1}}}',
        400,
        '{"text":"Error in handling indexed fields","code":15,"invalid-event-number":0}',
    ),
    Case(
        "16-query-auth-off",
        {},
        ONE,
        400,
        '{"text":"Query string authorization is not enabled","code":16}',
        {"token": TOKEN},
    ),
    Case(
        "404-unknown-path",
        splunk(TOKEN),
        ONE,
        404,
        '{"text":"The requested URL was not found on this server.","code":404}',
        path="/services/collector/1.0",
    ),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[case.name for case in ERROR_CASES])
def test_error_codes_have_exact_status_and_body(
    emulator: SplunkEmulator, hec: requests.Session, case: Case
) -> None:
    response = hec.post(emulator.hec_url + case.path, data=case.body, headers=case.headers, params=case.query)
    assert (response.status_code, response.text) == (case.status, case.reply)
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"


@pytest.mark.parametrize(
    ("config", "query", "reply"),
    [
        ({}, {}, (200, '{"text":"HEC is healthy","code":17}')),
        ({"health_code": 18}, {}, (503, '{"text":"HEC is unhealthy, queues are full","code":18}')),
        ({"health_code": 19}, {}, (503, '{"text":"HEC is unhealthy, ack service unavailable","code":19}')),
        (
            {"health_code": 20},
            {},
            (503, '{"text":"HEC is unhealthy, queues are full, ack service unavailable","code":20}'),
        ),
        ({"health_checks_token": True}, {"token": "nope"}, (400, '{"text":"Invalid token","code":21}')),
        (
            {"health_checks_token": True},
            {"token": DISABLED_TOKEN},
            (400, '{"text":"Token disabled","code":22}'),
        ),
        ({}, {"token": "nope"}, (200, '{"text":"HEC is healthy","code":17}')),
    ],
)
def test_health_endpoint_needs_no_auth(
    emulator: SplunkEmulator,
    hec: requests.Session,
    config: dict[str, object],
    query: dict[str, str],
    reply: tuple[int, str],
) -> None:
    emulator.configure(**config)
    for path in ("/services/collector/health", "/services/collector/health/1.0"):
        response = hec.get(emulator.hec_url + path, params=query)
        assert (response.status_code, response.text) == reply


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (8, 500, '{"text":"Internal server error","code":8}'),
        (9, 503, '{"text":"Server is busy","code":9,"invalid-event-number":0}'),
    ],
)
def test_server_side_codes_come_from_faults(
    emulator: SplunkEmulator, hec: requests.Session, code: int, status: int, expected: str
) -> None:
    emulator.inject_fault(listener="hec", code=code)
    response = hec.post(emulator.hec_url + EVENT, data='{"event":"x"}', headers=splunk(TOKEN))
    assert (response.status_code, response.text) == (status, expected)
    assert emulator.events() == []


def test_success_stores_events_with_metadata_and_defaults(
    emulator: SplunkEmulator, hec: requests.Session
) -> None:
    body = events_json(
        {"event": "hello", "time": 1700000000.5, "host": "h1", "source": "s", "sourcetype": "st"},
        {"event": {"a": [1, 2]}, "index": "web", "fields": {"env": "prod", "tags": ["x", "y"]}},
    )
    response = hec.post(emulator.hec_url + EVENT, data=body, headers=splunk(TOKEN))
    assert (response.status_code, response.text) == (200, '{"text":"Success","code":0}')
    for name, value in {
        "Server": "Splunkd",
        "Connection": "Keep-Alive",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
        "Vary": "Authorization",
    }.items():
        assert response.headers[name] == value
    [first] = emulator.events("main")
    assert first["event"] == "hello"
    assert (first["time"], first["host"], first["source"], first["sourcetype"]) == (
        1700000000.5,
        "h1",
        "s",
        "st",
    )
    assert (first["token_name"], first["kind"], first["position"], first["endpoint"]) == (
        "tests",
        "event",
        0,
        EVENT,
    )
    [second] = emulator.events("web")
    assert second["event"] == {"a": [1, 2]}
    assert second["fields"] == {"env": "prod", "tags": ["x", "y"]}
    assert (second["host"], second["source"], second["sourcetype"]) == (
        "splunk-emulator",
        "http:tests",
        "httpevent",
    )
    assert second["request_id"] == first["request_id"]
    assert [event["event"] for event in emulator.events()] == ["hello", {"a": [1, 2]}]


@pytest.mark.parametrize("separator", ["", "\n", " \r\n\t "])
@pytest.mark.parametrize("path", ["/services/collector", EVENT, "/services/collector/event/1.0"])
def test_batches_of_concatenated_objects(
    emulator: SplunkEmulator, hec: requests.Session, separator: str, path: str
) -> None:
    body = separator + events_json(*({"event": f"e{i}"} for i in range(5)), separator=separator) + separator
    assert hec.post(emulator.hec_url + path, data=body, headers=splunk(TOKEN)).status_code == 200
    assert [event["event"] for event in emulator.events()] == [f"e{i}" for i in range(5)]
    assert [event["position"] for event in emulator.events()] == list(range(5))


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(), st.text(max_size=8))
_EVENT_OBJECTS = st.fixed_dictionaries(
    {
        "event": st.one_of(_SCALARS, st.dictionaries(st.text(max_size=4), _SCALARS, max_size=3)),
        "time": st.one_of(  # never left out: the default is the time of arrival
            st.floats(0, 2e9), st.integers(-(2**80), 2**80), st.just("soon"), st.just("1700000000.5")
        ),
    },
    optional={
        "index": st.sampled_from(["main", "web", "nope", ""]),
        "fields": st.dictionaries(
            st.text(min_size=1, max_size=4), st.one_of(_SCALARS, st.just({"nested": 1})), max_size=2
        ),
        "host": _SCALARS,
        "sourcetype": _SCALARS,
    },
)
_BIG = 2**70  # beyond 64 bits


@settings(
    max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=st.lists(_EVENT_OBJECTS, min_size=1, max_size=6), indent=st.sampled_from([None, 1]))
@example(events=[{"event": math.nan, "time": 1.0}, {"event": "a", "time": 1.0}], indent=None)
@example(events=[{"event": "a", "time": 1.0, "host": _BIG, "fields": {"n": _BIG}}], indent=None)
def test_one_object_per_line_is_read_as_any_concatenation(
    emulator: SplunkEmulator, hec: requests.Session, events: list[dict[str, object]], indent: int | None
) -> None:
    """The fast path for one object per line gives the replies and records of the general parser.

    Events hold NaN, integers beyond 64 bits and invalid fields or indexes; objects printed over
    several lines (``indent``) and objects sharing one line take the general parser.
    """

    def outcome(separator: str) -> tuple[int, str, list[dict[str, object]]]:
        emulator.reset()
        body = separator.join(json.dumps(event, indent=indent) for event in events)
        reply = hec.post(emulator.hec_url + EVENT, data=body.encode(), headers=splunk(TOKEN))
        stored = [{k: v for k, v in record.items() if k != "request_id"} for record in emulator.events()]
        return reply.status_code, reply.text, stored

    assert outcome("\n") == outcome(" ")


def test_chunked_request_bodies(emulator: SplunkEmulator, hec: requests.Session) -> None:
    chunks = iter([b'{"event":"a"}', b'{"event":"b"}'])
    assert hec.post(emulator.hec_url + EVENT, data=chunks, headers=splunk(TOKEN)).ok
    assert [event["event"] for event in emulator.events()] == ["a", "b"]
    assert emulator.requests_log()[0]["headers"]["Transfer-Encoding"] == "chunked"


def test_json_array_form_is_a_switch(emulator: SplunkEmulator, hec: requests.Session) -> None:
    body = json.dumps([{"event": "a"}, {"event": "b"}])
    assert hec.post(emulator.hec_url + EVENT, data=body, headers=splunk(TOKEN)).status_code == 400
    emulator.configure(accept_json_array=True)
    assert hec.post(emulator.hec_url + EVENT, data=body, headers=splunk(TOKEN)).status_code == 200
    assert [event["event"] for event in emulator.events()] == ["a", "b"]
    assert [entry["json_array"] for entry in emulator.requests_log("hec")] == [True, True]


def test_partial_accept_keeps_events_before_the_failing_one(
    emulator: SplunkEmulator, hec: requests.Session
) -> None:
    body = '{"event":"ok0"}{"event":"ok1"}{"event":""}{"event":"never"}'
    response = hec.post(emulator.hec_url + EVENT, data=body, headers=splunk(TOKEN))
    assert response.json() == {"text": "Event field cannot be blank", "code": 13, "invalid-event-number": 2}
    assert [event["event"] for event in emulator.events()] == ["ok0", "ok1"]
    emulator.reset()
    emulator.configure(partial_accept=False)
    hec.post(emulator.hec_url + EVENT, data=body, headers=splunk(TOKEN))
    assert emulator.events() == []


def test_gzip_bodies(emulator: SplunkEmulator, hec: requests.Session) -> None:
    body = gzip.compress(events_json({"event": "zipped"}, {"event": "too"}).encode())
    headers = {**splunk(TOKEN), "Content-Encoding": "gzip"}
    assert hec.post(emulator.hec_url + EVENT, data=body, headers=headers).status_code == 200
    assert [event["event"] for event in emulator.events()] == ["zipped", "too"]
    [entry] = emulator.requests_log("hec")
    assert entry["gzip"] is True
    assert entry["body"] == '{"event": "zipped"}{"event": "too"}'
    broken = hec.post(emulator.hec_url + EVENT, data=b"not gzip", headers=headers)
    assert broken.json() == {"text": "Invalid data format", "code": 6, "invalid-event-number": 0}


def test_max_content_length_checks_compressed_and_decompressed_size(
    emulator: SplunkEmulator, hec: requests.Session
) -> None:
    emulator.configure(max_content_length=2000)
    big = events_json(*({"event": "x" * 100} for _ in range(30)))
    plain = hec.post(emulator.hec_url + EVENT, data=big, headers=splunk(TOKEN))
    assert plain.status_code == 413
    assert plain.headers["Connection"] == "Keep-Alive"
    packed = gzip.compress(big.encode())
    assert len(packed) < 2000
    headers = {**splunk(TOKEN), "Content-Encoding": "gzip"}
    assert hec.post(emulator.hec_url + EVENT, data=packed, headers=headers).status_code == 413
    assert emulator.events() == []


def test_default_max_content_length_is_one_megabyte(emulator: SplunkEmulator, hec: requests.Session) -> None:
    limit = '{"event":"' + "x" * 988 + '"}'
    assert len(limit) * 1000 == 1_000_000
    assert hec.post(emulator.hec_url + EVENT, data=limit * 1000, headers=splunk(TOKEN)).status_code == 200
    assert (
        hec.post(emulator.hec_url + EVENT, data=limit * 1000 + " ", headers=splunk(TOKEN)).status_code == 413
    )


def test_authentication_variants(emulator: SplunkEmulator, hec: requests.Session) -> None:
    basic = base64.b64encode(f"x:{TOKEN}".encode()).decode()
    assert hec.post(
        emulator.hec_url + EVENT, data='{"event":"b"}', headers={"Authorization": f"Basic {basic}"}
    ).ok
    assert hec.post(emulator.hec_url + EVENT, data='{"event":"q"}', params={"token": QUERY_TOKEN}).ok
    assert [event["token_name"] for event in emulator.events()] == ["tests", "query"]


def test_indexer_acknowledgement(emulator: SplunkEmulator, hec: requests.Session) -> None:
    headers = {**splunk(ACK_TOKEN), "X-Splunk-Request-Channel": CHANNEL}
    emulator.configure(ack_delay_ms=1000)
    replies = [
        hec.post(emulator.hec_url + EVENT, data='{"event":"a"}', headers=headers).json() for _ in range(2)
    ]
    both_due = time.monotonic() + 1.0  # ackId 1 was issued a little after ackId 0
    assert replies == [
        {"text": "Success", "code": 0, "ackId": 0},
        {"text": "Success", "code": 0, "ackId": 1},
    ]
    ack_url = emulator.hec_url + "/services/collector/ack"
    pending = hec.post(ack_url, json={"acks": [0, 1, 7]}, headers=headers)
    assert pending.text == '{"acks":{"0":false,"1":false,"7":false}}'
    deadline = time.monotonic() + 5
    while not (
        done := hec.post(ack_url, params={"channel": CHANNEL}, json={"acks": [0]}, headers=splunk(ACK_TOKEN))
    ).json()["acks"]["0"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert done.json() == {"acks": {"0": True}}
    time.sleep(max(0.0, both_due - time.monotonic()))
    assert hec.post(ack_url, json={"acks": [0, 1]}, headers=headers).json() == {
        "acks": {"0": False, "1": True}
    }
    other_channel = "5f0c1b6e-1c8a-4c1a-9b0e-000000000001"
    reply = hec.post(
        emulator.hec_url + EVENT,
        data='{"event":"b"}',
        headers={**headers, "X-Splunk-Request-Channel": other_channel},
    )
    assert reply.json()["ackId"] == 0
    assert [event["ack_id"] for event in emulator.events()] == [0, 1, 0]


def test_never_ack_knob(emulator: SplunkEmulator, hec: requests.Session) -> None:
    emulator.configure(never_ack=True)
    headers = {**splunk(ACK_TOKEN), "X-Splunk-Request-Channel": CHANNEL}
    hec.post(emulator.hec_url + EVENT, data='{"event":"a"}', headers=headers)
    reply = hec.post(emulator.hec_url + "/services/collector/ack", json={"acks": [0]}, headers=headers)
    assert reply.json() == {"acks": {"0": False}}


def test_raw_endpoint_splits_lines(emulator: SplunkEmulator, hec: requests.Session) -> None:
    params = {"index": "web", "sourcetype": "syslog", "host": "h9", "time": "1700000000"}
    response = hec.post(
        emulator.hec_url + "/services/collector/raw",
        data="line one\n\nline two\n",
        headers=splunk(TOKEN),
        params=params,
    )
    assert response.text == '{"text":"Success","code":0}'
    raws = emulator.events("web", "raw")
    assert [(e["event"], e["sourcetype"], e["host"], e["time"]) for e in raws] == [
        ("line one", "syslog", "h9", 1700000000.0),
        ("line two", "syslog", "h9", 1700000000.0),
    ]


def test_metric_events(emulator: SplunkEmulator, hec: requests.Session) -> None:
    single = {
        "time": 1486683865,
        "event": "metric",
        "index": "_metrics",
        "fields": {"region": "eu", "metric_name": "total", "_value": 42},
    }
    multi = {
        "event": "metric",
        "index": "_metrics",
        "fields": {"region": "us", "metric_name:cpu.usr": 11.12, "metric_name:cpu.sys": "12.5"},
    }
    assert hec.post(emulator.hec_url + EVENT, data=events_json(single, multi), headers=splunk(TOKEN)).ok
    metrics = emulator.events("_metrics", "metric")
    assert [(m["metric_name"], m["value"], m["fields"]) for m in metrics] == [
        ("total", 42.0, {"region": "eu"}),
        ("cpu.usr", 11.12, {"region": "us"}),
        ("cpu.sys", 12.5, {"region": "us"}),
    ]
    assert emulator.events(kind="event") == []


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"event": "metric", "index": "main", "fields": {"metric_name": "m", "_value": 1}}, 7),
        ({"event": "metric", "index": "_metrics", "fields": {"metric_name": "m", "_value": "high"}}, 6),
        ({"event": "metric", "index": "_metrics", "fields": {"metric_name:m": [1]}}, 6),
        ({"event": "metric", "index": "_metrics", "fields": {"region": "eu"}}, 6),
    ],
)
def test_invalid_metric_events(
    emulator: SplunkEmulator, hec: requests.Session, event: dict[str, object], expected: int
) -> None:
    reply = hec.post(emulator.hec_url + EVENT, data=json.dumps(event), headers=splunk(TOKEN)).json()
    assert reply["code"] == expected


def test_keep_alive_and_connection_close(emulator: SplunkEmulator) -> None:
    context = ssl.create_default_context(cafile=str(emulator.ca_bundle))
    connection = http.client.HTTPSConnection("127.0.0.1", emulator.hec_port, context=context)
    for number in range(3):
        connection.request("POST", EVENT, body=f'{{"event":"{number}"}}', headers=splunk(TOKEN))
        response = connection.getresponse()
        assert (response.status, response.getheader("Connection"), response.read()) == (
            200,
            "Keep-Alive",
            b'{"text":"Success","code":0}',
        )
    connection.request(
        "POST", EVENT, body='{"event":"last"}', headers={**splunk(TOKEN), "Connection": "close"}
    )
    response = connection.getresponse()
    assert response.getheader("Connection") == "Close"
    response.read()
    assert response.will_close
    connection.close()
    assert len(emulator.events()) == 4


def test_urllib3_client_with_retries_on_busy(emulator: SplunkEmulator) -> None:
    emulator.inject_fault(listener="hec", path=EVENT, code=9, times=2)
    retry = urllib3.Retry(total=3, backoff_factor=0, status_forcelist=[503], allowed_methods=None)
    with urllib3.PoolManager(ca_certs=str(emulator.ca_bundle), retries=retry) as pool:
        response = pool.request(
            "POST", emulator.hec_url + EVENT, body=b'{"event":"x"}', headers=splunk(TOKEN)
        )
    assert response.status == 200
    assert [entry["status"] for entry in emulator.requests_log("hec")] == [503, 503, 200]
    assert len(emulator.events()) == 1


def test_options_on_event_endpoint(emulator: SplunkEmulator, hec: requests.Session) -> None:
    assert hec.options(emulator.hec_url + "/services/collector/event/1.0").status_code == 200


INVALID = '{{"text":"Invalid data format","code":6,"invalid-event-number":{}}}'


@pytest.mark.parametrize(
    ("body", "number"),
    [
        ('{"event": NaN}', 0),
        ('{"event":"a","fields":{"x":Infinity}}', 0),
        ('{"event":"a"}{"event":-Infinity}', 1),
        ('{"event":"a"}\n{"event":"b","fields":{"x":NaN}}\n', 1),
        ('{"event":"a","time":"NaN"}', 0),
        ('{"event":"a","time":"inf"}', 0),
        ('{"event":"a","time":"1_000"}', 0),
        ('{"event":"metric","index":"_metrics","fields":{"metric_name":"m","_value":"nan"}}', 0),
        ('{"event":"metric","index":"_metrics","fields":{"metric_name:m":"-Infinity"}}', 0),
        ('{"event": {"x": 1e400}}', 0),  # number literals beyond a double's range: infinite once read
        ('{"event":"a","fields":{"x":-1e400}}', 0),
        ('{"event":"a"}{"event":[1.5E+999]}', 1),
        ('{"event":"a"}\n{"event":"b","fields":{"x":-2e308}}\n', 1),
        ('{"event":"metric","index":"_metrics","fields":{"metric_name:m":1e400}}', 0),
        ('{"event":"metric","index":"_metrics","fields":{"metric_name":"m","_value":-1e400}}', 0),
    ],
)
def test_nan_and_infinity_are_invalid_data(
    emulator: SplunkEmulator, hec: requests.Session, body: str, number: int
) -> None:
    reply = hec.post(emulator.hec_url + EVENT, data=body, headers=splunk(TOKEN))
    assert (reply.status_code, reply.text) == (400, INVALID.format(number))
    assert len(emulator.events()) == number


def test_overflowing_numbers_never_reach_the_control_api(
    emulator: SplunkEmulator, hec: requests.Session
) -> None:
    """A literal such as ``1e400`` is refused like NaN (also in a JSON array), so the control API,
    which must answer strict JSON, never has an infinity to print; finite extremes stay exact."""
    emulator.configure(accept_json_array=True)
    for body in ('{"event": {"x": 1e400}}', '[{"event":"a"},{"event":"b","fields":{"y":-1e400}}]'):
        reply = hec.post(emulator.hec_url + EVENT, data=body, headers=splunk(TOKEN))
        assert (reply.status_code, reply.json()["code"]) == (400, 6), body
    edge = '{"event": {"max": 1.7976931348623157e308, "tiny": 1e-400, "big": 1%s}}' % ("0" * 400)
    assert hec.post(emulator.hec_url + EVENT, data=edge, headers=splunk(TOKEN)).ok
    owner = {"Authorization": f"Bearer {emulator.control_token}"}
    text = hec.get(emulator.rest_url + "/__mock__/hec/events", headers=owner).text
    (event,) = json.loads(text, parse_constant=pytest.fail)
    assert event["event"] == {"max": 1.7976931348623157e308, "tiny": 0.0, "big": 10**400}


def test_non_finite_fault_bodies_are_refused_when_injected(emulator: SplunkEmulator) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        emulator.inject_fault(status=500, body={"x": math.inf})
    assert emulator.faults() == []


def test_gzip_body_of_several_members(emulator: SplunkEmulator, hec: requests.Session) -> None:
    headers = {**splunk(TOKEN), "Content-Encoding": "gzip"}
    body = gzip.compress(b'{"event":"first"}\n') + gzip.compress(b'{"event":"second"}')
    reply = hec.post(emulator.hec_url + EVENT, data=body, headers=headers)
    assert reply.text == '{"text":"Success","code":0}'
    assert [event["event"] for event in emulator.events()] == ["first", "second"]
    truncated = body + gzip.compress(b'{"event":"third"}')[:-4]
    reply = hec.post(emulator.hec_url + EVENT, data=truncated, headers=headers)
    assert (reply.status_code, reply.text) == (400, INVALID.format(0))
    garbage = hec.post(emulator.hec_url + EVENT, data=body + b"not gzip", headers=headers)
    assert (garbage.status_code, garbage.text) == (400, INVALID.format(0))
    emulator.configure(max_content_length=30)
    member = gzip.compress(b'{"event":"' + b"x" * 15 + b'"}')  # 28 bytes decompressed
    too_big = hec.post(emulator.hec_url + EVENT, data=member + member, headers=headers)
    assert too_big.status_code == 413
    assert len(emulator.events()) == 2


def nested(depth: int) -> str:
    """An event whose envelope is ``depth`` levels deep (the envelope object counts as one)."""
    return '{"event":' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("separator", ["\n", ""])
def test_deeply_nested_json_is_invalid_data(
    emulator: SplunkEmulator, hec: requests.Session, separator: str
) -> None:
    for depth in (100_000, 1_000, 513):
        body = '{"event":"ok"}' + separator + nested(depth)
        reply = hec.post(emulator.hec_url + EVENT, data=body, headers=splunk(TOKEN))
        assert (reply.status_code, reply.text) == (400, INVALID.format(1)), depth
    reply = hec.post(emulator.hec_url + EVENT, data=nested(512), headers=splunk(TOKEN))
    assert reply.text == '{"text":"Success","code":0}'
    assert [event["event"] for event in emulator.events()][-1] == json.loads(nested(512))["event"]
    assert all(entry["status"] in (200, 400) for entry in emulator.requests_log("hec"))


def test_deeply_nested_ack_body_is_invalid_data(emulator: SplunkEmulator, hec: requests.Session) -> None:
    headers = {**splunk(ACK_TOKEN), "X-Splunk-Request-Channel": CHANNEL}
    body = '{"acks":' + "[" * 100_000 + "]" * 100_000 + "}"
    reply = hec.post(emulator.hec_url + "/services/collector/ack", data=body, headers=headers)
    assert (reply.status_code, reply.text) == (400, INVALID.format(0))


def test_metric_event_with_many_fields_is_read_back_in_linear_time(
    emulator: SplunkEmulator, hec: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsdl_golden.emulator import hec as hec_module

    count = 3_000
    fields: dict[str, object] = {f"metric_name:m{number}": number for number in range(count)}
    fields.update({"region": "eu", "host_group": "a"})
    event = {"event": "metric", "index": "_metrics", "fields": fields}
    assert hec.post(emulator.hec_url + EVENT, data=json.dumps(event), headers=splunk(TOKEN)).ok
    calls = {"loads": 0, "dimensions": 0}

    class CountingJson:
        def __getattr__(self, name: str) -> object:
            return getattr(json, name)

        @staticmethod
        def loads(text: str | bytes) -> object:
            calls["loads"] += 1
            return json.loads(text)

    dimensions = hec_module._dimensions

    def counting_dimensions(fields: dict[str, object]) -> dict[str, object]:
        calls["dimensions"] += 1
        return dimensions(fields)

    monkeypatch.setattr(hec_module, "json", CountingJson())
    monkeypatch.setattr(hec_module, "_dimensions", counting_dimensions)
    metrics = emulator.events("_metrics", "metric")
    assert [(m["metric_name"], m["value"]) for m in metrics] == [(f"m{n}", float(n)) for n in range(count)]
    assert all(m["fields"] == {"region": "eu", "host_group": "a"} for m in metrics)
    metrics[0]["fields"]["region"] = "changed"
    assert metrics[1]["fields"]["region"] == "eu"  # each record has its own fields
    assert calls == {"loads": 1, "dimensions": 1}  # once per HEC event, not once per measurement
