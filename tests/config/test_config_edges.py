"""dsdl_golden.config and settings files at their edges: integer and choice bounds, the exact messages
a user reads, host and URL spellings, the settings table, and values a shell reads as empty (each
test kills mutants ``./dev mutate config`` found surviving)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from dsdl_golden.config import (
    SETTING_VARIABLES,
    ConfigError,
    Secret,
    has_credentials,
    load_settings,
    without_credentials,
)
from dsdl_golden.settings_file import read_env_file


def problem_of(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    (problem,) = caught.value.problems
    return problem


@pytest.mark.parametrize(("raw", "port"), [("1", 1), ("65535", 65535), ("8089", 8089)])
def test_a_port_at_either_end_of_its_range_is_accepted(raw: str, port: int) -> None:
    assert load_settings({"splunk_access_port": raw}).splunk_access_port == port


@pytest.mark.parametrize("raw", ["0", "65536", "-1", "80x", "1e3", "\u0661"])
def test_a_port_outside_its_range_or_not_decimal_digits_names_the_range(raw: str) -> None:
    assert problem_of({"splunk_access_port": raw}) == (
        f"splunk_access_port={raw!r}: expected an integer from 1 to 65535"
    )


def test_an_integer_without_upper_bound_names_its_lower_one() -> None:
    assert load_settings({"api_workers": "1"}).api_workers == 1
    assert load_settings({"api_workers": "64"}).api_workers == 64
    assert problem_of({"api_workers": "0"}) == "api_workers='0': expected an integer >= 1"


@pytest.mark.parametrize(("raw", "spelt"), [("prod", "PROD"), ("Dev", "DEV"), ("PROD", "PROD")])
def test_a_choice_in_any_case_is_given_as_documented(raw: str, spelt: str) -> None:
    assert load_settings({"MODE_DEV_PROD": raw}).mode == spelt


def test_a_lower_case_choice_keeps_its_spelling() -> None:
    assert load_settings({"GOLDEN_REGISTRY": "MLflow"}).registry == "mlflow"


def test_an_unknown_choice_lists_the_choices() -> None:
    assert problem_of({"GOLDEN_LOG_LEVEL": "verbose"}) == (
        "GOLDEN_LOG_LEVEL='verbose': expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)"
    )


def test_an_empty_flag_is_false_and_an_empty_integer_is_unset() -> None:
    settings = load_settings({"ENABLE_HTTPS": "", "splunk_access_port": ""})
    assert settings.enable_https is False
    assert settings.source_of("enable_https") == "env ENABLE_HTTPS"
    assert settings.source_of("splunk_access_port") == "default"


def test_a_bad_token_is_refused_without_showing_it() -> None:
    assert problem_of({"api_token": "two words"}) == (
        "api_token=(hidden): expected a token without spaces or control characters"
    )


def test_a_bad_flag_shows_its_value() -> None:
    assert problem_of({"splunk_hec_enabled": "maybe"}).startswith(
        "splunk_hec_enabled='maybe': expected a flag"
    )


def test_a_host_name_may_end_in_a_dot_but_not_start_with_one() -> None:
    assert load_settings({"splunk_access_host": "splunk.example.com."}).splunk_access_host == (
        "splunk.example.com."
    )
    assert "expected a host name" in problem_of({"splunk_access_host": ".splunk.example.com"})


def test_an_hec_url_on_port_1_is_accepted_and_its_trailing_slashes_dropped() -> None:
    assert load_settings({"splunk_hec_url": "https://splunk:1//"}).splunk_hec_url == "https://splunk:1"
    assert load_settings({"splunk_hec_url": "https://SPLUNKX/"}).splunk_hec_url == "https://SPLUNKX"


def test_an_hec_url_with_credentials_says_where_the_token_goes() -> None:
    assert problem_of({"splunk_hec_url": "https://user:pw@splunk:8088"}) == (
        "splunk_hec_url='https://***@splunk:8088': expected a URL without user name or password: "
        "Splunk does not read them from the URL; remove them (the HEC token is set in splunk_hec_token)"
    )


def test_a_malformed_url_with_credentials_is_still_seen_as_carrying_them() -> None:
    assert has_credentials("https://user:pw@[::1/")
    assert not has_credentials("https://[::1/")


def test_credentials_in_text_are_masked_and_the_rest_kept() -> None:
    assert without_credentials("see https://admin:changeme@splunk:8089/x and http://h/") == (
        "see https://***@splunk:8089/x and http://h/"
    )


def test_a_bad_index_name_says_what_an_index_name_is() -> None:
    assert problem_of({"GOLDEN_EVENTS_INDEX": "_internal"}) == (
        "GOLDEN_EVENTS_INDEX='_internal': expected a Splunk index name: lower-case letters, digits, "
        "_ and -, not starting with _ or -, at most 80 characters"
    )


def test_a_configuration_error_lists_each_problem_on_its_own_line() -> None:
    error = ConfigError(["a: first", "b: second"])
    assert str(error) == (
        "invalid dsdl-golden configuration, fix these environment variables:\n  a: first\n  b: second"
    )


def test_load_settings_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOLDEN_PROJECT", "churn-from-environ")
    assert load_settings().project == "churn-from-environ"


def test_different_secrets_hash_differently_and_equal_ones_alike() -> None:
    assert hash(Secret("token-a")) == hash(Secret("token-a"))
    assert hash(Secret("token-a")) != hash(Secret("token-b"))


def test_pickling_a_secret_says_how_to_pass_it_on_purpose() -> None:
    with pytest.raises(TypeError) as caught:
        pickle.dumps(Secret("token"))
    assert str(caught.value) == "a Secret cannot be pickled; pass secret.reveal() explicitly if you must"


def test_the_settings_table_has_its_headers_caption_and_empty_unset_values() -> None:
    html = load_settings({"GOLDEN_PROJECT": "churn"})._repr_html_()
    assert "<caption>dsdl-golden settings</caption>" in html
    for header in ("variable", "value", "source"):
        assert f"<th>{header}</th>" in html
    assert "<td>GOLDEN_PROJECT</td><td>churn</td><td>env GOLDEN_PROJECT</td>" in html
    assert "<td>splunk_hec_url</td><td></td><td>default</td>" in html


@pytest.mark.parametrize("line", ["GOLDEN_PROJECT=", "GOLDEN_PROJECT=  # not set yet", "GOLDEN_PROJECT=''"])
def test_a_value_a_shell_reads_as_empty_is_empty(tmp_path: Path, line: str) -> None:
    path = tmp_path / "settings.env"
    path.write_text(line + "\n", encoding="utf-8")
    assert read_env_file(path) == {"GOLDEN_PROJECT": ""}


def test_a_bad_byte_after_a_leading_blank_line_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "settings.env"
    path.write_bytes(b"\nGOLDEN_PROJECT=caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        read_env_file(path)
    assert caught.value.problems == (f"{path}, line 2: byte 0xe9 is not UTF-8: save the file as UTF-8 text",)


def test_a_line_that_is_not_an_assignment_is_quoted_to_40_characters(tmp_path: Path) -> None:
    path = tmp_path / "settings.env"
    path.write_text("x" * 50 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_env_file(path)
    assert caught.value.problems == (f"{path}, line 1: expected NAME=value, got {'x' * 40!r}",)
