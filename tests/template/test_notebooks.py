"""The template and the examples: up to date, exportable, and the same but for the model cell."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import notebooks
from dsdl_golden.contract import check_source
from dsdl_golden.export import export_notebook, module_source

TEMPLATE = Path(__file__).resolve().parents[2] / "template"
NAMES = sorted(path.stem for path in TEMPLATE.glob("*.ipynb") if path.stem != notebooks.QUICKSTART)
DSDL_CELLS = [
    "mltkc_import",
    "mltkc_model",
    "mltkc_stage",
    "mltkc_init",
    "mltkc_fit",
    "mltkc_apply",
    "mltkc_save",
    "mltkc_load",
    "mltkc_summary",
]


def test_the_committed_notebooks_and_data_are_what_tools_notebooks_writes(tmp_path: Path) -> None:
    written = notebooks.write_all(tmp_path)
    committed = sorted(path.relative_to(TEMPLATE) for path in TEMPLATE.rglob("*") if path.is_file())
    assert sorted(path.relative_to(tmp_path) for path in written) == committed
    stale = [
        str(path) for path in committed if (tmp_path / path).read_bytes() != (TEMPLATE / path).read_bytes()
    ]
    assert not stale, f"run .venv/bin/python tools/notebooks.py and commit: {stale}"


def named_cells(name: str) -> dict[str, str]:
    notebook = nbformat.read(TEMPLATE / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    return {cell.metadata["name"]: cell.source for cell in notebook.cells if "name" in cell.metadata}


@pytest.mark.parametrize("name", NAMES)
def test_each_notebook_exports_dsdls_cells_and_honours_the_contract(name: str, tmp_path: Path) -> None:
    cells = named_cells(name)
    assert list(cells) == DSDL_CELLS
    module = export_notebook(TEMPLATE / f"{name}.ipynb", tmp_path)
    assert module is not None
    assert check_source(module.read_text()) == []


@pytest.mark.parametrize("name", [name for name in NAMES if name != notebooks.TEMPLATE])
def test_an_example_is_the_template_with_another_model_cell(name: str) -> None:
    template, example = named_cells(notebooks.TEMPLATE), named_cells(name)
    assert {cell: source for cell, source in example.items() if cell != "mltkc_model"} == {
        cell: source for cell, source in template.items() if cell != "mltkc_model"
    }
    assert example["mltkc_model"] != template["mltkc_model"]
    assert "def build_model(params, data):" in example["mltkc_model"]


@pytest.mark.parametrize("name", sorted(path.stem for path in (TEMPLATE / "data").glob("*.csv")))
def test_sample_data_is_in_dsdls_staged_format(name: str) -> None:
    frame = pd.read_csv(TEMPLATE / "data" / f"{name}.csv")
    meta = json.loads((TEMPLATE / "data" / f"{name}.json").read_text())
    assert meta["options"]["params"]["mode"] == "stage"
    assert meta["options"]["model_name"] == name
    columns = [*meta["feature_variables"], *meta.get("target_variables", [])]
    assert sorted(columns) == sorted(frame.columns)
    assert 200 <= len(frame) <= 1000


def test_the_exported_template_reads_like_dsdls_export() -> None:
    source = module_source(TEMPLATE / "template_empresa_base.ipynb")
    assert source is not None
    assert source.startswith("#!/usr/bin/env python\n# coding: utf-8\n")
    assert source.count("# In[ ]:") == len(DSDL_CELLS)
    assert "Pruebas" not in source  # markdown is not exported
    assert 'stage("churn_sample")' not in source  # nor the free test cells
