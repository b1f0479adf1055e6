"""nbmake runs the template and the example notebooks (``template/``) against a Splunk emulator;
``--image ARCHIVE`` turns on the container test (``tests/image``).

Each notebook's kernel starts with an environment made here, never the caller's: telemetry to an
emulator on loopback (HTTPS, verified against its CA), searches of it (the sample churn data is its
index ``churn``), a temporary DSDL ``/srv`` and spool. After a notebook, the emulator must hold the
event it sent: ``fit`` (the template and its examples), ``params`` (the quickstart).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

_NOTEBOOK_ITEM = "NotebookItem"
_SETTING_PREFIXES = ("GOLDEN_", "splunk_", "SPLUNK_", "OTEL_")
_SETTING_NAMES = frozenset({"api_token", "MODE_DEV_PROD", "ENABLE_HTTPS", "api_workers", "olly_enabled"})
_HEC_TOKEN = "hec-notebooks-3c9d"
_SEARCH_TOKEN = "search-notebooks-8e41"
_SENT: dict[str, str] = {"quickstart.ipynb": "params"}  # notebook -> the event type it sends; default fit
_state: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    # Resolved when the command line is read: each test runs in its own working directory.
    parser.addoption(
        "--image", type=_absolute_path, default=None, help="run the container test on this image archive"
    )


def _absolute_path(value: str) -> Path:
    return Path(value).resolve()


def _is_notebook(item: pytest.Item) -> bool:
    return type(item).__name__ == _NOTEBOOK_ITEM


def _emulator() -> Any:
    if "emulator" not in _state:
        from dsdl_golden.emulator import SplunkEmulator

        emulator = SplunkEmulator().start()
        emulator.add_index("golden_metrics", metrics=True)
        emulator.add_hec_token(_HEC_TOKEN, name="notebooks", indexes=["main", "golden_metrics"])
        emulator.add_auth_token(_SEARCH_TOKEN)
        emulator.add_dataset("churn", Path(__file__).parent / "template" / "data" / "churn_sample.csv")
        _state["emulator"] = emulator
        _state["root"] = tempfile.TemporaryDirectory(prefix="golden-notebooks-")
    return _state["emulator"]


def _sent(item: pytest.Item) -> str:
    return _SENT.get(item.name, "fit")


def _events(emulator: Any, kind: str) -> int:
    return sum(
        1
        for record in emulator.events(index="main")
        if isinstance(record.get("event"), dict) and record["event"].get("type") == kind
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if not _is_notebook(item):
        return
    from dsdl_golden.workspace import lay_out

    emulator = _emulator()
    root = Path(_state["root"].name) / item.name.replace("/", "_")
    lay_out(root / "srv")
    saved = {
        name: value
        for name, value in os.environ.items()
        if name in _SETTING_NAMES or name.startswith(_SETTING_PREFIXES)
    }
    for name in saved:
        del os.environ[name]
    os.environ.update(
        {
            "splunk_hec_enabled": "true",
            "splunk_hec_url": emulator.hec_url,
            "splunk_hec_token": _HEC_TOKEN,
            "splunk_access_enabled": "true",
            "splunk_access_host": "127.0.0.1",
            "splunk_access_port": str(emulator.rest_port),
            "splunk_access_token": _SEARCH_TOKEN,
            "GOLDEN_TLS_VERIFY": str(emulator.ca_bundle),
            "GOLDEN_SRV_DIR": str(root / "srv"),
            "GOLDEN_SPOOL_DIR": str(root / "spool"),
            "GOLDEN_PROJECT": "notebooks",
        }
    )
    _state["saved"] = saved
    _state["sent"] = _events(emulator, _sent(item))


def pytest_runtest_teardown(item: pytest.Item) -> None:
    if not _is_notebook(item) or "saved" not in _state:
        return
    for name in [name for name in os.environ if name.startswith(_SETTING_PREFIXES)]:
        del os.environ[name]
    os.environ.update(_state.pop("saved"))
    kind = _sent(item)
    assert _events(_state["emulator"], kind) > _state["sent"], f"{item.name} sent no {kind} event to Splunk"


def pytest_sessionfinish(session: pytest.Session) -> None:
    if "emulator" in _state:
        _state.pop("emulator").stop()
        _state.pop("root").cleanup()
