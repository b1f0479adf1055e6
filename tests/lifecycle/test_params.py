"""Reading DSDL's ``param`` exactly as Splunk sends it."""

from __future__ import annotations

import json
import re

import pytest

from dsdl_golden._lifecycle.params import LifecycleOptions, parse_value, read_request, splunk_meta

COLUMNS = ["churn", "tenure", "total_charges", "total_calls", "contract", "_time"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10", 10),
        ("-3", -3),
        ("0.25", 0.25),
        ("1e-3", 0.001),
        (".5", 0.5),
        ("true", True),
        ("False", False),
        ("none", None),
        ("null", None),
        ('"10"', "10"),
        ('"eigenvector_centrality,cluster_coefficient"', "eigenvector_centrality,cluster_coefficient"),
        ("'quoted'", "quoted"),
        ("[64, 32]", [64, 32]),
        ("[]", []),
        ("64,32", [64, 32]),
        ("relu", "relu"),
        ("1.2.3", "1.2.3"),
        ("", ""),
        ('""', ""),
        ("''", ""),
        ('"', '"'),
        ("XmaxX", "XmaxX"),
        ("[64", "[64"),
        ("64]", "64]"),
    ],
)
def test_spl_values_are_parsed(raw: str, expected: object) -> None:
    assert parse_value(raw) == expected
    assert type(parse_value(raw)) is type(expected)


def test_top_level_plural_keys_win_and_params_split_into_options_and_model_parameters() -> None:
    param = {
        "options": {
            "params": {
                "algo": '"churn_nb"',
                "mode": "fit",
                "holdout": "0.3",
                "n_estimators": "300",
                "criterion": '"gini"',
            },
            "args": ["churn", "total*"],
            "target_variable": ["churn"],
            "feature_variables": ["total*"],
            "model_name": "churn_v1",
            "algo_name": "MLTKContainer",
        },
        "feature_variables": ["tenure", "contract"],
        "target_variables": ["churn"],
    }
    spec = read_request(param, COLUMNS)
    assert (spec.algo, spec.model_name, spec.name) == ("churn_nb", "churn_v1", "churn_nb_churn_v1")
    assert spec.features == ("tenure", "contract")
    assert spec.target == "churn"
    assert spec.options == LifecycleOptions(holdout=0.3)
    assert spec.params == {"n_estimators": 300, "criterion": "gini"}


def test_options_forms_with_wildcards_are_expanded_against_the_data() -> None:
    param = {
        "options": {"params": {"algo": "m"}, "target_variable": ["churn"], "feature_variables": ["total*"]}
    }
    spec = read_request(param, COLUMNS)
    assert spec.features == ("total_charges", "total_calls")
    assert spec.target == "churn"
    assert spec.model_name == "default"


def test_args_without_feature_lists_give_features_after_the_target() -> None:
    param = {"options": {"params": {"algo": "m"}, "args": ["churn", "tenure"], "target_variable": ["churn"]}}
    assert read_request(param, COLUMNS).features == ("tenure",)


def test_no_lists_at_all_means_every_column_but_the_target() -> None:
    spec = read_request({"target_variables": ["churn"]}, COLUMNS)
    assert spec.features == tuple(column for column in COLUMNS if column != "churn")
    assert read_request(None, ["a"]).features == ("a",)


def test_model_defaults_apply_unless_the_spl_overrides_them() -> None:
    param = {"options": {"params": {"epochs": "5"}}}
    spec = read_request(param, COLUMNS, {"epochs": 20, "hidden": 16, "preprocess": False})
    assert spec.params == {"epochs": 5, "hidden": 16}
    assert spec.options.preprocess is False


