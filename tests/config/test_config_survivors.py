"""dsdl_golden.config refusing settings users would otherwise only find broken later: over-long host
names and HEC URLs with a fragment (each pinned by a test that a hand-made mutant survived)."""

from __future__ import annotations

import pytest

from dsdl_golden.config import ConfigError, load_settings

TOKEN = "tok-survivors-4c1e-DISTINCTIVE"
HEC_ON = {"splunk_hec_enabled": "1", "splunk_hec_url": "https://splunk:8088", "splunk_hec_token": TOKEN}


def host_of_length(length: int) -> str:
    """A host name of ``length`` characters made of valid labels (63 characters at most each)."""
    labels, left = [], length
    while left > 64:
        labels.append("a" * 63)
        left -= 64
    labels.append("b" * left)
    host = ".".join(labels)
    assert len(host) == length
    return host


def test_a_host_name_of_253_characters_is_accepted() -> None:
    host = host_of_length(253)
    settings = load_settings({"splunk_access_host": host})
    assert settings.splunk_access_host == host


def test_a_host_name_longer_than_253_characters_is_refused() -> None:
    host = host_of_length(254)
    with pytest.raises(ConfigError) as caught:
        load_settings({"splunk_access_host": host})
    (problem,) = caught.value.problems
    assert problem.startswith(f"splunk_access_host={host!r}: expected a host name or IP address")


@pytest.mark.parametrize(
    "raw", ["https://splunk:8088#section", "https://splunk:8088/#x", "https://splunk#8088"]
)
def test_an_hec_url_with_a_fragment_is_refused_naming_the_setting(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**HEC_ON, "splunk_hec_url": raw})
    (problem,) = caught.value.problems
    assert problem.startswith(f"splunk_hec_url={raw!r}: expected an http:// or https:// URL")
    assert "no ?query or #fragment" in problem
