"""``golden models``: the model registry of :mod:`dsdl_golden.model_registry` from the command line.

Actions: ``list`` (every registered model), ``show NAME [VERSION]`` (one version's facts),
``compare NAME --metric M`` (versions ranked by a metric, best first) and ``promote NAME VERSION``
(move an alias, ``champion`` by default). A VERSION is ``3``, ``latest``, ``@champion`` or a bare alias
``champion``. With ``--json`` each action prints for programs: ``list`` and ``compare`` an array of row
objects, ``show`` and ``promote`` one object; times in ISO 8601 (UTC), a missing value as ``null``.

Exit status: 0 done; 1 the registry refused (a :class:`~dsdl_golden.model_registry.RegistryError`: an
unknown model, version, alias or metric, a server that does not answer; or the ``ValueError`` /
``TypeError`` of a name or alias that is not allowed), reported on stderr as ``golden models: <message>``
with nothing on stdout; 2 a usage error (argparse). MLflow is imported only when an action runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from dsdl_golden._registry.values import LATEST, VersionSpec, check_alias, lower_is_better

if TYPE_CHECKING:
    import pandas as pd

    from dsdl_golden.model_registry import ModelVersionInfo

__all__ = ["add_arguments", "records", "run", "table", "version_spec"]

COMMAND: Final = "golden models"
#: Where the registry is, for ``--help``: the same as the library's (dsdl_golden._registry.store).
EPILOG: Final = """\
The registry is the one of dsdl_golden.model_registry: the MLflow server of MLFLOW_TRACKING_URI (and
MLFLOW_REGISTRY_URI) when set, else the registry embedded in DSDL's volume, the SQLite store
<GOLDEN_SRV_DIR>/app/model/registry/mlflow.db (GOLDEN_SRV_DIR is /srv in DSDL's containers).

VERSION: a number (3), latest, an alias as @champion or just champion.
Exit status: 0 done, 1 the registry refused (unknown model, version, alias or metric; a server that
does not answer), 2 a usage error. --json prints for programs (times in ISO 8601, UTC)."""
#: The columns of the ``list`` table (``--json`` also has each model's description).
LIST_COLUMNS: Final = ("name", "versions", "latest", "aliases", "updated")
#: How much of a run id the ``compare`` table shows (``--json`` has all of it).
RUN_ID_SHOWN: Final = 8


@dataclass(frozen=True)
class Output:
    """What an action prints: ``data`` (JSON-able, datetimes allowed) with ``--json``, else ``text``."""

    data: object
    text: str


@dataclass(frozen=True)
class _Action:
    """A ``golden models`` action: its name, one-line help, arguments and what it does."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], Output]
    add_arguments: Callable[[argparse.ArgumentParser], None]


def version_spec(text: str) -> VersionSpec:
    """A VERSION argument as :mod:`dsdl_golden.model_registry` takes it: ``3`` -> 3, ``latest``,
    ``@champion`` as is, a bare alias ``champion`` -> ``@champion``.

    Anything else is given to the library as typed, which says what a version may be (exit status 1).
    """
    if text.isascii() and text.isdigit():
        return int(text)
    if text.lower() == LATEST:
        return LATEST
    if text.startswith("@"):
        return text
    try:
        check_alias(text)
    except ValueError:
        return text  # e.g. "v2", "-1": the library's message lists the forms of a version
    return f"@{text}"


def _alias(text: str) -> str:
    """An ``--alias`` with or without its ``@``."""
    return text.removeprefix("@")


def _plain(value: Any) -> Any:
    """A DataFrame cell as a plain Python value: None when missing, a datetime for a timestamp."""
    import pandas as pd

    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts of plain values (None for a missing one, datetime for a time)."""
    return [
        {str(column): _plain(value) for column, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """``rows`` as text under a header of ``columns``: numbers right-aligned, floats to 6 significant
    digits, times to the second, a missing or empty value as ``-``."""
    cells = [[_cell(row[column]) for column in columns] for row in rows]
    numeric = [all(_is_number(row[column]) for row in rows) for column in columns]
    widths = [max(len(line[index]) for line in [list(columns), *cells]) for index in range(len(columns))]
    return "\n".join(
        "  ".join(
            text.rjust(width) if right else text.ljust(width)
            for text, width, right in zip(line, widths, numeric, strict=True)
        ).rstrip()
        for line in [list(columns), *cells]
    )


def _version_data(info: ModelVersionInfo) -> dict[str, Any]:
    return dataclasses.asdict(info)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _list(args: argparse.Namespace) -> Output:
    from dsdl_golden import model_registry
    from dsdl_golden._registry.store import resolve_store

    rows = records(model_registry.list_models())
    if not rows:
        where = resolve_store().shown
        text = f"no registered model yet in the registry at {where}: log one with model_registry.log_model"
        return Output(rows, text)
    return Output(rows, table(rows, LIST_COLUMNS))


def _show(args: argparse.Namespace) -> Output:
    from dsdl_golden import model_registry

    info = model_registry.get_version(args.name, args.version)
    return Output(_version_data(info), str(info))


def _compare(args: argparse.Namespace) -> Output:
    from dsdl_golden import model_registry

    frame = model_registry.compare_models(
        args.name, metric=args.metric, versions=args.versions, greater_is_better=args.greater_is_better
    )
    rows = records(frame)
    shown = [{**row, "run_id": (row["run_id"] or "")[:RUN_ID_SHOWN]} for row in rows]
    greater = not lower_is_better(args.metric) if args.greater_is_better is None else args.greater_is_better
    title = f"{args.name}: best {args.metric} first ({'higher' if greater else 'lower'} is better)"
    return Output(rows, f"{title}\n{table(shown, [str(column) for column in frame.columns])}")


def _holder(name: str, alias: str) -> int | None:
    """The version of ``name`` that ``alias`` names, None when none does."""
    from dsdl_golden import model_registry

    try:
        return model_registry.get_version(name, f"@{alias}").version
    except model_registry.AliasNotFoundError:
        return None


def _promote(args: argparse.Namespace) -> Output:
    from dsdl_golden import model_registry

    previous = _holder(args.name, args.alias)
    info = model_registry.promote(args.name, args.version, alias=args.alias)
    text = f"{info.name} version {info.version} is now @{args.alias}"
    if previous == info.version:
        text += " (it already was)"
    elif previous is not None:
        text += f" (moved from version {previous})"
    return Output({**_version_data(info), "alias": args.alias, "previous_version": previous}, text)


def _name_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the registered model's name")


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """``list`` takes none but ``--json``."""


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    _name_argument(parser)
    parser.add_argument(
        "version",
        nargs="?",
        type=version_spec,
        default=LATEST,
        metavar="VERSION",
        help="3, latest, @champion or champion (default latest)",
    )


def _compare_arguments(parser: argparse.ArgumentParser) -> None:
    _name_argument(parser)
    parser.add_argument(
        "--metric", required=True, metavar="M", help="a logged metric to rank by (f1, rmse, ...)"
    )
    parser.add_argument(
        "--versions",
        nargs="+",
        type=version_spec,
        metavar="VERSION",
        help="the versions to compare, e.g. 1 2 @champion (default: all)",
    )
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument(
        "--higher-is-better",
        dest="greater_is_better",
        action="store_const",
        const=True,
        default=None,
        help="a larger metric is better",
    )
    direction.add_argument(
        "--lower-is-better",
        dest="greater_is_better",
        action="store_const",
        const=False,
        help="a smaller metric is better (default: inferred from the metric's name: lower for errors "
        "and losses such as rmse or log_loss, higher for the others)",
    )


def _promote_arguments(parser: argparse.ArgumentParser) -> None:
    _name_argument(parser)
    parser.add_argument(
        "version", type=version_spec, metavar="VERSION", help="the version: 3, latest, @challenger, ..."
    )
    parser.add_argument(
        "--alias", type=_alias, default="champion", help="the alias to move onto it (default champion)"
    )


ACTIONS: Final = (
    _Action("list", "list every registered model with its versions and aliases", _list, _no_arguments),
    _Action("show", "show a version: aliases, run, metrics, parameters, tags", _show, _show_arguments),
    _Action("compare", "rank a model's versions by a metric, best first", _compare, _compare_arguments),
    _Action("promote", "make a version the champion (or move another alias)", _promote, _promote_arguments),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The actions of ``golden models`` and their arguments, each with ``--json``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keeps the epilog's lines
    parser.epilog = EPILOG
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action in ACTIONS:
        subparser = actions.add_parser(
            action.name,
            help=action.help,
            description=action.help,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        action.add_arguments(subparser)
        subparser.add_argument("--json", action="store_true", help="print JSON for programs")
        subparser.set_defaults(models_run=action.run)


def run(args: argparse.Namespace) -> int:
    """``golden models ACTION``: the arguments of :func:`dsdl_golden.cli.main` in, the exit status out."""
    from dsdl_golden import model_registry

    try:
        output: Output = args.models_run(args)
    except (model_registry.RegistryError, ValueError, TypeError, OSError) as error:
        print(f"{COMMAND}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(output.data, indent=2, default=_json_default, allow_nan=False))
    else:
        print(output.text)
    return 0
