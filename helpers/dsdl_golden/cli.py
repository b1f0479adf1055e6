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


COMMANDS: tuple[Command, ...] = (
    Command(
        "config", "show the effective settings and where each comes from", _run_config, _config_arguments
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
