"""The model API's own cost per /apply and its start-up time, against DSDL's stock runtime in the same run.

Run::

    cd /work/main && .venv/bin/pytest benchmarks/test_bench_runtime.py -rP -p no:cacheprovider -o addopts=""

Per request: an ``/apply`` of 100,000 rows x 10 float columns (19.7 MB of CSV in JSON, made once
before timing) to a DSDL-style module whose ``load`` is trivial and whose ``apply`` returns
``df[["x0"]]`` at once, so that everything measured is the runtime's: reading the body, the JSON,
CSV to DataFrame, the module calls, the one-column result back to CSV and the JSON answer. Each
server runs with uvicorn on loopback in a thread of this process (``golden_testing.serve``); the
client (``requests``, one keep-alive session) posts the prepared bytes and reads the whole answer.
The runtime runs as in production (its JSON request log at INFO) with telemetry off: its one event
per request costs the caller microseconds (``test_bench_telemetry.py``).

- ``ours``: ``create_app(...)`` of :mod:`dsdl_golden.runtime`;
- ``dsdl``: DSDL 5.2.4's ``/apply`` (``../shared/specs/dsdl-contract.md`` §2.6) as a minimal FastAPI
  route on the same HTTP stack: ``await request.json()``, ``pd.read_csv(StringIO(data))``,
  ``load``, ``summary(model)``, ``apply``, ``pd.DataFrame(result).to_csv(index=False)``, the dict
  returned for FastAPI to encode, all blocking inside the ``async`` handler as DSDL does;
- ``floor`` (reported only): a route that reads the body and returns our answer's bytes prepared
  beforehand: what moving 19.7 MB in and 2 MB out through uvicorn (h11) and ``requests`` costs,
  a floor no runtime on this stack can go under;
- ``*_in_process`` (reported only): the same work without HTTP, DSDL's path as ``json.loads`` +
  ``pd.read_csv`` + ``to_csv`` and ours as ``ModelService.apply(body)``.

Start-up: the time from ``subprocess.Popen([python, -m, uvicorn, dsdl_golden.runtime:app, ...])``
(``GOLDEN_SRV_DIR`` pointing to a ``workspace.lay_out`` layout, ``api_token`` set, telemetry off)
to the first 200 answer to ``GET /`` with the token, polled every 5 ms; baseline: the same for a
minimal app that imports what any pandas-based FastAPI model server imports (``fastapi``,
``uvicorn``, ``pandas``) and answers ``GET /``, started the same way. The two alternate round by
round (ours timed by pytest-benchmark, the minimal app by hand between two of ours): run as two
blocks, the machine's changing load moved their ratio between 1.04 and 1.25 in two runs.
``tests/test_import_cost.py`` checks that no ML framework is imported on this path.

Quick mode (``--quick``, CI; ``bench_mode.py``): 50,000 rows, 9 rounds, 5 start-ups, and the bounds
of ``QUICK_BOUNDS`` (0.7 and 1.5: medians of fewer rounds move more on the shared machine).

``test_ratios`` asserts, on medians of this run:

- ours <= 0.5 x dsdl per ``/apply`` over HTTP (the issue's target);
- start-up ours <= 1.25 x the minimal app. The runtime imports what the minimal app imports (pandas
  3 brings pyarrow and numpy) plus its own modules, orjson and its settings: about 0.12 s cold
  (``python -X importtime``: telemetry_helper 0.09 s, orjson 0.02 s, config 0.01 s), and builds
  its app; interleaved runs measured ratios of 1.00 to 1.13. Any framework on the start-up path
  would add far more: measured on top of ``import pandas, fastapi, uvicorn`` (2.2 s median on the
  loaded 2-core machine), ``matplotlib.pyplot`` +1.2 s, ``scipy.stats`` +1.8 s, ``sklearn.ensemble``
  +2.1 s, ``statsmodels.api`` +5.8 s: +50 % or more.
  1.25 sits between the two: it tolerates the noise and catches a framework imported up front.
  The issue's absolute target (first answer within 2 s of process start) is printed.
"""

from __future__ import annotations

import http.client
import importlib.util
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from golden_testing import serve

