"""What fit reports and keeps: the report, the training time, the profile, and refit's preprocessing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from golden_testing import churn_sample
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import Ridge

from dsdl_golden import lifecycle
from dsdl_golden._lifecycle.profile import content_hash
from dsdl_golden.preprocessor import standard_preprocessing


def churn() -> tuple[pd.DataFrame, dict[str, Any]]:
    return churn_sample(algo="churn_nb", n_estimators="20")


def numbers(rows: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"a": rng.normal(50, 20, rows), "b": rng.normal(0, 0.01, rows)})
    frame["y"] = 0.3 * frame["a"] + 400 * frame["b"] + rng.normal(0, 0.1, rows)
    return frame


def test_the_fit_report_names_the_model_its_training_and_no_refit(srv: Path) -> None:
    frame, param = churn()
    model = lifecycle.init(
        frame, param, lambda params: RandomForestClassifier(n_estimators=20, random_state=0)
    )
    before = datetime.now(UTC).replace(microsecond=0)
    report = lifecycle.fit(model, frame, param)

    assert model.adapter is not None
    assert (
        report["model"]
        == model.adapter.describe()
        == "RandomForestClassifier(n_estimators=20, random_state=0)"
    )
    assert (report["training"], model.training) == ({}, {})  # an estimator reports no epochs
    assert (report["refit"], report["rows_holdout"]) == (False, 120)
    assert model.trained_at is not None
    assert model.trained_at.endswith("+00:00")
    assert before <= datetime.fromisoformat(model.trained_at) <= datetime.now(UTC)
    assert model.profile is not None
    assert (model.profile["columns"], list(model.profile["column_profiles"])[-1]) == (6, "churn")


def test_refit_without_preprocessing_trains_on_the_columns_as_they_are(srv: Path) -> None:
    frame = numbers()
    param = {"target_variables": ["y"], "options": {"params": {"refit": "true", "preprocess": "false"}}}
    model = lifecycle.init(frame, param, lambda params: Ridge(alpha=10.0))
    report = lifecycle.fit(model, frame, param)

    assert (report["refit"], model.preprocessor) == (True, None)
    everything = Ridge(alpha=10.0).fit(frame[["a", "b"]], frame["y"])
    np.testing.assert_allclose(lifecycle.apply(model, frame)["y"], everything.predict(frame[["a", "b"]]))


def test_refit_trains_on_every_row_preprocessed_as_every_row_is(srv: Path) -> None:
    # Ridge is not scale-invariant: training on features scaled as the training split was, then
    # predicting with the preprocessor fitted on every row, would give other predictions.
    frame = numbers()
    param = {"target_variables": ["y"], "options": {"params": {"refit": "true", "holdout": "0.4"}}}
    model = lifecycle.init(frame, param, lambda params: Ridge(alpha=10.0))
    lifecycle.fit(model, frame, param)

    features, _ = standard_preprocessing(frame[["a", "b"]])
    everything = Ridge(alpha=10.0).fit(features, frame["y"])
    np.testing.assert_allclose(lifecycle.apply(model, frame)["y"], everything.predict(features))


def test_the_content_hash_follows_its_documented_recipe_and_ignores_the_index() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "city": ["Paris", "Oslo", None]})
    digest = hashlib.sha256(b"x\x1fint64\x1ecity\x1f" + str(frame["city"].dtype).encode() + b"\x1e")
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().astype("<u8").tobytes())
    assert content_hash(frame) == f"sha256:{digest.hexdigest()}"
    assert content_hash(frame.set_axis([7, 8, 9])) == content_hash(frame)
    assert content_hash(frame.iloc[::-1]) != content_hash(frame)  # the row order counts
