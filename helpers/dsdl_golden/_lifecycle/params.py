"""What a DSDL request asks for, read from ``param`` exactly as Splunk's ``| fit MLTKContainer`` sends it.

Splunk sends (``../shared/specs/dsdl-contract.md`` §2.4):

- top-level ``feature_variables`` / ``target_variables``: the expanded column names (plural keys);
- ``options.feature_variables`` / ``options.target_variable`` (singular) and ``options.args``: the
  SPL lists as typed, wildcards unexpanded;
- ``options.params``: every ``key=value`` of the SPL, all values strings, quoted ones with their
  quotes; ``options.model_name`` from ``into app:<name>``.

:func:`read_request` turns that into a :class:`RequestSpec`: the columns, the lifecycle's own options
(``holdout``, ``preprocess``, ``task``, ``random_state``, ``refit``) and the parameters for the user's
model, with values parsed (numbers, booleans, ``none``, lists, quoted strings).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "LIFECYCLE_OPTIONS",
    "MLSPL_LIMITS",
    "NAME_PATTERN",
    "LifecycleOptions",
    "RequestSpec",
    "check_name",
    "parse_value",
    "read_request",
    "splunk_meta",
]

Task = Literal["auto", "classification", "regression", "forecast", "unsupervised"]
TASKS: Final = ("auto", "classification", "regression", "forecast", "unsupervised")

#: Names of modules and models: letters, digits, ``_`` and ``-`` (no dots, slashes or spaces).
NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,127}")
_NUMBER: Final = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INTEGER: Final = re.compile(r"[+-]?\d+")
_WORDS: Final[Mapping[str, Any]] = {
    "true": True,
    "false": False,
    "t": True,
    "f": False,
    "yes": True,
    "no": False,
    "none": None,
    "null": None,
}
#: MLTK's default ``mlspl_limits`` as Splunk sends them: every value a string.
MLSPL_LIMITS: Final[Mapping[str, str]] = {
    "handle_new_cat": "default",
    "max_distinct_cat_values": "100",
    "max_distinct_cat_values_for_classifiers": "100",
    "max_distinct_cat_values_for_scoring": "100",
    "max_fit_time": "600",
    "max_inputs": "100000",
    "max_memory_usage_mb": "4000",
    "max_model_size_mb": "30",
    "max_score_time": "600",
    "use_sampling": "true",
}
#: SPL keys DSDL itself reads, and ``| apply``'s registered version; never passed to the model.
_DSDL_KEYS: Final = frozenset({"algo", "mode", "model_version"})


@dataclass(frozen=True)
class LifecycleOptions:
    """The lifecycle's own parameters (SPL ``key=value`` or the model cell's defaults).

    Attributes
    ----------
    holdout : float
        Share of the rows kept out of training to compute metrics at fit, 0 to 0.9 (0: no metrics).
        The last rows in time order for forecasters, a stratified sample for classifiers.
    preprocess : bool
        Run :class:`~dsdl_golden.preprocessor.StandardPreprocessor` before the model.
    task : str
        ``auto`` (from the model and the target), ``classification``, ``regression``,
        ``forecast`` or ``unsupervised``.
    random_state : int
        Seed of the holdout split and of the frameworks' training.
    refit : bool
        After the holdout metrics, train again on every row (forecasters always do).
    """

    holdout: float = 0.2
    preprocess: bool = True
    task: Task = "auto"
    random_state: int = 42
    refit: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.holdout, bool) or not isinstance(self.holdout, int | float):
            raise ValueError(f"holdout must be a number from 0 to 0.9, got {self.holdout!r}")
        if not 0 <= self.holdout <= 0.9:
            raise ValueError(f"holdout must be from 0 to 0.9 (a share of the rows), got {self.holdout!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        for name in ("preprocess", "refit"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.random_state, bool) or not isinstance(self.random_state, int):
            raise ValueError(f"random_state must be an integer, got {self.random_state!r}")


LIFECYCLE_OPTIONS: Final = frozenset(LifecycleOptions.__dataclass_fields__)


@dataclass(frozen=True)
class RequestSpec:
    """One ``fit``/``apply`` request: which columns, which options, which model parameters."""

    algo: str | None
    model_name: str
    features: tuple[str, ...]
    target: str | None
    options: LifecycleOptions
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """DSDL's save name ``<algo>_<model_name>`` (``<model_name>`` alone without an algo)."""
        return f"{self.algo}_{self.model_name}" if self.algo else self.model_name


def check_name(value: object, what: str) -> str:
    """``value`` if it is a safe module or model name, else a ValueError saying what is allowed."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} is not allowed: use 1 to 128 letters, digits, '_' or '-' "
            "(no dots, slashes or spaces), starting with a letter, digit or '_'"
        )
    return value


def strip_quotes(value: str) -> str:
    """``value`` without one pair of surrounding double quotes, as DSDL's ``get_clean_param``."""
    return value.lstrip('"').rstrip('"')


