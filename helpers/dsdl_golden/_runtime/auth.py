"""The API token check: DSDL's answers, without DSDL's substring match and in constant time.

DSDL accepts any ``Authorization`` header that *contains* ``api_token`` (``xx<token>yy`` passes).
Here the header must be the token itself, or the token after a ``Bearer`` or ``Splunk`` scheme
(Splunk's own probe sends the bare token), compared with :func:`hmac.compare_digest`. The refusal
reasons and the 401 with ``WWW-Authenticate: Bearer`` are DSDL's.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Final

__all__ = ["TokenRefusedError", "check_token"]

_SCHEMES: Final = ("bearer ", "splunk ")


class TokenRefusedError(Exception):
    """Why the request is not authorised (DSDL's wording)."""


def _presented(header: str) -> str:
    lowered = header[:7].lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            return header[len(scheme) :].strip()
    return header.strip()


def check_token(header: str | None, environ: Mapping[str, str]) -> None:
    """Raise :class:`TokenRefusedError` unless ``header`` carries the ``api_token`` of ``environ``."""
    if header is None:
        raise TokenRefusedError("No header with token")
    if "api_token" not in environ:
        raise TokenRefusedError("No token setup")
    token = environ["api_token"]
    if not token:
        raise TokenRefusedError("No token defined")
    if not hmac.compare_digest(_presented(header).encode(), token.encode()):
        raise TokenRefusedError("Invalid token")
