"""The model API over HTTP on loopback: DSDL's answers, and where it does better than DSDL."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from golden_testing import dsdl_module, events_of_type, examples, serve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsdl_golden import telemetry_helper
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import SplunkEmulator
from dsdl_golden.runtime import APP_NAME, create_app

pytestmark = pytest.mark.integration

TOKEN = "api-8c41f2d9-runtime-token"
META = {"options": {"params": {"algo": "barebone"}, "model_name": "m1"}}
CSV = "i,x\n0,0.5\n1,1.5\n2,2.5\n"


@pytest.fixture
def environment(srv: Path) -> dict[str, str]:
    return {"api_token": TOKEN, "GOLDEN_SRV_DIR": str(srv), "GOLDEN_SPOOL_DIR": str(srv.parent / "spool")}


@pytest.fixture
def api(srv: Path, environment: dict[str, str]) -> Iterator[str]:
    (srv / "app" / "model" / "barebone.py").write_text(dsdl_module(srv / "app" / "model" / "data"))
    with serve(create_app(load_settings(environment), environment)) as url:
        yield url


def post(url: str, path: str, body: Any, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
    headers = {} if token is None else {"Authorization": token}
    data = body if isinstance(body, bytes | str | Iterator) else json.dumps(body)
    return requests.post(url + path, data=data, headers=headers, timeout=30, **kwargs)


def results(response: requests.Response) -> pd.DataFrame:
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "success", answer["message"]
    return pd.read_csv(io.StringIO(answer["results"]))


@pytest.mark.parametrize("header", [TOKEN, f"Bearer {TOKEN}", f"bearer {TOKEN}", f"Splunk {TOKEN}"])
def test_the_token_alone_or_after_a_scheme_is_accepted(api: str, header: str) -> None:
    response = requests.get(api + "/", headers={"Authorization": header}, timeout=10)
    assert response.status_code == 200
    summary = json.loads(response.json())
    assert summary == {"app": APP_NAME, "version": "5.2.4", "model": "no model exists", "token": "valid"}


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "No header with token"),
        (f"xx{TOKEN}yy", "Invalid token"),  # DSDL's substring check lets this through
        (f"Bearer {TOKEN}x", "Invalid token"),
        (TOKEN[:-1], "Invalid token"),
        ("", "Invalid token"),
    ],
)
def test_other_headers_are_refused_with_dsdls_answer(api: str, header: str | None, detail: str) -> None:
    for method, path in [
        ("GET", "/"),
        ("GET", "/summary"),
        ("POST", "/fit"),
        ("POST", "/apply"),
        ("POST", "/compute"),
    ]:
        headers = {} if header is None else {"Authorization": header}
        response = requests.request(method, api + path, headers=headers, data=b"{}", timeout=10)
        assert response.status_code == 401, path
        assert response.json() == {"detail": detail}
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("environ", "detail"), [({}, "No token setup"), ({"api_token": ""}, "No token defined")]
)
def test_a_container_without_a_token_refuses_everything(
    srv: Path, environ: dict[str, str], detail: str
) -> None:
    settings = load_settings({"GOLDEN_SRV_DIR": str(srv)})
    with serve(create_app(settings, environ)) as url:
        response = requests.get(url + "/", headers={"Authorization": "anything"}, timeout=10)
    assert (response.status_code, response.json()) == (401, {"detail": detail})


def test_liveness_needs_no_token_and_says_nothing_else(api: str) -> None:
    response = requests.get(api + "/healthz", timeout=10)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert requests.get(api + path, timeout=10).status_code == 404


def test_compute_is_gone(api: str) -> None:
    response = post(api, "/compute", {"data": CSV, "meta": META})
    assert response.status_code == 410
    assert response.json()["status"] == "deprecated"


def test_fit_then_apply_a_module_written_for_dsdls_runtime(api: str, srv: Path) -> None:
    fitted = results(post(api, "/fit", {"data": CSV, "meta": META}))
    assert fitted["index"].tolist() == [0, 1, 2]
    assert json.loads((srv / "app/model/data/barebone_m1.json").read_text()) == {
        "hyperparameter": 42.0,
        "rows": 3,
    }
    response = post(api, "/apply", {"data": CSV, "meta": META})
    assert response.json()["message"] == "/apply done successfully"
    assert results(response)["index"].tolist() == [0, 1, 2]
    summary = json.loads(requests.get(api + "/summary", headers={"Authorization": TOKEN}, timeout=10).json())
    assert summary["model"] == str({"hyperparameter": 42.0, "rows": 3})
    assert summary["model_summary"]["model"] == {"hyperparameter": 42.0, "rows": 3}


def test_fit_answers_dsdls_success_shape(api: str) -> None:
    answer = post(api, "/fit", {"data": CSV, "meta": META}).json()
    assert set(answer) == {"status", "message", "results"}
    assert (answer["status"], answer["message"]) == ("success", "/fit done successfully")


def test_apply_loads_a_saved_model_once_until_it_changes(api: str, srv: Path) -> None:
    results(post(api, "/fit", {"data": CSV, "meta": META}))
    loads = [results(post(api, "/apply", {"data": CSV, "meta": META}))["loads"].iloc[0] for _ in range(3)]
    assert loads == [1, 1, 1]
    results(post(api, "/fit", {"data": CSV + "3,3.5\n", "meta": META}))  # saved again: load again
    assert results(post(api, "/apply", {"data": CSV, "meta": META}))["loads"].iloc[0] == 2


def test_a_re_exported_module_is_served_at_once_even_on_apply(api: str, srv: Path) -> None:
    module = srv / "app" / "model" / "barebone.py"
    results(post(api, "/fit", {"data": CSV, "meta": META}))
    stat = module.stat()
    module.write_text(dsdl_module(srv / "app" / "model" / "data", apply_value="df.index * 10"))
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time stamp: DSDL and .pyc would miss it
    assert results(post(api, "/apply", {"data": CSV, "meta": META}))["index"].tolist() == [0, 10, 20]


def test_stage_writes_the_data_as_sent_and_no_session_key(api: str, srv: Path) -> None:
    meta = {
        "options": {
            "params": {"algo": "barebone", "mode": '"stage"'},
            "model_name": "staged_1",
            "search_info": {"session_key": "live-splunk-session", "app": "search"},
        },
        "feature_variables": ["x"],
    }
    data = 'i,x,text\n0,0.1000000000000000055511151231257827,"a,b"\n1,,"multi\nline"\n'
    answer = post(api, "/fit", {"data": data, "meta": meta}).json()
    staged = srv / "notebooks" / "data"
    assert answer == {
        "status": "staged",
        "message": f"Model data staged successfully in {staged / 'staged_1.csv'} - no model was built yet.",
    }
    assert (staged / "staged_1.csv").read_text() == data
    saved = json.loads((staged / "staged_1.json").read_text())
    assert saved["options"]["search_info"] == {"session_key": "(removed by dsdl-golden)", "app": "search"}
    assert saved["feature_variables"] == ["x"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"not json",
            "/fit: ERROR: unable to parse json from POST data. Provide a JSON object with structure",
        ),
        ({"data": CSV}, "unable to parse json from POST data. Provide a JSON object"),
        ({"data": 3, "meta": META}, "data is a int, not a CSV string"),
        (
            {"data": "", "meta": META},
            "/fit: ERROR: unable to convert raw data to pandas dataframe. Ended with",
        ),
        (
            {"data": CSV, "meta": {"options": {"model_name": "../../x"}}},
            "model_name '../../x' is not allowed",
        ),
        (
            {"data": CSV, "meta": {"options": {"params": {}}}},
            "unable to load algo code from module. Ended with exception: ValueError: no algo",
        ),
        ({"data": CSV, "meta": {"options": {"params": {"algo": "nosuch"}}}}, "no module 'nosuch' in"),
        (
            {"data": CSV, "meta": {"options": {"params": {"algo": "../main"}}}},
            "algo '../main' is not allowed",
        ),
        ({"data": CSV, "meta": {"options": {"params": {"algo": "main"}}}}, "no module 'main'"),
    ],
)
def test_bad_requests_get_dsdls_error_answer(api: str, body: Any, message: str) -> None:
    response = post(api, "/fit", body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "error"
    assert message in answer["message"]
    assert "results" not in answer


@pytest.mark.parametrize(
    ("broken", "path", "message"),
    [
        (
            "def init(df, param):\n    raise KeyError('k')",
            "/fit",
            "/fit: ERROR: unable to initialize module. Ended with exception: KeyError: 'k'",
        ),
        (
            "def fit(model, df, param):\n    1 / 0",
            "/fit",
            "unable to fit model. Ended with exception: ZeroDivisionError: division by zero",
        ),
        (
            "def save(model, name):\n    raise OSError('disk full')",
            "/fit",
            "unable to save model. Ended with exception: OSError: disk full",
        ),
        (
            "def apply(model, df, param):\n    raise ValueError('bad rows')",
            "/apply",
            "/apply: ERROR: unable to apply model. Ended with exception: ValueError: bad rows",
        ),
        (
            "def load(name):\n    raise FileNotFoundError(name)",
            "/apply",
            "/apply: ERROR: unable to initialize module",
        ),
        (
            "import no_such_library",
            "/fit",
            "unable to load algo code from module. Ended with exception: ModuleNotFoundError",
        ),
    ],
)
def test_a_failing_module_step_is_named(api: str, srv: Path, broken: str, path: str, message: str) -> None:
    results(post(api, "/fit", {"data": CSV, "meta": META}))
    module = srv / "app" / "model" / "barebone.py"
    module.write_text(module.read_text() + "\n" + broken + "\n")
    answer = post(api, path, {"data": CSV, "meta": META}).json()
    assert answer["status"] == "error"
    assert message in answer["message"]


def test_bodies_over_the_limit_are_refused(srv: Path) -> None:
    environment = {"api_token": TOKEN, "GOLDEN_SRV_DIR": str(srv), "GOLDEN_MAX_REQUEST_MB": "1"}
    (srv / "app" / "model" / "barebone.py").write_text(dsdl_module(srv / "app" / "model" / "data"))
    big = json.dumps({"data": "i\n" + "1\n" * 600_000, "meta": META})
    with serve(create_app(load_settings(environment), environment)) as url:
        response = post(url, "/fit", big)
        chunked = post(url, "/fit", iter([big[:700_000].encode(), big[700_000:].encode()]))
        small = post(url, "/fit", {"data": CSV, "meta": META})
    for refused in (response, chunked):
        assert refused.status_code == 413
        assert refused.json()["message"].startswith("/fit: ERROR: the request body is larger than 1 MiB")
    assert small.json()["status"] == "success"


def test_model_work_does_not_block_the_api(api: str, srv: Path) -> None:
    gate = srv / "gate"
    module = srv / "app" / "model" / "barebone.py"
    module.write_text(
        module.read_text() + f"\nimport pathlib, time\n\ndef fit(model, df, param):\n"
        f"    for _ in range(1000):\n"
        f"        if pathlib.Path({str(gate)!r}).exists():\n"
        "            return {}\n"
        "        time.sleep(0.01)\n    raise TimeoutError('the gate never opened')\n"
    )
    answers: list[dict[str, Any]] = []
    fitting = threading.Thread(
        target=lambda: answers.append(post(api, "/fit", {"data": CSV, "meta": META}).json())
    )
    fitting.start()
    try:
        assert requests.get(api + "/healthz", timeout=5).json() == {"status": "ok"}
        assert (
            json.loads(requests.get(api + "/", headers={"Authorization": TOKEN}, timeout=5).json())["app"]
            == APP_NAME
        )
    finally:
        gate.touch()
        fitting.join(30)
    assert answers[0]["status"] == "success"


def test_each_request_is_reported_to_splunk(telemetry_to_emulator: SplunkEmulator, srv: Path) -> None:
    environment = {"api_token": TOKEN, "GOLDEN_SRV_DIR": str(srv)}
    (srv / "app" / "model" / "barebone.py").write_text(dsdl_module(srv / "app" / "model" / "data"))
    with serve(create_app(load_settings(environment), environment)) as url:
        results(post(url, "/fit", {"data": CSV, "meta": META}))
        post(url, "/apply", {"data": CSV, "meta": {"options": {"params": {"algo": "nosuch"}}}})
    assert telemetry_helper.flush(20)
    fit, failed = (record["event"] for record in events_of_type(telemetry_to_emulator, "request"))
    assert (fit["path"], fit["status"], fit["algo"], fit["model_name"], fit["rows_in"], fit["rows_out"]) == (
        "/fit",
        "success",
        "barebone",
        "m1",
        3,
        3,
    )
    assert fit["duration_s"] > 0
    assert (failed["status"], failed["http_status"]) == ("error", 200)
    assert "no module 'nosuch'" in failed["detail"]
    assert TOKEN not in json.dumps(telemetry_to_emulator.events())


def _files_outside(root: Path, allowed: tuple[Path, ...]) -> set[Path]:
    return {path for path in root.rglob("*") if not any(path.is_relative_to(place) for place in allowed)}


_NAMES = st.one_of(
    st.sampled_from(
        ["barebone", "../barebone", "/etc/passwd", "..", ".", "a/b", "barebone.py", "main", "x" * 200, ""]
    ),
    st.text(max_size=20),
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def _requests(draw: st.DrawFn) -> tuple[str, bytes]:
    path = draw(st.sampled_from(["/fit", "/apply"]))
    params = draw(
        st.dictionaries(st.sampled_from(["algo", "mode", "holdout", "x"]), _NAMES | _JSON, max_size=3)
    )
    options = draw(
        st.fixed_dictionaries({}, optional={"params": st.just(params) | _JSON, "model_name": _NAMES | _JSON})
    )
    meta = draw(
        st.fixed_dictionaries({}, optional={"options": st.just(options) | _JSON, "feature_variables": _JSON})
    )
    data = draw(
        st.sampled_from([CSV, "", "a\n", '"unclosed\n1', "x,x\n1,2\n", "\x00\xff", "i\n" + "1\n" * 50])
        | st.text(max_size=50)
    )
    document = draw(
        st.sampled_from(["full", "no data", "raw"]).map(
            lambda shape: (
                {"data": data, "meta": meta}
                if shape == "full"
                else {"meta": meta}
                if shape == "no data"
                else meta
            )
        )
    )
    body = draw(st.sampled_from([json.dumps(document).encode(), draw(st.binary(max_size=40))]))
    return path, body


@settings(
    max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=_requests())
def test_fuzzed_requests_never_fail_the_server_or_write_outside_the_data_directories(
    api: str, srv: Path, request: tuple[str, bytes]
) -> None:
    allowed = (srv / "app" / "model" / "data", srv / "notebooks" / "data", srv.parent / "spool")
    before = _files_outside(srv.parent, allowed)
    path, body = request
    response = requests.post(api + path, data=body, headers={"Authorization": TOKEN}, timeout=30)
    assert response.status_code < 500, response.text
    assert response.json()["status"] in {"success", "error", "staged"}
    assert _files_outside(srv.parent, allowed) <= before | {srv / "app" / "model" / "__pycache__"}
