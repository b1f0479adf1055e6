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
from typing import Any

from dsdl_golden._cli import models as _models
from dsdl_golden.config import ConfigError, load_settings

__all__ = ["COMMANDS", "Command", "build_parser", "main", "package_version", "version_text"]

DISTRIBUTION = "dsdl-golden"


def package_version() -> str:
    """The installed version of dsdl-golden, or ``dsdl_golden.__version__`` when not installed."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        from dsdl_golden import __version__

        return __version__


def version_text() -> str:
    """``golden <version>``, then, in the image (or with ``GOLDEN_IMAGE_*`` set), the image's name,
    version, source revision and digest where known (an image cannot hold its own digest: the
    deployment sets ``GOLDEN_IMAGE_DIGEST``). Settings that cannot be read are named, not raised."""
    lines = [f"golden {package_version()}"]
    try:
        image = load_settings().image
    except ConfigError as error:
        return "\n".join([*lines, f"image: unknown ({error.problems[0]})"])
    if image["name"] or image["version"]:
        facts = [f"{key} {image[key]}" for key in ("revision", "digest") if image[key]]
        name = " ".join(str(image[key]) for key in ("name", "version") if image[key])
        lines.append(f"image {name}" + (f" ({', '.join(facts)})" if facts else ""))
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    """``--version``: :func:`version_text`, read when asked (not when every command starts)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(version_text())
        parser.exit()


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


class _EmulatorHelp(argparse.Action):
    """``golden emulator -h``: the options, then the reference of the emulator package (datasets,
    users, faults, SPL commands), imported only now: every ``golden`` command builds this parser."""

    def __init__(self, option_strings: list[str], dest: str) -> None:
        super().__init__(
            option_strings,
            dest,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show this help, with the emulator's defaults, datasets, users, faults and SPL commands",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from dsdl_golden.emulator.command import help_epilog

        parser.epilog = help_epilog()
        parser.print_help()
        parser.exit()


def _emulator_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keeps the epilog's lines
    parser.add_argument_group("help", conflict_handler="resolve").add_argument(
        "-h", "--help", action=_EmulatorHelp
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host that is not a loopback address (exposes test tokens and the control API)",
    )
    parser.add_argument("--hec-port", type=int, default=8088, help="HEC port, 0 = a free one (default 8088)")
    parser.add_argument(
        "--rest-port", type=int, default=8089, help="splunkd port, 0 = a free one (default 8089)"
    )
    parser.add_argument("--no-tls", action="store_true", help="plain HTTP instead of self-signed HTTPS")
    parser.add_argument(
        "--cert-dir", help="where to write ca.pem and the server certificate (default: a temp dir)"
    )
    parser.add_argument(
        "--token", action="append", default=[], help="an HEC token (repeatable; default: one generated)"
    )
    parser.add_argument(
        "--ack-token", action="append", default=[], help="an HEC token with useACK (repeatable)"
    )
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="USER:PASSWORD",
        help="a splunkd user (repeatable; default: admin with a generated password)",
    )
    parser.add_argument(
        "--auth-token",
        action="append",
        default=[],
        help="a splunkd auth token, e.g. a JWT (repeatable; default: one generated)",
    )
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
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        help="write dsdl-golden's settings for the emulator there, NAME=value lines (default "
        "./golden-emulator.env; none with --json)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="for programs: print only one JSON line (addresses, CA, control token, settings)",
    )
    parser.add_argument("--stop-on-stdin-eof", action="store_true", help="exit when stdin is closed")


def _run_emulator(args: argparse.Namespace) -> int:
    from dsdl_golden.emulator.command import run

    return run(args)


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb file to export")
    parser.add_argument(
        "-o",
        "--output-dir",
        metavar="DIR",
        help="where to write <notebook name>.py (default: <GOLDEN_SRV_DIR>/app/model)",
    )


def _run_export(args: argparse.Namespace) -> int:
    from dsdl_golden._cli.export import export

    return export(args.notebook, args.output_dir)


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", metavar="MODULE_OR_NOTEBOOK", help="an exported .py module, or a .ipynb (exported first)"
    )


def _run_check(args: argparse.Namespace) -> int:
    from dsdl_golden._cli.export import check

    return check(args.target)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return int(text)