import bench_mode
from dsdl_golden import telemetry_helper
from dsdl_golden._runtime.calls import ModelService
from dsdl_golden.config import load_settings
from dsdl_golden.runtime import create_app
from dsdl_golden.workspace import lay_out

TOKEN = "bench-runtime-5d0c97"
QUICK = bench_mode.quick()
N_ROWS = 50_000 if QUICK else 100_000
COLUMNS = [f"x{i}" for i in range(10)]
META = {"options": {"params": {"algo": "passthrough"}, "model_name": "bench"}}
HEADERS = {"Authorization": TOKEN, "Content-Type": "application/json"}
ROUNDS = 9 if QUICK else 15
WARMUP_ROUNDS = 2
START_ROUNDS = 5 if QUICK else 9
#: Quick mode's bounds. On the shared 2-core machine (load average 1.2 to 2.8), ours / dsdl per /apply
#: measured 0.27 to 0.54 (median 0.39) in 12 quick runs (50,000 rows, 9 rounds), the start-up ratio
#: 0.96 to 1.28 (median 1.07) in 12 runs of 5 start-ups. 0.7 still fails a runtime as slow as DSDL's;
#: 1.5 still fails an ML framework imported at start-up (+1.2 s or more, see above).
QUICK_BOUNDS = {"apply": 0.7, "start_up": 1.5}
HELPERS = Path(__file__).resolve().parents[1] / "helpers"
results: dict[str, float] = {}

#: A module in DSDL's style (``app/model/passthrough.py``): nothing to load, nothing to compute.
PASSTHROUGH = """
def init(df, param):
    return {}


def fit(model, df, param):
    return {"message": "nothing to fit"}


def apply(model, df, param):
    return df[["x0"]]


def save(model, name):
    return model


def load(name):
    return {"name": name}


def summary(model=None):
    return {"version": {}, "model": model}
"""

#: The start-up baseline: a FastAPI app that imports pandas, as DSDL's ``app/main.py`` does.
MINIMAL_APP = """
import pandas  # noqa: F401
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root():
    return {"app": "minimal"}
"""


def make_frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n_rows, len(COLUMNS))), columns=COLUMNS)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(N_ROWS)


@pytest.fixture(scope="module")
def body(frame: pd.DataFrame) -> bytes:
    """What Splunk posts: the CSV text and the meta in one JSON object, serialised once."""
    return json.dumps({"data": frame.to_csv(index=False), "meta": META}).encode()


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runtime") / "srv"
    lay_out(root)
    (root / "app" / "model" / "passthrough.py").write_text(PASSTHROUGH)
    return root


@pytest.fixture(scope="module")
def environment(srv: Path) -> dict[str, str]:
    return {
        "api_token": TOKEN,
        "GOLDEN_SRV_DIR": str(srv),
        "GOLDEN_SPOOL_DIR": str(srv.parent / "spool"),
        "splunk_hec_enabled": "0",
    }


@pytest.fixture(scope="module")
def module(srv: Path) -> types.ModuleType:
    """The passthrough module for the DSDL baseline, imported once (DSDL's ``import_module``)."""
    spec = importlib.util.spec_from_file_location("bench_passthrough", srv / "app/model/passthrough.py")
    assert spec is not None
    assert spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def dsdl_apply(module: types.ModuleType, document: dict[str, Any]) -> dict[str, Any]:
    """DSDL 5.2.4's /apply after the JSON is parsed (§2.6, steps 2-5)."""
    data, meta = document["data"], document["meta"]
    df = pd.read_csv(io.StringIO(data))
    algo = meta["options"]["params"]["algo"]
    model_name = meta["options"].get("model_name", "default")
    model = module.load(f"{algo}_{model_name}")
    module.summary(model)
    result = pd.DataFrame(module.apply(model, df, meta))
    return {"status": "success", "message": "/apply done successfully", "results": result.to_csv(index=False)}


def dsdl_app(module: types.ModuleType) -> FastAPI:
    """DSDL's /apply route: blocking pandas work inside the async handler, the dict encoded by FastAPI."""
    app = FastAPI()

    async def apply(request: Request) -> dict[str, Any]:
        if TOKEN not in request.headers.get("authorization", ""):  # DSDL's check (a substring)
            raise HTTPException(status_code=401, detail="Invalid token")
        return dsdl_apply(module, await request.json())

    # response_model=None: DSDL's route has no annotation, FastAPI only encodes the dict
    app.add_api_route("/apply", apply, methods=["POST"], response_model=None)
    return app


