"""``/fit`` and ``/apply`` as DSDL runs them: the same steps, order, answers and error wording.

Each request is read (JSON ``{"data": <CSV>, "meta": {...}}``), its CSV turned into a DataFrame,
then the module's functions are called in DSDL's order (``../shared/specs/dsdl-contract.md``
§2.5-2.6). A failing step answers ``{"status": "error", "message": "/fit: ERROR: unable to ...
Ended with exception: ..."}`` with DSDL's wording for that step. Differences, all safer:

- the request's own state: nothing carries over from one request to the next (DSDL keeps the last
  ``algo``, data and ``meta`` in a global and reuses the previous module when ``algo`` is missing);
- ``algo`` and ``model_name`` are checked (no path traversal; the module must be in the package);
- modules are executed again when their source changed, on ``/apply`` too;
- ``/apply`` keeps a loaded model in memory while its module and its saved files stay the same;
- staging writes the CSV exactly as received, atomically, and leaves Splunk session keys out of
  the staged ``meta``;
- calls of one module are serialised, calls of different modules run in parallel.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import orjson
import pandas as pd

from dsdl_golden._atomic import write_atomically
from dsdl_golden._csv_codec import read_csv, write_csv
from dsdl_golden._error_text import USER_CODE_FAILURES, exception_text
from dsdl_golden._lifecycle.params import check_name, strip_quotes
from dsdl_golden._runtime.modules import LoadedModule, ModuleLoader
from dsdl_golden.config import Settings

__all__ = ["CallError", "CallResult", "ModelService"]

T = TypeVar("T")

PARSE_HELP: Final = (
    'unable to parse json from POST data. Provide a JSON object with structure { "data" : "<string of csv '
    'serialized pandas dataframe>", "meta" : {<json dict object for parameters>}}'
)


class CallError(Exception):
    """A step of a call failed; ``str()`` is DSDL's reason."""


def _step(what: str, action: Callable[[], T]) -> T:
    try:
        return action()
    except CallError:
        raise
    except USER_CODE_FAILURES as error:
        text = exception_text(error)
        raise CallError(f"{what}. Ended with exception: {type(error).__name__}: {text}") from error


@dataclass
class Request:
    """A parsed ``/fit`` or ``/apply`` request."""

    frame: pd.DataFrame
    meta: dict[str, Any]
    data: str
    model_name: str

    @property
    def params(self) -> dict[str, Any]:
        options = self.meta.get("options")
        params = options.get("params") if isinstance(options, dict) else None
        return params if isinstance(params, dict) else {}

    def param(self, name: str) -> str | None:
        value = self.params.get(name)
        return strip_quotes(value) if isinstance(value, str) else None


@dataclass
class CallResult:
    """The answer of a call and what telemetry records of it."""

    response: dict[str, Any]
    algo: str | None = None
    model_name: str | None = None
    rows_in: int | None = None
    rows_out: int | None = None


def _parse(body: bytes) -> tuple[str, dict[str, Any]]:
    document = orjson.loads(body)
    if not isinstance(document, dict):
        raise TypeError(f"the body is a JSON {type(document).__name__}, not an object")
    data, meta = document["data"], document["meta"]
    if not isinstance(data, str):
        raise TypeError(f"data is a {type(data).__name__}, not a CSV string")
    if not isinstance(meta, dict):
        raise TypeError(f"meta is a {type(meta).__name__}, not an object")
    return data, meta


def _model_name(meta: dict[str, Any]) -> str:
    options = meta.get("options")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"meta.options is a {type(options).__name__}, not an object")
    return check_name((options or {}).get("model_name", "default"), "model_name")


def read_request(body: bytes) -> Request:
    """Parse a request body as DSDL does; raises :class:`CallError` with DSDL's reason."""
    data, meta = _step(PARSE_HELP, lambda: _parse(body))

    def convert() -> tuple[pd.DataFrame, str]:
        return read_csv(data), _model_name(meta)

    frame, model_name = _step("unable to convert raw data to pandas dataframe", convert)
    return Request(frame=frame, meta=meta, data=data, model_name=model_name)


def _without_session_keys(meta: dict[str, Any]) -> dict[str, Any]:
    cleaned = copy.deepcopy(meta)
    options = cleaned.get("options")
    search_info = options.get("search_info") if isinstance(options, dict) else None
    if isinstance(search_info, dict) and "session_key" in search_info:
        search_info["session_key"] = "(removed by dsdl-golden)"
    return cleaned


