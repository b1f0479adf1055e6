"""``golden call fit|apply`` against the model API on loopback, and against stub servers."""

from __future__ import annotations

import csv
import io
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from cli_testing import CHURN_CSV, CHURN_FEATURES, CHURN_META, TOKEN, Capture, closed_port, golden, stub_api
from golden_testing import serve

from dsdl_golden._lifecycle.params import MLSPL_LIMITS
from dsdl_golden.config import load_settings
from dsdl_golden.emulator.tls import write_tls_files
from dsdl_golden.runtime import create_app

pytestmark = pytest.mark.integration

FIT = ["--algo", "template_empresa_base", "--target", "churn", "--model-name", "churn"]
FAST = ["--param", "n_estimators=10"]


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# --- against the runtime -------------------------------------------------------------------------


@pytest.mark.slow
def test_fit_then_apply_the_template(runtime: str, srv: Path, tmp_path: Path, capsys: Capture) -> None:
    status, out, err = golden(
        capsys, "call", "fit", CHURN_CSV, *FIT, *FAST, "--url", runtime, "--token", TOKEN
    )
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[:3] == ["status: success", "message: /fit done successfully", "results: 600 rows"]
    assert lines[3].split() == ["churn", "probability_no", "probability_yes"]
    assert len(lines[4:14]) == 10
    assert all(line.split()[0] in {"yes", "no"} for line in lines[4:14])
    assert lines[14] == "... 590 more rows (--output FILE saves them all)"
    assert list((srv / "app" / "model" / "data").glob("template_empresa_base_churn*"))

    output = tmp_path / "predictions.csv"
    status, out, err = golden(
        capsys, "call", "apply", CHURN_CSV, *FIT, "--url", runtime, "--token", TOKEN, "--output", output
    )
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "status: success",
        "message: /apply done successfully",
        f"results: 600 rows written to {output}",
    ]
    rows = csv_rows(output.read_text())
    assert rows[0] == ["churn", "probability_no", "probability_yes"]
    assert len(rows) == 601
    assert {row[0] for row in rows[1:]} <= {"yes", "no"}
    assert all(abs(float(row[1]) + float(row[2]) - 1) < 1e-6 for row in rows[1:])


def test_apply_of_a_model_never_fitted_is_a_model_error(runtime: str, capsys: Capture) -> None:
    status, out, err = golden(
        capsys, "call", "apply", CHURN_CSV, "--algo", "template_empresa_base", "--model-name", "never_fitted",
        "--url", runtime, "--token", TOKEN, "--rows", "0",
    )  # fmt: skip
    assert (status, err) == (1, "")
    lines = out.splitlines()
    assert lines[0] == "status: error"
    assert lines[1].startswith("message: /apply: ERROR: unable to initialize module. Ended with exception: ")
    assert len(lines) == 2


def test_fit_of_a_module_that_does_not_exist(runtime: str, capsys: Capture) -> None:
    status, out, _ = golden(
        capsys, "call", "fit", CHURN_CSV, "--algo", "no_such_nb", "--url", runtime, "--token", TOKEN
    )
    assert status == 1
    assert "message: /fit: ERROR: unable to load algo code from module." in out
    assert "export the notebook no_such_nb.ipynb" in out


def test_staged_meta_has_splunks_shape(runtime: str, srv: Path, capsys: Capture) -> None:
    status, out, err = golden(
        capsys, "call", "fit", CHURN_CSV, *FIT, "--param", "mode=stage", "--param", 'compute="a,b"',
        "--param", "epochs=3", "--url", runtime, "--token", TOKEN,
    )  # fmt: skip
    staged_csv = srv / "notebooks" / "data" / "churn.csv"
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "status: staged",
        f"message: Model data staged successfully in {staged_csv} - no model was built yet.",
    ]
    meta = json.loads((srv / "notebooks" / "data" / "churn.json").read_text())
    assert meta == {
        "options": {
            "params": {"algo": "template_empresa_base", "mode": "stage", "compute": '"a,b"', "epochs": "3"},
            "args": ["churn", *CHURN_FEATURES],
            "feature_variables": CHURN_FEATURES,
            "model_name": "churn",
            "algo_name": "MLTKContainer",
            "mlspl_limits": dict(MLSPL_LIMITS),
            "kfold_cv": None,
            "target_variable": ["churn"],
        },
        "feature_variables": CHURN_FEATURES,
        "target_variables": ["churn"],
    }
    reference = json.loads(CHURN_META.read_text())  # staged from Splunk's | fit ... mode=stage
    assert meta.keys() == reference.keys()
    assert meta["options"].keys() == reference["options"].keys()
    assert meta["options"]["mlspl_limits"] == reference["options"]["mlspl_limits"]
    assert all(isinstance(value, str) for value in meta["options"]["params"].values())
    assert staged_csv.read_text() == CHURN_CSV.read_text()


