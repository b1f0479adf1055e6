"""``golden emulator`` / ``python -m dsdl_golden.emulator``: run the emulator until stopped.

Without options the emulator is ready for dsdl-golden's default settings: the default events and
metrics indexes of :class:`dsdl_golden.config.Settings` exist, and an HEC token, a search user and a
splunkd auth token are generated (``--token``, ``--user`` and ``--auth-token`` give them instead).
People get the settings pointing at it as ``export`` lines and in a dotenv file (``--env-file``);
programs pass ``--json`` and read one JSON line (:func:`~dsdl_golden.emulator.start_subprocess`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import secrets
import shlex
import signal
import sys
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

from dsdl_golden.config import Settings
from dsdl_golden.emulator.commands import COMMANDS
from dsdl_golden.emulator.emulator import SplunkEmulator
from dsdl_golden.emulator.faults import Fault
from dsdl_golden.emulator.hec import HEC_CODES
from dsdl_golden.emulator.http import strict_loads
from dsdl_golden.settings_file import write_env_file

__all__ = [
    "ENV_FILE",
    "SEARCH_USER",
    "Credentials",
    "default_credentials",
    "help_epilog",
    "run",
    "settings_environment",
]

#: Where ``golden emulator`` writes the settings unless ``--env-file`` says otherwise (not with ``--json``).
ENV_FILE: Final = "golden-emulator.env"
#: The search user created when no ``--user`` is given.
SEARCH_USER: Final = "admin"
_BUSY: Final = 9  # the HEC code of the fault example


@dataclass(frozen=True, slots=True)
class Credentials:
    """The HEC token and splunkd auth token the settings use, and the search user for a person."""

    hec_token: str
    search_user: str
    search_password: str
    search_token: str

    def __repr__(self) -> str:
        return f"Credentials(search_user={self.search_user!r})"  # never a secret


def _parse_user(credentials: str) -> tuple[str, str]:
    username, separator, password = credentials.partition(":")
    if not separator:
        raise ValueError(f"--user expects USER:PASSWORD, got {credentials!r}")
    if not username:
        raise ValueError("--user expects USER:PASSWORD: the user name before ':' is empty")
    return username, password


def _generated_hec_token() -> str:
    """A random token shaped like Splunk's (a UUID)."""
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))


def default_credentials(args: argparse.Namespace) -> Credentials:
    """The first ``--token``, ``--user`` and ``--auth-token``, each generated when not given."""
    users = [_parse_user(credentials) for credentials in args.user]
    search_user, search_password = users[0] if users else (SEARCH_USER, secrets.token_urlsafe(12))
    return Credentials(
        hec_token=args.token[0] if args.token else _generated_hec_token(),
        search_user=search_user,
        search_password=search_password,
        search_token=args.auth_token[0] if args.auth_token else secrets.token_urlsafe(24),
    )


def settings_environment(emulator: SplunkEmulator, credentials: Credentials) -> dict[str, str]:
    """The settings of :mod:`dsdl_golden.config` (variable name -> value) that point the library's
    HEC telemetry and searches at the running ``emulator`` with ``credentials``."""
    return {
        "splunk_hec_enabled": "true",
        "splunk_hec_url": emulator.hec_url,
        "splunk_hec_token": credentials.hec_token,
        "splunk_access_enabled": "true",
        "splunk_access_host": emulator.host,
        "splunk_access_port": str(emulator.rest_port),
        "splunk_access_token": credentials.search_token,
        "GOLDEN_TLS_VERIFY": str(emulator.ca_bundle) if emulator.ca_bundle else "true",
    }


def _add_library_defaults(emulator: SplunkEmulator, credentials: Credentials) -> None:
    """The indexes, HEC token, user and auth token the library's default settings need."""
    defaults = Settings()
    emulator.add_index(defaults.events_index)
    emulator.add_index(defaults.metrics_index, metrics=True)
    emulator.add_hec_token(credentials.hec_token)  # no allow list: every index
    emulator.add_user(credentials.search_user, credentials.search_password)
    emulator.add_auth_token(credentials.search_token)


