"""Splunk behind a corporate proxy: telemetry and searches tunnel through ``HTTPS_PROXY`` (``CONNECT``,
TLS verified end to end), ``NO_PROXY`` is honoured, and the proxy's password is never shown."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from golden_testing import ConnectProxy, connector_settings

from dsdl_golden import splunk_connector as splunk
from dsdl_golden import telemetry_helper
from dsdl_golden._proxy import proxy_for
from dsdl_golden.config import Settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.splunk_connector import SplunkConnectionError

pytestmark = pytest.mark.integration

SEARCH_TOKEN = "search-token-proxy-6a1f"
HEC_TOKEN = "hec-token-proxy-93c2"
PASSWORD = "pr0xy-s3cret"


@pytest.fixture
def server(fresh_emulator: SplunkEmulator) -> SplunkEmulator:
    fresh_emulator.add_auth_token(SEARCH_TOKEN)
    fresh_emulator.add_index("golden_metrics", metrics=True)
    fresh_emulator.add_hec_token(HEC_TOKEN, name="proxied", indexes=["main", "golden_metrics"])
    fresh_emulator.add_dataset("index=web", [{"status": "200", "n": n} for n in range(25)])
    return fresh_emulator


@pytest.fixture
def settings(server: SplunkEmulator, tmp_path: Path) -> Callable[..., Settings]:
    return connector_settings(server, tmp_path, search_token=SEARCH_TOKEN, hec_token=HEC_TOKEN)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectProxy]:
    with ConnectProxy(credentials=f"ops:{PASSWORD}") as running:
        monkeypatch.setenv("HTTPS_PROXY", running.url.replace("http://", f"http://ops:{PASSWORD}@"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        yield running


def test_a_search_tunnels_through_the_proxy_with_its_credentials(
    server: SplunkEmulator, settings: Callable[..., Settings], proxy: ConnectProxy
) -> None:
    frame = splunk.get_data("index=web", earliest="0", settings=settings(), progress=False)
    assert sorted(frame["n"]) == list(range(25))
    assert set(proxy.tunnels) == {f"127.0.0.1:{server.rest_port}"}
    assert proxy.expected in proxy.authorizations


def test_telemetry_tunnels_through_the_proxy(
    server: SplunkEmulator, settings: Callable[..., Settings], proxy: ConnectProxy
) -> None:
    telemetry_helper.configure(settings())
    try:
        telemetry_helper.log_event({"type": "proxied"})
        assert telemetry_helper.flush(30)
    finally:
        telemetry_helper.configure(settings(splunk_hec_enabled="false"))
    assert [event["event"]["type"] for event in server.events(index="main")] == ["proxied"]
    hec_port = server.hec_url.rsplit(":", 1)[1]
    assert proxy.tunnels == [f"127.0.0.1:{hec_port}"]


def wait_until_unlocked(lock: Path) -> None:
    """Until no process or spool holds ``lock`` (flock), as the next start's spool finds it."""
    deadline = time.monotonic() + 30
    with lock.open("rb") as file:
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                assert time.monotonic() < deadline, f"{lock} is still held"
                time.sleep(0.05)
                continue
            fcntl.flock(file, fcntl.LOCK_UN)
            return


def test_a_proxy_that_stalls_after_connect_neither_holds_up_the_stop_nor_loses_events(
    server: SplunkEmulator, settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    hec = f"127.0.0.1:{server.hec_url.rsplit(':', 1)[1]}"
    with ConnectProxy(stall=True) as stalling:
        monkeypatch.setenv("HTTPS_PROXY", stalling.url)
        telemetry_helper.configure(settings())
        telemetry_helper.log_event({"type": "stalled"})  # returns: the event is in the spool
        deadline = time.monotonic() + 30
        while stalling.stalled == 0:
            assert time.monotonic() < deadline, "telemetry never tried the proxy"
            time.sleep(0.02)
        assert stalling.tunnels == [hec]
        assert not telemetry_helper.flush(1), "nothing can be delivered while the proxy stalls"
        stopped = telemetry_helper.get_telemetry()
        assert stopped.delivery is not None
        stopped.close(timeout=0.2)
        # The stop returned while the request is still stalled (it would time out after 10 s).
        assert stalling.stalled == 1
    # The proxy is gone, the request fails, and its thread hands the spool over to the next start.
    wait_until_unlocked(stopped.delivery.spool.own_directory / "lock")
    assert server.events(index="main") == []
    monkeypatch.delenv("HTTPS_PROXY")
    telemetry_helper.configure(settings())  # the next start, without the proxy, sends what was spooled
    try:
        assert telemetry_helper.flush(30)
    finally:
        telemetry_helper.configure(settings(splunk_hec_enabled="false"))
    assert [event["event"]["type"] for event in server.events(index="main")] == ["stalled"]


def test_no_proxy_sends_straight_to_splunk(
    settings: Callable[..., Settings], proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    frame = splunk.get_data("index=web", earliest="0", settings=settings(), progress=False)
    assert len(frame) == 25
    assert proxy.tunnels == []


def test_a_proxy_that_refuses_says_so_without_its_password(
    settings: Callable[..., Settings], proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://ops:wrong-password@"))
    with pytest.raises(SplunkConnectionError) as refused:
        splunk.get_data("index=web", earliest="0", settings=settings(), progress=False)
    message = str(refused.value)
    assert f"through the proxy {proxy.url}" in message
    assert "407 Proxy Authentication Required" in message
    assert "wrong-password" not in message
    assert proxy.tunnels == []


@pytest.mark.parametrize(
    ("no_proxy", "host", "proxied"),
    [
        ("", "splunk.example.com", True),
        ("example.com", "splunk.example.com", False),
        (".example.com", "splunk.example.com", False),
        ("*", "splunk.example.com", False),
        ("other.org", "splunk.example.com", True),
    ],
)
def test_no_proxy_names_hosts_and_domains(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, host: str, proxied: bool
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.com:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert (proxy_for(f"https://{host}:8089") is not None) is proxied


def test_a_proxy_that_is_not_an_http_url_is_refused_without_its_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"socks5://ops:{PASSWORD}@proxy.example.com:1080")
    with pytest.raises(
        ValueError, match=r"the proxy socks5://proxy.example.com is not an http:// proxy URL"
    ) as bad:
        proxy_for("https://splunk:8089")
    assert PASSWORD not in str(bad.value)


def test_the_repr_of_a_proxy_hides_its_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://ops:{PASSWORD}@proxy.example.com:3128")
    proxy = proxy_for("https://splunk:8089")
    assert proxy is not None
    assert proxy.url == "http://proxy.example.com:3128"
    assert PASSWORD not in repr(proxy)
    assert "Basic" not in repr(proxy)
