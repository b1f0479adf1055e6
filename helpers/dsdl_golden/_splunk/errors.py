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


class SplunkIndexError(SplunkConfigError):
    """HEC refused the index as a whole (it does not exist, or the token may not write to it).

    ``index`` is the refused index, ``rows_not_sent`` how many rows did not arrive.
    """

    def __init__(self, message: str, *, index: str, rows_not_sent: int) -> None:
        super().__init__(message)
        self.index = index
        self.rows_not_sent = rows_not_sent


class SplunkEmptyResultWarning(UserWarning):
    """A search returned no rows; the message names the time range searched and how to widen it."""