def _call_arguments(parser: argparse.ArgumentParser) -> None:
    from dsdl_golden._cli.call import DEFAULT_URL

    parser.add_argument("endpoint", choices=("fit", "apply"), help="the route to call, as | fit or | apply")
    parser.add_argument("csv", metavar="CSV", help="the data, a CSV file with a header row")
    parser.add_argument("--algo", required=True, metavar="NAME", help="the module (notebook name): algo=NAME")
    parser.add_argument("--target", metavar="COL", help="the target column (<target> from ...)")
    parser.add_argument(
        "--features", metavar="A,B,...", help="the feature columns (default: every column but the target)"
    )
    parser.add_argument("--model-name", metavar="NAME", help="into app:NAME (default: DSDL's 'default')")
    parser.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="an SPL key=value parameter (repeatable)"
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the model API (default {DEFAULT_URL})")
    parser.add_argument("--token", help="the API token (default: the api_token setting); never printed")
    verification = parser.add_mutually_exclusive_group()
    verification.add_argument("--ca", metavar="FILE", help="CA bundle to verify the API's certificate")
    verification.add_argument("--insecure", action="store_true", help="do not verify the certificate")
    parser.add_argument("--output", metavar="FILE", help="write all the results to FILE as CSV")
    parser.add_argument(
        "--rows", type=_count, default=10, metavar="N", help="rows of the results to show (default 10)"
    )
    parser.add_argument(
        "--timeout", type=_positive, default=600.0, metavar="S", help="seconds to wait for the answer (600)"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a spinner on stderr while waiting (default: when stderr is a terminal)",
    )


def _run_call(args: argparse.Namespace) -> int:
    from dsdl_golden._cli.call import run

    return run(args)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 (a free one) to 65535, got {text!r}")
    return int(text)


def _dev_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        default="golden-workspace",
        metavar="DIR",
        help="the DSDL /srv layout to work in (default ./golden-workspace; existing files are kept)",
    )
    parser.add_argument("--no-jupyter", action="store_true", help="do not start JupyterLab")
    parser.add_argument("--api-port", type=_port, default=5000, metavar="N", help="model API port (5000)")
    parser.add_argument(
        "--jupyter-port", type=_port, default=8888, metavar="N", help="JupyterLab port (8888)"
    )
    parser.add_argument(
        "--hec-port", type=_port, default=0, metavar="N", help="emulator HEC port (a free one)"
    )
    parser.add_argument(
        "--rest-port", type=_port, default=0, metavar="N", help="emulator splunkd port (a free one)"
    )


def _run_dev(args: argparse.Namespace) -> int:
    from dsdl_golden._cli.dev import run

    return run(args)


def _health_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ready", action="store_true", help="ask /readyz (can it serve models?) instead of /healthz (alive?)"
    )
    parser.add_argument(
        "--port", type=_port, default=5000, metavar="N", help="the API's port on 127.0.0.1 (5000)"
    )
    parser.add_argument("--timeout", type=_positive, default=5.0, metavar="S", help="seconds to wait (5)")


def _run_health(args: argparse.Namespace) -> int:
    from dsdl_golden._cli.health import run

    return run(args)


