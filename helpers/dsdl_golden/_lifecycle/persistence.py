"""Saving a fitted model with its preprocessor and metadata, and loading it back."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dsdl_golden._lifecycle.adapters import ModelAdapter, SavedModel, adapter_class
from dsdl_golden._lifecycle.lineage import store_lineage
from dsdl_golden._lifecycle.model import BuildModel, DataInfo, GoldenModel, plain
from dsdl_golden._lifecycle.params import LifecycleOptions, RequestSpec
from dsdl_golden._lifecycle.store import read_metadata, saved_model_dir, write_model
from dsdl_golden._lifecycle.training import build_adapter
from dsdl_golden._lifecycle.versions import library_versions
from dsdl_golden.config import load_settings

__all__ = ["PREPROCESSOR_FILE", "load_model", "save_model"]

PREPROCESSOR_FILE = "preprocessor.joblib"


def save_model(model: GoldenModel, name: str, directory: Path) -> Path:
    """Write ``model`` as ``directory/name`` (see :mod:`dsdl_golden._lifecycle.store`) and its lineage as
    ``directory/<name>.lineage.json``; returns the model's path."""
    adapter = model.adapter
    if adapter is None:
        raise ValueError(f"model {model.name} is not fitted: call fit before save")

    def write(version_dir: Path) -> dict[str, Any]:
        state = adapter.save(version_dir)
        if model.preprocessor is not None:
            import joblib

            joblib.dump(model.preprocessor, version_dir / PREPROCESSOR_FILE)
        settings = load_settings()
        return {
            "name": name,
            "adapter": adapter.name,
            "adapter_state": state,
            "classes": None
            if not isinstance(adapter, ModelAdapter) or adapter.classes_ is None
            else adapter.classes_.tolist(),
            "spec": {
                "algo": model.spec.algo,
                "model_name": model.spec.model_name,
                "features": list(model.spec.features),
                "target": model.spec.target,
                "options": asdict(model.spec.options),
                "params": {key: plain(value) for key, value in model.spec.params.items()},
            },
            "data_info": None if model.data_info is None else asdict(model.data_info),
            "summary": model.summary(),
            "metrics": model.metrics,
            "versions": library_versions(adapter.framework),
            "image": settings.image,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    path = write_model(directory, name, write)
    store_lineage(model.lineage, directory, name)
    return path


def load_model(directory: Path, name: str, build_model: BuildModel | None) -> GoldenModel:
    """The model saved as ``directory/name``; ``build_model`` rebuilds networks whose weights are saved."""
    directory = saved_model_dir(directory, name)
    metadata = read_metadata(directory)
    saved = metadata["spec"]
    spec = RequestSpec(
        algo=saved["algo"],
        model_name=saved["model_name"],
        features=tuple(saved["features"]),
        target=saved["target"],
        options=LifecycleOptions(**saved["options"]),
        params=dict(saved["params"]),
    )
    data = None if metadata.get("data_info") is None else DataInfo(**metadata["data_info"])
    saved_class = adapter_class(metadata.get("adapter"))

    def rebuild() -> SavedModel:
        if build_model is None:
            raise TypeError(
                f"the saved model {name!r} is a {saved_class.framework} model: its weights are loaded into "
                f"the model build_model builds, call lifecycle.load({name!r}, build_model)"
            )
        assert data is not None
        return build_adapter(build_model, spec.params, data)

    adapter = saved_class.restore(directory, metadata.get("adapter_state") or {}, rebuild)
    preprocessor = None
    if (directory / PREPROCESSOR_FILE).is_file():
        import joblib

        preprocessor = joblib.load(directory / PREPROCESSOR_FILE)
    summary_saved = metadata.get("summary") or {}
    return GoldenModel(
        spec=spec,
        build=build_model,
        run_id=summary_saved.get("run_id") or uuid.uuid4().hex,
        adapter=adapter,
        preprocessor=preprocessor,
        task=summary_saved.get("task"),
        data_info=data,
        metrics=metadata.get("metrics"),
        training=summary_saved.get("training"),
        profile=summary_saved.get("training_data"),
        trained_at=summary_saved.get("trained_at") or metadata.get("saved_at"),
        lineage=summary_saved.get("lineage"),
        registered=summary_saved.get("registered"),
    )
