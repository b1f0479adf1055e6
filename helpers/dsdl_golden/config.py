"""Typed settings read from the environment of a DSDL container.

Build them with :func:`load_settings`; it validates every variable and raises one
:class:`ConfigError` listing all invalid ones. Values are stripped of surrounding whitespace;
an empty value counts as unset (the default applies), except for on/off flags.

Variables set by DSDL (lower-case names are DSDL's own):

``splunk_hec_enabled``
    Flag: send events to Splunk's HTTP Event Collector. Default off.
``splunk_hec_url``
    HEC base URL such as ``https://splunk:8088`` (http or https, with a host, without user name
    or password; a trailing ``/`` is dropped). Required when HEC is enabled. ``http://`` sends the
    token in clear text: the HEC client warns once per URL.
``splunk_hec_token``
    HEC token (secret). Required when HEC is enabled.
``splunk_access_enabled``
    Flag: allow searches against Splunk's REST API. Default off.
``splunk_access_host``
    Host name or IP address of the Splunk management port. Required when access is enabled.
``splunk_access_port``
    Management port, 1 to 65535. Default 8089.
``splunk_access_token``
    Splunk authentication token (secret). Required when access is enabled.
``api_token``
    Token DSDL's Splunk side sends to the container API (secret).
``MODE_DEV_PROD``
    ``DEV`` or ``PROD``, any case. Default ``PROD``, as in DSDL since 5.2.4.
``ENABLE_HTTPS``
    Flag: the container API serves HTTPS. Default on.
``api_workers``
    Number of API worker processes, at least 1. Default 1.

Variables of dsdl-golden:

``GOLDEN_PROJECT``
    Project name attached to telemetry. Default ``default``.
``GOLDEN_USE_CASE``
    Use-case name attached to telemetry. Default ``default``.
``GOLDEN_EVENTS_INDEX``
    Splunk index for events. Default ``main``.
``GOLDEN_METRICS_INDEX``
    Splunk index for metrics. Default ``golden_metrics``.
``GOLDEN_SOURCETYPE``
    Sourcetype of the events sent. Default ``dsdl:golden``.
``GOLDEN_TLS_VERIFY``
    TLS certificate verification for connections to Splunk: a true flag verifies against the
    system CAs, a false flag turns verification off, any other value must be the path of an
    existing CA bundle file to verify against. Default true; an empty value keeps verification on.
``GOLDEN_SPOOL_DIR``
    Directory of the telemetry disk spool (``~`` is expanded; not created here). Default
    ``/srv/app/golden_spool`` if ``/srv`` is a writable directory, else
    ``~/.cache/dsdl-golden/spool``.
``GOLDEN_SRV_DIR``
    Root of DSDL's data volume (``~`` is expanded). Default ``/srv``. Exported notebooks live in
    ``<root>/app/model``, saved models in ``<root>/app/model/data``, staged data in
    ``<root>/notebooks/data``.
``GOLDEN_MAX_REQUEST_MB``
    Largest request body the model API accepts, in MiB, at least 1. Default 1024.
``GOLDEN_LOG_LEVEL``
    ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR`` or ``CRITICAL``, any case. Default ``INFO``.
``GOLDEN_REGISTRY``
    ``off`` or ``mlflow``, any case. ``mlflow``: every successful ``fit`` of the template registers
    the model as the next version of ``<algo>_<model_name>`` in the model registry
    (:mod:`dsdl_golden.model_registry`; ``MLFLOW_TRACKING_URI`` selects a server, else the embedded
    store under ``GOLDEN_SRV_DIR``). Default ``off``.
``GOLDEN_IMAGE_NAME``, ``GOLDEN_IMAGE_VERSION``, ``GOLDEN_IMAGE_REVISION``, ``GOLDEN_IMAGE_DIGEST``
    Name, version, source revision and digest of the container image; attached to telemetry when
    known. Unset, the name, version and revision come from ``/etc/golden/image.json``, which the
    image carries (written by its build); outside the image they stay unknown.

Flags accept ``1``, ``true``, ``yes``, ``on`` (true) and ``0``, ``false``, ``no``, ``off`` or an
empty value (false), in any case. Index names must be valid Splunk index names: lower-case
letters, digits, ``_`` and ``-``, not starting with ``_`` or ``-``, at most 80 characters.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NoReturn
from urllib.parse import urlsplit

__all__ = [
    "HEC_EVENT_PATH",
    "MASK",
    "SETTING_VARIABLES",
    "ConfigError",
    "Secret",
    "Settings",
    "has_credentials",
    "load_settings",
    "without_credentials",
]

MASK: Final = "**********"
HEC_EVENT_PATH: Final = "/services/collector/event"


class ConfigError(ValueError):
    """Invalid configuration; ``problems`` holds one line per problem, each naming a variable."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"invalid dsdl-golden configuration, fix these environment variables:\n{lines}")


