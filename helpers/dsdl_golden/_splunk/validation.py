"""Checks of the DSDL Splunk configuration: enabled, configured, reachable, credentials, TLS, indexes.

Every failed check says in one line what is wrong (``detail``) and which setting to change (``fix``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from splunklib import binding, client

from dsdl_golden._splunk.errors import (
    SplunkAuthenticationError,
    SplunkConfigError,
    SplunkConnectionError,
    SplunkConnectorError,
    SplunkTimeoutError,
)
from dsdl_golden._splunk.indexes import Known, hec_token_indexes, index_exists
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

# Splunk's HEC health codes: 18 queues full, 19 acknowledgement unavailable, 20 both.
_HEALTH_FIXES = {
    18: "HEC's queues are full (Splunk is overloaded): try again later or ask your Splunk admin",
    19: "HEC's indexer acknowledgement is unavailable: try again later or ask your Splunk admin",
    20: (
        "HEC's queues are full and its indexer acknowledgement is unavailable: try again later or ask "
        "your Splunk admin"
    ),
}
_HEC_PORT_HINT = "HEC usually listens on 8088: set splunk_hec_url to https://SPLUNK_HOST:8088"
_REST_PORT_HINT = "splunkd's management port is usually 8089: check splunk_access_host and splunk_access_port"
_INDEX_SETTINGS = (("events_index", "GOLDEN_EVENTS_INDEX"), ("metrics_index", "GOLDEN_METRICS_INDEX"))

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


def _connection_problem(reply: Reply, url: str) -> tuple[str, str]:
    """What went wrong when HEC could not be reached, and the fix."""
    text = reply.text
    if urlsplit(url).scheme == "http" and ("RemoteDisconnected" in text or "reset by peer" in text):
        return "the server closed the connection", "is it HTTPS? use https:// in splunk_hec_url"
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "the server does not speak TLS", "use http:// in splunk_hec_url, or HEC's TLS port"
    if "SSL" in text or "certificate" in text:
        return reply.describe(), "set GOLDEN_TLS_VERIFY to the CA bundle that signed Splunk's certificate"
    return (
        reply.describe(),
        "check splunk_hec_url (host and port, usually 8088) and that the container can reach Splunk",
    )


def _unhealthy(health: Reply) -> Check:
    """The failed ``hec.reachable`` check of a health answer other than 200."""
    if health.code is None and "xml" in health.text:
        return Check(
            "hec.reachable", False, "this looks like the splunkd management port, not HEC", _HEC_PORT_HINT
        )
    fix = _HEALTH_FIXES.get(health.code or 0, f"splunk_hec_url does not answer like HEC: {_HEC_PORT_HINT}")
    return Check("hec.reachable", False, health.describe(), fix)


def _hec_configuration(settings: Settings) -> Check:
    missing = [name for name in ("splunk_hec_url", "splunk_hec_token") if not getattr(settings, name)]
    if missing:
        names = " and ".join(missing)
        return Check("hec.configured", False, f"{names} not set", f"set {names} in DSDL's setup page")
    return Check("hec.configured", True, str(settings.splunk_hec_url))


def _token_check(transport: HecTransport) -> Check:
    token = transport.post([], compress=False)
    if token.code in _TOKEN_ACCEPTED:
        detail = "token accepted" + (" (indexer acknowledgement on)" if token.code == 10 else "")
        return Check("hec.token", True, detail)
    return Check(
        "hec.token", False, token.describe(), _TOKEN_FIXES.get(token.code or 0, "check splunk_hec_token")
    )


def hec_checks(settings: Settings, timeout: float) -> list[Check]:
    """HEC: enabled, configured, healthy, and the token accepted."""
    if not settings.splunk_hec_enabled:
        return [Check("hec.enabled", False, "splunk_hec_enabled is off", "enable HEC in DSDL's setup page")]
    checks = [Check("hec.enabled", True, "splunk_hec_enabled is on"), _hec_configuration(settings)]
    if not checks[-1].ok or settings.splunk_hec_url is None:
        return checks
    try:
        transport = HecTransport(
            settings.splunk_hec_url, settings.splunk_hec_token, verify=settings.tls_verify, timeout=timeout
        )
    except ValueError as error:  # a user name or password in the URL
        return [*checks[:-1], Check("hec.configured", False, str(error), "remove them from splunk_hec_url")]
    try:
        health = transport.health()
        if health.status == 0:
            detail, fix = _connection_problem(health, settings.splunk_hec_url)
            return [*checks, Check("hec.reachable", False, detail, fix)]
        if health.status != 200:
            return [*checks, _unhealthy(health)]
        return [*checks, Check("hec.reachable", True, health.describe()), _token_check(transport)]
    finally:
        transport.close()


def _rest_fix(error: SplunkConnectorError) -> str:
    """The setting to change for an error of the REST check."""
    if isinstance(error, SplunkAuthenticationError):
        return "set splunk_access_token to a valid Splunk authentication token of a user who may search"
    if "GOLDEN_TLS_VERIFY" in str(error):
        return "set GOLDEN_TLS_VERIFY to the CA bundle that signed Splunk's certificate"
    if isinstance(error, SplunkTimeoutError | SplunkConnectionError):
        return f"{_REST_PORT_HINT}, and that the container can reach Splunk"
    return _REST_PORT_HINT


def _server_info(service: client.Service, access: Access) -> dict[str, str]:
    """splunkd's ``server/info``; a 404 (every splunkd has it) means another server, such as HEC."""
    try:
        return dict(service.info)
    except binding.HTTPError as error:
        if error.status == 404:
            raise SplunkConnectionError(
                f"{access.url} has no server/info (HTTP 404): this looks like HEC's port, not splunkd's"
            ) from None
        raise


