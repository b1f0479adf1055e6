"""Write the template, the example notebooks and their sample data (``template/``) from one definition.

The examples are the template with three cells replaced: the title, the model cell (the only cell a
data scientist edits) and the free cell that loads sample data. Every exported cell besides the
model cell is the template's, character for character. Run ``.venv/bin/python tools/notebooks.py``
after changing this file; ``tests/template/test_notebooks.py`` fails while the committed files
differ from what it writes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd

from dsdl_golden._lifecycle.params import splunk_meta

ROOT = Path(__file__).resolve().parents[1] / "template"
TEMPLATE = "template_empresa_base"

GUIDE = """\
# {title}

**ES** · Plantilla de la empresa para DSDL. Todo lo que rodea al modelo es automático: telemetría a
Splunk (HEC), métricas, preprocesamiento, acceso a Splunk y registros estructurados.

1. *File ▸ Save Notebook As…* `SuNombre_Modelo_CasoUso_v1.ipynb`.
2. Edite **solo** la celda ✏️ **MODELO** (`build_model`).
3. Guarde: el notebook se exporta solo a `/srv/app/model/SuNombre_Modelo_CasoUso_v1.py`.
4. En Splunk: `| fit MLTKContainer algo=SuNombre_Modelo_CasoUso_v1 objetivo from campos into app:mi_modelo`,
   luego `| apply mi_modelo` y `| summary mi_modelo`.

**EN** · The company's DSDL template. Everything around the model is automatic: telemetry to Splunk
(HEC), metrics, preprocessing, Splunk access and structured logs.

1. *File ▸ Save Notebook As…* `YourName_Model_UseCase_v1.ipynb`.
2. Edit **only** the ✏️ **MODEL** cell (`build_model`).
3. Save: the notebook exports itself to `/srv/app/model/YourName_Model_UseCase_v1.py`.
4. In Splunk: `| fit MLTKContainer algo=YourName_Model_UseCase_v1 target from fields into app:my_model`,
   then `| apply my_model` and `| summary my_model`.

SPL options / opciones SPL: `holdout=0.2` (share of rows scored at fit), `preprocess=true`,
`task=auto|classification|regression|forecast`, `random_state=42`, `refit=false`; every other
`key=value` reaches `build_model` in `params`.\
"""


# The settings in DSDL's container, or those golden emulator wrote beside the notebook.
SETTINGS_CELL = """\
from pathlib import Path

from dsdl_golden import load_env_file, load_settings

