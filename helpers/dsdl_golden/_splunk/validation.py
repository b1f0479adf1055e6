"""Checks of the DSDL Splunk configuration: enabled, configured, reachable, credentials, TLS."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

from dsdl_golden._splunk.errors import SplunkConfigError, SplunkConnectorError
from dsdl_golden._splunk.search import Access, Deadline, access_from, connect, translated_errors
from dsdl_golden._telemetry.hec import HecTransport, Reply
from dsdl_golden.config import Settings

# HEC answers an empty POST with "No data" (code 5) only after it accepted the token.
_TOKEN_ACCEPTED = {5, 10}
_TOKEN_FIXES = {
    1: "the HEC token is disabled: enable it in Splunk (Settings > Data inputs > HTTP Event Collector)",
    2: "no token was sent: set splunk_hec_token",
    3: "the token was not sent as 'Splunk <token>'",
    4: "Splunk does not know this token: set splunk_hec_token to a valid HEC token",
}

_LABELS = {True: "ok", False: "FAIL", None: "skip"}


@dataclass(frozen=True)
class Check:
    """One check: ``ok`` is True, False, or None when it was skipped."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""


@dataclass
class ValidationReport:
    """Every check run by :func:`validate_splunk_config`."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(check.ok is not False for check in self.checks)

    @property
    def problems(self) -> list[Check]:
        """The failed checks."""
        return [check for check in self.checks if check.ok is False]

    def __str__(self) -> str:
        width = max((len(check.name) for check in self.checks), default=0)
        lines = []
        for check in self.checks:
            lines.append(f"{_LABELS[check.ok]:<4} {check.name:<{width}}  {check.detail}")
            if check.fix:
                lines.append(f"     {'':<{width}}  fix: {check.fix}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colours = {True: "#2e7d32", False: "#c62828", None: "#757575"}
        rows = "".join(
            f"<tr><td style='color:{colours[check.ok]}'>{_LABELS[check.ok]}</td>"
            f"<td>{html.escape(check.name)}</td><td>{html.escape(check.detail)}</td>"
            f"<td>{html.escape(check.fix)}</td></tr>"
            for check in self.checks
        )
        return f"<table><tr><th></th><th>check</th><th>result</th><th>fix</th></tr>{rows}</table>"

    def raise_for_problems(self) -> None:
        """Raise :class:`SplunkConfigError` listing every failed check."""
        if self.problems:
            listed = "\n".join(f"  {check.name}: {check.detail}; fix: {check.fix}" for check in self.problems)
            raise SplunkConfigError(f"Splunk configuration problems:\n{listed}")


def _connection_fix(reply: Reply) -> str:
    if "SSL" in reply.text or "certificate" in reply.text:
        return "set GOLDEN_TLS_VERIFY to the CA bundle that signed Splunk's certificate"
    return "check splunk_hec_url (host and port 8088) and that the container can reach Splunk"


def hec_checks(settings: Settings, timeout: float) -> list[Check]:
    """HEC: enabled, configured, healthy, and the token accepted."""
    if not settings.splunk_hec_enabled:
        return [Check("hec.enabled", False, "splunk_hec_enabled is off", "enable HEC in DSDL's setup page")]
    checks = [Check("hec.enabled", True, "splunk_hec_enabled is on")]
    if not settings.hec_enabled or settings.splunk_hec_url is None:
        checks.append(
            Check("hec.configured", False, "URL or token missing", "set splunk_hec_url and splunk_hec_token")
        )
        return checks
    try:
        transport = HecTransport(
            settings.splunk_hec_url, settings.splunk_hec_token, verify=settings.tls_verify, timeout=timeout
        )
    except ValueError as error:  # a user name or password in the URL
        checks.append(Check("hec.configured", False, str(error), "remove them from splunk_hec_url"))
        return checks
    checks.append(Check("hec.configured", True, settings.splunk_hec_url))
    try:
        health = transport.health()
        if health.status == 0:
            checks.append(Check("hec.reachable", False, health.describe(), _connection_fix(health)))
            return checks
        healthy = health.status == 200
        checks.append(
            Check("hec.reachable", healthy, health.describe(), "" if healthy else "Splunk's HEC is unhealthy")
        )
        token = transport.post([], compress=False)
        accepted = token.code in _TOKEN_ACCEPTED
        detail = "token accepted" + (" (indexer acknowledgement on)" if token.code == 10 else "")
        checks.append(
            Check(
                "hec.token",
                accepted,
                detail if accepted else token.describe(),
                "" if accepted else _TOKEN_FIXES.get(token.code or 0, "check splunk_hec_token"),
            )
        )
    finally:
        transport.close()
    return checks


def rest_checks(settings: Settings, timeout: float) -> list[Check]:
    """splunkd REST: enabled, configured, reachable with the token."""
    if not settings.splunk_access_enabled:
        return [
            Check(
                "rest.enabled",
                False,
                "splunk_access_enabled is off",
                "enable Splunk access in DSDL's setup page",
            )
        ]
    checks = [Check("rest.enabled", True, "splunk_access_enabled is on")]
    try:
        access: Access = access_from(settings)
    except SplunkConfigError as error:
        checks.append(
            Check("rest.configured", False, str(error), "set splunk_access_host and splunk_access_token")
        )
        return checks
    checks.append(Check("rest.configured", True, access.url))
    try:
        limit = Deadline(timeout, "the REST check")
        service = connect(access, deadline=limit)
        with translated_errors(access, limit):
            info = service.info
        checks.append(
            Check(
                "rest.token",
                True,
                f"Splunk {info['version']} ({info.get('serverName', '?')}) accepted the token",
            )
        )
    except SplunkConnectorError as error:
        checks.append(Check("rest.token", False, str(error), "see the message"))
    return checks


CHECKS: tuple[Callable[[Settings, float], list[Check]], ...] = (hec_checks, rest_checks)
