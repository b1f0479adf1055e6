"""Both directions of compatibility with DSDL's own runtime, each served from a real ``/srv``.

- The template, exported with DSDL's nbconvert template, fits and applies on DSDL's unmodified
  ``app/main.py`` (a customer who keeps DSDL's runtime and installs our package).
- Modules and notebooks written for DSDL's runtime (with ``/srv/app/model/data/`` written into
  them) fit and apply unchanged on ours.

DSDL's code is not part of this repository: it is read from a checkout of
splunk/splunk-mltk-container-docker (``DSDL_REPO``, a work tree or a bare mirror; default: the
mirror the project's ``fetch`` tool makes). Each server runs in its own mount namespace with a
temporary directory bound on ``/srv`` (``unshare --mount``, as root), the path DSDL's code expects.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
import requests
from golden_testing import child_environ, dsdl_module

from dsdl_golden.export import export_notebook
from dsdl_golden.workspace import lay_out

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template"
MIRROR = Path("/work/.mirror/splunk+splunk-mltk-container-docker/repo")
TOKEN = "api-2f7c9e1b-compat-token"


def _dsdl_repository() -> Path | None:
    candidate = Path(os.environ.get("DSDL_REPO", MIRROR))
    return candidate if (candidate / "HEAD").is_file() or (candidate / ".git").exists() else None


def _can_bind_srv() -> bool:
    if not Path("/srv").is_dir() or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "true"], capture_output=True, check=False, env=child_environ()
    )
    return probe.returncode == 0


DSDL = _dsdl_repository()
needs_dsdl = pytest.mark.skipif(
    DSDL is None, reason="no checkout of splunk/splunk-mltk-container-docker (set DSDL_REPO)"
)
needs_srv = pytest.mark.skipif(
    not _can_bind_srv(), reason="needs unshare --mount (root) and a /srv directory"
)


def dsdl_file(path: str) -> bytes:
    """A file of DSDL's repository at its checked-out revision."""
    assert DSDL is not None
    git_dir = DSDL / ".git" if (DSDL / ".git").exists() else DSDL
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), "show", f"HEAD:{path}"],
        capture_output=True,
        check=True,
        env=child_environ(),
    ).stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served_srv(tmp_path: Path) -> Iterator[Any]:
    """Start ``uvicorn app.main:app`` in ``/srv`` = a temporary root; yields ``start(root) -> url``."""
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def start(root: Path) -> str:
        port = _free_port()
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path / "home"),
            "api_token": TOKEN,
            "GOLDEN_SPOOL_DIR": "/srv/spool",
        }
        script = 'mount --bind "$0" /srv && cd /srv && exec "$@"'
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        log = open(tmp_path / f"server-{port}.log", "wb")  # noqa: SIM115 - closed after the process
        logs.append(log)
        process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(root), *command],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError((tmp_path / f"server-{port}.log").read_text())
            try:
                requests.get(url + "/", timeout=1)
                return url
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError("the server did not answer within 60 s")

    yield start
    for process in processes:
        process.terminate()
        process.wait(15)
    for log in logs:
        log.close()


