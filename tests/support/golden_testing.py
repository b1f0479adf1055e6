"""Helpers shared by the tests of the lifecycle, the runtime and the template."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from dsdl_golden.emulator import SplunkEmulator

#: Variables of DSDL, dsdl-golden and Jupyter that a test must never inherit from the caller's shell.
SETTING_PREFIXES = ("GOLDEN_", "splunk_", "SPLUNK_", "OTEL_", "JUPYTER_")
SETTING_NAMES = frozenset({"api_token", "MODE_DEV_PROD", "ENABLE_HTTPS", "api_workers", "olly_enabled"})


def clear_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every DSDL, dsdl-golden and Jupyter setting from the environment for one test."""
    for name in list(os.environ):
        if name in SETTING_NAMES or name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name)


def events_of_type(emulator: SplunkEmulator, kind: str) -> list[dict[str, Any]]:
    """The lifecycle's and runtime's events of ``type`` ``kind`` in the events index."""
    return [
        record
        for record in emulator.events(index="main")
        if isinstance(record.get("event"), dict) and record["event"].get("type") == kind
    ]


@contextlib.contextmanager
def serve(app: Any, **options: Any) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn (``options``: more of its settings, e.g. TLS) on a free loopback
    port in a thread; yields its base URL, ``http://127.0.0.1:<port>``."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def dsdl_module(model_directory: Path, *, apply_value: str = "df.index") -> str:
    """A module written for DSDL's stock runtime, like its barebone template: JSON model files."""
    return f'''
import json
import numpy as np
import pandas as pd

MODEL_DIRECTORY = "{model_directory}/"
LOADS = []


def init(df, param):
    return {{"hyperparameter": 42.0, "rows": len(df)}}


def fit(model, df, param):
    return {{"message": "model trained"}}


def apply(model, df, param):
    return pd.DataFrame({{"index": {apply_value}, "loads": len(LOADS)}})


def save(model, name):
    with open(MODEL_DIRECTORY + name + ".json", "w") as file:
        json.dump(model, file)
    return model


def load(name):
    LOADS.append(name)
    with open(MODEL_DIRECTORY + name + ".json") as file:
        return json.load(file)


def summary(model=None):
    return {{"version": {{"numpy": np.__version__, "pandas": pd.__version__}}, "model": model}}
'''