def _stage(path: Path, content: bytes) -> None:
    """Staged data, for its owner only (it may hold anything the search returned)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, content, mode=0o600, durable=True)


def _frame_of(result: Any) -> pd.DataFrame:
    return result if isinstance(result, pd.DataFrame) else pd.DataFrame(result)


class ModelService:
    """Runs the model calls of one API process."""

    def __init__(self, settings: Settings, loader: ModuleLoader | None = None) -> None:
        self.settings = settings
        self.loader = loader or ModuleLoader(settings.model_package_dir)
        self._models: dict[str, tuple[int, tuple[Any, ...], Any]] = {}
        self._last: tuple[LoadedModule, Any] | None = None
        self._last_lock = threading.Lock()

    def _remember(self, loaded: LoadedModule, model: Any) -> None:
        with self._last_lock:
            self._last = (loaded, model)

    def last_model(self) -> tuple[LoadedModule, Any] | None:
        """The module and model of the last successful call in this process."""
        with self._last_lock:
            return self._last

    def _success(
        self, path: str, loaded: LoadedModule, model: Any, request: Request, result: pd.DataFrame
    ) -> CallResult:
        """DSDL's success answer with the results as CSV; the model becomes the one /summary shows."""
        results = _step("unable to apply model", lambda: write_csv(result))
        self._remember(loaded, model)
        return CallResult(
            {"status": "success", "message": f"{path} done successfully", "results": results},
            loaded.name,
            request.model_name,
            len(request.frame),
            len(result),
        )

    def _stage(self, request: Request) -> CallResult:
        directory = self.settings.staging_dir
        csv_path = directory / f"{request.model_name}.csv"

        def write() -> None:
            _stage(csv_path, request.data.encode())
            _stage(
                directory / f"{request.model_name}.json", orjson.dumps(_without_session_keys(request.meta))
            )

        _step("unable to stage dataframe", write)
        message = f"Model data staged successfully in {csv_path} - no model was built yet."
        return CallResult(
            {"status": "staged", "message": message}, None, request.model_name, len(request.frame)
        )

    def _algo(self, request: Request) -> str:
        algo = request.param("algo")
        if not algo:
            raise ValueError(
                "no algo: add algo=<notebook name> to the search, e.g. | fit MLTKContainer algo=my_model ..."
            )
        return algo

    def fit(self, body: bytes) -> CallResult:
        """DSDL's ``/fit``: stage, or summary, init, summary(model), fit, save, apply."""
        request = read_request(body)
        if request.param("mode") == "stage":
            return self._stage(request)
        frame, meta = request.frame, request.meta

        def load_module() -> LoadedModule:
            loaded = self.loader.get(self._algo(request))
            loaded.module.summary()
            return loaded

        loaded = _step("unable to load algo code from module", load_module)
        module = loaded.module
        with loaded.lock:

            def initialise() -> Any:
                model = module.init(frame, meta)
                module.summary(model)
                return model

            model = _step("unable to initialize module", initialise)
            _step("unable to fit model", lambda: module.fit(model, frame, meta))
            name = f"{loaded.name}_{request.model_name}"
            _step("unable to save model", lambda: module.save(model, name))
            self._models.pop(loaded.name + "/" + request.model_name, None)
            result = _step("unable to apply model", lambda: _frame_of(module.apply(model, frame, meta)))
        return self._success("/fit", loaded, model, request, result)

    def _saved_files(self, name: str) -> tuple[Any, ...]:
        """What identifies the saved files of model ``name`` (names, sizes, times, link targets)."""
        directory = self.settings.model_data_dir
        try:
            entries = sorted(
                (entry for entry in os.scandir(directory) if entry.name.startswith(name)),
                key=lambda e: e.name,
            )
        except FileNotFoundError:
            return ()
        signature: list[Any] = []
        for entry in entries:
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue
            target = os.readlink(entry.path) if entry.is_symlink() else ""
            signature.append((entry.name, target, stat.st_size, stat.st_mtime_ns))
        return tuple(signature)

    def _loaded_model(self, loaded: LoadedModule, model_name: str) -> Any:
        name = f"{loaded.name}_{model_name}"
        key = f"{loaded.name}/{model_name}"
        files = self._saved_files(name)
        cached = self._models.get(key)
        if cached is not None and cached[0] == loaded.generation and cached[1] == files and files:
            model = cached[2]
        else:
            model = loaded.module.load(name)
            self._models[key] = (loaded.generation, files, model)
        loaded.module.summary(model)
        return model

    def apply(self, body: bytes) -> CallResult:
        """DSDL's ``/apply``: load (the module as it is now), summary(model), apply."""
        request = read_request(body)
        frame, meta = request.frame, request.meta
        loaded = _step("unable to initialize module", lambda: self.loader.get(self._algo(request)))
        with loaded.lock:
            model = _step(
                "unable to initialize module", lambda: self._loaded_model(loaded, request.model_name)
            )
            result = _step(
                "unable to apply model", lambda: _frame_of(loaded.module.apply(model, frame, meta))
            )
        return self._success("/apply", loaded, model, request, result)
