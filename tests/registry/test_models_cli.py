"""``golden models list|show|compare|promote`` against a real embedded registry (SQLite, one per module).

The module's registry holds ``churn`` (3 versions: 1 fits best, 2 worst; @champion on 1, @challenger on
3), ``other`` (1 version), ``promoted`` (2 versions, only the promote test moves its aliases) and
``empty`` (no version, as after deleting them in MLflow's UI).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_testing import child_environ
from sklearn.linear_model import LinearRegression, Ridge

from dsdl_golden import cli, model_registry
from dsdl_golden._cli.models import version_spec
from dsdl_golden._registry.store import resolve_store, session
from dsdl_golden.workspace import lay_out

Capture = pytest.CaptureFixture[str]

X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0], [4.0, 1.0], [5.0, 3.0]])
Y = np.array([1.0, 2.1, 5.2, 7.1, 8.8, 11.5])
#: churn's versions 1, 2, 3: the worse the fit, the higher the rmse.
CHURN_MODELS = (LinearRegression(), Ridge(alpha=50.0), Ridge(alpha=5.0))


def log_fitted(model: Any, name: str) -> None:
    """Fit ``model`` and register it as the next version of ``name`` with its rmse and r2."""
    model.fit(X, Y)
    rmse = float(np.sqrt(np.mean((model.predict(X) - Y) ** 2)))
    model_registry.log_model(model, name, metrics={"rmse": rmse, "r2": model.score(X, Y)})


@pytest.fixture(scope="module")
def module_srv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's DSDL volume and its registry (creating the store and logging takes seconds)."""
    root = tmp_path_factory.mktemp("models-cli") / "srv"
    lay_out(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GOLDEN_SRV_DIR", str(root))
        for model in CHURN_MODELS:
            log_fitted(model, "churn")
        model_registry.promote("churn", 1)
        model_registry.set_alias("churn", "challenger", 3)
        log_fitted(LinearRegression(), "other")
        for model in (LinearRegression(), Ridge(alpha=50.0)):
            log_fitted(model, "promoted")
        with session(resolve_store()) as client:
            client.create_registered_model("empty")
    return root


@pytest.fixture
def srv(module_srv: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test: the module's registry as GOLDEN_SRV_DIR (tests/conftest.py clears it per test)."""
    monkeypatch.setenv("GOLDEN_SRV_DIR", str(module_srv))
    return module_srv


def golden(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    """``golden ARGV`` in this process: exit status, stdout, stderr."""
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def golden_json(capsys: Capture, *argv: str) -> Any:
    """``golden ARGV --json`` in this process, which must succeed: its output parsed."""
    status, out, err = golden(capsys, *argv, "--json")
    assert status == 0, err
    return json.loads(out)


def as_json(info: model_registry.ModelVersionInfo) -> dict[str, Any]:
    """``info`` as ``--json`` should print it: its fields, times in ISO 8601."""
    return {**dataclasses.asdict(info), "aliases": list(info.aliases), "created": info.created.isoformat()}


def table_rows(text: str) -> list[list[str]]:
    """The rows of a printed table below its header, split on runs of 2+ spaces (cells keep ", ")."""
    lines = text.strip().splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith(("name ", "version ")))
    return [re.split(r"\s{2,}", line.strip()) for line in lines[header + 1 :]]


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("3", 3),
        ("latest", "latest"),
        ("LATEST", "latest"),
        ("@champion", "@champion"),
        ("champion", "@champion"),
        ("v2", "v2"),
        ("0", 0),
        ("-1", "-1"),
    ],
)
def test_version_arguments_become_the_librarys_specs(text: str, spec: object) -> None:
    assert version_spec(text) == spec


