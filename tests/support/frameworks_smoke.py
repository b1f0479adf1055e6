"""Import the seed's libraries in one process and run one tiny fit in each framework.

Run by tests/test_frameworks_compat.py in a fresh interpreter; prints one JSON object.
"""

from __future__ import annotations

import io
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import aeon
import joblib
import matplotlib
import numpy as np
import pandas as pd
import scipy
import seaborn as sns
import sklearn
import statsmodels
import statsmodels.api as sm
import tensorflow as tf
import torch
from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(7)


def tensorflow_fit() -> dict[str, float]:
    tf.keras.utils.set_random_seed(7)
    x = rng.uniform(-1, 1, size=(256, 1)).astype("float32")
    y = 2 * x + 1
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0).history["loss"]
    return {"first_loss": float(history[0]), "last_loss": float(history[-1])}


def torch_fit() -> dict[str, float]:
    torch.manual_seed(7)
    x = torch.from_numpy(rng.uniform(-1, 1, size=(256, 1)).astype("float32"))
    y = 2 * x + 1
    model = torch.nn.Linear(1, 1)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(100):
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return {"first_loss": losses[0], "last_loss": losses[-1]}


def aeon_fit() -> dict[str, float]:
    t = np.linspace(0, 4 * np.pi, 40)
    sines = np.sin(t) + rng.normal(0, 0.1, size=(20, 40))
    ramps = np.linspace(-1, 1, 40) + rng.normal(0, 0.1, size=(20, 40))
    x = np.concatenate([sines, ramps])[:, np.newaxis, :]
    y = np.array([0] * 20 + [1] * 20)
    order = rng.permutation(40)
    train, test = order[:30], order[30:]
    classifier = KNeighborsTimeSeriesClassifier(distance="dtw").fit(x[train], y[train])
    return {"accuracy": float((classifier.predict(x[test]) == y[test]).mean())}


def statsmodels_fit() -> dict[str, float]:
    x = rng.uniform(0, 10, size=200)
    y = 3 * x + 2 + rng.normal(0, 0.5, size=200)
    result = sm.OLS(y, sm.add_constant(x)).fit()
    return {"intercept": float(result.params[0]), "slope": float(result.params[1])}


def scikit_learn_fit() -> dict[str, float]:
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return {"accuracy": float(LogisticRegression().fit(x, y).score(x, y))}


def plotting_and_persistence() -> dict[str, int]:
    frame = pd.DataFrame({"x": np.arange(10), "y": np.arange(10) ** 2})
    axes = sns.lineplot(data=frame, x="x", y="y")
    png = io.BytesIO()
    axes.figure.savefig(png, format="png")
    stored = io.BytesIO()
    joblib.dump({"frame": frame}, stored)
    stored.seek(0)
    restored = joblib.load(stored)["frame"]
    return {
        "png_bytes": png.tell(),
        "rows_restored": len(restored),
        "sparse_ok": int(scipy.sparse.issparse(scipy.sparse.eye(2))),
    }


print(
    json.dumps(
        {
            "versions": {
                "tensorflow": tf.__version__,
                "torch": torch.__version__,
                "scikit-learn": sklearn.__version__,
                "aeon": aeon.__version__,
                "statsmodels": statsmodels.__version__,
                "scipy": scipy.__version__,
                "numpy": np.__version__,
                "pandas": pd.__version__,
                "matplotlib": matplotlib.__version__,
                "seaborn": sns.__version__,
                "joblib": joblib.__version__,
            },
            "torch_cuda": torch.version.cuda,
            "torch_cuda_available": torch.cuda.is_available(),
            "tensorflow_gpus": len(tf.config.list_physical_devices("GPU")),
            "tensorflow": tensorflow_fit(),
            "torch": torch_fit(),
            "aeon": aeon_fit(),
            "statsmodels": statsmodels_fit(),
            "scikit-learn": scikit_learn_fit(),
            "plotting": plotting_and_persistence(),
        }
    )
)
