"""Errors of the Splunk connector; each message says what to fix."""

from __future__ import annotations


class SplunkConnectorError(Exception):
    """Base class of every error raised by :mod:`dsdl_golden.splunk_connector`."""


class SplunkConfigError(SplunkConnectorError):
    """Splunk access or HEC is not enabled or not configured."""


class SplunkAuthenticationError(SplunkConnectorError):
    """Splunk refused the credentials."""


class SplunkSearchError(SplunkConnectorError):
    """The search failed; the message is Splunk's."""


class SplunkTimeoutError(SplunkConnectorError):
    """The search did not finish within the timeout."""


class SplunkRowLimitError(SplunkConnectorError):
    """The search returned more rows than ``max_rows``."""


class SplunkConnectionError(SplunkConnectorError):
    """Splunk could not be reached (network, TLS)."""