NAME_RULE = (
    "is not allowed: use 1 to 128 letters, digits, '_' or '-' (no dots, slashes or spaces), "
    "starting with a letter, digit or '_'"
)


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ({"options": {"params": {"algo": "../../etc/passwd"}}}, f"algo '../../etc/passwd' {NAME_RULE}"),
        ({"options": {"model_name": "a/b"}}, f"model_name 'a/b' {NAME_RULE}"),
        ({"options": {"model_name": ".hidden"}}, f"model_name '.hidden' {NAME_RULE}"),
        (
            {"options": {"params": {"holdout": "2"}}},
            "holdout must be from 0 to 0.9 (a share of the rows), got 2",
        ),
        (
            {"options": {"params": {"holdout": "0.95"}}},
            "holdout must be from 0 to 0.9 (a share of the rows), got 0.95",
        ),
        ({"options": {"params": {"holdout": "true"}}}, "holdout must be a number from 0 to 0.9, got True"),
        ({"options": {"params": {"random_state": "true"}}}, "random_state must be an integer, got True"),
        ({"options": {"params": {"random_state": "1.5"}}}, "random_state must be an integer, got 1.5"),
        (
            {"options": {"params": {"task": "magic"}}},
            "task must be one of auto, classification, regression, forecast, unsupervised, got 'magic'",
        ),
        ({"options": {"params": {"preprocess": "maybe"}}}, "preprocess must be true or false, got 'maybe'"),
        ({"options": {"params": {"refit": "2"}}}, "refit must be true or false, got 2"),
        (
            {"target_variables": ["a", "b"]},
            "one target column is supported, got ['a', 'b']: fit one model per target",
        ),
        ({"options": []}, "param['options'] must be a dict, got list"),
        ({"options": {"params": "algo=x"}}, "param['options']['params'] must be a dict, got str"),
        ({"feature_variables": [1, 2]}, "feature_variables must be a list of column names, got [1, 2]"),
        ({"target_variables": 5}, "target_variables must be a list of column names, got 5"),
        (
            {"options": {"target_variable": 5}},
            "options.target_variable must be a list of column names, got 5",
        ),
        (
            {"options": {"feature_variables": 5}},
            "options.feature_variables must be a list of column names, got 5",
        ),
        ({"options": {"args": 5}}, "options.args must be a list of column names, got 5"),
        ([1, 2], "param must be a dict as DSDL sends it, got list"),
    ],
)
def test_bad_requests_say_what_to_fix(param: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        read_request(param, COLUMNS)  # type: ignore[arg-type]


def test_a_holdout_of_0_9_is_the_largest_allowed() -> None:
    assert read_request({"options": {"params": {"holdout": "0.9"}}}, COLUMNS).options.holdout == 0.9


def test_wildcards_in_the_target_and_args_are_expanded_too() -> None:
    spec = read_request({"options": {"target_variable": ["chur*"], "args": ["churn", "total*"]}}, COLUMNS)
    assert (spec.target, spec.features) == ("churn", ("total_charges", "total_calls"))


def test_splunk_meta_is_the_request_splunk_sends_for_fit_with_a_target_and_a_model_name() -> None:
    meta = splunk_meta(
        "pretrained_dga_model_dsdl", ["domain"], "is_dga", "pretrained_dga_model_dsdl", {"mode": "stage"}
    )
    # the contract's real example (../shared/specs/dsdl-contract.md, 2.4), key order included
    assert json.dumps(meta) == json.dumps(
        {
            "options": {
                "params": {"algo": "pretrained_dga_model_dsdl", "mode": "stage"},
                "args": ["is_dga", "domain"],
                "feature_variables": ["domain"],
                "model_name": "pretrained_dga_model_dsdl",
                "algo_name": "MLTKContainer",
                "mlspl_limits": {
                    "handle_new_cat": "default",
                    "max_distinct_cat_values": "100",
                    "max_distinct_cat_values_for_classifiers": "100",
                    "max_distinct_cat_values_for_scoring": "100",
                    "max_fit_time": "600",
                    "max_inputs": "100000",
                    "max_memory_usage_mb": "4000",
                    "max_model_size_mb": "30",
                    "max_score_time": "600",
                    "use_sampling": "true",
                },
                "kfold_cv": None,
                "target_variable": ["is_dga"],
            },
            "feature_variables": ["domain"],
            "target_variables": ["is_dga"],
        }
    )


def test_splunk_meta_without_a_target_or_model_name_leaves_their_keys_out() -> None:
    meta = splunk_meta("anomaly", ["bytes", "packets"])
    assert meta["feature_variables"] == ["bytes", "packets"]
    assert "target_variables" not in meta
    options = meta["options"]
    assert options["args"] == ["bytes", "packets"]
    assert options["params"] == {"algo": "anomaly"}
    assert "target_variable" not in options
    assert "model_name" not in options
    spec = read_request(meta, ["bytes", "packets", "_time"])
    assert (spec.algo, spec.model_name, spec.features, spec.target) == (
        "anomaly",
        "default",
        ("bytes", "packets"),
        None,
    )