def _configure(emulator: SplunkEmulator, args: argparse.Namespace, credentials: Credentials) -> None:
    _add_library_defaults(emulator, credentials)
    for token in args.token:
        emulator.add_hec_token(token)
    for token in args.ack_token:
        emulator.add_hec_token(token, use_ack=True)
    for username, password in map(_parse_user, args.user):
        emulator.add_user(username, password)
    for token in args.auth_token:
        emulator.add_auth_token(token)
    for index in args.index:
        emulator.add_index(index)
    for index in args.metrics_index:
        emulator.add_index(index, metrics=True)
    for name_or_query, path in args.dataset:
        emulator.add_dataset(name_or_query, path)
    changes = strict_loads(args.config) if args.config else {}
    if not isinstance(changes, dict):
        raise ValueError("--config expects a JSON object of settings")
    if args.splunk_version:
        changes["splunk_version"] = args.splunk_version
    if args.max_content_length is not None:
        changes["max_content_length"] = args.max_content_length
    if args.accept_json_array:
        changes["accept_json_array"] = True
    emulator.configure(**changes)


def _write_settings(path: Path, settings: Mapping[str, str]) -> Path:
    """Write ``settings`` to ``path`` (owner-only, replaced atomically); returns its absolute path.
    Raises ``OSError`` saying which file could not be written and what to do."""
    target = path.expanduser().absolute()
    try:
        return write_env_file(target, settings)
    except OSError as error:
        raise OSError(
            f"cannot write the settings file {target}: {error.strerror or error}; pass --env-file PATH"
        ) from None


def _print_ready(
    out: TextIO,
    emulator: SplunkEmulator,
    credentials: Credentials,
    settings: Mapping[str, str],
    env_file: Path,
) -> None:
    """The addresses, the credentials, where the CA is and how to use the settings, for a person."""
    write = out.write
    write("golden emulator: a local Splunk for dsdl-golden\n")
    write(f"  {'HEC':<9} {emulator.hec_url}   token {credentials.hec_token}\n")
    write(f"  {'splunkd':<9} {emulator.rest_url}   user {credentials.search_user}, ")
    write(f"password {credentials.search_password}, auth token {credentials.search_token}\n")
    if emulator.ca_bundle is None:
        write(f"  {'CA':<9} none: plain HTTP (--no-tls)\n")
    else:
        write(f"  {'CA':<9} {emulator.ca_bundle}   (HTTPS clients verify with it: GOLDEN_TLS_VERIFY)\n")
    write(f"  {'control':<9} {emulator.rest_url}/__mock__/   token {emulator.control_token}\n")
    write(f"\nSettings for dsdl-golden, written to {env_file}; load them\n")
    write(f"  in a shell:      set -a; . {shlex.quote(str(env_file))}; set +a\n")
    loader = f"from dsdl_golden import load_env_file; load_env_file({str(env_file)!r})"
    write(f"  in a notebook:   {loader}\n")
    write("or paste these lines into a shell:\n")
    for name, value in settings.items():
        write(f"export {name}={shlex.quote(value)}\n")
    write("\ngolden emulator: ready; Ctrl-C stops it (golden emulator --help: datasets, users, faults)\n")
    out.flush()


def _ready_line(emulator: SplunkEmulator, settings: Mapping[str, str], env_file: Path | None) -> str:
    """The one JSON line for programs: addresses, CA, control token, settings and the env file."""
    ready = {
        **emulator.describe(),
        "settings": dict(settings),
        "env_file": str(env_file) if env_file else None,
    }
    return json.dumps(ready)


def _env_file(args: argparse.Namespace) -> Path | None:
    """``--env-file``; by default ``./golden-emulator.env``, or none with ``--json``."""
    if args.env_file is not None:
        return Path(args.env_file)
    return None if args.json else Path(ENV_FILE)


def _set_on_eof(stop: threading.Event) -> None:
    sys.stdin.read()
    stop.set()


