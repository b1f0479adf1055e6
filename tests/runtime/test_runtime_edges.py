"""The model API's edges: what DSDL users read in its answers and what their notebooks rely on.

Answers word for word (``/compute``, a failing staging, a missing module, a module linked out of the
package, a notebook with a syntax error), ``/summary`` of a model whose ``summary`` raises or returns
bytes, staged files (private, their folder created, the session key removed), ``/apply`` noticing a
model file changed on disk (DSDL serves the stale one), the exported module as Python sees it
(``__name__``, ``__file__``, ``__package__``, ``sys.modules``), ``/readyz`` when telemetry cannot
start and the flush of buffered spans at shutdown.

These tests kill mutants that ``./dev mutate runtime`` found surviving.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from fastapi import FastAPI
from golden_testing import events_of_type, serve
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dsdl_golden import telemetry_helper
from dsdl_golden._runtime.calls import _without_session_keys
from dsdl_golden._runtime.modules import ModuleLoader
from dsdl_golden._runtime.observability import flush_tracing, start_tracing, tracing_wanted
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.runtime import create_app

pytestmark = pytest.mark.integration

TOKEN = "api-3b7e91c4-edges-token"
CSV = "i,x\n0,0.5\n1,1.5\n2,2.5\n"


def meta(model_name: str = "m1", algo: str = "edge", **params: str) -> dict[str, Any]:
    return {"options": {"params": {"algo": algo, **params}, "model_name": model_name}}


def edge_module(data: Path, extra: str = "") -> str:
    """A DSDL module with JSON model files whose ``apply`` shows what it was given: the model, what
    ``summary`` last saw, how many times ``load`` ran and the model name from ``param``; ``extra``
    (definitions) replaces some of its functions."""
    return f'''
import json
import pandas as pd

MODEL_DIRECTORY = "{data}/"
LOADS = []
SUMMARIES = []


def init(df, param):
    return {{"rows": len(df), "of": param["options"].get("model_name")}}


def fit(model, df, param):
    return {{"message": "model trained"}}


def apply(model, df, param):
    return pd.DataFrame(
        {{
            "model": json.dumps(model, sort_keys=True),
            "summary_saw": json.dumps(SUMMARIES[-1], sort_keys=True),
            "loads": len(LOADS),
            "model_name": param["options"].get("model_name"),
        }},
        index=df.index,
    )


def save(model, name):
    with open(MODEL_DIRECTORY + name + ".json", "w") as file:
        json.dump(model, file)
    return model


def load(name):
    LOADS.append(name)
    with open(MODEL_DIRECTORY + name + ".json") as file:
        return json.load(file)


def summary(model=None):
    SUMMARIES.append(model)
    return {{"version": {{}}, "model": model}}
{extra}
'''


@pytest.fixture
def environment(srv: Path) -> dict[str, str]:
    return {"api_token": TOKEN, "GOLDEN_SRV_DIR": str(srv), "GOLDEN_SPOOL_DIR": str(srv.parent / "spool")}


@pytest.fixture
def package(srv: Path) -> Path:
    """The model package, with the module ``edge``."""
    root = srv / "app" / "model"
    (root / "edge.py").write_text(edge_module(root / "data"))
    return root


@pytest.fixture
def api(package: Path, environment: dict[str, str]) -> Iterator[str]:
    with serve(create_app(load_settings(environment), environment)) as url:
        yield url


def post(url: str, path: str, body: Any) -> dict[str, Any]:
    response = requests.post(url + path, data=json.dumps(body), headers={"Authorization": TOKEN}, timeout=60)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert isinstance(answer, dict)
    return answer


def first_row(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["status"] == "success", answer["message"]
    row = pd.read_csv(io.StringIO(answer["results"])).iloc[0].to_dict()
    return {
        str(name): json.loads(value) if name in {"model", "summary_saw"} else value
        for name, value in row.items()
    }


def summary_of(url: str) -> dict[str, Any]:
    response = requests.get(url + "/summary", headers={"Authorization": TOKEN}, timeout=30)
    assert response.status_code == 200, response.text
    facts = json.loads(response.json())
    assert isinstance(facts, dict)
    return facts


# /compute and /summary


def test_compute_answers_dsdls_deprecation_in_full(api: str) -> None:
    response = requests.post(api + "/compute", data=b"{}", headers={"Authorization": TOKEN}, timeout=10)
    assert response.status_code == 410
    assert response.json() == {
        "status": "deprecated",
        "message": "/compute has been deprecated and disabled. Use /fit and /apply instead.",
    }


def test_a_summary_that_raises_is_shown_as_an_error_in_the_summary(package: Path, api: str) -> None:
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\nBROKEN = []\n\n\ndef summary(model=None):\n"
            "    if BROKEN:\n        raise RuntimeError('the model is gone')\n    return {}\n\n\n"
            "def apply(model, df, param):\n    BROKEN.append(True)\n    return df\n",
        )
    )
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    facts = summary_of(api)
    assert facts["model"] == str({"rows": 3, "of": "m1"})
    assert facts["model_summary"] == {"error": "summary(model) raised RuntimeError: the model is gone"}


def test_a_summary_holding_bytes_is_shown_as_their_text(package: Path, api: str) -> None:
    # DSDL's graphics helper keeps a plot as bytes: DSDL's own /summary fails on it.
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\n\ndef summary(model=None):\n    SUMMARIES.append(model)\n    return {'plot': b'PNG'}\n",
        )
    )
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    assert summary_of(api)["model_summary"] == {"plot": "b'PNG'"}


# Staging


def test_staged_files_are_private_and_their_missing_folders_are_created(api: str, srv: Path) -> None:
    (srv / "notebooks" / "data").rmdir()
    (srv / "notebooks").rmdir()
    answer = post(api, "/fit", {"data": CSV, "meta": meta("s1", mode="stage")})
    assert answer["status"] == "staged", answer["message"]
    for name in ("s1.csv", "s1.json"):
        assert (srv / "notebooks" / "data" / name).stat().st_mode & 0o777 == 0o600, name


def test_staging_that_cannot_write_answers_unable_to_stage_dataframe(api: str, srv: Path) -> None:
    staging = srv / "notebooks" / "data"
    staging.rmdir()
    staging.write_text("a file where the staging folder should be")
    answer = post(api, "/fit", {"data": CSV, "meta": meta("s1", mode="stage")})
    assert answer["status"] == "error"
    assert answer["message"].startswith(
        "/fit: ERROR: unable to stage dataframe. Ended with exception: FileExistsError: "
    )


@pytest.mark.parametrize(
    "search_info", [None, {"app": "search", "owner": "admin"}], ids=["no search_info", "no session_key"]
)
def test_a_staged_meta_without_a_session_key_is_saved_as_sent(
    api: str, srv: Path, search_info: dict[str, str] | None
) -> None:
    sent = meta("s2", mode="stage")
    if search_info is not None:
        sent["options"]["search_info"] = search_info
    assert post(api, "/fit", {"data": CSV, "meta": sent})["status"] == "staged"
    assert json.loads((srv / "notebooks" / "data" / "s2.json").read_text()) == sent


def test_removing_the_session_key_leaves_the_callers_meta_untouched() -> None:
    sent = {"options": {"search_info": {"session_key": "live-splunk-session", "app": "search"}}}
    cleaned = _without_session_keys(sent)
    assert cleaned == {
        "options": {"search_info": {"session_key": "(removed by dsdl-golden)", "app": "search"}}
    }
    assert sent["options"]["search_info"]["session_key"] == "live-splunk-session"


def test_a_staged_request_is_reported_with_its_model_name_and_rows(
    telemetry_to_emulator: SplunkEmulator, srv: Path, environment: dict[str, str]
) -> None:
    with serve(create_app(load_settings(environment), environment)) as url:
        assert post(url, "/fit", {"data": CSV, "meta": meta("s3", mode="stage")})["status"] == "staged"
    assert telemetry_helper.flush(20)
    (event,) = (record["event"] for record in events_of_type(telemetry_to_emulator, "request"))
    assert {
        name: event.get(name) for name in ("path", "status", "algo", "model_name", "rows_in", "rows_out")
    } == {
        "path": "/fit",
        "status": "staged",
        "algo": None,
        "model_name": "s3",
        "rows_in": 3,
        "rows_out": None,
    }


# /fit and /apply


def test_apply_passes_the_loaded_model_and_the_meta_to_the_module(api: str) -> None:
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    for loads in (1, 1):  # loaded once, then kept in memory
        row = first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))
        assert row == {
            "model": {"rows": 3, "of": "m1"},
            "summary_saw": {"rows": 3, "of": "m1"},
            "loads": loads,
            "model_name": "m1",
        }


def test_fit_passes_the_meta_to_init_and_the_model_to_summary_and_apply(api: str, srv: Path) -> None:
    row = first_row(post(api, "/fit", {"data": CSV, "meta": meta()}))
    model = {"rows": 3, "of": "m1"}
    assert row == {"model": model, "summary_saw": model, "loads": 0, "model_name": "m1"}
    assert summary_of(api)["model"] == str(model)


def test_a_fit_without_a_model_name_saves_the_default_model(api: str, package: Path) -> None:
    sent = {"options": {"params": {"algo": "edge"}}}
    assert post(api, "/fit", {"data": CSV, "meta": sent})["status"] == "success"
    assert json.loads((package / "data" / "edge_default.json").read_text())["rows"] == 3


def test_a_fit_whose_apply_fails_is_unable_to_apply_model(api: str, package: Path) -> None:
    (package / "edge.py").write_text(
        edge_module(package / "data", "\n\ndef apply(model, df, param):\n    raise KeyError('score')\n")
    )
    assert post(api, "/fit", {"data": CSV, "meta": meta()}) == {
        "status": "error",
        "message": "/fit: ERROR: unable to apply model. Ended with exception: KeyError: 'score'",
    }


def test_an_exception_without_text_is_named_by_its_repr(api: str, package: Path) -> None:
    (package / "edge.py").write_text(
        edge_module(package / "data", "\n\ndef init(df, param):\n    raise ValueError()\n")
    )
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["message"] == (
        "/fit: ERROR: unable to initialize module. Ended with exception: ValueError: ValueError()"
    )


def test_an_exception_that_cannot_be_printed_still_names_the_step_and_its_type(
    api: str, package: Path
) -> None:
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\n\nclass Unprintable(Exception):\n    def __str__(self):\n"
            "        raise ValueError('no text')\n\n\ndef init(df, param):\n    raise Unprintable()\n",
        )
    )
    assert post(api, "/fit", {"data": CSV, "meta": meta()}) == {
        "status": "error",
        "message": "/fit: ERROR: unable to initialize module. Ended with exception: Unprintable: "
        "<its str() failed with ValueError>",
    }


_PARSE = "/fit: ERROR: " + (
    'unable to parse json from POST data. Provide a JSON object with structure { "data" : "<string of csv '
    'serialized pandas dataframe>", "meta" : {<json dict object for parameters>}}. Ended with exception: '
)
_CONVERT = "/fit: ERROR: unable to convert raw data to pandas dataframe. Ended with exception: "


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([CSV], _PARSE + "TypeError: the body is a JSON list, not an object"),
        ({"data": CSV, "meta": ["options"]}, _PARSE + "TypeError: meta is a list, not an object"),
        (
            {"data": CSV, "meta": {"options": "algo=edge"}},
            _CONVERT + "TypeError: meta.options is a str, not an object",
        ),
        (
            {"data": CSV, "meta": {"options": {"params": {"mode": "fit"}}}},
            "/fit: ERROR: unable to load algo code from module. Ended with exception: ValueError: no algo: "
            "add algo=<notebook name> to the search, e.g. | fit MLTKContainer algo=my_model ...",
        ),
    ],
)
def test_malformed_requests_are_told_exactly_what_is_wrong(api: str, body: Any, message: str) -> None:
    assert post(api, "/fit", body) == {"status": "error", "message": message}


def test_answers_are_json(api: str) -> None:
    for response in (
        requests.get(api + "/healthz", timeout=10),
        requests.get(api + "/readyz", timeout=10),
        requests.post(api + "/fit", data=b"{}", headers={"Authorization": TOKEN}, timeout=10),
        requests.post(api + "/compute", data=b"{}", headers={"Authorization": TOKEN}, timeout=10),
    ):
        assert response.headers["content-type"] == "application/json", response.url


def test_a_notebook_can_import_a_helper_of_the_model_package(
    package: Path, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry])
    before = {
        name: module for name, module in sys.modules.items() if name == "app" or name.startswith("app.")
    }
    for name in before:
        del sys.modules[name]
    (package / "edge_helper.py").write_text("FACTOR = 7\n")
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\nfrom app.model import edge_helper\n\n\ndef apply(model, df, param):\n"
            "    return pd.DataFrame({'scaled': df['x'] * edge_helper.FACTOR})\n",
        )
    )
    try:
        with serve(create_app(load_settings(environment), environment)) as url:
            answer = post(url, "/fit", {"data": CSV, "meta": meta()})
    finally:
        for name in [name for name in sys.modules if name == "app" or name.startswith("app.")]:
            if name not in before and not name.startswith("app.model.edge"):
                del sys.modules[name]
        sys.modules.update(before)
    assert answer["status"] == "success", answer["message"]
    assert pd.read_csv(io.StringIO(answer["results"]))["scaled"].tolist() == [3.5, 10.5, 17.5]


def test_a_model_file_replaced_on_disk_is_loaded_again_on_apply(api: str, package: Path) -> None:
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    assert first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))["loads"] == 1
    (package / "data" / "edge_m1.json").write_text(json.dumps({"rows": 1000}))  # copied in by hand
    row = first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))
    assert (row["model"], row["loads"]) == ({"rows": 1000}, 2)


def test_a_model_re_fitted_into_files_that_look_unchanged_is_loaded_again(api: str, package: Path) -> None:
    # Same size and time stamp after the second fit: only the fit itself tells that the model changed.
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\nimport os\n\n\ndef save(model, name):\n    path = MODEL_DIRECTORY + name + '.json'\n"
            "    with open(path, 'w') as file:\n        json.dump(model, file)\n"
            "    os.utime(path, ns=(10**18, 10**18))\n",
        )
    )
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    assert first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))["model"] == {"rows": 3, "of": "m1"}
    assert post(api, "/fit", {"data": CSV + "3,3.5\n", "meta": meta()})["status"] == "success"
    assert first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))["model"] == {"rows": 4, "of": "m1"}


def test_a_model_saved_as_several_files_stays_in_memory(api: str, package: Path) -> None:
    data = package / "data"
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    (data / "edge_m1.weights").write_bytes(b"\x00" * 10)
    (data / "edge_m1.0").symlink_to(data / "nowhere")  # a dangling link among the files is skipped
    loads = [first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))["loads"] for _ in range(3)]
    assert loads == [1, 1, 1]
    (data / "edge_m1.weights").write_bytes(b"\x01" * 11)  # a file after the dangling link changed
    assert first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))["loads"] == 2


def test_a_model_file_linked_to_another_version_is_loaded_again(api: str, package: Path) -> None:
    data = package / "data"
    versions = data / "versions"
    versions.mkdir()
    (versions / "a.json").write_text(json.dumps({"rows": 111}))
    (versions / "b.json").write_text(json.dumps({"rows": 222}))  # same size
    stamp = (versions / "a.json").stat().st_mtime_ns
    os.utime(versions / "b.json", ns=(stamp, stamp))
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    model = data / "edge_m1.json"
    model.unlink()
    model.symlink_to(versions / "a.json")
    assert first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))["model"] == {"rows": 111}
    model.unlink()
    model.symlink_to(versions / "b.json")
    assert first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))["model"] == {"rows": 222}


def test_a_re_exported_module_loads_the_model_with_its_own_load(api: str, package: Path) -> None:
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    assert first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))["model"] == {"rows": 3, "of": "m1"}
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\n\ndef load(name):\n    LOADS.append(name)\n    return {'loaded by': 'the new export'}\n",
        )
    )
    row = first_row(post(api, "/apply", {"data": CSV, "meta": meta()}))
    assert row["model"] == {"loaded by": "the new export"}


def test_an_apply_returning_columns_as_a_dict_is_answered_as_a_table(api: str, package: Path) -> None:
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\n\ndef apply(model, df, param):\n    return {'double': (df['x'] * 2).tolist()}\n",
        )
    )
    answer = post(api, "/fit", {"data": CSV, "meta": meta()})
    assert answer["status"] == "success", answer["message"]
    assert pd.read_csv(io.StringIO(answer["results"]))["double"].tolist() == [1.0, 3.0, 5.0]


def test_a_result_that_cannot_be_written_as_csv_is_unable_to_apply_model(api: str, package: Path) -> None:
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\n\nclass Unprintable:\n    def __str__(self):\n        raise ValueError('no text')\n\n\n"
            "def apply(model, df, param):\n    return pd.DataFrame({'a': [Unprintable()], 'b': [1]})\n",
        )
    )
    answer = post(api, "/fit", {"data": CSV, "meta": meta()})
    assert answer == {
        "status": "error",
        "message": "/fit: ERROR: unable to apply model. Ended with exception: ValueError: no text",
    }


def test_apply_of_a_missing_module_names_the_modules_there(api: str, package: Path) -> None:
    (package / "other.py").write_text("")
    root = package.resolve()
    answer = post(api, "/apply", {"data": CSV, "meta": meta(algo="nosuch")})
    assert answer == {
        "status": "error",
        "message": (
            "/apply: ERROR: unable to initialize module. Ended with exception: FileNotFoundError: no module "
            f"'nosuch' in {root}: export the notebook nosuch.ipynb (save it in Jupyter, or golden export); "
            "modules there: edge, other"
        ),
    }


def test_a_missing_module_in_an_empty_package_says_none_are_there(
    srv: Path, environment: dict[str, str]
) -> None:
    root = (srv / "app" / "model").resolve()
    with serve(create_app(load_settings(environment), environment)) as url:
        answer = post(url, "/fit", {"data": CSV, "meta": meta(algo="nosuch")})
    assert answer["message"].endswith(
        f"no module 'nosuch' in {root}: export the notebook nosuch.ipynb (save it in Jupyter, or golden "
        "export); modules there: none"
    )


def test_a_module_linked_out_of_the_package_is_refused_with_its_reason(
    api: str, package: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text(edge_module(package / "data"))
    (package / "linked.py").symlink_to(outside)
    answer = post(api, "/fit", {"data": CSV, "meta": meta(algo="linked")})
    assert answer == {
        "status": "error",
        "message": (
            "/fit: ERROR: unable to load algo code from module. Ended with exception: ModuleNotAllowedError: "
            f"module 'linked' links outside the model package {package.resolve()}"
        ),
    }


def test_a_notebook_with_a_syntax_error_is_named_with_its_line(api: str, package: Path) -> None:
    (package / "edge.py").write_text("import json\ndef init(df, param)\n    return {}\n")
    answer = post(api, "/fit", {"data": CSV, "meta": meta()})
    assert answer["message"] == (
        "/fit: ERROR: unable to load algo code from module. Ended with exception: SyntaxError: "
        "expected ':' (edge.py, line 2)"
    )


@pytest.mark.timeout(120)
def test_calls_of_a_re_exported_module_wait_for_the_call_in_flight(api: str, package: Path) -> None:
    fitting, gate = package.parent / "fitting", package.parent / "gate"
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\nimport pathlib, time\n\n\ndef fit(model, df, param):\n"
            f"    pathlib.Path({str(fitting)!r}).touch()\n"
            f"    while not pathlib.Path({str(gate)!r}).exists():\n        time.sleep(0.01)\n"
            f"    pathlib.Path({str(fitting)!r}).unlink()\n    return {{}}\n",
        )
    )
    answers: dict[str, dict[str, Any]] = {}

    def call(path: str) -> None:
        answers[path] = post(api, path, {"data": CSV, "meta": meta()})

    fit = threading.Thread(target=call, args=("/fit",))
    fit.start()
    apply = threading.Thread(target=call, args=("/apply",))
    try:
        deadline = time.monotonic() + 60
        while not fitting.exists() and fit.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        (package / "edge.py").write_text(
            edge_module(
                package / "data",
                "\nimport pathlib\n\n\ndef apply(model, df, param):\n"
                f"    running = pathlib.Path({str(fitting)!r}).exists()\n"
                "    return pd.DataFrame({'fit_in_progress': [running]})\n",
            )
        )
        apply.start()
        apply.join(2)  # an apply that did not wait for the fit answers now
    finally:
        gate.touch()
        fit.join(60)
        if apply.is_alive() or apply.ident is not None:
            apply.join(60)
    assert answers["/fit"]["status"] == "success", answers["/fit"]["message"]
    assert answers["/apply"]["status"] == "success", answers["/apply"]["message"]
    assert pd.read_csv(io.StringIO(answers["/apply"]["results"]))["fit_in_progress"].tolist() == [False]


def body_of_size(size: int) -> bytes:
    """A valid /fit body of exactly ``size`` bytes (JSON allows trailing blanks)."""
    body = json.dumps({"data": CSV, "meta": meta()}).encode()
    return body + b" " * (size - len(body))


def test_the_body_limit_is_exactly_max_request_mb_and_refusals_reach_splunk(
    telemetry_to_emulator: SplunkEmulator, package: Path, environment: dict[str, str]
) -> None:
    (package / "edge.py").write_text(
        edge_module(package / "data", "\n\ndef init(df, param):\n    raise ValueError('x' * 3000)\n")
    )
    environment["GOLDEN_MAX_REQUEST_MB"] = "1"
    limit = 1024 * 1024
    headers = {"Authorization": TOKEN}
    with serve(create_app(load_settings(environment), environment)) as url:
        declared = requests.post(url + "/fit", data=body_of_size(limit), headers=headers, timeout=60)
        chunked = requests.post(url + "/fit", data=iter([body_of_size(limit)]), headers=headers, timeout=60)
        over = requests.post(url + "/fit", data=body_of_size(limit + 1), headers=headers, timeout=60)
    for answer in (declared, chunked):  # at the limit: read, and the module's failure answered
        assert (answer.status_code, answer.json()["status"]) == (200, "error")
    assert over.status_code == 413
    assert over.json() == {
        "status": "error",
        "message": "/fit: ERROR: the request body is larger than 1 MiB: send fewer rows or columns, or raise "
        "GOLDEN_MAX_REQUEST_MB",
    }
    assert telemetry_helper.flush(20)
    records = events_of_type(telemetry_to_emulator, "request")
    events = [record["event"] for record in records]
    assert [(event["status"], event["http_status"]) for event in events] == [
        ("error", 200),
        ("error", 200),
        ("error", 413),
    ]
    assert events[2]["path"] == "/fit"
    assert (
        events[0]["detail"]
        == ("/fit: ERROR: unable to initialize module. Ended with exception: ValueError: " + "x" * 3000)[
            :1000
        ]
    )
    assert [record.get("fields", {}).get("level") for record in records] == ["ERROR"] * 3


def test_a_successful_request_reaches_splunk_as_info(
    telemetry_to_emulator: SplunkEmulator, package: Path, environment: dict[str, str]
) -> None:
    with serve(create_app(load_settings(environment), environment)) as url:
        assert post(url, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    assert telemetry_helper.flush(20)
    (record,) = events_of_type(telemetry_to_emulator, "request")
    assert (record["event"]["status"], record["event"]["duration_s"] < 3600) == ("success", True)
    assert record.get("fields", {}).get("level") == "INFO"


def test_the_settings_are_read_from_the_environ_given(srv: Path, environment: dict[str, str]) -> None:
    environment["GOLDEN_MAX_REQUEST_MB"] = "1"
    with serve(create_app(environ=environment)) as url:
        response = requests.post(
            url + "/fit", data=body_of_size(1024 * 1024 + 1), headers={"Authorization": TOKEN}, timeout=60
        )
    assert response.status_code == 413


def test_without_an_environ_the_token_is_read_from_the_process_environment(
    srv: Path, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("api_token", TOKEN)
    with serve(create_app(load_settings(environment))) as url:
        response = requests.get(url + "/", headers={"Authorization": TOKEN}, timeout=10)
    assert response.status_code == 200
    assert json.loads(response.json())["token"] == "valid"


def test_the_module_app_is_built_once_from_the_process_environment(
    srv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsdl_golden import runtime

    monkeypatch.delattr(runtime, "app", raising=False)
    monkeypatch.setenv("api_token", TOKEN)
    try:
        app = runtime.app
        assert runtime.app is app
        assert isinstance(app, FastAPI)
        with serve(app) as url:
            assert requests.get(url + "/", headers={"Authorization": TOKEN}, timeout=10).status_code == 200
        with pytest.raises(AttributeError, match=r"^module 'dsdl_golden.runtime' has no attribute 'nosuch'$"):
            _ = runtime.nosuch
    finally:
        vars(runtime).pop("app", None)


# The exported module as Python sees it


@pytest.fixture
def loader(tmp_path: Path) -> Iterator[ModuleLoader]:
    """A loader of a package in ``tmp_path``; the modules it registers are removed afterwards."""
    before = set(sys.modules)
    yield ModuleLoader(tmp_path)
    for name in set(sys.modules) - before:
        if name.startswith("app.model.edge_loader_"):
            del sys.modules[name]


def test_a_module_runs_as_app_model_algo_with_its_file_and_package(
    loader: ModuleLoader, tmp_path: Path
) -> None:
    path = tmp_path / "edge_loader_facts.py"
    path.write_text(
        "import sys\nNAME, FILE, PACKAGE = __name__, __file__, __package__\nSELF = sys.modules[__name__]\n"
    )
    module = loader.get("edge_loader_facts").module
    facts = (module.NAME, module.FILE, module.PACKAGE)
    assert facts == ("app.model.edge_loader_facts", str(path), "app.model")
    assert module.SELF is module  # pickle and dataclasses find the module while it runs
    assert sys.modules["app.model.edge_loader_facts"] is module


def test_a_module_failing_at_its_first_run_is_not_left_importable(
    loader: ModuleLoader, tmp_path: Path
) -> None:
    (tmp_path / "edge_loader_broken.py").write_text("import sys\nLOADED = sys.modules[__name__]\n1 / 0\n")
    with pytest.raises(ZeroDivisionError):
        loader.get("edge_loader_broken")
    assert "app.model.edge_loader_broken" not in sys.modules


def test_a_re_export_that_fails_leaves_the_last_good_module_importable(
    loader: ModuleLoader, tmp_path: Path
) -> None:
    path = tmp_path / "edge_loader_again.py"
    path.write_text("VERSION = 1\n")
    good = loader.get("edge_loader_again").module
    path.write_text("VERSION = 2\nraise ImportError('no such library')\n")
    with pytest.raises(ImportError, match="no such library"):
        loader.get("edge_loader_again")
    assert sys.modules["app.model.edge_loader_again"] is good


# /readyz and tracing


def test_readiness_says_telemetry_is_off_when_it_cannot_start(
    api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telemetry_helper, "_telemetry", None)
    monkeypatch.setenv("GOLDEN_MAX_REQUEST_MB", "lots")  # the process's settings are invalid
    response = requests.get(api + "/readyz", timeout=10)
    assert (response.status_code, response.json()) == (
        200,
        {"status": "ready", "checks": {"model_directory": "ok", "model_package": "ok", "telemetry": "off"}},
    )


class _FlushTimeouts(SpanProcessor):
    """Records the time each flush may take."""

    def __init__(self) -> None:
        self.timeouts: list[int] = []

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.timeouts.append(timeout_millis)
        return True


def test_flush_tracing_exports_the_buffered_spans_within_five_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = TracerProvider()
    timeouts = _FlushTimeouts()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(timeouts)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=600_000))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    try:
        with provider.get_tracer("edges").start_as_current_span("the last request"):
            pass
        assert exporter.get_finished_spans() == ()
        flush_tracing()
        assert [span.name for span in exporter.get_finished_spans()] == ["the last request"]
        (timeout,) = timeouts.timeouts
        assert 4000 < timeout <= 5000
    finally:
        provider.shutdown()


def test_flush_tracing_without_a_tracing_sdk_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.delenv("OTEL_PYTHON_TRACER_PROVIDER", raising=False)
    flush_tracing()  # the API's own no-op provider has nothing to flush


def test_tracing_without_its_packages_is_off_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "splunk_otel", None)
    with caplog.at_level(logging.WARNING, logger="dsdl_golden.runtime"):
        assert start_tracing(FastAPI(), {"olly_enabled": "true"}) is False
    assert [record.getMessage() for record in caplog.records] == [
        "olly_enabled is set but tracing is off: import of splunk_otel halted; None in sys.modules "
        "(install dsdl-golden[observability])"
    ]


def test_tracing_is_off_without_olly_enabled() -> None:
    assert start_tracing(FastAPI(), {"olly_enabled": "false"}) is False


def test_olly_enabled_on_is_one_of_our_flag_words() -> None:
    assert tracing_wanted({"olly_enabled": " On "}) is True


def test_each_request_is_a_json_line_in_the_container_log_with_its_facts(
    package: Path,
    environment: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in the container's process: no handler yet (an app a module fixture made keeps its own).
    monkeypatch.setattr(logging.getLogger("dsdl_golden"), "handlers", [])
    started = time.perf_counter()
    with serve(create_app(load_settings(environment), environment)) as url:
        assert post(url, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
        assert post(url, "/apply", {"data": CSV, "meta": meta(algo="nosuch")})["status"] == "error"
    elapsed = time.perf_counter() - started
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    requests_logged = [line for line in lines if line.get("type") == "request"]
    assert [(line["message"], line["level"]) for line in requests_logged] == [
        ("/fit success 200", "INFO"),
        ("/apply error 200", "INFO"),
    ]
    fit, failed = requests_logged
    assert (fit["path"], fit["status"], fit["http_status"], fit["algo"], fit["model_name"]) == (
        "/fit",
        "success",
        200,
        "edge",
        "m1",
    )
    assert (fit["rows_in"], fit["rows_out"]) == (3, 3)
    assert 0 < fit["duration_s"] < elapsed
    assert "detail" not in fit
    assert failed["detail"].startswith("/apply: ERROR: ")
    assert "nosuch" in failed["detail"]


@pytest.mark.parametrize(
    ("extra", "path", "message"),
    [
        (
            "\ndef fit(model, df, param):\n    import sys\n    sys.exit(3)\n",
            "/fit",
            "/fit: ERROR: unable to fit model. Ended with exception: SystemExit: 3",
        ),
        (
            "\ndef apply(model, df, param):\n    exit()\n",
            "/fit",
            "/fit: ERROR: unable to apply model. Ended with exception: SystemExit: None",
        ),
        (
            "\nimport sys\nsys.exit('stopped at import')\n",
            "/apply",
            "/apply: ERROR: unable to initialize module. Ended with exception: SystemExit: stopped at import",
        ),
    ],
    ids=["sys.exit-in-fit", "exit-in-apply", "sys.exit-at-import"],
)
def test_a_notebook_that_calls_exit_gets_dsdls_error_answer_not_a_500(
    package: Path, api: str, extra: str, path: str, message: str
) -> None:
    (package / "edge.py").write_text(edge_module(package / "data", extra))
    assert post(api, path, {"data": CSV, "meta": meta()}) == {"status": "error", "message": message}
    assert requests.get(api + "/healthz", timeout=10).status_code == 200


def test_a_model_whose_str_or_summary_exits_or_raises_still_gets_a_summary(package: Path, api: str) -> None:
    (package / "edge.py").write_text(
        edge_module(
            package / "data",
            "\nclass Model(dict):\n    def __str__(self):\n        raise ValueError('no text')\n\n\n"
            "def init(df, param):\n    return Model(rows=len(df))\n\n\nAPPLIED = []\n\n\n"
            "def summary(model=None):\n    if APPLIED:\n        raise SystemExit(2)\n    return {}\n\n\n"
            "def apply(model, df, param):\n    APPLIED.append(True)\n    return df\n",
        )
    )
    assert post(api, "/fit", {"data": CSV, "meta": meta()})["status"] == "success"
    facts = summary_of(api)
    assert facts["model"] == {"error": "str(model) raised ValueError: no text"}
    assert facts["model_summary"] == {"error": "summary(model) raised SystemExit: 2"}