def floor_app(answer: bytes) -> FastAPI:
    """Reads the whole body and returns ``answer``: the HTTP stack's share of a request."""
    app = FastAPI()

    async def apply(request: Request) -> Response:
        await request.body()
        return Response(answer, media_type="application/json")

    app.add_api_route("/apply", apply, methods=["POST"])
    return app


def post(session: requests.Session, url: str, body: bytes) -> bytes:
    """One /apply round trip: the prepared body out, the whole answer in."""
    response = session.post(url + "/apply", data=body, headers=HEADERS, timeout=120)
    response.raise_for_status()
    return response.content


@pytest.fixture(scope="module")
def servers(environment: dict[str, str], module: types.ModuleType, body: bytes) -> Iterator[dict[str, str]]:
    # The per-request event goes to the process-wide telemetry, built from os.environ unless configured.
    telemetry_helper.configure(load_settings(environment))
    with (
        serve(create_app(load_settings(environment), environment)) as ours,
        serve(dsdl_app(module)) as dsdl,
        requests.Session() as session,
    ):
        answer = post(session, ours, body)
        with serve(floor_app(answer)) as floor:
            yield {"ours": ours, "dsdl": dsdl, "floor": floor}


def test_both_runtimes_answer_the_same_values(
    servers: dict[str, str], body: bytes, frame: pd.DataFrame
) -> None:
    with requests.Session() as session:
        answers = {name: json.loads(post(session, servers[name], body)) for name in ("ours", "dsdl")}
    values = {}
    for name, answer in answers.items():
        assert (answer["status"], answer["message"]) == ("success", "/apply done successfully"), answer
        parsed = pd.read_csv(io.StringIO(answer["results"]), float_precision="round_trip")
        assert list(parsed.columns) == ["x0"]
        values[name] = parsed["x0"].to_numpy()
    exact = frame["x0"].to_numpy()
    # Ours parses floats exactly; pandas' default parser (DSDL's) keeps about 15 significant digits.
    assert np.array_equal(values["ours"], exact)
    np.testing.assert_allclose(values["dsdl"], exact, rtol=1e-12, atol=0)
    changed = values["dsdl"] != exact
    worst = float(np.max(np.abs(values["dsdl"] - exact)[changed] / np.abs(exact[changed]), initial=0.0))
    print(
        f"\nvalues DSDL's path changed: {int(changed.sum()):,} of {len(exact):,} "
        f"(relative error up to {worst:.1e}); ours: 0"
    )


def record(benchmark: Any, key: str, function: Callable[[], Any]) -> None:
    benchmark.pedantic(function, rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS)
    if benchmark.stats is not None:  # None under --benchmark-disable
        results[key] = benchmark.stats.stats.median


@pytest.mark.benchmark(group="apply over HTTP")
@pytest.mark.parametrize("name", ["ours", "dsdl", "floor"])
def test_apply_over_http(benchmark: Any, servers: dict[str, str], body: bytes, name: str) -> None:
    with requests.Session() as session:
        record(benchmark, name, lambda: post(session, servers[name], body))


@pytest.mark.benchmark(group="apply in process")
def test_dsdl_in_process(benchmark: Any, module: types.ModuleType, body: bytes) -> None:
    record(benchmark, "dsdl_in_process", lambda: dsdl_apply(module, json.loads(body)))