def _rest_access(settings: Settings) -> tuple[Access | None, Check]:
    try:
        access = access_from(settings)
    except SplunkConfigError as error:
        return None, Check(
            "rest.configured", False, str(error), "set splunk_access_host and splunk_access_token"
        )
    return access, Check("rest.configured", True, access.url)


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
    access, configured = _rest_access(settings)
    checks = [Check("rest.enabled", True, "splunk_access_enabled is on"), configured]
    if access is None:
        return checks
    try:
        limit = Deadline(timeout, "the REST check")
        service = connect(access, deadline=limit)
        with translated_errors(access, limit):
            info = _server_info(service, access)
        detail = f"Splunk {info['version']} ({info.get('serverName', '?')}) accepted the token"
        checks.append(Check("rest.token", True, detail))
    except SplunkConnectorError as error:
        checks.append(Check("rest.token", False, str(error), _rest_fix(error)))
    return checks


def _skipped(names: tuple[str, ...], why: str) -> list[Check]:
    return [Check(name, None, f"not checked: {why}") for name in names]


def _index_check(service: client.Service, settings: Settings, setting: str, variable: str) -> Check:
    name = str(getattr(settings, setting))
    answer = index_exists(service, name)
    check_name = f"index.{setting}"
    if answer.known is Known.UNKNOWN:
        return Check(check_name, None, f"not checked: {answer.why}")
    if answer.known is Known.NO:
        fix = f"create index {name!r} in Splunk (Settings > Indexes) or set {variable} to an existing index"
        return Check(check_name, False, f"Splunk has no index {name!r} ({setting})", fix)
    return Check(check_name, True, f"index {name!r} ({setting}) exists")


def _hec_index_check(service: client.Service, settings: Settings) -> Check:
    names = [str(getattr(settings, setting)) for setting, _ in _INDEX_SETTINGS]
    token = hec_token_indexes(service, settings.splunk_hec_token)
    if token.allowed is None:
        return Check("hec.indexes", None, f"not checked: {token.why}")
    refused = token.refused(names)
    if not refused:
        return Check("hec.indexes", True, f"splunk_hec_token may write to {', '.join(map(repr, names))}")
    return Check(
        "hec.indexes",
        False,
        f"splunk_hec_token may not write to {', '.join(map(repr, refused))} "
        f"(it may write to {', '.join(token.allowed)})",
        "add them to the token's indexes in Splunk (Settings > Data inputs > HTTP Event Collector), "
        "or set GOLDEN_EVENTS_INDEX/GOLDEN_METRICS_INDEX to allowed ones",
    )


def index_checks(settings: Settings, timeout: float) -> list[Check]:
    """The events and metrics indexes exist, and the HEC token may write to them (asked of splunkd,
    nothing is written)."""
    names = ("index.events_index", "index.metrics_index", "hec.indexes")
    if not settings.splunk_access_enabled:
        return _skipped(names, "needs Splunk access (splunk_access_enabled) to ask splunkd")
    access, _ = _rest_access(settings)
    if access is None:
        return _skipped(names, "Splunk access is not configured (see rest.configured)")
    limit = Deadline(timeout, "the index check")
    try:
        service = connect(access, deadline=limit)
        with translated_errors(access, limit):
            checks = [_index_check(service, settings, *pair) for pair in _INDEX_SETTINGS]
            if not settings.hec_enabled:
                return [*checks, *_skipped(names[2:], "HEC is not configured")]
            return [*checks, _hec_index_check(service, settings)]
    except SplunkConnectorError:
        return _skipped(names, "splunkd did not answer (see rest.token)")


CHECKS: tuple[Callable[[Settings, float], list[Check]], ...] = (hec_checks, rest_checks, index_checks)