class Secret:
    """A string that does not show itself: ``repr``/``str`` give a fixed mask, ``reveal()`` the value.

    An empty secret (not set) shows as an empty string. Equality with another ``Secret`` or a
    ``str`` runs in constant time. Pickling raises ``TypeError`` so a token is not written to disk
    by accident; copies return the same (immutable) object.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value."""
        return self._value

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            other = other._value
        if not isinstance(other, str):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled; pass secret.reveal() explicitly if you must")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self


def _default_spool_dir() -> Path:
    srv = Path("/srv")
    if srv.is_dir() and os.access(srv, os.W_OK):
        return srv / "app" / "golden_spool"
    return Path.home() / ".cache" / "dsdl-golden" / "spool"


_NO_SECRET: Final = Secret("")


@dataclass(frozen=True, slots=True)
class Settings:
    """Effective settings, built by :func:`load_settings`.

    Each field is named after its variable (see the module docstring), lower-cased and without the
    ``GOLDEN_`` prefix; ``mode`` is ``MODE_DEV_PROD``. ``source_of(name)`` tells which one was read.
    """

    splunk_hec_enabled: bool = False
    splunk_hec_url: str | None = None
    splunk_hec_token: Secret = _NO_SECRET
    splunk_access_enabled: bool = False
    splunk_access_host: str | None = None
    splunk_access_port: int = 8089
    splunk_access_token: Secret = _NO_SECRET
    api_token: Secret = _NO_SECRET
    mode: Literal["DEV", "PROD"] = "PROD"
    enable_https: bool = True
    api_workers: int = 1
    project: str = "default"
    use_case: str = "default"
    events_index: str = "main"
    metrics_index: str = "golden_metrics"
    sourcetype: str = "dsdl:golden"
    tls_verify: bool | Path = True
    spool_dir: Path = field(default_factory=_default_spool_dir)
    srv_dir: Path = Path("/srv")
    max_request_mb: int = 1024
    log_level: str = "INFO"
    registry: Literal["off", "mlflow"] = "off"
    image_name: str | None = None
    image_version: str | None = None
    image_revision: str | None = None
    image_digest: str | None = None
    _sources: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def hec_enabled(self) -> bool:
        """True when the HEC flag is on and its URL and token are set."""
        return self.splunk_hec_enabled and self.splunk_hec_url is not None and bool(self.splunk_hec_token)

    @property
    def hec_event_url(self) -> str | None:
        """The HEC event endpoint, or None when HEC is not enabled."""
        return f"{self.splunk_hec_url}{HEC_EVENT_PATH}" if self.hec_enabled else None

    @property
    def model_package_dir(self) -> Path:
        """Where exported notebooks live: the ``app.model`` package, ``<srv>/app/model``."""
        return self.srv_dir / "app" / "model"

    @property
    def model_data_dir(self) -> Path:
        """Where models are saved (DSDL's ``MODEL_DIRECTORY``), ``<srv>/app/model/data``."""
        return self.model_package_dir / "data"

    @property
    def staging_dir(self) -> Path:
        """Where ``mode=stage`` writes ``<model_name>.csv`` and ``.json``, ``<srv>/notebooks/data``."""
        return self.srv_dir / "notebooks" / "data"

    @property
    def image(self) -> dict[str, str | None]:
        """The container image's name, version, source revision and digest (None where unknown)."""
        return {
            "name": self.image_name,
            "version": self.image_version,
            "revision": self.image_revision,
            "digest": self.image_digest,
        }

    def source_of(self, name: str) -> str:
        """Where field ``name`` came from: ``"env <VARIABLE>"``, ``"file <path>"`` or ``"default"``."""
        if name not in _ENV:
            raise KeyError(f"unknown setting {name!r}")
        return self._sources.get(name, "default")

    def as_dict(self, *, masked: bool = True) -> dict[str, Any]:
        """All fields as JSON-serialisable values; secrets masked unless ``masked=False``."""
        return {name: _plain(getattr(self, name), masked=masked) for name in _ENV}

    def _repr_html_(self) -> str:
        """Jupyter's view: one row per setting with its variable, value (secrets masked) and source."""
        from dsdl_golden._html import html_table

        rows = [
            (_ENV[name].name, "" if value is None else value, self.source_of(name))
            for name, value in self.as_dict().items()
        ]
        return html_table(("variable", "value", "source"), rows, caption="dsdl-golden settings")


