"""The Examples of the public docstrings run and show what they say (``help()`` is the manual)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

MODULES = (
    "dsdl_golden.lifecycle",
    "dsdl_golden._lifecycle.params",
    "dsdl_golden.plots",
    "dsdl_golden.preprocessor",
    "dsdl_golden.refresh",
    "dsdl_golden.settings_file",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, srv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.attempted > 0
    assert result.failed == 0
