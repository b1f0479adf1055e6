"""`import dsdl_golden` and the `golden` CLI stay light: no framework is imported up front."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from golden_testing import child_environ

HEAVY = ("tensorflow", "torch", "mlflow", "pandas", "numpy", "sklearn", "scipy", "matplotlib", "splunklib")


@pytest.mark.parametrize("module", ["dsdl_golden", "dsdl_golden.config", "dsdl_golden.cli"])
def test_light_modules_import_no_heavy_library(module: str) -> None:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=child_environ()
        ).stdout.split()
    )
    assert not {name for name in loaded if name.split(".")[0] in HEAVY}


# The model API must answer Splunk's probe (GET /) soon after the container starts: no ML framework
# may be imported on its way (each costs seconds; ../shared/notes/measured.md), only when a model
# module needs one.
FRAMEWORKS = (
    "sklearn",
    "torch",
    "tensorflow",
    "keras",
    "mlflow",
    "statsmodels",
    "aeon",
    "matplotlib",
    "scipy",
)
TOKEN = "import-cost-token-2b7e"

# A DSDL-style model module that needs nothing but pandas.
PASSTHROUGH = """
def init(df, param):
    return {}


def fit(model, df, param):
    return {}


def apply(model, df, param):
    return df[["x0"]]


def save(model, name):
    return model


def load(name):
    return {"name": name}


def summary(model=None):
    return {"model": model}
"""

# Run in a fresh interpreter: build the app as the container does, answer GET / (and, with
# "apply", one /apply to the module above), then print every module imported.
SERVE_ONCE = """
import json
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from dsdl_golden.config import load_settings
from dsdl_golden.runtime import create_app
from dsdl_golden.workspace import lay_out

srv, call, module, token = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lay_out(srv)
(srv / "app" / "model" / "passthrough.py").write_text(module)
environ = {"api_token": token, "GOLDEN_SRV_DIR": str(srv), "GOLDEN_SPOOL_DIR": str(srv.parent / "spool")}
with TestClient(create_app(load_settings(environ), environ)) as client:
    response = client.get("/", headers={"Authorization": token})
    assert response.status_code == 200, response.text
    if call == "apply":
        meta = {"options": {"params": {"algo": "passthrough"}, "model_name": "m"}}
        body = json.dumps({"data": "x0,x1\\n0.5,1\\n1.5,2\\n", "meta": meta})
        response = client.post("/apply", content=body, headers={"Authorization": token})
        assert response.json()["status"] == "success", response.text
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("call", ["summary", "apply"])
def test_the_runtime_answers_without_importing_a_framework(tmp_path: Path, call: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", SERVE_ONCE, str(tmp_path / "srv"), call, PASSTHROUGH, TOKEN],
        capture_output=True,
        text=True,
        env=child_environ(),
        check=False,
    )
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout.splitlines()[-1])
    heavy = sorted(name for name in loaded if name.split(".")[0] in FRAMEWORKS)
    assert not heavy, (
        f"create_app + GET /{' + POST /apply' if call == 'apply' else ''} imported {heavy[:20]}: find the "
        "chain with python -X importtime -c 'import dsdl_golden.runtime'"
    )