def _plain(value: object, *, masked: bool) -> object:
    if isinstance(value, Secret):
        return (str(value) if masked else value.reveal()) or None
    if isinstance(value, Path):
        return str(value)
    return value


Parser = Callable[[str], object]

_FLAG_WORDS: Final[Mapping[str, bool]] = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off", ""), False),
}
_FLAG_HELP: Final = "1, true, yes, on (true) or 0, false, no, off, empty (false), any case"
_HOST_LABEL: Final = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_INDEX_NAME: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")
_DIGITS: Final = re.compile(r"[0-9]{1,18}")
_URL_CREDENTIALS: Final = re.compile(r"(//)[^/?#\s]*@")


def _flag(value: str) -> bool:
    try:
        return _FLAG_WORDS[value.lower()]
    except KeyError:
        raise ValueError(f"expected a flag: {_FLAG_HELP}") from None


@dataclass(frozen=True, slots=True)
class _Integer:
    """A parser of a decimal integer from ``low`` to ``high`` (no upper bound when ``high`` is None)."""

    low: int
    high: int | None = None

    def __call__(self, value: str) -> int:
        number = int(value) if _DIGITS.fullmatch(value) else None
        if number is None or number < self.low or (self.high is not None and number > self.high):
            raise ValueError(
                f"expected an integer >= {self.low}"
                if self.high is None
                else f"expected an integer from {self.low} to {self.high}"
            )
        return number


@dataclass(frozen=True, slots=True)
class _Choice:
    """A parser of one of ``choices`` in any case, giving it as spelt in ``choices``."""

    choices: tuple[str, ...]

    def __call__(self, value: str) -> str:
        for choice in self.choices:
            if choice.upper() == value.upper():
                return choice
        raise ValueError(f"expected one of {', '.join(self.choices)} (any case)")


def _is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        labels = value.removesuffix(".").split(".")
        return len(value) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)
    return True


def _host(value: str) -> str:
    if not _is_host(value):
        raise ValueError("expected a host name or IP address without scheme or port, e.g. splunk.example.com")
    return value


def has_credentials(url: str) -> bool:
    """Whether ``url`` carries a user name or password (``https://user:password@host``)."""
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return "@" in url


