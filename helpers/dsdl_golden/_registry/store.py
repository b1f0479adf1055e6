"""Where the registry lives, and MLflow used against it without changing MLflow's global state for good.

With no ``MLFLOW_TRACKING_URI``, the registry is embedded in DSDL's volume: a SQLite tracking store and
model registry ``<srv>/app/model/registry/mlflow.db`` with the artifacts in
``<srv>/app/model/registry/artifacts``. ``MLFLOW_TRACKING_URI`` (and ``MLFLOW_REGISTRY_URI`` for a
registry elsewhere) switch to an MLflow server.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from dsdl_golden._registry.errors import RegistryError, RegistryUnavailableError
from dsdl_golden.config import load_settings, without_credentials

__all__ = ["EXPERIMENT", "Store", "experiment_id", "import_mlflow", "resolve_store", "session"]

TRACKING_URI: Final = "MLFLOW_TRACKING_URI"
REGISTRY_URI: Final = "MLFLOW_REGISTRY_URI"
#: The MLflow experiment that holds the runs of :func:`dsdl_golden.model_registry.log_model`.
EXPERIMENT: Final = "dsdl-golden"
#: MLflow's HTTP settings during a call, unless the environment sets them: a server that does not
#: answer fails the call at once (no retries, MLflow's default would retry for minutes), or after a
#: bounded wait.
#: MLflow's variables during a call unless the environment sets them: a server that does not answer
#: fails at once, and no artifact progress bars on a notebook's or the model API's output.
CALL_DEFAULTS: Final = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
_CONNECTION_FAILURES: Final = (
    "Max retries exceeded",
    "Connection refused",
    "Failed to establish",
    "timed out",
)


@dataclass(frozen=True)
class Store:
    """The tracking and registry URIs of the registry, and the artifact root of the embedded one."""

    tracking_uri: str
    registry_uri: str
    artifact_root: Path | None

    @property
    def shown(self) -> str:
        """The tracking URI as messages show it (no user name or password)."""
        return without_credentials(self.tracking_uri)


def resolve_store(environ: Mapping[str, str] | None = None) -> Store:
    """The registry ``environ`` (default ``os.environ``) selects; creates the embedded one's directory."""
    environ = os.environ if environ is None else environ
    remote = environ.get(TRACKING_URI)
    if remote:
        return Store(remote, environ.get(REGISTRY_URI) or remote, None)
    root = load_settings(environ).model_package_dir / "registry"
    artifacts = root / "artifacts"
    try:
        artifacts.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RegistryUnavailableError(
            f"cannot create the embedded registry in {root}: {error.strerror or error}; set GOLDEN_SRV_DIR "
            "to DSDL's volume (a writable directory) or MLFLOW_TRACKING_URI to an MLflow server"
        ) from None
    tracking = f"sqlite:///{root.resolve() / 'mlflow.db'}"
    return Store(tracking, environ.get(REGISTRY_URI) or tracking, artifacts.resolve())


def import_mlflow() -> ModuleType:
    """``mlflow``, or :class:`RegistryUnavailableError` saying how to install it."""
    try:
        return importlib.import_module("mlflow")
    except ImportError as error:
        raise RegistryUnavailableError(
            f"the model registry needs MLflow, which is not installed ({error}): "
            "pip install 'dsdl-golden[registry]'"
        ) from None


@contextlib.contextmanager
def _restored_environ(names: tuple[str, ...]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _scoped_uris(mlflow: ModuleType, store: Store) -> Iterator[None]:
    """MLflow's global tracking and registry URIs set to ``store``'s for the block, then put back."""
    tracking_state: Any = importlib.import_module("mlflow.tracking._tracking_service.utils")
    registry_state: Any = importlib.import_module("mlflow.tracking._model_registry.utils")
    saved_tracking, saved_registry = tracking_state._tracking_uri, registry_state._registry_uri
    with _restored_environ((TRACKING_URI, REGISTRY_URI, *CALL_DEFAULTS)):
        for name, value in CALL_DEFAULTS.items():
            os.environ.setdefault(name, value)
        mlflow.set_tracking_uri(store.tracking_uri)
        mlflow.set_registry_uri(store.registry_uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(saved_tracking)
            mlflow.set_registry_uri(saved_registry)


def _is_connection_failure(error: BaseException) -> bool:
    import requests

    chain: BaseException | None = error
    while chain is not None:
        if isinstance(chain, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
            return True
        chain = chain.__cause__ or chain.__context__
    return any(sign in str(error) for sign in _CONNECTION_FAILURES)


@contextlib.contextmanager
def _translated_errors(mlflow: ModuleType, store: Store) -> Iterator[None]:
    """MLflow's and HTTP errors as :class:`RegistryError` without credentials (and without the
    original exception chained: its text may hold them)."""
    import requests

    try:
        yield
    except (mlflow.exceptions.MlflowException, requests.exceptions.RequestException) as error:
        if _is_connection_failure(error):
            raise RegistryUnavailableError(
                f"the MLflow tracking server {store.shown} does not answer: check MLFLOW_TRACKING_URI "
                "(unset it to use the registry embedded in DSDL's volume) and that the server runs"
            ) from None
        raise RegistryError(f"MLflow at {store.shown}: {without_credentials(str(error))}") from None


#: MLflow's URIs and our call defaults are process-wide: one registry call at a time in a process.
_SESSION_LOCK: Final = threading.RLock()


@contextlib.contextmanager
def session(store: Store) -> Iterator[Any]:
    """An ``mlflow.MlflowClient`` of ``store``; for the block, MLflow's global URIs are ``store``'s
    (flavours log and load through them) and its HTTP calls fail in bounded time. Sessions of
    different threads run one after the other, so that none sees another's URIs or restores them
    under it."""
    mlflow = import_mlflow()
    with _SESSION_LOCK, _scoped_uris(mlflow, store), _translated_errors(mlflow, store):
        yield mlflow.MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.registry_uri)


def experiment_id(client: Any, store: Store) -> str:
    """The id of the :data:`EXPERIMENT` in ``store``, created on first use (in the embedded store, with
    its artifacts under ``<srv>/app/model/registry/artifacts``)."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return str(experiment.experiment_id)
    location = None if store.artifact_root is None else store.artifact_root.as_uri()
    return str(client.create_experiment(EXPERIMENT, artifact_location=location))
