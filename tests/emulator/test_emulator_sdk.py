"""The real splunk-sdk (splunklib 2.1.1), unchanged, against the emulator over loopback HTTPS."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from emulator_values import AUTH_TOKEN, PASSWORD, TOKEN, USER
from splunklib import binding, client, results

from dsdl_golden.emulator import SplunkEmulator

pytestmark = pytest.mark.integration


def web_rows() -> list[dict[str, Any]]:
    """One web event a minute for the last 12 minutes, timed when the dataset is added (the time-range
    tests must not depend on how long the run took to reach them)."""
    now = time.time()
    return [
        {
            "_time": now - minute * 60,
            "status": 500 if minute % 3 == 0 else 200,
            "host": f"web-{minute % 2}",
            "bytes": minute,
        }
        for minute in range(12)
    ]


def connect(emulator: SplunkEmulator, **credentials: Any) -> client.Service:
    return client.connect(host="127.0.0.1", port=emulator.rest_port, **credentials)


@pytest.fixture
def service(emulator: SplunkEmulator) -> client.Service:
    emulator.add_dataset("web", web_rows())
    return connect(emulator, token=AUTH_TOKEN)


def rows(stream: Any) -> list[dict[str, Any]]:
    return [item for item in results.JSONResultsReader(stream) if isinstance(item, dict)]


def wait_done(job: client.Job) -> None:
    deadline = time.monotonic() + 10
    while not job.is_done():
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize(
    "credentials",
    [
        {"token": AUTH_TOKEN},
        {"token": f"Splunk {AUTH_TOKEN}"},
        {"splunkToken": AUTH_TOKEN},
        {"username": USER, "password": PASSWORD},
        {"username": USER, "password": PASSWORD, "basic": True},
    ],
    ids=["token", "splunk-token", "bearer", "login-cookie", "basic"],
)
def test_every_auth_style_runs_a_search(emulator: SplunkEmulator, credentials: dict[str, Any]) -> None:
    emulator.add_dataset("web", web_rows())
    service = connect(emulator, **credentials)
    found = rows(service.jobs.oneshot("search index=web status=500", output_mode="json", count=0))
    assert [row["status"] for row in found] == ["500"] * 4


def test_login_sets_a_cookie_used_instead_of_the_authorization_header(emulator: SplunkEmulator) -> None:
    service = connect(emulator, username=USER, password=PASSWORD)
    assert service.info["version"] == "9.2.1"
    login, info = emulator.requests_log("rest")[-2:]
    assert (login["path"], login["body"]) == (
        "/services/auth/login",
        f"username={USER}&password={PASSWORD}&cookie=1",
    )
    assert f"splunkd_{emulator.rest_port}=" in info["headers"]["Cookie"]
    assert "Authorization" not in info["headers"]
    cookie_only = connect(emulator, cookie=info["headers"]["Cookie"])
    assert cookie_only.info["serverName"] == "splunk-emulator"


def test_bad_credentials_are_rejected(emulator: SplunkEmulator) -> None:
    with pytest.raises(binding.AuthenticationError, match="Login failed"):
        connect(emulator, username=USER, password="wrong")
    [login] = emulator.requests_log("rest")
    assert login["status"] == 401
    assert 'code="incorrect_username_or_password"' in login["response"]
    with pytest.raises(binding.HTTPError) as unauthenticated:
        connect(emulator, token="not-a-session").info  # noqa: B018
    assert unauthenticated.value.status == 401
    with pytest.raises(binding.HTTPError) as basic:
        connect(emulator, username=USER, password="wrong", basic=True).info  # noqa: B018
    assert basic.value.status == 401
    assert (
        emulator.requests_log("rest")[-1]["response"]
        == '{"messages":[{"type":"ERROR","text":"Unauthorized"}]}'
    )


def test_splunk_bearer_token_is_rejected_like_real_splunkd(emulator: SplunkEmulator) -> None:
    service = connect(emulator, token=f"Bearer {AUTH_TOKEN}")
    with pytest.raises(binding.HTTPError) as error:
        service.info  # noqa: B018
    assert error.value.status == 401
    assert emulator.requests_log("rest")[-1]["headers"]["Authorization"] == f"Splunk Bearer {AUTH_TOKEN}"


def test_oneshot_json_is_one_line_and_counts_server_info(
    emulator: SplunkEmulator, service: client.Service
) -> None:
    stream = service.jobs.oneshot("search index=web | head 2", output_mode="json", count=0)
    body = stream.read()
    assert body.count(b"\n") == 0
    log = emulator.requests_log("rest")
    assert [entry["path"] for entry in log] == ["/services/server/info"] * 2 + ["/services/search/v2/jobs/"]
    assert log[-1]["body"] == (
        "search=search+index%3Dweb+%7C+head+2&exec_mode=oneshot&output_mode=json&count=0&segmentation=none"
    )
    assert log[-1]["headers"]["Connection"] == "Close"
    assert log[-1]["response"].startswith('{"preview":false,"init_offset":0,"messages":[],"fields":')


def test_results_are_strings_newest_first_with_iso_time(service: client.Service) -> None:
    found = rows(service.jobs.oneshot("search index=web | head 3", output_mode="json"))
    assert [row["bytes"] for row in found] == ["0", "1", "2"]
    assert all(isinstance(value, str) for row in found for value in row.values())
    assert found[0]["_time"].endswith("+00:00")
    assert len(found[0]["_time"].split("T")[1]) == len("00:00:00.000+00:00")


def test_export_streams_ndjson(emulator: SplunkEmulator, service: client.Service) -> None:
    reader = results.JSONResultsReader(
        service.jobs.export("search index=web host=web-1 | head 3", output_mode="json")
    )
    found = [item for item in reader if isinstance(item, dict)]
    assert [row["host"] for row in found] == ["web-1"] * 3
    assert reader.is_preview is False
    [entry] = [entry for entry in emulator.requests_log("rest") if entry["path"].endswith("/export")]
    assert entry["method"] == "POST"
    empty = service.jobs.export("search index=web status=404", output_mode="json").read()
    assert empty == b'{"preview":false,"lastrow":true}\n'


def test_export_lines_format(emulator: SplunkEmulator, service: client.Service) -> None:
    lines = service.jobs.export(
        "| makeresults count=2 | streamstats count as n | table n", output_mode="json"
    ).read()
    assert lines.decode().splitlines() == [
        '{"preview":false,"offset":0,"result":{"n":"1"}}',
        '{"preview":false,"offset":1,"lastrow":true,"result":{"n":"2"}}',
    ]


def test_normal_job_becomes_done_then_gives_results(
    emulator: SplunkEmulator, service: client.Service
) -> None:
    emulator.configure(job_duration_ms=200)
    job = service.jobs.create("search index=web | stats count by status")
    assert job.is_done() is False
    wait_done(job)
    found = rows(job.results(output_mode="json", count=0))
    assert found == [{"status": "200", "count": "8"}, {"status": "500", "count": "4"}]
    assert job["eventCount"] == "12"
    assert job["resultCount"] == "2"
    statuses = [entry["status"] for entry in emulator.requests_log("rest") if entry["path"].endswith(job.sid)]
    assert statuses[0] == 204
    paths = {entry["path"] for entry in emulator.requests_log("rest")}
    # after the first entry, the SDK follows eai:acl (sharing global: owner nobody)
    assert f"/servicesNS/nobody/search/search/v2/jobs/{job.sid}/results" in paths


def test_results_paging_and_events(emulator: SplunkEmulator, service: client.Service) -> None:
    job = service.jobs.create("search index=web | fields status", exec_mode="blocking")
    assert job.is_done()
    assert len(rows(job.results(output_mode="json"))) == 12
    page = rows(job.results(output_mode="json", count=5, offset=10))
    assert len(page) == 2
    assert set(page[0]) == {"_time", "status"}
    assert len(rows(job.events(output_mode="json", count=0))) == 12
    assert rows(job.preview(output_mode="json", count=1))[0]["status"] in ("200", "500")


def test_blocking_job_and_json_sid(emulator: SplunkEmulator, service: client.Service) -> None:
    job = service.jobs.create(
        "| makeresults count=10 | streamstats c as i | eval i=i-1", exec_mode="blocking", output_mode="json"
    )
    assert emulator.requests_log("rest")[-1]["response"] == f'{{"sid":"{job.sid}"}}'
    assert job.is_done()
    assert [row["i"] for row in rows(job.results(output_mode="json", count=0))] == [str(i) for i in range(10)]


def test_cancel_list_and_control(emulator: SplunkEmulator, service: client.Service) -> None:
    emulator.configure(job_duration_ms=5000)
    job = service.jobs.create("search index=web")
    assert job.sid in [listed.sid for listed in service.jobs.list()]
    job.set_ttl(60)
    job.pause()
    job.unpause()
    job.cancel()
    job.cancel()  # a 404 on the second cancel is swallowed by the SDK
    assert job.sid not in [listed.sid for listed in service.jobs.list()]
    with pytest.raises(binding.HTTPError) as unknown:
        service.job(job.sid)
    assert unknown.value.status == 404
    assert "Unknown sid." in str(unknown.value)


def test_v1_api_below_9_0_2_uses_get(emulator: SplunkEmulator) -> None:
    emulator.configure(splunk_version="8.2.6")
    emulator.add_dataset("web", web_rows())
    service = connect(emulator, token=AUTH_TOKEN)
    job = service.jobs.create("search index=web | head 1", exec_mode="blocking")
    assert len(rows(job.results(output_mode="json"))) == 1
    [results_request] = [
        entry for entry in emulator.requests_log("rest") if entry["path"].endswith("/results")
    ]
    assert results_request["method"] == "GET"
    assert results_request["path"] == f"/services/search/jobs/{job.sid}/results"
    assert results_request["query"] == {"output_mode": "json", "segmentation": "none"}


def test_app_namespace(emulator: SplunkEmulator) -> None:
    service = connect(emulator, token=AUTH_TOKEN, app="myapp")
    assert rows(service.jobs.oneshot("| makeresults", output_mode="json"))
    assert emulator.requests_log("rest")[-1]["path"] == "/servicesNS/nobody/myapp/search/v2/jobs/"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("index=web", "Unknown search command 'index'."),
        ("search index=web | frobnicate", "Unknown search command 'frobnicate'."),
    ],
)
def test_spl_errors_are_fatal_messages(service: client.Service, query: str, message: str) -> None:
    with pytest.raises(binding.HTTPError) as error:
        service.jobs.oneshot(query, output_mode="json")
    assert error.value.status == 400
    assert error.value.body == f'{{"messages":[{{"type":"FATAL","text":"{message}"}}]}}'.encode()
    with pytest.raises(binding.HTTPError) as xml_error:
        service.jobs.create(query)
    assert message in str(xml_error.value)


def test_get_on_export_is_not_allowed(service: client.Service) -> None:
    with pytest.raises(binding.HTTPError) as error:
        service.get("search/jobs/export", search="search index=web")
    assert error.value.status == 405
    assert ("Allow", "POST") in error.value.headers


def test_time_range_parameters(emulator: SplunkEmulator, service: client.Service) -> None:
    recent = rows(
        service.jobs.oneshot(
            "search index=web", output_mode="json", count=0, earliest_time="-5m", latest_time="now"
        )
    )
    assert len(recent) == 5
    inline = rows(service.jobs.oneshot("search index=web earliest=-150s", output_mode="json", count=0))
    assert len(inline) == 3


def test_hec_events_are_searchable(
    emulator: SplunkEmulator, service: client.Service, hec: requests.Session
) -> None:
    body = '{"event":{"user":"ann","n":1},"index":"web","sourcetype":"_json","fields":{"env":"prod"}}'
    reply = hec.post(
        emulator.hec_url + "/services/collector/event",
        data=body,
        headers={"Authorization": f"Splunk {TOKEN}"},
    )
    assert reply.ok
    [event] = rows(service.jobs.oneshot("search index=web sourcetype=_json user=ann", output_mode="json"))
    assert event["_raw"] == '{"user":"ann","n":1}'
    assert (event["env"], event["n"], event["index"]) == ("prod", "1", "web")


def test_kvstore(emulator: SplunkEmulator, service: client.Service) -> None:
    service.kvstore.create("models", fields={"score": "number"})
    assert "models" in service.kvstore
    collection = service.kvstore["models"]
    data = collection.data
    inserted = data.insert({"name": "a", "score": 1})
    keys = data.batch_save({"name": "b", "score": 5}, {"_key": "k3", "name": "c", "score": 9})
    assert keys[1] == "k3"
    assert len(inserted["_key"]) == 24
    assert [doc["name"] for doc in data.query(query={"score": {"$gt": 2}}, sort="score:-1")] == ["c", "b"]
    assert [doc["name"] for doc in data.query(query={"name": {"$in": ["a", "c"]}}, sort="name", limit=1)] == [
        "a"
    ]
    assert data.query_by_id("k3")["score"] == 9
    data.update("k3", {"name": "c", "score": 10})
    assert data.query_by_id("k3") == {"name": "c", "score": 10, "_user": "nobody", "_key": "k3"}
    data.delete_by_id("k3")
    with pytest.raises(binding.HTTPError):
        data.query_by_id("k3")
    assert [collection.name for collection in service.kvstore.list()] == ["models"]
    assert any(
        entry["path"].startswith("/servicesNS/nobody/system/storage/collections/data/models")
        for entry in emulator.requests_log("rest")
    )
    # reading service.kvstore set the namespace owner to "nobody": later searches go to servicesNS/nobody
    service.jobs.oneshot("| makeresults", output_mode="json").read()
    assert emulator.requests_log("rest")[-1]["path"] == "/servicesNS/nobody/system/search/v2/jobs/"


def test_searches_that_fail_while_running(emulator: SplunkEmulator, service: client.Service) -> None:
    query = "search index=web | stats count"
    emulator.fail_search(query, "Search auto-canceled.")
    oneshot = service.jobs.oneshot(query, output_mode="json").read()
    assert oneshot == b'{"messages":[{"type":"FATAL","text":"Search auto-canceled."}]}'
    [exported] = list(results.JSONResultsReader(service.jobs.export(query, output_mode="json")))
    assert (exported.type, exported.message) == ("FATAL", "Search auto-canceled.")
    job = service.jobs.create(query)
    wait_done(job)
    assert (job["dispatchState"], job["isFailed"]) == ("FAILED", "1")
    [message] = list(results.JSONResultsReader(job.results(output_mode="json")))
    assert isinstance(message, results.Message)
    assert message.message == "Search auto-canceled."
