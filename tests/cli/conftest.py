"""Fixtures of the ``golden`` subcommand tests: a /srv layout, a model API (no inherited settings, each
test its own HOME: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_testing import TEMPLATE_NOTEBOOK, TOKEN
from golden_testing import serve

from dsdl_golden.config import load_settings
from dsdl_golden.export import export_notebook
from dsdl_golden.runtime import create_app
from dsdl_golden.workspace import lay_out


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DSDL's /srv layout in a temporary directory, as GOLDEN_SRV_DIR (the spool next to it)."""
    root = tmp_path / "srv"
    lay_out(root)
    monkeypatch.setenv("GOLDEN_SRV_DIR", str(root))
    monkeypatch.setenv("GOLDEN_SPOOL_DIR", str(tmp_path / "spool"))
    return root


@pytest.fixture
def runtime(srv: Path) -> Iterator[str]:
    """The model API with the exported template, on loopback in this process; yields its URL."""
    export_notebook(TEMPLATE_NOTEBOOK, srv / "app" / "model")
    settings = load_settings({"GOLDEN_SRV_DIR": str(srv), "GOLDEN_SPOOL_DIR": str(srv.parent / "spool")})
    with serve(create_app(settings, {"api_token": TOKEN})) as url:
        yield url
