"""The lineage of a fit: where the training data came from, what it held and what was trained on it.

Every ``lifecycle.fit`` builds one record, sends it to the events index as ``{"type": "lineage", ...}``
and keeps it on the model (``summary(model)["summary"]["lineage"]``); a save stores it in the
model's metadata and as ``<saved name>.lineage.json`` beside the saved model in the model directory.
Building, sending or writing it never fails the fit or the save: a failure is logged once.

The data's origin, in ``data_source``:

- ``splunk_search``: the frame came from :func:`dsdl_golden.splunk_connector.get_data`, which puts
  the search in ``frame.attrs["splunk_search"]``; ``search`` holds its query, time range, job id
  (``sid``), row count and method;
- ``dsdl_fit``: DSDL's ``| fit MLTKContainer`` sent the data (``param["options"]["algo_name"]`` is
  ``MLTKContainer``); DSDL does not send the SPL, so ``search`` holds only the job id when the
  request carries one (``options.search_info.sid``, older DLTK), the rows and ``method="dsdl_fit"``;
- ``dataframe``: neither, ``search`` is None.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson
import pandas as pd

from dsdl_golden._atomic import write_atomically
from dsdl_golden._lifecycle.model import GoldenModel, plain
from dsdl_golden._lifecycle.profile import content_hash
from dsdl_golden._lifecycle.reporting import scalar_metrics, warn_once
from dsdl_golden._lifecycle.store import jsonable
from dsdl_golden._lifecycle.versions import library_versions
from dsdl_golden.config import load_settings

__all__ = [
    "LINEAGE_SUFFIX",
    "SEARCH_ATTRIBUTE",
    "SEARCH_FIELDS",
    "record_lineage",
    "store_lineage",
]

#: The key of ``DataFrame.attrs`` under which ``get_data`` leaves the search that produced the frame.
SEARCH_ATTRIBUTE: Final = "splunk_search"
#: What the lineage keeps of that search.
SEARCH_FIELDS: Final = ("query", "earliest", "latest", "sid", "rows", "method")
#: The lineage file of a saved model ``name`` is ``<model directory>/<name>.lineage.json``.
LINEAGE_SUFFIX: Final = ".lineage.json"
_IMAGE_FIELDS: Final = ("name", "version", "digest")


def _source(frame: pd.DataFrame, param: Mapping[str, Any] | None) -> tuple[str, dict[str, Any] | None]:
    """Where the data came from (``data_source``) and the search that produced it (see the module)."""
    search = frame.attrs.get(SEARCH_ATTRIBUTE)
    if isinstance(search, Mapping):
        return "splunk_search", {key: search.get(key) for key in SEARCH_FIELDS}
    options = param.get("options") if isinstance(param, Mapping) else None
    if isinstance(options, Mapping) and options.get("algo_name") == "MLTKContainer":
        search_info = options.get("search_info")
        sid = search_info.get("sid") if isinstance(search_info, Mapping) else None
        return "dsdl_fit", {
            "query": None,
            "earliest": None,
            "latest": None,
            "sid": sid,
            "rows": len(frame),
            "method": "dsdl_fit",
        }
    return "dataframe", None


def _build(model: GoldenModel, frame: pd.DataFrame, param: Mapping[str, Any] | None) -> dict[str, Any]:
    data_source, search = _source(frame, param)
    spec = model.spec
    image = load_settings().image
    return jsonable(
        {
            "lineage_id": str(uuid.uuid4()),
            "run_id": model.run_id,
            "model": model.name,
            "algo": spec.algo,
            "model_name": spec.model_name,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "trained_at": model.trained_at,
            "data_source": data_source,
            "search": search,
            "rows": len(frame),
            "n_columns": frame.shape[1],
            "content_hash": content_hash(frame),
            "features": list(spec.features),
            "target": spec.target,
            "task": model.task,
            "params": {key: plain(value) for key, value in spec.params.items()},
            "options": asdict(spec.options),
            "metrics": None if model.metrics is None else scalar_metrics(model.metrics),
            "versions": library_versions(None if model.adapter is None else model.adapter.framework),
            "image": {key: image[key] for key in _IMAGE_FIELDS},
        }
    )


def record_lineage(
    model: GoldenModel, frame: pd.DataFrame, param: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """Build the lineage of the fit of ``model`` on ``frame`` and send it to the events index.

    Parameters
    ----------
    model : GoldenModel
        Just fitted on ``frame``.
    frame : DataFrame
        The training data as given to ``fit`` (its ``attrs`` may name the Splunk search).
    param : dict or None
        DSDL's ``meta`` as given to ``fit``.

    Returns
    -------
    dict or None
        The record (JSON types), or None when it could not be built: the failure is logged once and
        the fit goes on.
    """
    try:
        record = _build(model, frame, param)
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
        warn_once(
            f"lineage build: {text}", "lineage of model %s is skipped (the fit goes on): %s", model.name, text
        )
        return None
    model.reporter.event("lineage", "fit", **record)
    return record


def store_lineage(record: dict[str, Any] | None, directory: Path, name: str) -> None:
    """Write ``record`` as the lineage file of the saved model ``name``, replacing it atomically.

    Without a record, an older lineage file of that name is removed (it would describe another fit).
    A failure is logged once; the save goes on.
    """
    path = directory / f"{name}{LINEAGE_SUFFIX}"
    try:
        if record is None:
            path.unlink(missing_ok=True)
            return
        write_atomically(path, orjson.dumps(record, option=orjson.OPT_INDENT_2))
    except Exception as error:
        text = f"{type(error).__name__}: {error}"
        warn_once(
            f"lineage file: {text}", "lineage file %s is not written (the save goes on): %s", path, text
        )