def _reference(text: str) -> object:
    from dsdl_golden._cli.push import parse_reference

    try:
        return parse_reference(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _repository(text: str) -> str:
    from dsdl_golden._cli.push import parse_repository

    try:
        return parse_repository(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _fingerprint(text: str) -> str:
    from dsdl_golden._cli.signing import parse_fingerprint

    try:
        return parse_fingerprint(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _project_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project", metavar="DIR", help="the dsdl-golden checkout (default: the one around the cwd)"
    )


def _image_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    push_help = "push the image archive to a registry, keeping its digest; prints REF@sha256:..."
    push = actions.add_parser("push", help=push_help, description=push_help)
    push.add_argument(
        "reference", type=_reference, metavar="REF", help="where to: HOST[:PORT]/REPOSITORY:TAG"
    )
    push.add_argument(
        "--archive",
        metavar="FILE",
        help="the OCI archive (default: build/image/<name>-<version>.oci.tar of the project)",
    )
    _project_argument(push)
    push.add_argument(
        "--tls-verify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="require HTTPS and verify the registry's certificate (default: verify)",
    )
    credentials = push.add_mutually_exclusive_group()
    credentials.add_argument(
        "--authfile",
        metavar="FILE",
        help="containers-auth.json to log in with (default: $REGISTRY_AUTH_FILE)",
    )
    credentials.add_argument(
        "--creds-env", metavar="NAME", help="log in with USER:PASSWORD from the environment variable NAME"
    )
    push.add_argument(
        "--sign-by",
        type=_fingerprint,
        metavar="FINGERPRINT",
        help="sign the manifest with this GPG key (skopeo's simple signing; keyring: $GNUPGHOME or ~/.gnupg)",
    )
    push.add_argument(
        "--registries-d",
        metavar="DIR",
        help="skopeo's registries.d, configuring the lookaside the signature goes to (default: skopeo's)",
    )
    policy_help = "write a containers-policy.json accepting only REPOSITORY's images signed by KEY"
    policy = actions.add_parser("policy", help=policy_help, description=policy_help)
    policy.add_argument(
        "--key", required=True, metavar="PUBLIC_KEY", help="the signer's public key: gpg --export FINGERPRINT"
    )
    policy.add_argument(
        "--repository",
        required=True,
        type=_repository,
        metavar="REGISTRY/REPOSITORY",
        help="whose images must be signed, e.g. registry.example.com/dsdl/golden-cpu-empresa",
    )
    policy.add_argument(
        "--lookaside",
        metavar="DIR_OR_URL",
        help="where the signatures are read: also show the registries.d YAML saying so",
    )
    policy.add_argument(
        "--registries-d", metavar="DIR", help="write that registries.d YAML into DIR (with --lookaside)"
    )
    policy.add_argument("--output", metavar="FILE", help="write the policy to FILE (default: stdout)")


def _run_image(args: argparse.Namespace) -> int:
    if args.action == "policy":
        from dsdl_golden._cli.signing import run_policy

        return run_policy(args)
    from dsdl_golden._cli.push import run

    return run(args)


def _dsdl_overlay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkout", metavar="DSDL_CHECKOUT", help="a clone of splunk/splunk-mltk-container-docker"
    )
    _project_argument(parser)
    parser.add_argument("--repo", default="local/", help="build.sh's repository prefix, ending in / (local/)")
    parser.add_argument("--version", help="build.sh's image version (default: the project's)")


def _run_dsdl_overlay(args: argparse.Namespace) -> int:
    from dsdl_golden._cli.dsdl_overlay import run

    return run(args.checkout, args.project, args.repo, args.version)


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
    Command(
        "export",
        "export a notebook's named cells to a module and check it",
        _run_export,
        _export_arguments,
    ),
    Command(
        "check",
        "check a module (or notebook) against DSDL's module contract",
        _run_check,
        _check_arguments,
    ),
    Command(
        "call",
        "send a CSV to a model API as Splunk's | fit / | apply would",
        _run_call,
        _call_arguments,
    ),
    Command(
        "dev",
        "run the model API, JupyterLab and a Splunk emulator locally",
        _run_dev,
        _dev_arguments,
    ),
    Command(
        "health",
        "probe the model API on this machine: the image's health check",
        _run_health,
        _health_arguments,
    ),
    Command(
        "image",
        "publish the image (push, sign) and write a signature policy",
        _run_image,
        _image_arguments,
    ),
    Command(
        "dsdl-overlay",
        "add this image to a checkout of DSDL's build.sh repository",
        _run_dsdl_overlay,
        _dsdl_overlay_arguments,
    ),
    Command(
        "models",
        "list, show, compare and promote versions in the model registry",
        _models.run,
        _models.add_arguments,
    ),
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="golden", description="Tools of the dsdl-golden image for Splunk DSDL."
    )
    parser.add_argument(
        "--version", action=_VersionAction, help="show the version, and the image's when run in it, and exit"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        subparser = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``golden`` with ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    Usage errors exit through argparse with status 2; without a subcommand the help is printed to
    stderr and the status is 2; an invalid configuration is reported on stderr with status 2; Ctrl-C
    ends with status 130.
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
    except KeyboardInterrupt:
        print(f"golden {args.command}: interrupted", file=sys.stderr)
        return 130
    return status