def test_staged_meta_without_target_and_model_name(runtime: str, srv: Path, capsys: Capture) -> None:
    status, _, _ = golden(
        capsys, "call", "fit", CHURN_CSV, "--algo", "template_empresa_base", "--features", "tenure,contract",
        "--param", "mode=stage", "--url", runtime, "--token", TOKEN,
    )  # fmt: skip
    assert status == 0
    meta = json.loads((srv / "notebooks" / "data" / "default.json").read_text())
    assert "target_variables" not in meta
    assert "target_variable" not in meta["options"]
    assert "model_name" not in meta["options"]
    assert meta["feature_variables"] == meta["options"]["feature_variables"] == ["tenure", "contract"]
    assert meta["options"]["args"] == ["tenure", "contract"]
    rows = csv_rows((srv / "notebooks" / "data" / "default.csv").read_text())
    assert rows[0] == ["tenure", "contract"]
    assert rows[1:] == [[row[0], row[2]] for row in csv_rows(CHURN_CSV.read_text())[1:]]


@pytest.mark.parametrize("token", [f"{TOKEN}x", TOKEN[:-1]])
def test_a_wrong_token_is_refused(runtime: str, capsys: Capture, token: str) -> None:
    status, out, err = golden(capsys, "call", "fit", CHURN_CSV, *FIT, "--url", runtime, "--token", token)
    assert (status, out) == (2, "")
    assert err == (
        f"golden call: the runtime at {runtime}/fit refused the token (401: Invalid token): "
        "pass its api_token with --token TOKEN or set api_token\n"
    )
    assert token not in err


def test_without_any_token(runtime: str, capsys: Capture) -> None:
    status, _, err = golden(capsys, "call", "fit", CHURN_CSV, *FIT, "--url", runtime)
    assert status == 2
    assert "refused the token (401: No header with token)" in err


