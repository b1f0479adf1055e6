"""A model registry on MLflow: log models with their metrics, compare versions, promote, load.

::

    from dsdl_golden import model_registry

    info = model_registry.log_model(model, "churn_rf", metrics=report["metrics"], params=params)
    model_registry.compare_models("churn_rf", metric="f1")
    model_registry.promote("churn_rf", info.version)              # alias "champion"
    champion = model_registry.load_model_version("churn_rf", "@champion")

Where: with no ``MLFLOW_TRACKING_URI``, an embedded registry in DSDL's volume, a SQLite store
``<srv>/app/model/registry/mlflow.db`` with artifacts in ``<srv>/app/model/registry/artifacts``
(``<srv>`` is ``GOLDEN_SRV_DIR``, ``/srv`` in DSDL's containers). ``MLFLOW_TRACKING_URI`` (and
``MLFLOW_REGISTRY_URI``) select an MLflow server instead; a server that does not answer fails the call
at once (``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` is 0 and ``MLFLOW_HTTP_REQUEST_TIMEOUT`` 30 s during the
call unless the environment sets them; no artifact progress bars either). MLflow's global tracking and
registry URIs are set for the duration of each call only; runs go to the experiment ``dsdl-golden``.

The template registers every fit by itself when ``GOLDEN_REGISTRY=mlflow``, and ``| apply <model>
model_version=champion`` serves a registered version (:mod:`dsdl_golden._lifecycle.registration`);
``golden models list|show|compare|promote`` is the command line.

Models: scikit-learn style estimators (aeon's too) are logged with MLflow's ``sklearn`` flavour,
``torch.nn.Module`` with ``pytorch``, ``keras.Model`` with ``keras``; the lifecycle's ``GoldenModel``
(in the lifecycle's saved form, preprocessor included) and any other picklable object with
``predict`` (statsmodels results, ...) with a ``pyfunc`` flavour whose loader is ours.
:func:`load_model_version` gives back the model object itself.

Aliases name versions: :func:`promote` sets ``champion`` (or another alias) on a version, moving it
from the version that held it; ``challenger`` or any other alias is set with :func:`set_alias`.

Every error is a :class:`RegistryError` (subclasses below) or, for a bad argument, ``ValueError`` /
``TypeError``; messages list what exists and never show a password of the tracking URI. MLflow is
imported by the calls, not by ``import dsdl_golden.model_registry``; without it they raise
:class:`RegistryUnavailableError` (``pip install 'dsdl-golden[registry]'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from dsdl_golden._registry.errors import (
    AliasNotFoundError,
    ModelNotRegisteredError,
    RegistryError,
    RegistryUnavailableError,
    UnsupportedModelError,
    VersionNotFoundError,
)
from dsdl_golden._registry.store import experiment_id, import_mlflow, resolve_store, session
from dsdl_golden._registry.values import (
    LATEST,
    VersionSpec,
    check_alias,
    check_model_name,
    check_version_spec,
    flat_params,
    flat_tags,
    scalar_metrics,
)
from dsdl_golden._registry.versions import (
    ModelVersionInfo,
    registered_model,
    resolve_version,
    version_info,
    version_numbers,
)

if TYPE_CHECKING:
    import pandas as pd

    from dsdl_golden._lifecycle.model import BuildModel

__all__ = [
    "AliasNotFoundError",
    "ModelNotRegisteredError",
    "ModelVersionInfo",
    "RegistryError",
    "RegistryUnavailableError",
    "UnsupportedModelError",
    "VersionNotFoundError",
    "compare_models",
    "get_version",
    "list_models",
    "load_model_version",
    "log_model",
    "promote",
    "set_alias",
]


def log_model(
    model: Any,
    name: str,
    *,
    metrics: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    input_example: Any = None,
) -> ModelVersionInfo:
    """Log ``model`` in a new MLflow run and register it as the next version of ``name``.

    Parameters
    ----------
    model : object
        A scikit-learn style estimator, ``torch.nn.Module``, ``keras.Model``, the lifecycle's
        ``GoldenModel`` or another picklable object with ``predict``.
    name : str
        The registered model's name: letters, digits, ``_``, ``-`` and ``.``.
    metrics : dict or MetricsResult, optional
        Only finite numbers are logged; nested dicts become dotted names (``per_class.yes.f1``); a
        ``MetricsResult``'s ``descriptor_keys`` (labels, counts) are left out.
    params : dict, optional
        Logged as text; nested dicts become dotted names.
    tags : dict, optional
        Set on the run and on the model version.
    input_example : DataFrame or array, optional
        Stored with the model; MLflow infers the model's signature from it.

    Returns
    -------
    ModelVersionInfo
        The new version.

    Raises
    ------
    UnsupportedModelError
        No flavour saves ``model``.
    RegistryUnavailableError
        MLflow is not installed, or the tracking server does not answer.
    ValueError, TypeError
        A name that is not allowed, or metrics, params or tags that are not dicts.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    >>> metrics = {"rmse": 0.0, "n": float("nan")}
    >>> info = log_model(model, "doc_line", metrics=metrics, params={"fit_intercept": True})
    >>> info.version, info.metrics, info.params
    (1, {'rmse': 0.0}, {'fit_intercept': 'True'})
    >>> log_model(object(), "doc_line")
    Traceback (most recent call last):
    dsdl_golden._registry.errors.UnsupportedModelError: cannot register a builtins.object: ...
    """
    name = check_model_name(name)
    from dsdl_golden._registry.flavours import flavour_of, log_flavoured

    flavour_of(model)  # an unsupported model fails before a run is created
    scalars, texts, labels = scalar_metrics(metrics), flat_params(params), flat_tags(tags)
    store = resolve_store()
    with session(store) as client:
        mlflow = import_mlflow()
        nested = mlflow.active_run() is not None
        with mlflow.start_run(experiment_id=experiment_id(client, store), run_name=name, nested=nested):
            mlflow.log_params(texts)
            mlflow.log_metrics(scalars)
            mlflow.set_tags(labels)
            number = str(log_flavoured(mlflow, model, name, input_example).registered_model_version)
        for key, value in labels.items():
            client.set_model_version_tag(name, number, key, value)
        return version_info(client, client.get_model_version(name, number))


def load_model_version(
    name: str, version: VersionSpec = LATEST, *, build_model: BuildModel | None = None
) -> Any:
    """The model object registered as ``version`` of ``name``.

    Parameters
    ----------
    name : str
        The registered model's name.
    version : {"latest"}, int or str, default "latest"
        ``"latest"`` (the highest number), a version number, or an alias as ``"@champion"``.
    build_model : callable, optional
        Only for a lifecycle ``GoldenModel`` of a PyTorch network, whose weights are loaded into the
        module ``build_model`` builds (as ``lifecycle.load``).

    Returns
    -------
    object
        The model as it was logged: the estimator, ``torch.nn.Module``, ``keras.Model``,
        ``GoldenModel`` or other object.

    Raises
    ------
    ModelNotRegisteredError
        No model is registered as ``name`` (the message lists registered names).
    VersionNotFoundError
        No such version (the message lists the versions); :class:`AliasNotFoundError` for an alias.
    RegistryUnavailableError
        MLflow is not installed, or the tracking server does not answer.
    ValueError
        ``version`` is none of the forms above.

    Examples
    --------
    >>> load_model_version("doc_model", "newest")
    Traceback (most recent call last):
    ValueError: version 'newest' is not understood: give 'latest', a version number such as 3, ...
    """
    name = check_model_name(name)
    wanted = check_version_spec(version)
    from dsdl_golden._registry.flavours import load_logged

    store = resolve_store()
    with session(store) as client:
        found = resolve_version(client, name, wanted, store)
        return load_logged(import_mlflow(), f"models:/{name}/{found.version}", build_model)


def get_version(name: str, version: VersionSpec = LATEST) -> ModelVersionInfo:
    """What the registry holds of ``version`` of ``name``, without loading the model.

    Parameters
    ----------
    name : str
        The registered model's name.
    version : {"latest"}, int or str, default "latest"
        ``"latest"``, a version number, or an alias as ``"@champion"``.

    Returns
    -------
    ModelVersionInfo
        The version's number, aliases, run, source, tags, metrics and parameters.

    Raises
    ------
    ModelNotRegisteredError, VersionNotFoundError
        As :func:`load_model_version`.
    RegistryUnavailableError
        MLflow is not installed, or the tracking server does not answer.

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> _ = log_model(DummyRegressor().fit([[0.0]], [1.0]), "doc_get", metrics={"mae": 0.5})
    >>> info = get_version("doc_get")
    >>> info.version, info.metrics
    (1, {'mae': 0.5})
    """
    name = check_model_name(name)
    wanted = check_version_spec(version)
    store = resolve_store()
    with session(store) as client:
        return version_info(client, resolve_version(client, name, wanted, store))


def list_models() -> pd.DataFrame:
    """Every registered model with its newest version and its aliases, by name.

    Returns
    -------
    DataFrame
        One row per registered model: ``name``, ``versions`` (how many), ``latest`` (the highest
        version number), ``aliases`` (``alias=version``, comma separated), ``updated`` (UTC) and
        ``description``. No row when nothing is registered yet.

    Raises
    ------
    RegistryUnavailableError
        MLflow is not installed, or the tracking server does not answer.

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> _ = log_model(DummyRegressor().fit([[0.0]], [1.0]), "doc_list")
    >>> table = list_models()
    >>> table.loc[table["name"] == "doc_list", ["versions", "latest"]].to_numpy().tolist()
    [[1, 1]]
    """
    from dsdl_golden._registry.versions import model_table

    store = resolve_store()
    with session(store) as client:
        return model_table(client)


def compare_models(
    name: str,
    *,
    metric: str,
    versions: Iterable[VersionSpec] | None = None,
    greater_is_better: bool | None = None,
) -> pd.DataFrame:
    """The versions of ``name`` ranked by ``metric``, best first.

    Parameters
    ----------
    name : str
        The registered model's name.
    metric : str
        A metric logged with the versions (e.g. ``f1``, ``rmse``).
    versions : iterable, optional
        The versions to compare (numbers, ``"latest"``, ``"@alias"``); default all.
    greater_is_better : bool, optional
        Default: inferred from the name. Error and loss metrics (``mae``, ``mse``, ``rmse``, ``mape``,
        ``smape``, ``brier_score``, and every name ending in ``loss`` or ``error`` such as ``log_loss``
        or ``max_error``) are better lower; every other metric is better higher.

    Returns
    -------
    DataFrame
        One row per version: ``version``, ``aliases``, ``run_id``, ``created``, ``metric``,
        ``delta_to_best`` (the version's metric minus the best one's: 0 for the best) and the other
        logged metrics. Versions without ``metric`` come last.

    Raises
    ------
    ModelNotRegisteredError, VersionNotFoundError
        As :func:`load_model_version`.
    RegistryError
        No compared version logged ``metric`` (the message lists their metrics).

    Examples
    --------
    >>> compare_models("doc_model", metric="rmse", greater_is_better="yes")
    Traceback (most recent call last):
    TypeError: greater_is_better must be True, False or None (inferred from the metric's name), got 'yes'
    """
    name = check_model_name(name)
    if not isinstance(metric, str) or not metric:
        raise ValueError(f"metric must be the name of a logged metric such as 'rmse', got {metric!r}")
    if greater_is_better is not None and not isinstance(greater_is_better, bool):
        raise TypeError(
            "greater_is_better must be True, False or None (inferred from the metric's name), "
            f"got {greater_is_better!r}"
        )
    wanted = None if versions is None else [check_version_spec(version) for version in versions]
    from dsdl_golden._registry.comparison import comparison_table

    store = resolve_store()
    with session(store) as client:
        if wanted is None:
            registered_model(client, name, store)
            found = [client.get_model_version(name, str(number)) for number in version_numbers(client, name)]
        else:
            resolved = [resolve_version(client, name, version, store) for version in wanted]
            found = list({int(version.version): version for version in resolved}.values())  # once each
        infos = [version_info(client, version) for version in found]
    return comparison_table(name, infos, metric, greater_is_better)


def set_alias(name: str, alias: str, version: VersionSpec) -> ModelVersionInfo:
    """Make ``alias`` name ``version`` of ``name`` (a version that held it loses it).

    Parameters
    ----------
    name : str
        The registered model's name.
    alias : str
        Letters, digits, ``_`` and ``-`` (e.g. ``challenger``); not ``latest`` nor ``v<number>``.
    version : int or str
        A version number, ``"latest"`` or ``"@<another alias>"``.

    Returns
    -------
    ModelVersionInfo
        The version, now with ``alias``.

    Raises
    ------
    ModelNotRegisteredError, VersionNotFoundError
        As :func:`load_model_version`.
    ValueError
        An alias that is not allowed.

    Examples
    --------
    >>> set_alias("doc_model", "latest", 1)
    Traceback (most recent call last):
    ValueError: alias 'latest' is not allowed: use letters, digits, '_' or '-', ...
    """
    name = check_model_name(name)
    alias = check_alias(alias)
    wanted = check_version_spec(version)
    store = resolve_store()
    with session(store) as client:
        found = resolve_version(client, name, wanted, store)
        client.set_registered_model_alias(name, alias, found.version)
        return version_info(client, client.get_model_version(name, found.version))


def promote(name: str, version: VersionSpec, alias: str = "champion") -> ModelVersionInfo:
    """Make ``version`` of ``name`` the ``champion`` (or ``alias``): :func:`set_alias` with that default.

    The version that held the alias before loses it and keeps its other aliases; nothing else moves.

    Parameters
    ----------
    name : str
        The registered model's name.
    version : int or str
        A version number, ``"latest"`` or ``"@<alias>"``.
    alias : str, default "champion"

    Returns
    -------
    ModelVersionInfo
        The promoted version.

    Raises
    ------
    ModelNotRegisteredError, VersionNotFoundError
        As :func:`load_model_version`.

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> first = log_model(DummyRegressor().fit([[0.0]], [1.0]), "doc_promote", metrics={"mae": 0.5})
    >>> promote("doc_promote", first.version).aliases
    ('champion',)
    >>> load_model_version("doc_promote", "@champion").predict([[3.0]])
    array([1.])
    """
    return set_alias(name, alias, version)
