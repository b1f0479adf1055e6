"""``golden emulator`` / ``python -m dsdl_golden.emulator``: run the emulator until stopped."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from dsdl_golden.emulator.emulator import SplunkEmulator
from dsdl_golden.emulator.http import strict_loads

__all__ = ["run"]


def _configure(emulator: SplunkEmulator, args: argparse.Namespace) -> None:
    for token in args.token:
        emulator.add_hec_token(token)
    for token in args.ack_token:
        emulator.add_hec_token(token, use_ack=True)
    for credentials in args.user:
        username, separator, password = credentials.partition(":")
        if not separator:
            raise ValueError(f"--user expects USER:PASSWORD, got {credentials!r}")
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


def _set_on_eof(stop: threading.Event) -> None:
    sys.stdin.read()
    stop.set()


def run(args: argparse.Namespace) -> int:
    """Start the emulator, print one JSON line with its addresses and control token, serve until
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
        _configure(emulator, args)
    except (ValueError, OSError) as error:
        print(f"golden emulator: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.stop_on_stdin_eof:
        threading.Thread(target=_set_on_eof, args=(stop,), daemon=True).start()
    with emulator:
        print(json.dumps(emulator.describe()), flush=True)
        while not stop.wait(0.5):
            pass
    return 0
