"""``golden export`` and ``golden check`` on the real template and on broken notebooks and modules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_testing import TEMPLATE_NOTEBOOK, good_module, module_notebook, notebook_of

from dsdl_golden import cli
from dsdl_golden._cli.export import NO_NAMED_CELLS, import_roots

Capture = pytest.CaptureFixture[str]


def golden(capsys: Capture, *argv: str | Path) -> tuple[int, list[str], str]:
    """Run ``golden argv``; returns the status, stdout's lines and stderr."""
    status = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


# --- export ------------------------------------------------------------------------------------


def test_export_template_to_the_model_package_by_default(srv: Path, capsys: Capture) -> None:
    status, lines, err = golden(capsys, "export", TEMPLATE_NOTEBOOK)
    module = srv / "app" / "model" / "template_empresa_base.py"
    assert (status, lines, err) == (0, [str(module)], "")
    source = module.read_text()
    assert "def fit(model, df, param):" in source
    assert "# ✏️ MODELO" in source


def test_export_to_an_output_directory(tmp_path: Path, capsys: Capture) -> None:
    status, lines, _ = golden(capsys, "export", TEMPLATE_NOTEBOOK, "-o", tmp_path / "out")
    assert status == 0
    assert lines == [str(tmp_path / "out" / "template_empresa_base.py")]
    assert (tmp_path / "out" / "template_empresa_base.py").is_file()


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (
            good_module().replace("def fit(model, df, param):", "def fitted(model, df, param):"),
            "fit: missing; define fit(model, df, param) in a cell named mltkc_fit",
        ),
        (
            good_module().replace("def apply(model, df, param):", "def apply(model, df):"),
            "apply must accept apply(model, df, param)",
        ),
        (
            good_module().replace("def summary(model=None):", "def summary(model):"),
            "summary must accept summary(model=None)",
        ),
        (good_module() + "\ndef broken(:\n    pass\n", "syntax error: "),
    ],
    ids=["missing-function", "wrong-arity", "summary-needs-default", "syntax-error"],
)
def test_export_reports_each_problem_on_one_line(
    tmp_path: Path, capsys: Capture, source: str, problem: str
) -> None:
    notebook = module_notebook(source, tmp_path / "broken_model.ipynb")
    status, lines, err = golden(capsys, "export", notebook, "-o", tmp_path / "out")
    module = tmp_path / "out" / "broken_model.py"
    assert status == 1
    assert err == ""
    assert lines[0] == str(module)
    assert len(lines) == 2
    assert lines[1].startswith(f"{module}: ")
    assert problem in lines[1]


def test_export_reports_every_missing_function(tmp_path: Path, capsys: Capture) -> None:
    notebook = notebook_of(
        ("mltkc_import", "import json"), "def init(df, param): pass", path=tmp_path / "nb.ipynb"
    )
    status, lines, _ = golden(capsys, "export", notebook, "-o", tmp_path)
    assert status == 1
    assert [line.split(": ", 2)[1] for line in lines[1:]] == [
        "init",
        "fit",
        "apply",
        "save",
        "load",
        "summary",
    ]


def test_export_of_a_notebook_without_named_cells(tmp_path: Path, capsys: Capture) -> None:
    notebook = notebook_of("import json", "def init(df, param): pass", path=tmp_path / "free_cells.ipynb")
    status, lines, err = golden(capsys, "export", notebook, "-o", tmp_path / "out")
    assert status == 1
    assert lines == [f"{notebook}: {NO_NAMED_CELLS}"]
    assert err == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["my model.ipynb", "model.v2.ipynb", "-model.ipynb"])
def test_export_refuses_a_notebook_name_that_is_no_module_name(
    tmp_path: Path, capsys: Capture, name: str
) -> None:
    notebook = module_notebook(good_module(), tmp_path / name)
    status, lines, err = golden(capsys, "export", notebook, "-o", tmp_path / "out")
    assert (status, lines) == (2, [])
    assert err.startswith("golden export: notebook name ")
    assert "is not allowed" in err
    assert "rename the notebook" in err
    assert len(err.splitlines()) == 1


def test_export_of_a_file_that_is_not_a_notebook(tmp_path: Path, capsys: Capture) -> None:
    notebook = tmp_path / "not_json.ipynb"
    notebook.write_text("{ this is not JSON")
    status, lines, err = golden(capsys, "export", notebook, "-o", tmp_path)
    assert (status, lines) == (2, [])
    assert err.startswith(f"golden export: {notebook} is not a readable notebook: ")


def test_export_of_a_missing_notebook(tmp_path: Path, capsys: Capture) -> None:
    status, lines, err = golden(capsys, "export", tmp_path / "nothing.ipynb")
    assert (status, lines) == (2, [])
    assert err == f"golden export: {tmp_path / 'nothing.ipynb'}: no such notebook file\n"


