"""The HTTP proxy a connection to Splunk goes through, from ``HTTPS_PROXY``/``HTTP_PROXY`` and ``NO_PROXY``
as curl, requests and pip read them (either case; ``NO_PROXY`` lists hosts, domain suffixes or ``*``).

Telemetry (HEC) and the connector (splunkd's REST API) tunnel through the proxy with ``CONNECT``, so
that TLS and its verification stay end to end with Splunk; the proxy itself is reached over plain
``http://``, as most corporate proxies are. A proxy URL may carry a user name and
password (``http://user:password@proxy:3128``): they are sent as ``Proxy-Authorization: Basic`` and
never shown; :attr:`Proxy.shown` is the URL without them.
"""

from __future__ import annotations

import base64
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = ["Proxy", "proxy_for"]


@dataclass(frozen=True)
class Proxy:
    """A proxy to tunnel through: where it is and, when its URL has them, the credentials' header."""

    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """``http://host:port``, without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """The headers of the ``CONNECT`` request (``Proxy-Authorization`` with credentials)."""
        return {} if self.authorization is None else {"Proxy-Authorization": self.authorization}


def _parse(value: str) -> Proxy:
    parts = urlsplit(value if "://" in value else f"http://{value}")
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(
            f"the proxy {parts.scheme}://{parts.hostname or ''} is not an http:// proxy URL with a host: fix "
            "HTTPS_PROXY (e.g. http://proxy.example.com:3128; the tunnel to Splunk is TLS end to end)"
        )
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return Proxy(parts.hostname, parts.port or 80, authorization)


def proxy_for(url: str) -> Proxy | None:
    """The proxy to reach ``url`` through, or None (no proxy set, or ``NO_PROXY`` names its host).

    Raises ``ValueError`` for a proxy variable that is not an http:// proxy URL (without its credentials).
    """
    proxies = urllib.request.getproxies_environment()
    target = urlsplit(url)
    setting = proxies.get(target.scheme)
    if not setting or not target.hostname:
        return None
    if urllib.request.proxy_bypass_environment(target.hostname, proxies):  # type: ignore[attr-defined]
        return None
    return _parse(setting)
