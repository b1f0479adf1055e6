"""What ``| apply ... model_version=...`` asks for, and the lifecycle with the registry off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from dsdl_golden import lifecycle
from dsdl_golden._lifecycle.params import splunk_meta
from dsdl_golden._lifecycle.registration import requested_version


def apply_param(value: Any, *, in_params: bool = True) -> dict[str, Any]:
    meta = splunk_meta("algo", ["x"], "y", "m")
    if in_params:
        meta["options"]["params"]["model_version"] = value
    else:
        meta["options"]["model_version"] = value
    return meta


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("champion", "@champion"),
        ('"champion"', "@champion"),
        ("@challenger", "@challenger"),
        ("3", 3),
        (" 12 ", 12),
        ("latest", "latest"),
        ("LATEST", "latest"),
        ("Xmas", "@Xmas"),  # only double quotes are taken off
        ('"boX"', "@boX"),
    ],
)
def test_model_version_reads_aliases_numbers_and_latest(raw: str, expected: int | str) -> None:
    assert requested_version(apply_param(raw)) == expected


def test_model_version_is_also_read_from_the_options() -> None:
    assert requested_version(apply_param("2", in_params=False)) == 2


@pytest.mark.parametrize("param", [None, {}, {"options": None}, splunk_meta("algo", ["x"], "y", "m")])
def test_a_request_without_model_version_asks_for_none(param: Any) -> None:
    assert requested_version(param) is None


def test_an_empty_model_version_says_what_to_give() -> None:
    with pytest.raises(ValueError, match=r"model_version is empty: give an alias \(model_version=champion\)"):
        requested_version(apply_param('""'))


def test_model_version_is_not_a_parameter_of_the_model_and_the_registry_is_off_by_default(
    srv: Path,
) -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0] * 5, "y": [0, 0, 1, 1] * 5})
    param = splunk_meta("algo", ["x"], "y", "m", {"model_version": "champion", "C": "0.5"})
    seen: list[dict[str, Any]] = []

    def build_model(params: dict[str, Any]) -> LogisticRegression:
        seen.append(params)
        return LogisticRegression(C=params["C"])

    model = lifecycle.init(frame, param, build_model)
    report = lifecycle.fit(model, frame, param)
    assert seen == [{"C": 0.5}]
    assert "registered" not in report
    assert model.registered is None
    assert not (srv / "app" / "model" / "registry").exists()