def test_list_shows_every_model_with_its_versions_and_aliases(srv: Path, capsys: Capture) -> None:
    status, out, err = golden(capsys, "models", "list")
    assert status == 0, err
    assert out.splitlines()[0].split() == ["name", "versions", "latest", "aliases", "updated"]
    rows = {row[0]: row for row in table_rows(out)}
    assert set(rows) == {"churn", "empty", "other", "promoted"}
    assert rows["churn"][1:4] == ["3", "3", "champion=1, challenger=3"]
    assert rows["other"][1:4] == ["1", "1", "-"]
    assert rows["empty"][1:4] == ["0", "-", "-"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", rows["churn"][4])


def test_list_json_is_the_librarys_table(srv: Path, capsys: Capture) -> None:
    listed = golden_json(capsys, "models", "list")
    expected = model_registry.list_models()
    assert [row["name"] for row in listed] == list(expected["name"])
    assert [row["versions"] for row in listed] == list(expected["versions"])
    assert [row["latest"] for row in listed] == [None if pd.isna(n) else int(n) for n in expected["latest"]]
    assert {type(row["latest"]) for row in listed} == {int, type(None)}
    assert [row["aliases"] for row in listed] == list(expected["aliases"])
    assert [row["updated"] for row in listed] == [stamp.isoformat() for stamp in expected["updated"]]
    assert all(row["description"] == "" for row in listed)


def test_an_empty_registry_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    monkeypatch.setenv("GOLDEN_SRV_DIR", str(tmp_path / "srv"))
    status, out, err = golden(capsys, "models", "list")
    assert status == 0, err
    assert out.startswith("no registered model yet in the registry at sqlite:///")
    assert str(tmp_path / "srv") in out
    assert golden_json(capsys, "models", "list") == []


@pytest.mark.parametrize("version", ["@champion", "champion"])
def test_show_an_alias_with_or_without_its_at(srv: Path, capsys: Capture, version: str) -> None:
    status, out, err = golden(capsys, "models", "show", "churn", version)
    assert status == 0, err
    assert out == f"{model_registry.get_version('churn', 1)}\n"
    assert out.startswith("churn version 1\n  aliases: champion\n")


def test_show_defaults_to_the_latest_version(srv: Path, capsys: Capture) -> None:
    status, out, err = golden(capsys, "models", "show", "churn")
    assert status == 0, err
    assert out.startswith("churn version 3\n  aliases: challenger\n")


def test_show_json_is_the_librarys_version(srv: Path, capsys: Capture) -> None:
    shown = golden_json(capsys, "models", "show", "churn", "2")
    assert shown == as_json(model_registry.get_version("churn", 2))


def test_compare_ranks_best_first_with_the_delta(srv: Path, capsys: Capture) -> None:
    status, out, err = golden(capsys, "models", "compare", "churn", "--metric", "rmse")
    assert status == 0, err
    assert out.splitlines()[0] == "churn: best rmse first (lower is better)"
    assert out.splitlines()[1].split() == [
        "version",
        "aliases",
        "run_id",
        "created",
        "rmse",
        "delta_to_best",
        "r2",
    ]
    rows = table_rows(out)
    expected = model_registry.compare_models("churn", metric="rmse")
    assert [row[0] for row in rows] == ["1", "3", "2"]
    assert [row[1] for row in rows] == ["champion", "challenger", "-"]
    assert [row[2] for row in rows] == [run_id[:8] for run_id in expected["run_id"]]
    assert [row[4] for row in rows] == [f"{value:.6g}" for value in expected["rmse"]]
    assert [row[5] for row in rows] == [f"{value:.6g}" for value in expected["delta_to_best"]]
    assert rows[0][5] == "0"
    assert float(rows[2][5]) > float(rows[1][5]) > 0


def test_compare_chosen_versions_and_direction(srv: Path, capsys: Capture) -> None:
    status, out, err = golden(
        capsys,
        "models",
        "compare",
        "churn",
        "--metric",
        "rmse",
        "--versions",
        "2",
        "champion",
        "--higher-is-better",
    )
    assert status == 0, err
    assert out.splitlines()[0] == "churn: best rmse first (higher is better)"
    assert [row[0] for row in table_rows(out)] == ["2", "1"]
    status, out, err = golden(capsys, "models", "compare", "churn", "--metric", "r2", "--lower-is-better")
    assert status == 0, err
    assert [row[0] for row in table_rows(out)] == ["2", "3", "1"]


def test_compare_json_is_the_librarys_table(srv: Path, capsys: Capture) -> None:
    compared = golden_json(capsys, "models", "compare", "churn", "--metric", "r2")
    expected = model_registry.compare_models("churn", metric="r2")
    assert [row["version"] for row in compared] == [1, 3, 2]
    assert [row["run_id"] for row in compared] == list(expected["run_id"])
    assert [row["created"] for row in compared] == [stamp.isoformat() for stamp in expected["created"]]
    for column in ("r2", "delta_to_best", "rmse"):
        assert [row[column] for row in compared] == list(expected[column])


def test_promote_moves_the_alias_and_names_the_previous_holder(srv: Path, capsys: Capture) -> None:
    assert golden(capsys, "models", "promote", "promoted", "1") == (
        0,
        "promoted version 1 is now @champion\n",
        "",
    )
    assert golden(capsys, "models", "promote", "promoted", "latest") == (
        0,
        "promoted version 2 is now @champion (moved from version 1)\n",
        "",
    )
    assert model_registry.get_version("promoted", "@champion").version == 2
    assert model_registry.get_version("promoted", 1).aliases == ()
    assert golden(capsys, "models", "promote", "promoted", "2") == (
        0,
        "promoted version 2 is now @champion (it already was)\n",
        "",
    )
    moved = golden_json(capsys, "models", "promote", "promoted", "@champion", "--alias", "@challenger")
    assert (moved["version"], moved["alias"], moved["previous_version"]) == (2, "challenger", None)
    assert moved["aliases"] == ["challenger", "champion"]
    expected = as_json(model_registry.get_version("promoted", 2))
    assert moved == {**expected, "alias": "challenger", "previous_version": None}


def raised_by(call: Callable[[], object]) -> BaseException:
    """What ``call`` raises (it must raise)."""
    with pytest.raises((model_registry.RegistryError, ValueError, TypeError)) as raised:
        call()
    return raised.value


@pytest.mark.parametrize(
    ("argv", "call", "listed"),
    [
        (
            ["show", "nothing_here"],
            lambda: model_registry.get_version("nothing_here"),
            "registered models: churn, empty, other, promoted",
        ),
        (["show", "churn", "9"], lambda: model_registry.get_version("churn", 9), "its versions: 1, 2, 3"),
        (
            ["show", "churn", "nope"],
            lambda: model_registry.get_version("churn", "@nope"),
            "its aliases: @challenger (version 3), @champion (version 1)",
        ),
        (
            ["compare", "churn", "--metric", "f1"],
            lambda: model_registry.compare_models("churn", metric="f1"),
            "their metrics: r2, rmse",
        ),
        (
            ["compare", "churn", "--metric", "rmse", "--versions", "1", "7"],
            lambda: model_registry.compare_models("churn", metric="rmse", versions=[1, 7]),
            "its versions: 1, 2, 3",
        ),
        (
            ["promote", "churn", "@nope"],
            lambda: model_registry.promote("churn", "@nope"),
            "its aliases: @challenger",
        ),
        (
            ["promote", "churn", "1", "--alias", "latest"],
            lambda: model_registry.promote("churn", 1, alias="latest"),
            "alias 'latest' is not allowed",
        ),
        (
            ["compare", "empty", "--metric", "rmse"],
            lambda: model_registry.compare_models("empty", metric="rmse"),
            "has no version yet",
        ),
        (["show", "churn", "v2"], lambda: model_registry.get_version("churn", "v2"), "is not understood"),
    ],
)
def test_errors_exit_1_with_the_librarys_message(
    srv: Path, capsys: Capture, argv: list[str], call: Callable[[], object], listed: str
) -> None:
    expected = raised_by(call)
    assert listed in str(expected)
    for extra in ([], ["--json"]):
        status, out, err = golden(capsys, "models", *argv, *extra)
        assert (status, out) == (1, "")
        assert err == f"golden models: {expected}\n"
    assert model_registry.get_version("churn", "@champion").version == 1


def test_an_unreachable_server_is_an_error_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://user:pw-DISTINCTIVE-7f1@127.0.0.1:9")
    status, out, err = golden(capsys, "models", "list")
    assert (status, out) == (1, "")
    assert err.startswith("golden models: the MLflow tracking server http://***@127.0.0.1:9 does not answer")
    assert "pw-DISTINCTIVE-7f1" not in err
    assert "Traceback" not in err


def test_no_action_is_a_usage_error(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["models"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: golden models")
    assert "the following arguments are required: ACTION" in err


def test_help_says_where_the_registry_is(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["models", "list", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "MLFLOW_TRACKING_URI" in out
    assert "<GOLDEN_SRV_DIR>/app/model/registry/mlflow.db" in out


def test_python_m_dsdl_golden_models_list(module_srv: Path) -> None:
    environ = child_environ(GOLDEN_SRV_DIR=str(module_srv), MLFLOW_DISABLE_TELEMETRY="true")
    run = subprocess.run(
        [sys.executable, "-m", "dsdl_golden", "models", "list", "--json"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    listed = {row["name"]: row for row in json.loads(run.stdout)}
    assert set(listed) == {"churn", "empty", "other", "promoted"}
    assert (listed["churn"]["versions"], listed["churn"]["aliases"]) == (3, "champion=1, challenger=3")
