"""Where the registry lives and how its failures read, without a registry call: the store the
environment selects, the embedded one's place in DSDL's volume, the MLflow settings a call scopes and
puts back, and which failures mean "the server does not answer"."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests

from dsdl_golden._registry.errors import RegistryError, RegistryUnavailableError
from dsdl_golden._registry.store import (
    CALL_DEFAULTS,
    Store,
    _is_connection_failure,
    _restored_environ,
    _translated_errors,
    import_mlflow,
    resolve_store,
)


def test_without_a_tracking_uri_the_registry_is_embedded_in_dsdls_volume(tmp_path: Path) -> None:
    store = resolve_store({"GOLDEN_SRV_DIR": str(tmp_path)})
    root = tmp_path / "app" / "model" / "registry"
    assert store == Store(
        f"sqlite:///{root / 'mlflow.db'}", f"sqlite:///{root / 'mlflow.db'}", root / "artifacts"
    )
    assert (root / "artifacts").is_dir()
    assert store.shown == store.tracking_uri


def test_an_embedded_store_is_found_again_and_a_relative_volume_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = resolve_store({"GOLDEN_SRV_DIR": "srv"})
    assert first == resolve_store({"GOLDEN_SRV_DIR": "srv"})
    assert first.tracking_uri == f"sqlite:///{tmp_path / 'srv/app/model/registry/mlflow.db'}"
    assert first.artifact_root == tmp_path / "srv/app/model/registry/artifacts"


def test_an_embedded_store_may_keep_its_registry_elsewhere(tmp_path: Path) -> None:
    store = resolve_store({"GOLDEN_SRV_DIR": str(tmp_path), "MLFLOW_REGISTRY_URI": "sqlite:////x/reg.db"})
    assert store.registry_uri == "sqlite:////x/reg.db"
    assert store.tracking_uri.endswith("/app/model/registry/mlflow.db")


@pytest.mark.parametrize(
    ("registry", "expected"),
    [(None, "https://mlflow:5000"), ("", "https://mlflow:5000"), ("http://r", "http://r")],
)
def test_a_tracking_uri_selects_that_server_and_creates_nothing(
    tmp_path: Path, registry: str | None, expected: str
) -> None:
    environ = {"MLFLOW_TRACKING_URI": "https://mlflow:5000", "GOLDEN_SRV_DIR": str(tmp_path / "srv")}
    if registry is not None:
        environ["MLFLOW_REGISTRY_URI"] = registry
    assert resolve_store(environ) == Store("https://mlflow:5000", expected, None)
    assert not (tmp_path / "srv").exists()


def test_an_empty_tracking_uri_is_the_embedded_registry(tmp_path: Path) -> None:
    store = resolve_store({"MLFLOW_TRACKING_URI": "", "GOLDEN_SRV_DIR": str(tmp_path)})
    assert store.artifact_root == tmp_path / "app" / "model" / "registry" / "artifacts"


def test_the_store_reads_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.setenv("GOLDEN_SRV_DIR", str(tmp_path))
    assert resolve_store() == resolve_store({"GOLDEN_SRV_DIR": str(tmp_path)})


def test_a_volume_that_is_a_file_says_what_to_set(tmp_path: Path) -> None:
    (tmp_path / "app").write_text("not a directory")
    message = (
        f"cannot create the embedded registry in {tmp_path}/app/model/registry: Not a directory; set "
        "GOLDEN_SRV_DIR to DSDL's volume (a writable directory) or MLFLOW_TRACKING_URI to an MLflow server"
    )
    with pytest.raises(RegistryUnavailableError, match=f"^{re.escape(message)}$") as raised:
        resolve_store({"GOLDEN_SRV_DIR": str(tmp_path)})
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_the_shown_uri_hides_the_user_and_password() -> None:
    store = Store("https://ana:s3cret@mlflow:5000/x", "https://ana:s3cret@mlflow:5000/x", None)
    assert store.shown == "https://***@mlflow:5000/x"


def test_a_call_puts_back_the_variables_it_set_or_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLDEN_TEST_KEPT", "before")
    monkeypatch.delenv("GOLDEN_TEST_ADDED", raising=False)
    with _restored_environ(("GOLDEN_TEST_KEPT", "GOLDEN_TEST_ADDED")):
        os.environ["GOLDEN_TEST_KEPT"] = "during"
        os.environ["GOLDEN_TEST_ADDED"] = "during"
    assert os.environ["GOLDEN_TEST_KEPT"] == "before"
    assert "GOLDEN_TEST_ADDED" not in os.environ
    with pytest.raises(KeyError, match="the block failed"):
        _remove_then_fail("GOLDEN_TEST_KEPT")
    assert os.environ["GOLDEN_TEST_KEPT"] == "before"


def _remove_then_fail(name: str) -> None:
    with _restored_environ((name,)):
        del os.environ[name]
        raise KeyError("the block failed")


def test_mlflow_calls_fail_at_once_and_quietly_unless_the_environment_says_otherwise() -> None:
    assert CALL_DEFAULTS == {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }


def _raised_from(
    error: BaseException, cause: BaseException | None, *, implicit: bool = False
) -> BaseException:
    try:
        try:
            raise cause or ValueError("no cause")
        except BaseException as inner:
            if implicit:
                raise error  # noqa: B904 - an implicit context is what this builds
            raise error from inner
    except BaseException as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ConnectionError("refused"),
        requests.exceptions.ConnectTimeout("slow"),
        requests.exceptions.ReadTimeout("slow"),
        RuntimeError("HTTPConnectionPool(host='x', port=5000): Max retries exceeded with url: /api"),
        RuntimeError("[Errno 111] Connection refused"),
        RuntimeError("Failed to establish a new connection"),
        RuntimeError("The read operation timed out"),
    ],
    ids=["connection", "connect-timeout", "read-timeout", "retries", "refused", "establish", "timed-out"],
)
def test_connection_failures_and_timeouts_mean_the_server_does_not_answer(error: BaseException) -> None:
    assert _is_connection_failure(error)


@pytest.mark.parametrize("implicit", [False, True], ids=["cause", "context"])
def test_a_connection_failure_deep_in_the_chain_is_found(implicit: bool) -> None:
    middle = _raised_from(RuntimeError("API request failed"), requests.exceptions.ConnectionError("x"))
    assert _is_connection_failure(_raised_from(RuntimeError("call failed"), middle, implicit=implicit))


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("RESOURCE_DOES_NOT_EXIST: no model"),
        requests.exceptions.HTTPError("500 Server Error"),
        _raised_from(RuntimeError("bad request"), ValueError("invalid parameter")),
    ],
    ids=["mlflow", "http-500", "chained"],
)
def test_other_failures_are_not_taken_for_a_server_that_does_not_answer(error: BaseException) -> None:
    assert not _is_connection_failure(error)


def test_mlflow_errors_read_as_registry_errors_without_credentials_or_their_chain() -> None:
    mlflow = import_mlflow()
    store = Store("https://ana:s3cret@mlflow:5000", "https://ana:s3cret@mlflow:5000", None)
    failure = mlflow.exceptions.MlflowException("no run at https://ana:s3cret@mlflow:5000/run/1")
    with pytest.raises(RegistryError) as raised, _translated_errors(mlflow, store):
        raise failure
    assert type(raised.value) is RegistryError
    assert str(raised.value) == "MLflow at https://***@mlflow:5000: no run at https://***@mlflow:5000/run/1"
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


@pytest.mark.parametrize(
    "failure",
    [requests.exceptions.ConnectionError("https://ana:s3cret@mlflow:5000 refused"), RuntimeError("skip")],
    ids=["requests", "mlflow-wrapped"],
)
def test_a_server_that_does_not_answer_reads_as_unavailable(failure: BaseException) -> None:
    mlflow = import_mlflow()
    if isinstance(failure, RuntimeError):
        failure = mlflow.exceptions.MlflowException("API request to /api failed: Max retries exceeded")
    store = Store("https://ana:s3cret@mlflow:5000", "https://ana:s3cret@mlflow:5000", None)
    message = (
        "the MLflow tracking server https://***@mlflow:5000 does not answer: check MLFLOW_TRACKING_URI "
        "(unset it to use the registry embedded in DSDL's volume) and that the server runs"
    )
    with (
        pytest.raises(RegistryUnavailableError, match=f"^{re.escape(message)}$") as raised,
        _translated_errors(mlflow, store),
    ):
        raise failure
    assert raised.value.__cause__ is None


def test_other_exceptions_pass_through_untouched() -> None:
    store = Store("sqlite:///x.db", "sqlite:///x.db", None)
    with pytest.raises(KeyError, match="mine"), _translated_errors(import_mlflow(), store):
        raise KeyError("mine")
