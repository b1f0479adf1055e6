"""The registry's checks, values and tables that need no MLflow: names, aliases, version specs, the
metrics, parameters and tags as MLflow stores them, which direction a metric is better, the comparison
table and how a version prints. Each runs in milliseconds."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from dsdl_golden import model_registry
from dsdl_golden._registry.comparison import comparison_table
from dsdl_golden._registry.values import (
    check_alias,
    check_model_name,
    check_version_spec,
    flat_params,
    flat_tags,
    lower_is_better,
    scalar_metrics,
)
from dsdl_golden._registry.versions import ModelVersionInfo
from dsdl_golden.metrics_calculator import calculate_all_metrics

#: The comparison table's columns before the metric.
DESCRIBING = ["version", "aliases", "run_id", "created"]
CREATED = datetime(2026, 12, 1, 9, 30, 15, 250000, tzinfo=UTC)


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def alias_refused(alias: object) -> str:
    return (
        f"alias {alias!r} is not allowed: use letters, digits, '_' or '-', starting with a letter or "
        "'_', and neither 'latest' nor v<number> (e.g. 'champion', 'challenger')"
    )


def version(number: int, metrics: dict[str, float], *aliases: str) -> ModelVersionInfo:
    return ModelVersionInfo(
        name="churn",
        version=number,
        run_id=f"run{number}",
        source=f"models:/m-{number}",
        aliases=aliases,
        tags={},
        metrics=metrics,
        params={},
        created=CREATED,
    )


@pytest.mark.parametrize("name", ["a", "7", "churn_rf", "Model-2.1", "a" * 256, "app_churn.v2"])
def test_model_names_of_letters_digits_underscores_dashes_and_dots_are_allowed(name: str) -> None:
    assert check_model_name(name) == name


@pytest.mark.parametrize("name", ["", "_churn", ".churn", "-churn", "a b", "churn/rf", "a" * 257, 7, None])
def test_other_model_names_say_which_are_allowed(name: object) -> None:
    message = (
        f"model name {name!r} is not allowed: use 1 to 256 letters, digits, '_', '-' or '.', "
        "starting with a letter or digit (e.g. DSDL's <algo>_<model_name>)"
    )
    with pytest.raises(ValueError, match=exactly(message)):
        check_model_name(name)


@pytest.mark.parametrize(
    "alias", ["champion", "_staging", "c", "Challenger-2", "a" * 256, "latest_good", "v2a"]
)
def test_aliases_of_letters_digits_underscores_and_dashes_are_allowed(alias: str) -> None:
    assert check_alias(alias) == alias


@pytest.mark.parametrize(
    "alias", ["", "2nd", "-x", "a.b", "a b", "a" * 257, "latest", "LATEST", "v2", "V17", None, 3]
)
def test_other_aliases_say_which_are_allowed(alias: object) -> None:
    with pytest.raises(ValueError, match=exactly(alias_refused(alias))):
        check_alias(alias)


@pytest.mark.parametrize("spec", [1, 42, "latest", "@champion", "@_x"])
def test_versions_are_latest_a_positive_number_or_an_alias(spec: object) -> None:
    assert check_version_spec(spec) == spec


@pytest.mark.parametrize("spec", [0, -1, True, False, 1.0, "1", "LATEST", "champion", None])
def test_other_versions_say_what_is_understood(spec: object) -> None:
    message = (
        f"version {spec!r} is not understood: give 'latest', a version number such as 3, "
        "or an alias as '@champion'"
    )
    with pytest.raises(ValueError, match=exactly(message)):
        check_version_spec(spec)


def test_a_version_alias_is_checked_as_an_alias() -> None:
    with pytest.raises(ValueError, match=exactly(alias_refused("v2"))):
        check_version_spec("@v2")


def test_only_finite_numbers_are_logged_as_metrics_nested_names_joined_with_dots() -> None:
    metrics = {
        "rmse": 0.25,
        "n": 12,
        "r2": np.float32(0.5),
        "count": np.int64(3),
        "nan": math.nan,
        "inf": -math.inf,
        "flag": True,
        "np_flag": np.bool_(True),
        "label": "yes",
        "none": None,
        "list": [1.0],
        "per_class": {"yes": {"f1": 0.75, "note": "rare"}, "no": {"f1": 0.5}},
    }
    logged = scalar_metrics(metrics)
    assert logged == {
        "rmse": 0.25,
        "n": 12.0,
        "r2": 0.5,
        "count": 3.0,
        "per_class.yes.f1": 0.75,
        "per_class.no.f1": 0.5,
    }
    assert all(type(value) is float for value in logged.values())


def test_a_metrics_results_descriptors_are_not_logged() -> None:
    result = calculate_all_metrics(["a", "b", "a", "b"], ["a", "b", "b", "b"], task="binary")
    logged = scalar_metrics(result)
    assert logged["accuracy"] == pytest.approx(0.75)
    assert set(result.descriptor_keys)
    assert not {name.split(".")[0] for name in logged} & set(result.descriptor_keys)


@pytest.mark.parametrize("empty", [None, {}])
def test_no_metrics_params_or_tags_log_nothing(empty: object) -> None:
    assert scalar_metrics(empty) == {}
    assert flat_params(empty) == {}
    assert flat_tags(empty) == {}


@pytest.mark.parametrize(
    ("call", "what"), [(scalar_metrics, "metrics"), (flat_params, "params"), (flat_tags, "tags")]
)
@pytest.mark.parametrize("given", [[0.5], "rmse=0.5", 0.5])
def test_metrics_params_and_tags_that_are_not_dicts_say_so(call: object, what: str, given: object) -> None:
    with pytest.raises(
        TypeError, match=exactly(f"{what} must be a dict (or None), got {type(given).__name__}")
    ):
        call(given)  # type: ignore[operator]


def test_params_are_text_nested_names_joined_with_dots() -> None:
    params = {
        "alpha": 0.5,
        "layers": [16, 8],
        "fit": {"epochs": 10, "optimizer": {"name": "adam"}},
        "none": None,
    }
    assert flat_params(params) == {
        "alpha": "0.5",
        "layers": "[16, 8]",
        "fit.epochs": "10",
        "fit.optimizer.name": "adam",
        "none": "None",
    }


def test_tags_are_text_and_nested_dicts_are_refused_by_name() -> None:
    assert flat_tags({"team": "fraud", 3: 4.5, "ok": True}) == {"team": "fraud", "3": "4.5", "ok": "True"}
    message = "tags must map names to text, but ['owner', 'fit'] hold dicts: give each value as text"
    with pytest.raises(TypeError, match=exactly(message)):
        flat_tags({"owner": {"name": "ana"}, "team": "fraud", "fit": {}})


@pytest.mark.parametrize(
    "metric",
    [
        "mae",
        "MSE",
        "rmse",
        "mape",
        "smape",
        "msle",
        "rmsle",
        "brier",
        "brier_score",
        "log_loss",
        "loss",
        "max_error",
        "val.loss",
        "per_class.yes.Brier",
        "holdout.rmse",
    ],
)
def test_error_and_loss_metrics_are_better_lower(metric: str) -> None:
    assert lower_is_better(metric)


@pytest.mark.parametrize(
    "metric",
    ["accuracy", "f1", "r2", "auc", "rmse.count", "loss.ratio", "errors_seen", "mae_share", "losses"],
)
def test_other_metrics_are_better_higher(metric: str) -> None:
    assert not lower_is_better(metric)


def test_the_comparison_ranks_by_the_metric_best_first_with_each_versions_gap_to_the_best() -> None:
    versions = [
        version(1, {"rmse": 0.5, "r2": 0.8}, "champion"),
        version(2, {"rmse": 0.25, "r2": 0.9, "mae": 0.2}, "challenger", "staging"),
        version(3, {"rmse": 1.0}),
    ]
    table = comparison_table("churn", versions, "rmse", None)
    assert list(table.columns) == [*DESCRIBING, "rmse", "delta_to_best", "mae", "r2"]
    assert table["version"].tolist() == [2, 1, 3]
    assert table["aliases"].tolist() == ["challenger, staging", "champion", ""]
    assert table["run_id"].tolist() == ["run2", "run1", "run3"]
    assert table["created"].tolist() == [CREATED] * 3
    assert table["delta_to_best"].tolist() == [0.0, 0.25, 0.75]
    assert table["r2"].tolist()[:2] == [0.9, 0.8]
    assert math.isnan(table["r2"].iloc[2])
    assert math.isnan(table["mae"].iloc[1])
    assert table.index.tolist() == [0, 1, 2]


def test_a_metric_better_higher_ranks_the_largest_first_and_its_gaps_are_negative() -> None:
    versions = [version(1, {"f1": 0.5}), version(2, {"f1": 0.75}), version(3, {"f1": 0.625})]
    table = comparison_table("churn", versions, "f1", None)
    assert table["version"].tolist() == [2, 3, 1]
    assert table["delta_to_best"].tolist() == [0.0, -0.125, -0.25]


@pytest.mark.parametrize(("greater", "order"), [(True, [3, 1, 2]), (False, [2, 1, 3])])
def test_the_direction_given_overrides_the_one_the_name_implies(greater: bool, order: list[int]) -> None:
    versions = [version(1, {"rmse": 0.5}), version(2, {"rmse": 0.25}), version(3, {"rmse": 1.0})]
    assert comparison_table("churn", versions, "rmse", greater)["version"].tolist() == order
    assert comparison_table("churn", versions, "rmse", greater)["delta_to_best"].iloc[0] == 0.0


def test_versions_without_the_metric_come_last_and_ties_go_to_the_newer_version() -> None:
    versions = [
        version(1, {"f1": 0.5}),
        version(2, {"accuracy": 0.9}),
        version(3, {"f1": 0.5}),
        version(4, {"f1": 0.25}),
        version(5, {"accuracy": 0.8}),
    ]
    table = comparison_table("churn", versions, "f1", None)
    assert table["version"].tolist()[:3] == [3, 1, 4]
    assert table["version"].tolist()[3:] == [5, 2]
    assert table["delta_to_best"].iloc[3:].isna().all()


def test_comparing_nothing_says_to_log_a_version_first() -> None:
    message = "registered model 'churn' has no version yet: log one with log_model"
    with pytest.raises(model_registry.VersionNotFoundError, match=exactly(message)):
        comparison_table("churn", [], "rmse", None)


def test_a_metric_no_version_logged_lists_the_ones_they_did() -> None:
    versions = [version(1, {"rmse": 0.5, "r2": 0.8}), version(2, {"mae": 0.1})]
    message = "no compared version of 'churn' logged the metric 'f1'; their metrics: mae, r2, rmse"
    with pytest.raises(model_registry.RegistryError, match=exactly(message)) as raised:
        comparison_table("churn", versions, "f1", None)
    assert type(raised.value) is model_registry.RegistryError
    nothing = "no compared version of 'churn' logged the metric 'f1'; they logged no metrics"
    with pytest.raises(model_registry.RegistryError, match=exactly(nothing)):
        comparison_table("churn", [version(1, {})], "f1", None)


def test_a_comparison_of_one_version_is_that_version_at_no_distance() -> None:
    table = comparison_table("churn", [version(7, {"rmse": np.float64(0.5)})], "rmse", None)
    assert table.to_dict("records") == [
        {"version": 7, "aliases": "", "run_id": "run7", "created": CREATED, "rmse": 0.5, "delta_to_best": 0.0}
    ]
    assert isinstance(table, pd.DataFrame)


def test_errors_are_registry_errors_and_the_lookup_ones_are_lookup_errors() -> None:
    assert issubclass(model_registry.RegistryUnavailableError, model_registry.RegistryError)
    for lookup in (model_registry.ModelNotRegisteredError, model_registry.VersionNotFoundError):
        assert issubclass(lookup, model_registry.RegistryError)
        assert issubclass(lookup, LookupError)
    assert issubclass(model_registry.AliasNotFoundError, model_registry.VersionNotFoundError)
    assert issubclass(model_registry.UnsupportedModelError, model_registry.RegistryError)
    assert issubclass(model_registry.UnsupportedModelError, TypeError)
    assert issubclass(model_registry.RegistryError, Exception)


def test_a_version_prints_its_aliases_run_metrics_params_and_tags_sorted() -> None:
    info = ModelVersionInfo(
        name="churn",
        version=3,
        run_id="abc123",
        source="models:/m-3",
        aliases=("champion", "staging"),
        tags={"team": "fraud", "owner": "ana"},
        metrics={"rmse": 0.123456789, "accuracy": 1.0, "count": 2e-7},
        params={"alpha": "0.5", "C": "10"},
        created=CREATED,
    )
    assert str(info) == "\n".join(
        [
            "churn version 3",
            "  aliases: champion, staging",
            "  run_id: abc123",
            "  source: models:/m-3",
            "  created: 2026-12-01T09:30:15+00:00",
            "  metrics: accuracy=1, count=2e-07, rmse=0.123457",
            "  params: C=10, alpha=0.5",
            "  tags: owner=ana, team=fraud",
        ]
    )


def test_a_version_without_aliases_run_or_values_prints_dashes_and_its_html_is_escaped() -> None:
    info = ModelVersionInfo(
        name="a<b>",
        version=1,
        run_id=None,
        source="file:///x?a=1&b=2",
        aliases=(),
        tags={},
        metrics={},
        params={},
        created=CREATED,
    )
    assert str(info).splitlines()[1:3] == ["  aliases: -", "  run_id: -"]
    assert str(info).splitlines()[5:] == ["  metrics: -", "  params: -", "  tags: -"]
    page = info._repr_html_()
    assert page.startswith("<table><caption>a&lt;b&gt; version 1</caption><thead><tr><th></th><th>value</th>")
    assert "<tr><td>source</td><td>file:///x?a=1&amp;b=2</td></tr>" in page
    assert "<tr><td>aliases</td><td>-</td></tr>" in page