def test_the_token_defaults_to_the_api_token_setting(
    runtime: str, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("api_token", TOKEN)
    status, out, err = golden(
        capsys, "call", "fit", CHURN_CSV, *FIT, "--param", "mode=stage", "--url", runtime
    )
    assert (status, err) == (0, "")
    assert TOKEN not in out


def test_connection_refused(capsys: Capture) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    status, out, err = golden(capsys, "call", "fit", CHURN_CSV, *FIT, "--url", url, "--token", TOKEN)
    assert (status, out) == (2, "")
    assert err == (
        f"golden call: connection refused: is the runtime running at {url}/fit? "
        "(golden dev starts one; see --url)\n"
    )


def test_a_progress_spinner_when_forced(runtime: str, capsys: Capture) -> None:
    status, _, err = golden(
        capsys, "call", "fit", CHURN_CSV, *FIT, "--param", "mode=stage", "--url", runtime, "--token", TOKEN,
        "--progress",
    )  # fmt: skip
    assert status == 0
    assert "waiting for /fit 00:0" in err


def test_no_progress_when_stderr_is_no_terminal(runtime: str, capsys: Capture) -> None:
    status, _, err = golden(
        capsys, "call", "fit", CHURN_CSV, *FIT, "--param", "mode=stage", "--url", runtime, "--token", TOKEN
    )
    assert (status, err) == (0, "")


# --- TLS -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def https_runtime(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The model API over HTTPS with a certificate of a test CA; yields (URL, CA file)."""
    srv = tmp_path_factory.mktemp("https-srv")
    (srv / "notebooks" / "data").mkdir(parents=True)
    files = write_tls_files(tmp_path_factory.mktemp("tls"))
    settings = load_settings({"GOLDEN_SRV_DIR": str(srv), "GOLDEN_SPOOL_DIR": str(srv / "spool")})
    app = create_app(settings, {"api_token": TOKEN})
    with serve(app, ssl_certfile=str(files.cert_chain), ssl_keyfile=str(files.key)) as url:
        yield url.replace("http://", "https://"), files.ca_bundle


STAGE = ["--algo", "template_empresa_base", "--param", "mode=stage", "--token", TOKEN]


def test_https_is_verified_against_the_system_trust_by_default(https_runtime: Any, capsys: Capture) -> None:
    url, _ = https_runtime
    status, out, err = golden(capsys, "call", "fit", CHURN_CSV, *STAGE, "--url", url)
    assert (status, out) == (2, "")
    assert err.startswith(f"golden call: TLS verification of {url}/fit failed (")
    assert "pass the runtime's CA certificate with --ca FILE" in err
    assert len(err.splitlines()) == 1


def test_https_with_the_ca_bundle(https_runtime: Any, capsys: Capture) -> None:
    url, ca = https_runtime
    status, out, err = golden(capsys, "call", "fit", CHURN_CSV, *STAGE, "--url", url, "--ca", ca)
    assert (status, err) == (0, "")
    assert out.startswith("status: staged\n")


def test_https_insecure_warns(https_runtime: Any, capsys: Capture) -> None:
    url, _ = https_runtime
    status, out, err = golden(capsys, "call", "fit", CHURN_CSV, *STAGE, "--url", url, "--insecure")
    assert status == 0
    assert out.startswith("status: staged\n")
    assert err == f"golden call: warning: --insecure: the certificate of {url} is not verified\n"


def test_a_missing_ca_file(tmp_path: Path, capsys: Capture) -> None:
    status, _, err = golden(capsys, "call", "fit", CHURN_CSV, *STAGE, "--ca", tmp_path / "ca.pem")
    assert status == 2
    assert err == f"golden call: --ca {tmp_path / 'ca.pem'}: no such CA bundle file\n"


# --- against stub servers -------------------------------------------------------------------------


def test_the_request_as_splunk_sends_it(capsys: Capture) -> None:
    with stub_api() as (url, record):
        status, out, _ = golden(
            capsys, "call", "fit", CHURN_CSV, "--algo", "nb", "--target", "churn", "--features",
            "contract,tenure", "--url", url + "/", "--token", TOKEN,
        )  # fmt: skip
    assert status == 0
    assert out.splitlines() == [
        "status: success",
        "message: /fit done successfully",
        "results: 1 rows",
        "a",
        "1",
    ]
    (request,) = record.requests
    assert request["path"] == "/fit"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Content-Type"] == "application/json"
    rows = csv_rows(request["body"]["data"])
    assert rows[0] == ["tenure", "contract", "churn"]  # the file's column order
    assert len(rows) == 601
    meta = request["body"]["meta"]
    assert meta["options"]["args"] == ["churn", "contract", "tenure"]
    assert meta["options"]["feature_variables"] == meta["feature_variables"] == ["contract", "tenure"]


def test_apply_sends_the_features_only(capsys: Capture) -> None:
    with stub_api() as (url, record):
        status, _, _ = golden(capsys, "call", "apply", CHURN_CSV, *FIT, "--url", url, "--token", TOKEN)
    assert status == 0
    (request,) = record.requests
    assert request["path"] == "/apply"
    assert csv_rows(request["body"]["data"])[0] == CHURN_FEATURES
    assert request["body"]["meta"]["target_variables"] == ["churn"]


@pytest.mark.parametrize(
    ("http_status", "answer", "message"),
    [
        (500, b"Internal Server Error", "answered HTTP 500: Internal Server Error"),
        (404, b'{"detail": "Not Found"}', "answered HTTP 404: Not Found"),
        (
            413,
            b'{"status": "error", "message": "too big"}',
            "the request is too large for the runtime (413): too big",
        ),
        (
            200,
            b"<html>hello</html>",
            "did not answer as a DSDL model API ('<html>hello</html>'): check --url",
        ),
        (200, b'{"status": "deprecated"}', "did not answer as a DSDL model API"),
    ],
)
def test_answers_that_are_not_dsdls(capsys: Capture, http_status: int, answer: bytes, message: str) -> None:
    with stub_api(http_status, answer) as (url, _):
        status, out, err = golden(capsys, "call", "fit", CHURN_CSV, *FIT, "--url", url, "--token", TOKEN)
    assert (status, out) == (2, "")
    assert message in err
    assert len(err.splitlines()) == 1


def test_no_answer_within_the_timeout(capsys: Capture) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        status, _, err = golden(capsys, "call", "fit", CHURN_CSV, *FIT, "--url", url, "--timeout", "0.3")
    assert status == 2
    assert err == f"golden call: no answer from {url}/fit within 0.3 s: raise --timeout for long fits\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--target", "nope"], "column 'nope' is not in the CSV; its columns: tenure,"),
        (["--features", "tenure,bogus"], "column 'bogus' is not in the CSV"),
        (
            ["--target", "churn", "--features", "churn,tenure"],
            "'churn' is the target: leave it out of --features",
        ),
        (["--param", "novalue"], "--param 'novalue': expected KEY=VALUE"),
        (["--param", "algo=x"], "--param algo=...: give the module with --algo NAME"),
    ],
)
def test_bad_arguments(capsys: Capture, arguments: list[str], message: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    status, out, err = golden(capsys, "call", "fit", CHURN_CSV, "--algo", "nb", *arguments, "--url", url)
    assert (status, out) == (2, "")
    assert err.startswith(f"golden call: {message}")


def test_a_csv_that_cannot_be_read(tmp_path: Path, capsys: Capture) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert golden(capsys, "call", "fit", empty, "--algo", "nb")[0:2] == (2, "")
    status, _, err = golden(capsys, "call", "fit", tmp_path / "gone.csv", "--algo", "nb")
    assert status == 2
    assert err.startswith(f"golden call: cannot read {tmp_path / 'gone.csv'}: ")


def test_results_table_shortens_long_cells(capsys: Capture) -> None:
    results = "text,n\n" + "x" * 50 + ",1\n"
    with stub_api(answer={"status": "success", "message": "ok", "results": results}) as (url, _):
        status, out, _ = golden(capsys, "call", "apply", CHURN_CSV, "--algo", "nb", "--url", url)
    assert status == 0
    assert out.splitlines()[3:] == ["text                              n", "x" * 31 + "…  1"]
