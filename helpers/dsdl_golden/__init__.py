"""dsdl-golden: the golden-image library for Splunk DSDL notebooks.

Everything a notebook needs is importable from here (each module loads on first use, so
``import dsdl_golden`` stays fast)::

    from dsdl_golden import get_data, standard_preprocessing, calculate_all_metrics, log_metrics

- Splunk data: :func:`get_data`, :func:`send_results`, :func:`validate_splunk_config`
  (:mod:`dsdl_golden.splunk_connector`)
- preprocessing: :func:`standard_preprocessing`, :func:`handle_missing`, :func:`encode_categorical`,
  :class:`StandardPreprocessor` (:mod:`dsdl_golden.preprocessor`)
- metrics: :func:`calculate_all_metrics`, :func:`calculate_classification_metrics`,
  :func:`calculate_regression_metrics` (:mod:`dsdl_golden.metrics_calculator`)
- telemetry to Splunk: :func:`log_metrics`, :func:`log_params`, :func:`log_event`, :func:`log_error`,
  :func:`log_figure`, :func:`log_training_step`, :func:`set_context`, :func:`flush`, :func:`get_telemetry`
  (:mod:`dsdl_golden.telemetry_helper`)
- plots: :func:`plot_metrics`, :func:`plot_classification`, :func:`plot_regression`
  (:mod:`dsdl_golden.plots`)
- settings: :func:`load_settings`, :func:`load_env_file` (the file ``golden emulator`` writes)
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (it would triple the import's cost)
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"  # keep equal to [project].version in pyproject.toml (a test checks)

_EXPORTS: dict[str, tuple[str, ...]] = {
    "dsdl_golden.splunk_connector": ("get_data", "send_results", "validate_splunk_config"),
    "dsdl_golden.preprocessor": (
        "StandardPreprocessor",
        "encode_categorical",
        "handle_missing",
        "standard_preprocessing",
    ),
    "dsdl_golden.metrics_calculator": (
        "calculate_all_metrics",
        "calculate_classification_metrics",
        "calculate_regression_metrics",
    ),
    "dsdl_golden.telemetry_helper": (
        "flush",
        "get_telemetry",
        "log_error",
        "log_event",
        "log_figure",
        "log_metrics",
        "log_params",
        "log_training_step",
        "set_context",
    ),
    "dsdl_golden.plots": ("plot_classification", "plot_metrics", "plot_regression"),
    "dsdl_golden.config": ("load_settings",),
    "dsdl_golden.settings_file": ("load_env_file",),
}
_MODULE_OF: dict[str, str] = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "StandardPreprocessor",
    "__version__",
    "calculate_all_metrics",
    "calculate_classification_metrics",
    "calculate_regression_metrics",
    "encode_categorical",
    "flush",
    "get_data",
    "get_telemetry",
    "handle_missing",
    "load_env_file",
    "load_settings",
    "log_error",
    "log_event",
    "log_figure",
    "log_metrics",
    "log_params",
    "log_training_step",
    "plot_classification",
    "plot_metrics",
    "plot_regression",
    "send_results",
    "set_context",
    "standard_preprocessing",
    "validate_splunk_config",
]


def __getattr__(name: str) -> Any:
    """Load an exported name's module on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'dsdl_golden' has no attribute {name!r}")
    value = getattr(__import__(module, fromlist=[name]), name)  # importlib would cost a millisecond
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})