def parse_value(raw: object) -> Any:
    """An SPL parameter value as Python: numbers, booleans, ``none``, lists; quoted text stays text.

    >>> parse_value("10"), parse_value("0.5"), parse_value("True"), parse_value("none")
    (10, 0.5, True, None)
    >>> parse_value('"10"'), parse_value("[64, 32]"), parse_value("a,b")
    ('10', [64, 32], ['a', 'b'])
    """
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [parse_value(item) for item in _split_list(inner)] if inner else []
    if "," in text:
        return [parse_value(item) for item in _split_list(text)]
    return _scalar(text)


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",")]


def _scalar(text: str) -> Any:
    lowered = text.lower()
    if lowered in _WORDS:
        return _WORDS[lowered]
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return text


def _string_list(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValueError(f"{where} must be a list of column names, got {value!r}")


def _expand(patterns: Sequence[str], columns: Sequence[str]) -> list[str]:
    """SPL field lists may hold wildcards (``total*``): expand them against the data's columns."""
    expanded: list[str] = []
    for pattern in patterns:
        if any(char in pattern for char in "*?["):
            expanded += [column for column in columns if fnmatch.fnmatchcase(column, pattern)]
        else:
            expanded.append(pattern)
    return list(dict.fromkeys(expanded))


def _columns(
    param: Mapping[str, Any], options: Mapping[str, Any], columns: Sequence[str]
) -> tuple[list[str], str | None]:
    targets = _string_list(param.get("target_variables"), "target_variables") or _expand(
        _string_list(options.get("target_variable"), "options.target_variable"), columns
    )
    if len(targets) > 1:
        raise ValueError(f"one target column is supported, got {targets}: fit one model per target")
    target = targets[0] if targets else None
    features = _string_list(param.get("feature_variables"), "feature_variables")
    if not features:
        features = _expand(
            _string_list(options.get("feature_variables"), "options.feature_variables"), columns
        )
    if not features:
        args = _expand(_string_list(options.get("args"), "options.args"), columns)
        features = [name for name in args if name != target]
    if not features:
        features = [name for name in columns if name != target]
    return [name for name in features if name != target], target


def read_request(
    param: Mapping[str, Any] | None, columns: Sequence[str], defaults: Mapping[str, Any] | None = None
) -> RequestSpec:
    """Read ``param`` (DSDL's ``meta``) for data with ``columns``.

    ``defaults`` are lifecycle options and model parameters from the model cell; the SPL's
    ``key=value`` pairs override them. Features default to every column but the target; whether
    the columns are in the data is the caller's check. Raises ``ValueError`` naming what to fix.
    """
    if param is None:
        param = {}
    if not isinstance(param, Mapping):
        raise ValueError(f"param must be a dict as DSDL sends it, got {type(param).__name__}")
    options = param.get("options")
    options = {} if options is None else options
    if not isinstance(options, Mapping):
        raise ValueError(f"param['options'] must be a dict, got {type(options).__name__}")
    raw = options.get("params")
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise ValueError(f"param['options']['params'] must be a dict, got {type(raw).__name__}")
    raw_params = {str(key): value for key, value in raw.items()}
    algo = strip_quotes(raw_params["algo"]) if isinstance(raw_params.get("algo"), str) else None
    if algo is not None:
        check_name(algo, "algo")
    model_name = check_name(options.get("model_name", "default"), "model_name")
    merged: dict[str, Any] = dict(defaults or {})
    merged.update((key, parse_value(value)) for key, value in raw_params.items() if key not in _DSDL_KEYS)
    lifecycle = {key: merged.pop(key) for key in list(merged) if key in LIFECYCLE_OPTIONS}
    features, target = _columns(param, options, columns)
    return RequestSpec(
        algo=algo,
        model_name=model_name,
        features=tuple(features),
        target=target,
        options=LifecycleOptions(**lifecycle),
        params=merged,
    )


def splunk_meta(
    algo: str,
    features: Sequence[str],
    target: str | None = None,
    model_name: str | None = None,
    params: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``meta`` exactly as Splunk's ``| fit MLTKContainer algo=<algo> [k=v ...] [<target> from]
    <features> [into app:<model_name>]`` sends it: ``options`` (params with string values, args,
    feature_variables, model_name, algo_name, mlspl_limits, kfold_cv, target_variable), then the
    expanded ``feature_variables`` and ``target_variables`` (left out without a target).

    >>> splunk_meta("churn_nb", ["tenure"], "churn", "v1")["options"]["args"]
    ['churn', 'tenure']
    """
    targets = [] if target is None else [target]
    options: dict[str, Any] = {
        "params": {"algo": algo, **(params or {})},
        "args": [*targets, *features],
        "feature_variables": list(features),
    }
    if model_name is not None:
        options["model_name"] = model_name
    options["algo_name"] = "MLTKContainer"
    options["mlspl_limits"] = dict(MLSPL_LIMITS)
    options["kfold_cv"] = None
    meta: dict[str, Any] = {"options": options, "feature_variables": list(features)}
    if targets:
        options["target_variable"] = list(targets)
        meta["target_variables"] = list(targets)
    return meta
