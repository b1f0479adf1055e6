"""Fixtures for the Splunk emulator tests: a fresh HTTPS emulator per test and HTTP helpers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from emulator_values import (
    ACK_TOKEN,
    AUTH_TOKEN,
    DISABLED_TOKEN,
    PASSWORD,
    QUERY_TOKEN,
    TOKEN,
    USER,
    WEB_ONLY_TOKEN,
)

from dsdl_golden.emulator import SplunkEmulator


@pytest.fixture
def emulator() -> Iterator[SplunkEmulator]:
    """An HTTPS emulator on free ports with the tokens, user and indexes the tests use."""
    with SplunkEmulator() as splunk:
        splunk.add_hec_token(TOKEN, name="tests", indexes=("main", "web", "_metrics"))
        splunk.add_hec_token(ACK_TOKEN, name="acked", use_ack=True)
        splunk.add_hec_token(WEB_ONLY_TOKEN, name="web-only", indexes=("web",), default_index="web")
        splunk.add_hec_token(DISABLED_TOKEN, name="off", disabled=True)
        splunk.add_hec_token(QUERY_TOKEN, name="query", allow_query_string=True)
        splunk.add_user(USER, PASSWORD)
        splunk.add_auth_token(AUTH_TOKEN)
        yield splunk


@pytest.fixture
def hec(emulator: SplunkEmulator) -> Iterator[requests.Session]:
    """A keep-alive session that verifies the emulator's certificate.

    ``trust_env`` is off: ``REQUESTS_CA_BUNDLE`` would otherwise override ``session.verify``.
    """
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(emulator.ca_bundle)
        yield session