@pytest.mark.benchmark(group="apply in process")
def test_ours_in_process(benchmark: Any, environment: dict[str, str], body: bytes) -> None:
    service = ModelService(load_settings(environment))
    record(benchmark, "ours_in_process", lambda: service.apply(body))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without settings that would change the runtime, plus ``extra``."""
    prefixes = ("GOLDEN_", "splunk_", "SPLUNK_", "OTEL_")
    names = {"api_token", "MODE_DEV_PROD", "ENABLE_HTTPS", "api_workers", "olly_enabled", "PYTHONPATH"}
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in names and not name.startswith(prefixes)
    }
    environ["PYTHONPATH"] = str(HELPERS)
    environ.update(extra)
    return environ


class Starter:
    """Starts a uvicorn app in a new process and waits for its first 200 to ``GET /``."""

    def __init__(self, app: str, environ: dict[str, str], cwd: Path, app_dir: Path | None = None) -> None:
        self.command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--log-level", "warning"]
        if app_dir is not None:
            self.command += ["--app-dir", str(app_dir)]
        self.environ = environ
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [*self.command, "--port", str(port)],
            env=self.environ,
            cwd=self.cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request("GET", "/", headers={"Authorization": TOKEN})
                status = connection.getresponse().status
            except OSError:
                status = None
            finally:
                connection.close()
            if status == 200:
                return
            if status is not None:
                raise AssertionError(f"{self.command}: GET / answered {status}")
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.command} did not answer")
            time.sleep(0.005)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        if process.returncode not in (0, -15):
            print(stderr.decode(errors="replace"))


@pytest.mark.benchmark(group="start-up")
def test_start_up(benchmark: Any, srv: Path, tmp_path: Path) -> None:
    environ = clean_environment(
        api_token=TOKEN,
        GOLDEN_SRV_DIR=str(srv),
        GOLDEN_SPOOL_DIR=str(tmp_path / "spool"),
    )
    ours = Starter("dsdl_golden.runtime:app", environ, tmp_path)
    (tmp_path / "minimal_app.py").write_text(MINIMAL_APP)
    minimal = Starter("minimal_app:app", clean_environment(), tmp_path, app_dir=tmp_path)
    minimal_times: list[float] = []

    def stop_ours_then_time_the_minimal_app() -> None:
        ours.stop()
        started = time.perf_counter()
        minimal.start()
        minimal_times.append(time.perf_counter() - started)
        minimal.stop()

    try:
        benchmark.pedantic(
            ours.start,
            teardown=stop_ours_then_time_the_minimal_app,
            rounds=START_ROUNDS,
            warmup_rounds=1,
        )
    finally:
        ours.stop()
        minimal.stop()
    if benchmark.stats is not None:
        results["start_ours"] = benchmark.stats.stats.median
        results["start_ours_max"] = benchmark.stats.stats.max
        results["start_minimal"] = statistics.median(minimal_times[1:])  # the first one warmed up


def test_ratios() -> None:
    needed = {"ours", "dsdl", "floor", "dsdl_in_process", "ours_in_process", "start_ours", "start_minimal"}
    if not needed <= set(results):
        pytest.skip("needs the benchmarks above, run in the same session with benchmarking enabled")
    ours, dsdl, floor = results["ours"], results["dsdl"], results["floor"]
    ratio = ours / dsdl
    print(
        f"\n/apply of {N_ROWS:,} rows x {len(COLUMNS)} floats, medians of {ROUNDS} rounds:\n"
        f"  over HTTP:  ours {ours * 1e3:.0f} ms, DSDL {dsdl * 1e3:.0f} ms, "
        f"ratio {ratio:.2f} (target <= 0.5); HTTP floor {floor * 1e3:.0f} ms\n"
        f"  in process: ours {results['ours_in_process'] * 1e3:.0f} ms, "
        f"DSDL {results['dsdl_in_process'] * 1e3:.0f} ms, "
        f"ratio {results['ours_in_process'] / results['dsdl_in_process']:.2f}\n"
        f"  beyond the HTTP floor: ours {(ours - floor) * 1e3:.0f} ms, DSDL {(dsdl - floor) * 1e3:.0f} ms"
    )
    start, minimal = results["start_ours"], results["start_minimal"]
    print(
        f"start-up to the first 200 on GET /, medians of {START_ROUNDS}: ours {start:.3f} s "
        f"(slowest {results['start_ours_max']:.3f} s; target < 2 s), minimal app {minimal:.3f} s, "
        f"ratio {start / minimal:.2f} (bound 1.25)"
    )
    if QUICK:
        print(f"quick mode bounds: {QUICK_BOUNDS}")
        assert ratio <= QUICK_BOUNDS["apply"]
        assert start / minimal <= QUICK_BOUNDS["start_up"]
    else:
        assert ratio <= 0.5
        assert start / minimal <= 1.25