def call(url: str, path: str, frame: pd.DataFrame, meta: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(
        url + path,
        json={"data": frame.to_csv(index=False), "meta": meta},
        headers={"Authorization": TOKEN},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def churn(algo: str, model_name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame = pd.read_csv(TEMPLATE / "data" / "churn_sample.csv")
    meta = json.loads((TEMPLATE / "data" / "churn_sample.json").read_text())
    meta["options"]["params"] = {"algo": algo, "n_estimators": "30"}
    meta["options"]["model_name"] = model_name
    return frame, meta


@needs_dsdl
@needs_srv
def test_the_exported_template_runs_on_dsdls_stock_runtime(tmp_path: Path, served_srv: Any) -> None:
    root = tmp_path / "srv"
    lay_out(root)
    (root / "app" / "main.py").write_bytes(dsdl_file("app/main.py"))
    config = tmp_path / "jupyter"
    config.mkdir()
    (config / "jupyter_notebook_conversion.tpl").write_bytes(
        dsdl_file("config/jupyter_notebook_template.tpl")
    )
    (config / "null.tpl").write_bytes(dsdl_file("config/null.tpl"))
    subprocess.run(  # exactly DSDL's post-save hook command
        [
            sys.executable,
            "-m",
            "nbconvert",
            "--to",
            "python",
            "template_empresa_base.ipynb",
            "--output-dir",
            str(root / "app" / "model"),
            f"--template={config / 'jupyter_notebook_conversion.tpl'}",
        ],
        cwd=TEMPLATE,
        check=True,
        capture_output=True,
    )
    url = served_srv(root)
    frame, meta = churn("template_empresa_base", "churn_stock")

    fitted = call(url, "/fit", frame, meta)
    assert (fitted["status"], fitted["message"]) == ("success", "/fit done successfully")
    predictions = pd.read_csv(io.StringIO(fitted["results"]))
    assert list(predictions.columns) == ["churn", "probability_no", "probability_yes"]
    assert len(predictions) == len(frame)
    assert (root / "app" / "model" / "data" / "template_empresa_base_churn_stock" / "golden.json").is_file()

    applied = call(url, "/apply", frame.drop(columns="churn").head(50), meta)
    assert applied["status"] == "success", applied["message"]
    assert len(pd.read_csv(io.StringIO(applied["results"]))) == 50
    summary = json.loads(requests.get(url + "/summary", headers={"Authorization": TOKEN}, timeout=30).json())
    assert summary["model_summary"]["summary"]["features"] == meta["feature_variables"]


def _serve_on_ours(root: Path, served_srv: Any) -> str:
    lay_out(root)  # our app/main.py
    return str(served_srv(root))


@needs_dsdl
@needs_srv
@pytest.mark.parametrize("notebook", ["barebone_template", "correlationmatrix"])
def test_dsdls_own_notebooks_run_unchanged_on_our_runtime(
    tmp_path: Path, served_srv: Any, notebook: str
) -> None:
    source = tmp_path / f"{notebook}.ipynb"
    source.write_bytes(dsdl_file(f"notebooks/{notebook}.ipynb"))
    root = tmp_path / "srv"
    export_notebook(source, root / "app" / "model")
    nbformat.validate(nbformat.read(source, as_version=4))
    url = _serve_on_ours(root, served_srv)
    frame = pd.DataFrame({"i": range(10), "x": [v * 0.5 for v in range(10)], "y": [v % 3 for v in range(10)]})
    meta = {
        "options": {"params": {"algo": notebook}, "model_name": "compat", "feature_variables": ["x", "y"]},
        "feature_variables": ["x", "y"],
    }
    fitted = call(url, "/fit", frame, meta)
    assert fitted["status"] == "success", fitted["message"]
    applied = call(url, "/apply", frame, meta)
    assert applied["status"] == "success", applied["message"]
    assert applied["results"] == fitted["results"]
    if notebook == "barebone_template":  # the test DSDL's own CI runs: | eval test=i-predicted_index
        assert pd.read_csv(io.StringIO(fitted["results"]))["index"].tolist() == list(range(10))
    assert (root / "app" / "model" / "data").iterdir()


@needs_srv
def test_a_module_with_dsdls_hard_coded_paths_runs_on_our_runtime(tmp_path: Path, served_srv: Any) -> None:
    root = tmp_path / "srv"
    lay_out(root)
    (root / "app" / "model" / "dsdl_style.py").write_text(dsdl_module(Path("/srv/app/model/data")))
    url = served_srv(root)
    frame = pd.DataFrame({"i": range(5)})
    meta = {"options": {"params": {"algo": "dsdl_style"}, "model_name": "m"}}
    assert call(url, "/fit", frame, meta)["status"] == "success"
    assert json.loads((root / "app/model/data/dsdl_style_m.json").read_text())["rows"] == 5
    assert pd.read_csv(io.StringIO(call(url, "/apply", frame, meta)["results"]))["index"].tolist() == list(
        range(5)
    )
