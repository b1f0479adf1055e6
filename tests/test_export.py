"""Notebook export (DSDL's rule, magics, atomic writes), the Jupyter hook, and the contract check."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
import requests
from golden_testing import contract_module

from dsdl_golden.contract import check_module, check_source
from dsdl_golden.export import ExportError, export_notebook, module_source

TEMPLATE = Path(__file__).resolve().parents[1] / "template" / "template_empresa_base.ipynb"
CONTRACT = contract_module()


def notebook(*cells: tuple[str, str | None], kind: str = "code") -> nbformat.NotebookNode:
    nodes = [
        nbformat.v4.new_code_cell(source, metadata={} if name is None else {"name": name})
        if kind == "code"
        else nbformat.v4.new_markdown_cell(source)
        for source, name in cells
    ]
    return nbformat.v4.new_notebook(cells=nodes)


def test_only_named_code_cells_are_exported_in_order() -> None:
    node = notebook(
        ("import os", "mltkc_import"), ("print('free cell')", None), ("def init(df, param):\n    pass", "x")
    )
    node.cells.insert(
        1, nbformat.v4.new_markdown_cell("# a guide", metadata={"name": "markdown is never code"})
    )
    source = module_source(node)
    assert source == (
        "#!/usr/bin/env python\n# coding: utf-8\n\n\n# In[ ]:\n\n\nimport os\n\n\n# In[ ]:\n\n\n"
        "def init(df, param):\n    pass\n"
    )
    assert module_source(notebook(("print(1)", None))) is None


def test_magics_and_shell_escapes_are_commented_out_and_python_cell_magics_kept() -> None:
    node = notebook(
        ("%matplotlib inline\nimport numpy as np\nfiles = !ls\nx = 1  # 100% sure", "mltkc_import"),
        ("%%time\ny = 2", "mltkc_fit"),
        ("%%bash\nrm -rf /", "mltkc_stage"),
        ("np.mean?", "mltkc_apply"),
    )
    source = module_source(node)
    assert source is not None
    assert "# (IPython magic, not run outside Jupyter) %matplotlib inline" in source
    assert "# (IPython magic, not run outside Jupyter) files = !ls" in source
    assert "x = 1  # 100% sure" in source
    assert "\ny = 2\n" in source
    assert "# (IPython cell magic, not run outside Jupyter) rm -rf /" in source
    compile(source, "<exported>", "exec")
    assert "get_ipython().run_line_magic" not in source


def test_export_writes_atomically_and_refuses_names_that_cannot_be_modules(tmp_path: Path) -> None:
    good = tmp_path / "SuNombre_Modelo_CasoUso_v1.ipynb"
    nbformat.write(notebook((CONTRACT, "mltkc_init")), good)
    target = export_notebook(good, tmp_path / "model")
    assert target == tmp_path / "model" / "SuNombre_Modelo_CasoUso_v1.py"
    assert [path.name for path in (tmp_path / "model").iterdir()] == [target.name]
    assert oct(target.stat().st_mode & 0o777) == "0o664"

    for name in ("my notebook.ipynb", "v1.2.ipynb", "-x.ipynb"):
        bad = tmp_path / name
        bad.write_text(good.read_text())
        with pytest.raises(ExportError, match="rename the notebook"):
            export_notebook(bad, tmp_path / "model")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    with pytest.raises(ExportError, match="is not a readable notebook"):
        export_notebook(broken, tmp_path / "model")
    free = tmp_path / "free.ipynb"
    nbformat.write(notebook(("print(1)", None)), free)
    assert export_notebook(free, tmp_path / "model") is None


def test_export_defaults_to_the_model_package(srv: Path) -> None:
    assert export_notebook(TEMPLATE) == srv / "app" / "model" / "template_empresa_base.py"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda s: s.replace("def load(name):", "def load(name, extra):"),
            "line 10: load must accept load(name)",
        ),
        (
            lambda s: s.replace("def summary(model=None):", "def summary(model):"),
            "summary must accept summary(model=None)",
        ),
        (
            lambda s: s.replace("def fit(model, df, param):\n    return {}\n", ""),
            "fit: missing; define fit(model, df, param)",
        ),
        (lambda s: s.replace("def init(", "async def init("), "init is async"),
        (lambda s: s + "\ndef broken(:\n", "syntax error"),
    ],
)
def test_contract_problems_are_one_line_each(change: object, problem: str) -> None:
    assert check_source(CONTRACT) == []
    problems = check_source(change(CONTRACT))  # type: ignore[operator]
    assert len(problems) == 1
    assert problem in problems[0]
    assert "\n" not in problems[0]


def test_flexible_signatures_are_accepted() -> None:
    flexible = CONTRACT.replace(
        "def apply(model, df, param):", "def apply(model, df, param=None, *args, verbose=False):"
    )
    assert check_source(flexible.replace("def load(name):", "def load(*names):")) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("import no_such_package_xyz\n", "import failed: no_such_package_xyz is not installed here"),
        ("raise RuntimeError('at import')\n", "import failed: RuntimeError: at import"),
        ("def summary(model=None):\n    return ['a list']\n", "summary() returned a list; return a dict"),
        ("def summary(model=None):\n    return {'when': object()}\n", "summary() is not JSON-serialisable"),
        ("def summary(model=None):\n    raise KeyError('x')\n", "summary() without a model raised KeyError"),
        ("import sys\nsys.exit(2)\n", "import failed: the module calls sys.exit(2) at import"),
        ("def summary(model=None):\n    exit(4)\n", "summary() without a model raised SystemExit: 4"),
        (
            "class Unprintable(Exception):\n    def __str__(self):\n        raise ValueError()\n\n\n"
            "def summary(model=None):\n    raise Unprintable()\n",
            "summary() without a model raised Unprintable: <its str() failed with ValueError>",
        ),
    ],
)
def test_check_module_imports_the_module_and_calls_summary(tmp_path: Path, body: str, problem: str) -> None:
    module = tmp_path / "candidate.py"
    module.write_text(CONTRACT + "\n" + body)
    problems = check_module(module)
    assert len(problems) == 1
    assert problem in problems[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def jupyter(srv: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Jupyter server with the export hook, the way the image configures it."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    port, token = _free_port(), "jupyter-test-token"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path / "home"),
        "GOLDEN_SRV_DIR": str(srv),
        "JUPYTER_TOKEN": token,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={notebooks}",
            "--FileContentsManager.post_save_hook=dsdl_golden.export.post_save",
            "--allow-root",
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                requests.get(f"{url}/api/status?token={token}", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                assert process.poll() is None, "jupyter exited"
                assert time.monotonic() < deadline, "jupyter did not start"
                time.sleep(0.2)
        yield f"{url}/api/contents/{{}}?token={token}", notebooks
    finally:
        process.terminate()
        process.wait(15)
        assert process.stderr is not None
        process.stderr.close()


@pytest.mark.integration
@pytest.mark.slow
def test_saving_in_jupyter_exports_the_notebook(jupyter: tuple[str, Path], srv: Path) -> None:
    contents, _ = jupyter
    content = json.loads(TEMPLATE.read_text())
    response = requests.put(
        contents.format("SuNombre_Modelo_CasoUso_v1.ipynb"),
        json={"type": "notebook", "format": "json", "content": content},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    exported = srv / "app" / "model" / "SuNombre_Modelo_CasoUso_v1.py"
    assert exported.read_text() == module_source(TEMPLATE)
    text_file = requests.put(
        contents.format("notes.txt"), json={"type": "file", "format": "text", "content": "x"}, timeout=30
    )
    assert text_file.status_code == 201
    assert sorted(path.name for path in exported.parent.glob("*.py")) == [
        "SuNombre_Modelo_CasoUso_v1.py",
        "__init__.py",
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("import sys\nsys.exit(3)\n", "the module calls sys.exit(3) at import"),
        (
            "import app.model.not_exported\n",
            "No module named 'app.model.not_exported'; modules of app.model are",
        ),
    ],
)
def test_check_module_survives_modules_that_exit_and_names_unexported_helpers(
    srv: Path, monkeypatch: pytest.MonkeyPatch, body: str, problem: str
) -> None:
    monkeypatch.syspath_prepend(str(srv))
    module = srv / "app" / "model" / "exits.py"
    module.write_text(CONTRACT + "\n" + body)
    (problems,) = [check_module(module)]
    assert len(problems) == 1
    assert problem in problems[0]
    assert "app.model.exits" not in sys.modules