def _fail(error: Exception) -> int:
    print(f"golden emulator: {error}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Start the emulator, print its settings (``--json``: one JSON line), serve until
    SIGTERM/SIGINT (or, with ``--stop-on-stdin-eof``, until stdin closes)."""
    try:
        emulator = SplunkEmulator(
            host=args.host,
            hec_port=args.hec_port,
            rest_port=args.rest_port,
            tls=not args.no_tls,
            cert_dir=args.cert_dir,
            allow_remote=args.allow_remote,
        )
        credentials = default_credentials(args)
        _configure(emulator, args, credentials)
    except (ValueError, OSError) as error:
        return _fail(error)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.stop_on_stdin_eof:
        threading.Thread(target=_set_on_eof, args=(stop,), daemon=True).start()
    with emulator:
        settings = settings_environment(emulator, credentials)
        env_file = _env_file(args)
        try:
            written = _write_settings(env_file, settings) if env_file is not None else None
        except OSError as error:
            return _fail(error)
        if args.json or written is None:
            print(_ready_line(emulator, settings, written), flush=True)
        else:
            _print_ready(sys.stdout, emulator, credentials, settings, written)
        while not stop.wait(0.5):
            pass
    return 0


def _fault_options() -> str:
    """What ``POST /__mock__/faults`` takes besides ``match``: the fields of :class:`Fault` and ``code``."""
    matched = ("listener", "path", "method")
    options = [field.name for field in dataclasses.fields(Fault) if field.name not in matched]
    return ", ".join([*options, "code"])


def help_epilog() -> str:
    """The reference at the end of ``golden emulator --help``: defaults, datasets, users and tokens,
    faults through the control API, and the SPL commands searches may use."""
    defaults = Settings()
    busy_status, busy_text = HEC_CODES[_BUSY]
    return f"""\
defaults:
  The emulator is ready for dsdl-golden's default settings: the events index {defaults.events_index!r}
  and the metrics index {defaults.metrics_index!r} exist; an HEC token (any index), the search user
  {SEARCH_USER!r} and a splunkd auth token are generated unless --token, --user, --auth-token give
  them. The settings are printed as export lines and written to ./{ENV_FILE} (--env-file PATH):
    shell:    set -a; . ./{ENV_FILE}; set +a
    notebook: from dsdl_golden import load_env_file; load_env_file("{ENV_FILE}")
  --json prints one JSON line instead (hec_url, rest_url, ca_bundle, control_token, settings).

datasets (what searches return):
  --dataset web rows.csv                 rows of a CSV, JSON or JSONL file for "search index=web ..."
  --dataset 'search index=web | head 1' x.json   rows for exactly that query
  A _time column (epoch seconds or ISO 8601) is filtered by earliest/latest. At run time:
  POST /__mock__/datasets {{"name": "web", "path": "/abs/rows.csv"}} (or "rows": [...], "error": "...").

users and tokens:
  --token T            HEC token (repeatable; the first goes into the settings)
  --ack-token T        HEC token with indexer acknowledgement (useACK)
  --user NAME:PASS     splunkd user for auth/login and Basic authentication (repeatable)
  --auth-token T       splunkd auth token: Authorization: Splunk T or Bearer T (repeatable)
  --index NAME, --metrics-index NAME   more event or metrics indexes

faults (through the control API, with the control token printed at start):
  curl --cacert CA -H "Authorization: Bearer CONTROL_TOKEN" \\
       -d '{{"match": {{"listener": "hec"}}, "code": {_BUSY}, "times": 2}}' REST_URL/__mock__/faults
  makes the next 2 HEC requests answer {busy_status} "{busy_text}". A fault applies to the requests
  its "match" {{"listener": "hec"|"rest", "path", "method"}} selects (absent: any) and takes
  {_fault_options()}.
  DELETE /__mock__/faults clears them; POST /__mock__/pause, resume, refuse {{"seconds": S}} and restart
  close and reopen ports. All routes: python -c 'help("dsdl_golden.emulator.control")'; from Python:
  dsdl_golden.emulator.ControlClient.

SPL commands searches may use:
  {", ".join(COMMANDS)}
"""