settings = load_env_file() if Path("golden-emulator.env").exists() else load_settings()\
"""


@dataclass(frozen=True)
class Notebook:
    """One notebook: its name, title, model cell, sample-data cell and what to stage."""

    name: str
    title: str
    model: str
    sample: str
    data: str


def cell(source: str, name: str | None = None, **metadata: object) -> nbformat.NotebookNode:
    meta = dict(metadata)
    if name is not None:
        meta = {"deletable": False, "name": name, **meta}
    return nbformat.v4.new_code_cell(source, metadata=meta)


def markdown(source: str, **metadata: object) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source, metadata=dict(metadata))


def cells(notebook: Notebook) -> list[nbformat.NotebookNode]:
    return [
        markdown(GUIDE.format(title=notebook.title), golden_role="guide"),
        cell(
            "# Imports. The helpers do telemetry, metrics, preprocessing and logs for you.\n"
            "import json\n"
            "import numpy as np\n"
            "import pandas as pd\n"
            "from dsdl_golden import lifecycle, metrics_calculator, preprocessor, splunk_connector, telemetry_helper",
            "mltkc_import",
        ),
        markdown(
            "## ✏️ MODELO / MODEL\n"
            "**ES** · La única celda que se edita. `build_model(params, data)` devuelve el modelo sin entrenar: "
            "`params` trae los `clave=valor` del SPL, `data` el número de columnas y clases.\n\n"
            "**EN** · The only cell to edit. `build_model(params, data)` returns the untrained model: `params` "
            "holds the SPL's `key=value` pairs, `data` the number of features and classes. Return a scikit-learn "
            "style estimator, an aeon model, a `torch.nn.Module`, a `keras.Model`, or "
            "`lifecycle.StatsmodelsForecaster(...)` with `task='forecast'`."
        ),
        cell(notebook.model, "mltkc_model", golden_role="model", tags=["model"]),
        markdown(
            "## Configuración / Configuration\n"
            "HEC and Splunk access come from DSDL's container settings (Configuration ▸ Setup); on a laptop, "
            "from the `golden-emulator.env` that `golden emulator` writes in this directory (README: "
            "*Quickstart for data scientists*). This cell shows whether they work; it is not exported."
        ),
        cell(SETTINGS_CELL + "\nsplunk_connector.validate_splunk_config(settings)"),
        markdown(
            "## Contrato DSDL / DSDL contract\n"
            "**ES** · No edite estas celdas: llaman a `lifecycle`, que preprocesa, entrena, mide, guarda y envía "
            "la telemetría.\n\n"
            "**EN** · Do not edit these cells: they call `lifecycle`, which preprocesses, trains, scores, saves "
            "and sends the telemetry."
        ),
        cell(
            "# Data staged by | fit MLTKContainer mode=stage algo=<this notebook> ... into app:<name>\n"
            "def stage(name):\n"
            "    return lifecycle.stage(name)",
            "mltkc_stage",
        ),
        cell("def init(df, param):\n    return lifecycle.init(df, param, build_model)", "mltkc_init"),
        cell("def fit(model, df, param):\n    return lifecycle.fit(model, df, param)", "mltkc_fit"),
        cell("def apply(model, df, param):\n    return lifecycle.apply(model, df, param)", "mltkc_apply"),
        cell(
            '# DSDL saves as "<algo>_<model_name>" in the model directory\n'
            "def save(model, name):\n"
            "    return lifecycle.save(model, name)",
            "mltkc_save",
        ),
        cell("def load(name):\n    return lifecycle.load(name, build_model)", "mltkc_load"),
        cell("def summary(model=None):\n    return lifecycle.summary(model)", "mltkc_summary"),
        markdown(
            "## Pruebas / Try it here\n"
            "**ES** · Estas celdas no se exportan: pruebe el modelo con datos de ejemplo o con una búsqueda.\n\n"
            "**EN** · These cells are not exported: try the model on sample data or on a search "
            "(`splunk_connector.get_data(...)` when Splunk access is set up)."
        ),
        cell(notebook.sample, golden_role="sample_data"),
        cell(
            "model = init(df, param)\n"
            "report = fit(model, df, param)\n"
            "{key: report[key] for key in ('task', 'model', 'rows_train', 'rows_holdout', 'duration_s')}"
        ),
        cell(
            "pd.Series(report['metrics'], name='holdout', dtype=object) if report['metrics'] else 'no holdout metrics'"
        ),
        cell("from dsdl_golden import plots\n\nplots.plot_model(model)"),
        cell("results = apply(model, df, param)\nresults.head()"),
        cell(
            f'save(model, "{notebook.name}_demo")\n'
            f'reloaded = load("{notebook.name}_demo")\n'
            "assert len(apply(reloaded, df, param)) == len(df)\n"
            "summary(reloaded)['summary']['metrics']"
        ),
        cell(
            "# Telemetry is delivered in the background; flush waits for it (True when everything arrived).\n"
            "telemetry_helper.flush(30), telemetry_helper.get_telemetry().stats()"
        ),
    ]


def _with_stable_ids(nodes: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """Cell ids from the cells' names and positions, so that writing twice gives the same file."""
    for position, node in enumerate(nodes):
        node["id"] = node.metadata.get("name") or f"cell-{position:02d}"
    return nodes