def test_export_to_an_unwritable_place(tmp_path: Path, capsys: Capture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    status, _, err = golden(capsys, "export", TEMPLATE_NOTEBOOK, "-o", blocker / "model")
    assert status == 2
    assert err.startswith("golden export: cannot write the module: ")
    assert "pass -o DIR or set GOLDEN_SRV_DIR" in err


# --- check -------------------------------------------------------------------------------------


def test_check_the_template_notebook(srv: Path, capsys: Capture) -> None:
    status, lines, err = golden(capsys, "check", TEMPLATE_NOTEBOOK)
    assert (status, lines, err) == (0, [f"ok: {TEMPLATE_NOTEBOOK} honours DSDL's module contract"], "")
    assert not (srv / "app" / "model" / "template_empresa_base.py").exists(), "exported to a temporary dir"


def test_check_the_exported_template_module(srv: Path, capsys: Capture) -> None:
    assert golden(capsys, "export", TEMPLATE_NOTEBOOK)[0] == 0
    module = srv / "app" / "model" / "template_empresa_base.py"
    assert golden(capsys, "check", module) == (0, [f"ok: {module} honours DSDL's module contract"], "")


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (
            "import no_such_package_4f2a\n" + good_module(),
            "import failed: no_such_package_4f2a is not installed here; "
            "add it to the image or remove the import",
        ),
        (
            good_module().replace('return {"model": model}', "return [model]"),
            "summary() returned a list; return a dict",
        ),
        (
            good_module().replace('return {"model": model}', 'return {"model": object()}'),
            "summary() is not JSON-serialisable: Object of type object is not JSON serializable",
        ),
        (
            good_module().replace('return {"model": model}', "return model.shape"),
            "summary() without a model raised AttributeError: 'NoneType' object has no attribute 'shape'",
        ),
        (
            good_module() + "\nraise RuntimeError('boom at import')\n",
            "import failed: RuntimeError: boom at import",
        ),
        (
            good_module() + "\nimport sys\nsys.exit(3)\n",
            "import failed: the module calls sys.exit(3) at import",
        ),
    ],
    ids=[
        "missing-package",
        "summary-list",
        "summary-not-json",
        "summary-raises",
        "import-raises",
        "sys-exit",
    ],
)
@pytest.mark.parametrize("form", ["module", "notebook"])
def test_check_reports_import_and_summary_problems(
    tmp_path: Path, capsys: Capture, source: str, problem: str, form: str
) -> None:
    if form == "module":
        target = tmp_path / "broken_model.py"
        target.write_text(source)
    else:
        target = module_notebook(source, tmp_path / "broken_model.ipynb")
    status, lines, err = golden(capsys, "check", target)
    assert (status, lines, err) == (1, [f"{target}: {problem}"], "")


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (
            good_module().replace("def load(name):", "def loaded(name):"),
            "load: missing; define load(name) in a cell named mltkc_load",
        ),
        (
            good_module().replace("def init(df, param):", "def init(df, param, extra):"),
            "init must accept init(df, param)",
        ),
        (
            good_module().replace("def save(model, name):", "async def save(model, name):"),
            "save is async; DSDL calls it as a plain function",
        ),
        (good_module().replace("def fit(model, df, param):", "def fit(model, df, param)"), "syntax error: "),
    ],
    ids=["missing-function", "wrong-arity", "async", "syntax-error"],
)
def test_check_reports_contract_problems(tmp_path: Path, capsys: Capture, source: str, problem: str) -> None:
    module = tmp_path / "broken_model.py"
    module.write_text(source)
    status, lines, err = golden(capsys, "check", module)
    assert status == 1
    assert err == ""
    assert len(lines) == 1
    assert lines[0].startswith(f"{module}: ")
    assert problem in lines[0]


def test_check_a_notebook_without_named_cells(tmp_path: Path, capsys: Capture) -> None:
    notebook = notebook_of("print('free')", path=tmp_path / "free_cells.ipynb")
    assert golden(capsys, "check", notebook) == (1, [f"{notebook}: {NO_NAMED_CELLS}"], "")


def test_check_refuses_a_bad_notebook_name(tmp_path: Path, capsys: Capture) -> None:
    notebook = module_notebook(good_module(), tmp_path / "bad name.ipynb")
    status, lines, err = golden(capsys, "check", notebook)
    assert (status, lines) == (2, [])
    assert err.startswith("golden check: notebook name 'bad name' is not allowed")


def test_check_a_missing_file(tmp_path: Path, capsys: Capture) -> None:
    assert golden(capsys, "check", tmp_path / "gone.py") == (
        2,
        [],
        f"golden check: {tmp_path / 'gone.py'}: no such file\n",
    )


HELPER_USER = good_module().replace("import json", "import json\nfrom app.model.shared_helper import ANSWER")


def test_check_resolves_app_model_from_the_srv_dir(srv: Path, tmp_path: Path, capsys: Capture) -> None:
    (srv / "app" / "model" / "shared_helper.py").write_text("ANSWER = 42\n")
    module = tmp_path / "elsewhere" / "uses_helper.py"
    module.parent.mkdir()
    module.write_text(HELPER_USER)
    path_before, app_modules = list(sys.path), {name for name in sys.modules if name.split(".")[0] == "app"}
    assert golden(capsys, "check", module)[0:2] == (0, [f"ok: {module} honours DSDL's module contract"])
    assert sys.path == path_before
    assert {name for name in sys.modules if name.split(".")[0] == "app"} == app_modules


def test_check_resolves_app_model_from_the_modules_own_layout(tmp_path: Path, capsys: Capture) -> None:
    """A module in <root>/app/model imports its helpers from <root>, whatever GOLDEN_SRV_DIR says."""
    from dsdl_golden.workspace import lay_out

    root = tmp_path / "other_srv"
    lay_out(root)
    (root / "app" / "model" / "shared_helper.py").write_text("ANSWER = 42\n")
    module = root / "app" / "model" / "uses_helper.py"
    module.write_text(HELPER_USER)
    assert golden(capsys, "check", module)[0:2] == (0, [f"ok: {module} honours DSDL's module contract"])
    assert import_roots(module, Path("/srv"))[0] == root.resolve()


def test_check_without_the_helper_names_the_missing_module(
    srv: Path, tmp_path: Path, capsys: Capture
) -> None:
    module = tmp_path / "uses_helper.py"
    module.write_text(HELPER_USER)
    status, lines, _ = golden(capsys, "check", module)
    assert status == 1
    assert lines == [
        f"{module}: import failed: No module named 'app.model.shared_helper'; modules of app.model are "
        "exported notebooks: export the notebook it imports, and check from DSDL's layout (GOLDEN_SRV_DIR)"
    ]
