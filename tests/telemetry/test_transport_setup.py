"""How an HEC transport is set up: TLS verification as GOLDEN_TLS_VERIFY says, the URL as given
without a trailing slash, and a URL carrying credentials refused with the fix."""

from __future__ import annotations

import logging
import ssl
from contextlib import closing
from pathlib import Path

import pytest

from dsdl_golden._telemetry.hec import HEALTH_PATH, HecTransport, tls_pool_arguments
from dsdl_golden.config import Secret
from dsdl_golden.emulator import SplunkEmulator


def test_each_verify_setting_gives_its_tls_arguments(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    assert tls_pool_arguments(False) == {"cert_reqs": ssl.CERT_NONE, "assert_hostname": False}
    assert tls_pool_arguments(bundle) == {"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": str(bundle)}
    assert tls_pool_arguments(True) == {"cert_reqs": ssl.CERT_REQUIRED}


def test_the_system_cas_refuse_a_self_signed_hec_by_default(splunk: SplunkEmulator, hec_token: str) -> None:
    with closing(HecTransport(splunk.hec_url, Secret(hec_token), timeout=5.0)) as transport:
        reply = transport.health()
    assert reply.status == 0
    assert "CERTIFICATE_VERIFY_FAILED" in reply.text


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # what the user asked for
def test_verification_off_reaches_a_self_signed_hec_and_warns_that_it_is_off(
    splunk: SplunkEmulator, hec_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="dsdl_golden.telemetry")
    with closing(HecTransport(splunk.hec_url, Secret(hec_token), verify=False, timeout=5.0)) as transport:
        assert transport.health().status == 200
    warnings = [record.getMessage() for record in caplog.records if "TLS" in record.getMessage()]
    assert warnings == [f"TLS verification of {splunk.hec_url} is off (GOLDEN_TLS_VERIFY)"]


def test_a_trailing_slash_of_the_url_is_dropped(splunk: SplunkEmulator, hec_token: str) -> None:
    assert splunk.ca_bundle is not None
    with closing(HecTransport(splunk.hec_url + "/", Secret(hec_token), verify=splunk.ca_bundle)) as transport:
        assert transport.base_url == splunk.hec_url
        assert repr(transport) == f"HecTransport({splunk.hec_url!r})"
        assert transport.timeout == 10.0  # the default
        assert transport.channel is None
        assert transport.health().status == 200


def test_an_answer_slower_than_the_timeout_is_given_up_on(splunk: SplunkEmulator, hec_token: str) -> None:
    assert splunk.ca_bundle is not None
    splunk.inject_fault(listener="hec", path=HEALTH_PATH, delay_ms=5000)
    with closing(
        HecTransport(splunk.hec_url, Secret(hec_token), verify=splunk.ca_bundle, timeout=0.5)
    ) as transport:
        reply = transport.health()
    assert reply.status == 0
    assert "timed out" in reply.text


def test_a_hec_reached_through_a_proxy_says_which_at_setup(
    hec_token: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy"):  # urllib reads both, the lower-case one first
        monkeypatch.setenv(name, "http://proxy.example:3128")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.INFO, logger="dsdl_golden.telemetry")
    transport = HecTransport("https://splunk.example:8088", Secret(hec_token))  # nothing is sent
    transport.close()
    assert [record.getMessage() for record in caplog.records if "proxy" in record.getMessage()] == [
        "HEC https://splunk.example:8088 is reached through the proxy http://proxy.example:3128 (HTTPS_PROXY)"
    ]


def test_a_url_with_credentials_is_refused_with_the_fix_and_without_the_password(hec_token: str) -> None:
    with pytest.raises(ValueError, match="user name or password") as raised:
        HecTransport("https://admin:s3cret@splunk.example:8088", Secret(hec_token))
    assert str(raised.value) == (
        "the HEC URL 'https://***@splunk.example:8088' contains a user name or password: remove them "
        "(HEC authenticates with the token in splunk_hec_token)"
    )