def _write_cells(nodes: list[nbformat.NotebookNode], path: Path) -> Path:
    node = nbformat.v4.new_notebook(
        cells=_with_stable_ids(nodes),
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    path.write_text(nbformat.writes(node) + "\n", encoding="utf-8")
    return path


def write_notebook(notebook: Notebook, directory: Path) -> Path:
    return _write_cells(cells(notebook), directory / f"{notebook.name}.ipynb")


# --- sample data -------------------------------------------------------------------------------------------


def churn() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 600
    tenure = rng.integers(1, 72, n)
    contract = rng.choice(["month", "one_year", "two_year"], n, p=[0.55, 0.25, 0.2])
    charges = np.round(rng.normal(70, 25, n).clip(18, 130), 2)
    calls = rng.poisson(1.5, n)
    payment = rng.choice(["card", "transfer", "check"], n)
    score = -2.2 + 1.6 * (contract == "month") - 0.04 * tenure + 0.015 * charges + 0.45 * calls
    churned = rng.random(n) < 1 / (1 + np.exp(-score))
    return pd.DataFrame(
        {
            "tenure": tenure,
            "monthly_charges": charges,
            "contract": contract,
            "payment_method": payment,
            "support_calls": calls,
            "churn": np.where(churned, "yes", "no"),
        }
    )


def network_sessions() -> pd.DataFrame:
    rng = np.random.default_rng(12)
    n = 600
    kind = rng.choice(["web", "backup", "dns"], n, p=[0.5, 0.2, 0.3])
    bytes_out = np.where(
        kind == "backup",
        rng.lognormal(16, 0.6, n),
        np.where(kind == "web", rng.lognormal(10, 1, n), rng.lognormal(5, 0.4, n)),
    )
    duration = np.where(
        kind == "backup",
        rng.normal(900, 200, n),
        np.where(kind == "web", rng.normal(30, 15, n), rng.normal(0.2, 0.1, n)),
    )
    port = np.where(
        kind == "dns", 53, np.where(kind == "web", rng.choice([80, 443], n), rng.choice([22, 873], n))
    )
    return pd.DataFrame(
        {
            "bytes_out": np.round(bytes_out).astype(int),
            "bytes_in": np.round(bytes_out * rng.uniform(0.05, 2.0, n)).astype(int),
            "duration_s": np.round(np.abs(duration), 3),
            "dest_port": port,
            "app": kind,
        }
    )


def house_prices() -> pd.DataFrame:
    rng = np.random.default_rng(13)
    n = 600
    size = np.round(rng.normal(95, 30, n).clip(25, 260), 1)
    rooms = np.clip(np.round(size / 28 + rng.normal(0, 0.7, n)), 1, 8).astype(int)
    age = rng.integers(0, 80, n)
    district = rng.choice(["centro", "norte", "sur", "playa"], n)
    premium = pd.Series(district).map({"centro": 1.35, "norte": 1.0, "sur": 0.85, "playa": 1.2}).to_numpy()
    price = (2100 * size * premium - 450 * age + 6000 * rooms + rng.normal(0, 12000, n)).clip(20000)
    return pd.DataFrame(
        {
            "size_m2": size,
            "rooms": rooms,
            "age_years": age,
            "district": district,
            "price": np.round(price, -2),
        }
    )


def web_traffic() -> pd.DataFrame:
    rng = np.random.default_rng(14)
    n = 24 * 21
    hours = np.arange(n)
    level = (
        800
        + 2.5 * hours / 24
        + 300 * np.sin(2 * np.pi * (hours % 24 - 8) / 24).clip(-0.4)
        + rng.normal(0, 40, n)
    )
    start = pd.Timestamp("2026-11-01T00:00:00Z").timestamp()
    return pd.DataFrame(
        {"_time": (start + 3600 * hours).astype(int), "requests": np.round(level).astype(int)}
    )


def cpu_windows() -> pd.DataFrame:
    rng = np.random.default_rng(15)
    n, length = 240, 24
    label = rng.choice(["normal", "spike", "ramp"], n)
    base = rng.normal(35, 5, (n, 1)) + rng.normal(0, 3, (n, length))
    spike_at = rng.integers(4, 20, n)
    for row in range(n):
        if label[row] == "spike":
            base[row, spike_at[row] : spike_at[row] + 2] += rng.uniform(35, 55)
        elif label[row] == "ramp":
            base[row] += np.linspace(0, rng.uniform(25, 45), length)
    frame = pd.DataFrame(np.round(base, 1), columns=[f"cpu_t{i:02d}" for i in range(length)])
    frame["pattern"] = label
    return frame


DATASETS: dict[str, tuple[Callable[[], pd.DataFrame], str | None]] = {
    "churn_sample": (churn, "churn"),
    "network_sessions": (network_sessions, "app"),
    "house_prices": (house_prices, "price"),
    "web_traffic": (web_traffic, "requests"),
    "cpu_windows": (cpu_windows, "pattern"),
}


def _sample_cell(data: str) -> str:
    return (
        f"# Sample data in DSDL's staged format (data/{data}.csv + data/{data}.json).\n"
        f'df, param = stage("{data}")\n'
        "df.head()"
    )


NOTEBOOKS = (
    Notebook(
        TEMPLATE,
        "Plantilla empresa · Enterprise template (DSDL)",
        "# ✏️ MODELO / MODEL: the only cell to edit.\n"
        "from sklearn.ensemble import RandomForestClassifier\n\n\n"
        "@lifecycle.model_defaults(n_estimators=200, max_depth=None)\n"
        "def build_model(params, data):\n"
        '    """The untrained model. params: the SPL\'s key=value pairs (n_estimators=300 ...)."""\n'
        "    return RandomForestClassifier(\n"
        '        n_estimators=params["n_estimators"], max_depth=params["max_depth"], random_state=0, n_jobs=-1\n'
        "    )",
        _sample_cell("churn_sample"),
        "churn_sample",
    ),
    Notebook(
        "example_sklearn_classifier",
        "Ejemplo · Example: scikit-learn classifier (network sessions, 3 classes)",
        "# ✏️ MODELO / MODEL: a gradient-boosting classifier.\n"
        "from sklearn.ensemble import HistGradientBoostingClassifier\n\n\n"
        "@lifecycle.model_defaults(max_iter=150, learning_rate=0.1)\n"
        "def build_model(params, data):\n"
        "    return HistGradientBoostingClassifier(\n"
        '        max_iter=params["max_iter"], learning_rate=params["learning_rate"], random_state=0\n'
        "    )",
        _sample_cell("network_sessions"),
        "network_sessions",
    ),
    Notebook(
        "example_sklearn_regressor",
        "Ejemplo · Example: scikit-learn regressor (house prices)",
        "# ✏️ MODELO / MODEL: ridge regression on the preprocessed features.\n"
        "from sklearn.linear_model import RidgeCV\n\n\n"
        "def build_model(params, data):\n"
        "    return RidgeCV(alphas=(0.1, 1.0, 10.0, 100.0))",
        _sample_cell("house_prices"),
        "house_prices",
    ),
    Notebook(
        "example_statsmodels_forecast",
        "Ejemplo · Example: statsmodels forecaster (hourly web requests)",
        "# ✏️ MODELO / MODEL: a seasonal ARIMA forecaster of the target series (rows ordered by _time).\n"
        "from statsmodels.tsa.statespace.sarimax import SARIMAX\n\n\n"
        '@lifecycle.model_defaults(task="forecast", holdout=0.1, seasonal_period=24)\n'
        "def build_model(params, data):\n"
        "    return lifecycle.StatsmodelsForecaster(\n"
        '        lambda y: SARIMAX(y, order=(1, 0, 1), seasonal_order=(1, 0, 0, params["seasonal_period"]), trend="ct"),\n'
        "        disp=False,\n"
        "    )",
        _sample_cell("web_traffic"),
        "web_traffic",
    ),
    Notebook(
        "example_aeon_timeseries",
        "Ejemplo · Example: aeon time-series classifier (CPU usage windows)",
        "# ✏️ MODELO / MODEL: each row is one series of 24 CPU readings (cpu_t00..cpu_t23).\n"
        "from aeon.classification.convolution_based import RocketClassifier\n\n\n"
        "@lifecycle.model_defaults(preprocess=False, n_kernels=500)\n"
        "def build_model(params, data):\n"
        '    return RocketClassifier(n_kernels=params["n_kernels"], random_state=0)',
        _sample_cell("cpu_windows"),
        "cpu_windows",
    ),
    Notebook(
        "example_pytorch",
        "Ejemplo · Example: PyTorch network (customer churn)",
        "# ✏️ MODELO / MODEL: a small PyTorch network, trained by lifecycle.TorchModel.\n"
        "import torch\n\n\n"
        "@lifecycle.model_defaults(epochs=30, batch_size=32, learning_rate=0.01, hidden=16)\n"
        "def build_model(params, data):\n"
        "    network = torch.nn.Sequential(\n"
        '        torch.nn.Linear(data.n_features, params["hidden"]),\n'
        "        torch.nn.ReLU(),\n"
        '        torch.nn.Linear(params["hidden"], data.n_classes),\n'
        "    )\n"
        "    return lifecycle.TorchModel(network)",
        _sample_cell("churn_sample"),
        "churn_sample",
    ),
    Notebook(
        "example_keras",
        "Ejemplo · Example: TensorFlow/Keras network (house prices)",
        "# ✏️ MODELO / MODEL: a Keras regression network (compiled here, trained by lifecycle.KerasModel).\n"
        "import keras\n\n\n"
        "@lifecycle.model_defaults(epochs=60, batch_size=32, hidden=32)\n"
        "def build_model(params, data):\n"
        "    network = keras.Sequential(\n"
        "        [\n"
        "            keras.Input(shape=(data.n_features,)),\n"
        '            keras.layers.Dense(params["hidden"], activation="relu"),\n'
        "            keras.layers.Dense(1),\n"
        "        ]\n"
        "    )\n"
        '    network.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")\n'
        "    return lifecycle.KerasModel(network)",
        _sample_cell("house_prices"),
        "house_prices",
    ),
)


def write_data(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (make, target) in DATASETS.items():
        frame = make()
        features = [column for column in frame.columns if column != target]
        csv_path = directory / f"{name}.csv"
        frame.to_csv(csv_path, index=False, lineterminator="\n")
        json_path = directory / f"{name}.json"
        meta = splunk_meta(TEMPLATE, features, target, name, {"mode": "stage"})
        json_path.write_text(json.dumps(meta, indent=1) + "\n")
        written += [csv_path, json_path]
    return written


# --- the quickstart: the README's example as a notebook -----------------------------------------------

QUICKSTART = "quickstart"


def quickstart_cells() -> list[nbformat.NotebookNode]:
    return [
        markdown(
            "# Quickstart · Inicio rápido\n\n"
            "The README's quickstart as a notebook: search Splunk, preprocess, train, score, send the "
            "telemetry and the results, see them arrive. On a laptop, start a local Splunk with the sample "
            "data first, from this directory:\n\n"
            "```sh\ngolden emulator --dataset churn data/churn_sample.csv\n```\n\n"
            "It writes `golden-emulator.env`, which the first cell loads. In DSDL's container the settings "
            "are already set and `index=churn` must be an index of yours."
        ),
        cell(
            "from sklearn.ensemble import RandomForestClassifier\n"
            "from sklearn.model_selection import train_test_split\n\n"
            "from dsdl_golden import (calculate_all_metrics, flush, get_data, get_telemetry, log_metrics,\n"
            "                         log_params, plot_metrics, send_results, standard_preprocessing)\n"
            + SETTINGS_CELL
            + "\nsettings"
        ),
        cell(
            'df = get_data("index=churn", earliest="0")  # earliest="0": all time (default: the last 24 h)\ndf.head()'
        ),
        cell(
            'X, preprocessor = standard_preprocessing(df, target="churn")\n'
            'X_train, X_test, y_train, y_test = train_test_split(X, df["churn"], test_size=0.25, random_state=0)\n'
            'params = {"n_estimators": 200, "max_depth": 8, "random_state": 0}\n'
            "model = RandomForestClassifier(**params).fit(X_train, y_train)\n"
            "metrics = calculate_all_metrics(y_test, model.predict(X_test), model.predict_proba(X_test))\n"
            "metrics"
        ),
        cell("plot_metrics(metrics)  # confusion matrix, ROC and precision-recall curves"),
        cell(
            "log_params(params)\n"
            'log_metrics(metrics, stage="holdout")\n'
            'send_results(df.assign(predicted=model.predict(X)), sourcetype="churn:predictions")'
        ),
        cell(
            "# True when Splunk accepted every event; otherwise a warning says which and what to change.\n"
            "assert flush(10)\n"
            "get_telemetry()"
        ),
        markdown("## See them arrive"),
        cell('get_data("index=main sourcetype=churn:predictions | stats count", earliest="0")'),
        cell('get_data("index=main sourcetype=dsdl:golden | stats count by type", earliest="0")'),
    ]


def write_quickstart(directory: Path) -> Path:
    return _write_cells(quickstart_cells(), directory / f"{QUICKSTART}.ipynb")


def write_all(root: Path = ROOT) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    notebooks = [write_notebook(notebook, root) for notebook in NOTEBOOKS]
    return [*notebooks, write_quickstart(root), *write_data(root / "data")]


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT):
        print(path)
