"""``golden health``: the image's health check, a probe of the model API on this machine's loopback.

The container engine runs it in the container (Docker's ``HEALTHCHECK`` from the image config,
``podman run --health-cmd "golden health"``), with the container's environment, not the
bootstrap's: the API's TLS follows the variables the bootstrap reads, ``ENABLE_HTTPS`` (on unless
``false``) and ``API_SSL_CERT`` (default ``/dltk/.jupyter/dltk.pem``, the certificate the bootstrap
makes at the first start).

Over HTTPS the only certificate trusted is the API's own, read from that file (pinned: no
certificate authority is needed, the host name is not checked, and nothing is left unverified).
No proxy is used, and no token is needed: ``/healthz`` and ``/readyz`` answer without one.

Exit status 0 when the route answers 200, 1 otherwise (Docker's "unhealthy"), with one line saying
what answered; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import http.client
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_CERTIFICATE", "Probe", "check", "probe_for", "run"]

DEFAULT_CERTIFICATE: Final = "/dltk/.jupyter/dltk.pem"
_OFF: Final = frozenset({"false", "0", "no", "off"})
_SHOWN: Final = 200  # characters of an answer's body in the one-line report


@dataclass(frozen=True, slots=True)
class Probe:
    """Where to ask: ``certificate`` is the API's own (pinned), or None for plain HTTP."""

    port: int
    route: str
    certificate: str | None
    timeout: float


def probe_for(environment: Mapping[str, str], *, port: int, ready: bool, timeout: float) -> Probe:
    """The probe the bootstrap's settings in ``environment`` call for."""
    https = environment.get("ENABLE_HTTPS", "true").strip().lower() not in _OFF
    certificate = environment.get("API_SSL_CERT") or DEFAULT_CERTIFICATE
    return Probe(port, "/readyz" if ready else "/healthz", certificate if https else None, timeout)


def _pinned_context(certificate: str) -> ssl.SSLContext:
    """Trust exactly the certificates of ``certificate`` (the server's own chain), whoever signed them."""
    context = ssl.create_default_context(cafile=certificate)
    context.check_hostname = False  # the loopback is not among a certificate's names; the key is pinned
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def check(probe: Probe) -> tuple[bool, str]:
    """Ask the API; ``(healthy, one line saying what answered)``."""
    scheme = "https" if probe.certificate else "http"
    where = f"{scheme}://127.0.0.1:{probe.port}{probe.route}"
    try:
        if probe.certificate:
            context = _pinned_context(probe.certificate)
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                "127.0.0.1", probe.port, timeout=probe.timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection("127.0.0.1", probe.port, timeout=probe.timeout)
    except (OSError, ssl.SSLError) as error:
        return False, f"unhealthy: cannot read the API's certificate {probe.certificate} ({error})"
    try:
        connection.request("GET", probe.route, headers={"Accept": "application/json"})
        response = connection.getresponse()
        body = response.read(_SHOWN + 1).decode("utf-8", "replace").strip()
    except ssl.SSLError as error:
        return False, f"unhealthy: {where}: TLS failed ({error.reason or error}); is API_SSL_CERT the API's?"
    except (OSError, http.client.HTTPException) as error:
        return False, f"unhealthy: {where}: {error or type(error).__name__}"
    finally:
        connection.close()
    body = " ".join(body.split())
    if len(body) > _SHOWN:
        body = body[:_SHOWN] + "..."
    healthy = response.status == 200
    return healthy, f"{'healthy' if healthy else 'unhealthy'}: {where} answered {response.status} {body}"


def run(args: argparse.Namespace) -> int:
    healthy, line = check(probe_for(os.environ, port=args.port, ready=args.ready, timeout=args.timeout))
    print(line)
    return 0 if healthy else 1
