"""One-line summaries of HTTP replies that are not what Splunk sends, such as a proxy's HTML error page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

_SCAN_BYTES = 64 * 1024  # an excerpt comes from the start of the body
_EXCERPT_CHARS = 160
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>?")
# An echoed "Authorization: Splunk <token>" (or Bearer/Basic): the scheme and the credential go.
_AUTHORIZATION = re.compile(
    r"(authorization[\"']?\s*[:=]\s*[\"']?)(?:(?:splunk|bearer|basic)\s+)?[^\s,;\"'<>]+", re.IGNORECASE
)
_MASK = "****"


def body_summary(content_type: str | None, body: bytes, secrets: Iterable[str] = ()) -> str:
    """``body`` as one short line: its media type and the start of its text, with HTML tags, scripts,
    styles and comments removed, entities decoded, whitespace collapsed, and ``secrets`` and any
    echoed ``Authorization`` value masked; e.g. ``text/html reply: 502 Bad Gateway nginx``."""
    text = _HIDDEN.sub(" ", body[:_SCAN_BYTES].decode("utf-8", "replace"))
    text = " ".join(html.unescape(_TAG.sub(" ", text)).split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, _MASK)
    text = _AUTHORIZATION.sub(rf"\g<1>{_MASK}", text)
    if len(text) > _EXCERPT_CHARS:
        text = text[:_EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
    media_type = (content_type or "").partition(";")[0].strip() or "untyped"
    return f"{media_type} reply: {text or '(no text)'}"
