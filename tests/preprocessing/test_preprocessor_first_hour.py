"""The data scientist's first hour: what standard_preprocessing tells them.

standard_preprocessing warns about a target or an identifier left among the features, says how to
leave it out, and stays quiet on ordinary data.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dsdl_golden.preprocessor import standard_preprocessing


def events(n: int = 120) -> pd.DataFrame:
    """Splunk-like data: every value text, the usual kinds of columns, no target, no identifier."""
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "_time": [str(1_700_000_000 + 60 * i) for i in range(n)],
            "bytes": [str(v) for v in rng.integers(100, 10**6, n)],
            "latency": [f"{v:.3f}" for v in rng.random(n)],
            "status": rng.choice(["200", "404", "500"], n),
            "host": rng.choice(["web-1", "web-2", "db-1"], n),
            "count": rng.permutation(n) * 7,
        }
    )


def fit_warnings(frame: pd.DataFrame, **kw: Any) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        standard_preprocessing(frame, **kw)
    return [str(warning.message) for warning in caught]


def test_ordinary_data_gets_no_warning() -> None:
    assert fit_warnings(events()) == []


@pytest.mark.parametrize("name", ["target", "Label", "y", "churn", "is_fraud"])
def test_a_target_left_among_the_features_is_named(name: str) -> None:
    frame = events().assign(**{name: np.arange(120) % 2})
    (message,) = fit_warnings(frame)
    assert f"column {name!r} looks like a target" in message
    assert f"pass target={name!r}" in message
    assert f"ignore=[{name!r}]" in message
    assert fit_warnings(frame, target=name) == []
    assert fit_warnings(frame, ignore=[name]) == []


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("session", [f"s{i:05d}-{i * 7919 % 1000}" for i in range(120)]),
        ("row", list(range(1000, 1120))),
        ("user_id", ["u1", "u2", "u3"] * 40),
        ("accountId", [1, 2] * 60),
    ],
)
def test_an_identifier_is_named_with_how_to_drop_it(name: str, values: list[Any]) -> None:
    frame = events().assign(**{name: values})
    (message,) = fit_warnings(frame, target="count")
    assert f"column {name!r} looks like an identifier" in message
    assert f"pass ignore=[{name!r}] to drop it" in message
    features, _ = standard_preprocessing(frame, target="count", ignore=name)
    assert not any(str(column).startswith(name) for column in features.columns)


@pytest.mark.parametrize("name", ["is_weekend", "VALID", "paid", "grid"])
def test_usual_feature_names_are_not_taken_for_targets_or_identifiers(name: str) -> None:
    frame = events().assign(**{name: np.arange(120) % 2})
    assert fit_warnings(frame, target="count") == []


def test_ignored_columns_must_exist_when_fitting_and_may_be_absent_later() -> None:
    frame = events().assign(user_id=range(120))
    with pytest.raises(ValueError, match=r"ignore columns \['userid'\] are not in df"):
        standard_preprocessing(frame, ignore=["userid"])
    _, preprocessor = standard_preprocessing(frame, ignore=["user_id"])
    features, _ = standard_preprocessing(
        frame.drop(columns="user_id"), ignore=["user_id"], preprocessor=preprocessor
    )
    assert "user_id" not in features.columns


def test_reusing_a_preprocessor_does_not_warn_again() -> None:
    frame = events().assign(target=np.arange(120) % 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, preprocessor = standard_preprocessing(frame)
    assert fit_warnings(frame, preprocessor=preprocessor) == []
