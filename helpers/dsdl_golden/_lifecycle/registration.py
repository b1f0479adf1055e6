"""The lifecycle and the model registry: each fit registered when ``GOLDEN_REGISTRY=mlflow``, and
``apply`` serving a registered version when the request asks for one (``model_version=...``).

Registration happens after a successful ``fit``: the ``GoldenModel`` (preprocessor included) becomes
the next version of ``<algo>_<model_name>``, with the holdout metrics, the model's parameters and the
lineage's keys as tags (``golden.run_id``, ``golden.lineage_id``, ``golden.content_hash``, the search
id and the image). A registry that fails (server down, disk full) never fails the fit: the failure
is logged, sent as an ``error`` event and kept as ``registered["error"]`` on the model.

Serving: ``| apply <model> model_version=champion`` (an alias), ``model_version=3`` (a number) or
``model_version=latest`` applies that registered version of the model instead of the file DSDL
loaded. Versions are loaded once per process and kept by number and run, so moving an alias
serves the newly promoted version at the next call.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from dsdl_golden._lifecycle.model import GoldenModel
from dsdl_golden._lifecycle.params import strip_quotes
from dsdl_golden._lifecycle.reporting import logger, warn_once
from dsdl_golden.config import ConfigError, load_settings

__all__ = ["SERVING_KEY", "register_fit", "requested_version", "served_model", "warm_up_registry"]

#: The SPL parameter of ``| apply`` that names a registered version.
SERVING_KEY: Final = "model_version"
#: The lineage keys set as tags on each registered version, as ``golden.<key>``.
_LINEAGE_TAGS: Final = ("run_id", "lineage_id", "content_hash", "data_source")
#: How many served versions stay loaded in the process.
_CACHED_VERSIONS: Final = 4
_cache: OrderedDict[tuple[str, str, int, str | None], GoldenModel] = OrderedDict()
_cache_lock = threading.Lock()


def _tags(lineage: Mapping[str, Any] | None) -> dict[str, str]:
    if not lineage:
        return {}
    tags = {f"golden.{key}": str(lineage[key]) for key in _LINEAGE_TAGS if lineage.get(key) is not None}
    search = lineage.get("search") or {}
    if search.get("sid"):
        tags["golden.search.sid"] = str(search["sid"])
    image = lineage.get("image") or {}
    tags.update({f"golden.image.{key}": str(value) for key, value in image.items() if value})
    return tags


def _registry_on() -> bool:
    """``GOLDEN_REGISTRY=mlflow``; settings that cannot be read leave the registry off (said once)."""
    try:
        return load_settings().registry == "mlflow"
    except ConfigError as error:
        warn_once(f"registry settings: {error}", "the model registry is not used: %s", error)
        return False


def warm_up_registry() -> None:
    """With the registry on, import MLflow and open its store (creating the embedded one's tables), so
    that the first ``fit`` does not pay seconds for it. A registry that is not ready is logged; each
    fit tries again."""
    if not _registry_on():
        return
    from dsdl_golden import model_registry

    try:
        model_registry.list_models()
    except Exception as error:
        logger.warning("the model registry is not ready yet (each fit tries again): %s", error)


def register_fit(model: GoldenModel) -> dict[str, Any] | None:
    """Register the just fitted ``model`` when the registry is on; what was registered, or None.

    Returns ``{"name", "version", "run_id"}``, or ``{"name", "error"}`` when the registry failed (the
    failure is logged and sent as an ``error`` event; the fit goes on), or None when it is off.
    """
    if not _registry_on():
        return None
    from dsdl_golden import model_registry

    try:
        info = model_registry.log_model(
            model,
            model.name,
            metrics=model.metrics,
            params=model.spec.params,
            tags=_tags(model.lineage),
        )
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
        logger.warning("model %s is not registered (the fit goes on): %s", model.name, text)
        model.reporter.error(error, "fit", step="register")
        return {"name": model.name, "error": text[:500]}
    registered = {"name": info.name, "version": info.version, "run_id": info.run_id}
    model.reporter.event("registered", "fit", **registered)
    logger.info("model %s registered as version %d", info.name, info.version)
    return registered


def requested_version(param: Mapping[str, Any] | None) -> int | str | None:
    """The registered version ``param`` asks ``apply`` to serve: a number, ``"latest"``, ``"@alias"``.

    ``model_version`` is read from ``options.params`` (the SPL's ``key=value``) or ``options``; a bare
    name is an alias (``champion`` is ``"@champion"``). None when the request names no version.
    """
    options = param.get("options") if isinstance(param, Mapping) else None
    if not isinstance(options, Mapping):
        return None
    params = options.get("params")
    raw = params.get(SERVING_KEY) if isinstance(params, Mapping) else None
    if raw is None:
        raw = options.get(SERVING_KEY)
    if raw is None:
        return None
    text = strip_quotes(str(raw).strip())
    if not text:
        raise ValueError(
            f"{SERVING_KEY} is empty: give an alias (model_version=champion), a version number or latest"
        )
    if text.isdigit():
        return int(text)
    if text.lower() == "latest" or text.startswith("@"):
        return text.lower() if text.lower() == "latest" else text
    return f"@{text}"


def served_model(model: GoldenModel, version: int | str) -> tuple[GoldenModel, int]:
    """The registered ``version`` of ``model`` (by its name) and its number, loaded once per process.

    Raises the registry's errors (:class:`~dsdl_golden.model_registry.RegistryError`), which name
    the versions and aliases that exist, and ``TypeError`` when that version is not a lifecycle model.
    """
    from dsdl_golden import model_registry
    from dsdl_golden._registry.store import resolve_store

    info = model_registry.get_version(model.name, version)
    key = (resolve_store().registry_uri, info.name, info.version, info.run_id)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key], info.version
    loaded = model_registry.load_model_version(info.name, info.version, build_model=model.build)
    if not isinstance(loaded, GoldenModel):
        raise TypeError(
            f"version {info.version} of {info.name!r} is a {type(loaded).__name__}, not a model of the "
            f"template's lifecycle: | apply serves versions that the template's fit registered"
        )
    with _cache_lock:
        _cache[key] = loaded
        while len(_cache) > _CACHED_VERSIONS:
            _cache.popitem(last=False)
    return loaded, info.version