def without_credentials(text: str) -> str:
    """``text`` with the user name and password of every URL in it replaced by ``***``."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def _base_url(value: str) -> str:
    if has_credentials(value):
        raise ValueError(
            "expected a URL without user name or password: Splunk does not read them from the URL; "
            "remove them (the HEC token is set in splunk_hec_token)"
        )
    try:
        parts = urlsplit(value)
        valid = (
            parts.scheme in {"http", "https"}
            and _is_host(parts.hostname or "")
            and parts.port != 0
            and not (parts.query or parts.fragment)
        )
    except ValueError:  # malformed IPv6 literal or port
        valid = False
    if not valid:
        raise ValueError(
            "expected an http:// or https:// URL with a host and no ?query or #fragment, e.g. https://splunk:8088"
        )
    return value.rstrip("/")


def _index(value: str) -> str:
    if not _INDEX_NAME.fullmatch(value):
        raise ValueError(
            "expected a Splunk index name: lower-case letters, digits, _ and -, "
            "not starting with _ or -, at most 80 characters"
        )
    return value


def _secret(value: str) -> Secret:
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError("expected a token without spaces or control characters")
    return Secret(value)


def _tls_verify(value: str) -> bool | Path:
    if value.lower() in _FLAG_WORDS:
        return _FLAG_WORDS[value.lower()]
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError(f"expected a flag ({_FLAG_HELP}) or the path of an existing CA bundle file")
    return path


def _path(value: str) -> Path:
    return Path(value).expanduser()


@dataclass(frozen=True, slots=True)
class _EnvVar:
    name: str
    parse: Parser

    def is_secret(self) -> bool:
        """Whether the value is a token, never shown (in errors, ``Settings`` reprs or telemetry)."""
        return self.parse is _secret

    def empty_is_unset(self) -> bool:
        """Whether an empty value means "not set" (a flag reads it as false instead)."""
        return self.parse is not _flag


# Settings field -> the variable it is read from, in the order of the Settings fields.
_ENV: Final[Mapping[str, _EnvVar]] = {
    "splunk_hec_enabled": _EnvVar("splunk_hec_enabled", _flag),
    "splunk_hec_url": _EnvVar("splunk_hec_url", _base_url),
    "splunk_hec_token": _EnvVar("splunk_hec_token", _secret),
    "splunk_access_enabled": _EnvVar("splunk_access_enabled", _flag),
    "splunk_access_host": _EnvVar("splunk_access_host", _host),
    "splunk_access_port": _EnvVar("splunk_access_port", _Integer(1, 65535)),
    "splunk_access_token": _EnvVar("splunk_access_token", _secret),
    "api_token": _EnvVar("api_token", _secret),
    "mode": _EnvVar("MODE_DEV_PROD", _Choice(("DEV", "PROD"))),
    "enable_https": _EnvVar("ENABLE_HTTPS", _flag),
    "api_workers": _EnvVar("api_workers", _Integer(1)),
    "project": _EnvVar("GOLDEN_PROJECT", str),
    "use_case": _EnvVar("GOLDEN_USE_CASE", str),
    "events_index": _EnvVar("GOLDEN_EVENTS_INDEX", _index),
    "metrics_index": _EnvVar("GOLDEN_METRICS_INDEX", _index),
    "sourcetype": _EnvVar("GOLDEN_SOURCETYPE", str),
    "tls_verify": _EnvVar("GOLDEN_TLS_VERIFY", _tls_verify),
    "spool_dir": _EnvVar("GOLDEN_SPOOL_DIR", _path),
    "srv_dir": _EnvVar("GOLDEN_SRV_DIR", _path),
    "max_request_mb": _EnvVar("GOLDEN_MAX_REQUEST_MB", _Integer(1, 1 << 20)),
    "log_level": _EnvVar("GOLDEN_LOG_LEVEL", _Choice(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))),
    "registry": _EnvVar("GOLDEN_REGISTRY", _Choice(("off", "mlflow"))),
    "image_name": _EnvVar("GOLDEN_IMAGE_NAME", str),
    "image_version": _EnvVar("GOLDEN_IMAGE_VERSION", str),
    "image_revision": _EnvVar("GOLDEN_IMAGE_REVISION", str),
    "image_digest": _EnvVar("GOLDEN_IMAGE_DIGEST", str),
}

#: The names of the environment variables :func:`load_settings` reads.
SETTING_VARIABLES: Final = frozenset(var.name for var in _ENV.values())

#: What the image's build writes about the image (name, version, source revision, creation time).
IMAGE_FILE: Final = Path("/etc/golden/image.json")
# Settings field -> its key in IMAGE_FILE.
_IMAGE_FACTS: Final = {"image_name": "name", "image_version": "version", "image_revision": "revision"}


def _image_facts(path: Path) -> dict[str, str]:
    """The facts of :data:`IMAGE_FILE` at ``path`` that are non-empty strings. None outside the image;
    an unreadable or damaged file leaves them unknown rather than stopping the model."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {
        field_name: value.strip()
        for field_name, key in _IMAGE_FACTS.items()
        if isinstance(value := document.get(key), str) and value.strip()
    }


# A flag that is on requires these variables to be set.
_REQUIRED_WHEN_ON: Final = {
    "splunk_hec_enabled": ("splunk_hec_url", "splunk_hec_token"),
    "splunk_access_enabled": ("splunk_access_host", "splunk_access_token"),
}


def _missing(environ: Mapping[str, str], values: Mapping[str, object]) -> list[str]:
    return [
        f"{flag} is on but {name} is not set: set {name} or turn {flag} off"
        for flag, names in _REQUIRED_WHEN_ON.items()
        if values.get(flag) is True
        for name in names
        if not environ.get(name, "").strip()
    ]


def load_settings(environ: Mapping[str, str] | None = None, *, image_file: Path = IMAGE_FILE) -> Settings:
    """Read and validate the settings from ``environ`` (default ``os.environ``), with the image's
    facts from ``image_file`` where no variable sets them.

    Raises :class:`ConfigError` listing every invalid or missing variable.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for field_name, var in _ENV.items():
        raw = env.get(var.name)
        if raw is None or (var.empty_is_unset() and not raw.strip()):
            continue
        try:
            values[field_name] = var.parse(raw.strip())
        except ValueError as error:
            shown = "(hidden)" if var.is_secret() else repr(without_credentials(raw))
            problems.append(f"{var.name}={shown}: {error}")
        else:
            sources[field_name] = f"env {var.name}"
    problems += _missing(env, values)
    if problems:
        raise ConfigError(problems)
    for field_name, value in _image_facts(image_file).items():
        if field_name not in values:
            values[field_name] = value
            sources[field_name] = f"file {image_file}"
    return Settings(**values, _sources=sources)
