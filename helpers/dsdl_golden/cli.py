"""The ``golden`` command line.

A subcommand is a :class:`Command`: a name, a one-line help, a function adding its arguments and a
function running it, listed in :data:`COMMANDS`. Run functions import heavy modules themselves so
that ``golden --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

from dsdl_golden.config import ConfigError, load_settings

__all__ = ["COMMANDS", "Command", "build_parser", "main", "package_version"]

DISTRIBUTION = "dsdl-golden"


def package_version() -> str:
    """The installed version of dsdl-golden, or ``dsdl_golden.__version__`` when not installed."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        from dsdl_golden import __version__

        return __version__


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """Add nothing: for subcommands without options."""


@dataclass(frozen=True, slots=True)
class Command:
    """A subcommand: ``run`` gets the parsed arguments and returns the exit status."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = _no_arguments


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON {name: {value, source}}")


def _cell(value: object) -> str:
    if value is None:
        return "(unset)"
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _run_config(args: argparse.Namespace) -> int:
    settings = load_settings()
    rows = {name: (value, settings.source_of(name)) for name, value in settings.as_dict(masked=True).items()}
    if args.json:
        print(
            json.dumps(
                {name: {"value": value, "source": source} for name, (value, source) in rows.items()}, indent=2
            )
        )
        return 0
    table = [
        ("NAME", "VALUE", "SOURCE"),
        *((name, _cell(value), source) for name, (value, source) in rows.items()),
    ]
    name_width = max(len(row[0]) for row in table)
    value_width = max(len(row[1]) for row in table)
    for name, value, source in table:
        print(f"{name:<{name_width}}  {value:<{value_width}}  {source}")
    return 0


def _emulator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--hec-port", type=int, default=8088, help="HEC port, 0 = a free one (default 8088)")
    parser.add_argument(
        "--rest-port", type=int, default=8089, help="splunkd port, 0 = a free one (default 8089)"
    )
    parser.add_argument("--no-tls", action="store_true", help="plain HTTP instead of self-signed HTTPS")
    parser.add_argument(
        "--cert-dir", help="where to write ca.pem and the server certificate (default: a temp dir)"
    )
    parser.add_argument("--token", action="append", default=[], help="an HEC token (repeatable)")
    parser.add_argument(
        "--ack-token", action="append", default=[], help="an HEC token with useACK (repeatable)"
    )
    parser.add_argument("--user", action="append", default=[], metavar="USER:PASSWORD", help="a splunkd user")
    parser.add_argument("--auth-token", action="append", default=[], help="a splunkd auth token (JWT)")
    parser.add_argument("--index", action="append", default=[], help="an extra event index (repeatable)")
    parser.add_argument("--metrics-index", action="append", default=[], help="an extra metrics index")
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        nargs=2,
        metavar=("INDEX_OR_QUERY", "PATH"),
        help="search data from a CSV/JSON/JSONL file, for an index or an exact query",
    )
    parser.add_argument("--splunk-version", help='version reported by server/info (default "9.2.1")')
    parser.add_argument("--max-content-length", type=int, help="HEC body limit in bytes (default 1000000)")
    parser.add_argument("--accept-json-array", action="store_true", help="accept HEC batches as a JSON array")
    parser.add_argument("--config", help="a JSON object of further settings (as PUT /__mock__/config)")
    parser.add_argument("--stop-on-stdin-eof", action="store_true", help="exit when stdin is closed")


def _run_emulator(args: argparse.Namespace) -> int:
    from dsdl_golden.emulator.command import run

    return run(args)


COMMANDS: tuple[Command, ...] = (
    Command(
        "config", "show the effective settings and where each comes from", _run_config, _config_arguments
    ),
    Command(
        "emulator",
        "run a local Splunk emulator (splunkd REST + HEC) for tests",
        _run_emulator,
        _emulator_arguments,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="golden", description="Tools of the dsdl-golden image for Splunk DSDL."
    )
    parser.add_argument("--version", action="version", version=f"golden {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        subparser = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``golden`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    Usage errors exit through argparse with status 2; without a subcommand the help is printed to
    stderr and the status is 2; an invalid configuration is reported on stderr with status 2.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = args.run(args)
    except ConfigError as error:
        print(f"golden {args.command}: {error}", file=sys.stderr)
        return 2
    return status
