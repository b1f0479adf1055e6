"""Tests of dsdl_golden.config: parsing, validation, secrets and provenance of the settings."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pickle
from pathlib import Path

import pytest

from dsdl_golden.config import MASK, ConfigError, Secret, Settings, load_settings

TOKEN = "tok-7f3a9c1e-DISTINCTIVE-0d2b"
HEC_ON = {"splunk_hec_enabled": "1", "splunk_hec_url": "https://splunk:8088", "splunk_hec_token": TOKEN}


def problems_of(environ: dict[str, str]) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ)
    return caught.value.problems


def test_defaults_from_an_empty_environment() -> None:
    settings = load_settings({})
    assert settings == Settings()
    assert (settings.splunk_hec_enabled, settings.splunk_access_enabled) == (False, False)
    assert settings.splunk_access_port == 8089
    assert settings.mode == "PROD"
    assert settings.enable_https is True
    assert settings.api_workers == 1
    assert (settings.project, settings.use_case) == ("default", "default")
    assert (settings.events_index, settings.metrics_index) == ("main", "golden_metrics")
    assert settings.sourcetype == "dsdl:golden"
    assert settings.tls_verify is True
    assert settings.log_level == "INFO"
    assert settings.srv_dir == Path("/srv")
    assert settings.model_data_dir == Path("/srv/app/model/data")
    assert settings.staging_dir == Path("/srv/notebooks/data")
    assert settings.max_request_mb == 1024
    assert settings.spool_dir in {Path("/srv/app/golden_spool"), Path.home() / ".cache/dsdl-golden/spool"}
    assert not settings.api_token
    assert settings.hec_event_url is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("False", False),
        ("no", False),
        ("OFF", False),
        ("", False),
        ("  ", False),
    ],
)
def test_flag_values(raw: str, expected: bool) -> None:
    assert load_settings({"ENABLE_HTTPS": raw}).enable_https is expected


@pytest.mark.parametrize("raw", ["1", "true"])
def test_hec_enabled_by_either_value_dsdl_sends(raw: str) -> None:
    settings = load_settings({**HEC_ON, "splunk_hec_enabled": raw})
    assert settings.hec_enabled
    assert settings.hec_event_url == "https://splunk:8088/services/collector/event"


def test_invalid_flag_names_variable_value_and_accepted_values() -> None:
    (problem,) = problems_of({"ENABLE_HTTPS": "maybe"})
    assert problem.startswith("ENABLE_HTTPS='maybe': expected a flag")
    for word in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        assert word in problem


def test_all_problems_are_reported_together() -> None:
    environ = {
        "splunk_access_port": "80x",
        "ENABLE_HTTPS": "sure",
        "GOLDEN_EVENTS_INDEX": "Main",
        "GOLDEN_LOG_LEVEL": "loud",
    }
    problems = problems_of(environ)
    assert len(problems) == 4
    for name in environ:
        assert any(problem.startswith(f"{name}=") for problem in problems), name
    with pytest.raises(ConfigError, match="splunk_access_port='80x': expected an integer from 1 to 65535"):
        load_settings(environ)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="api_workers"):
        load_settings({"api_workers": "0"})


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("443", 443), ("65535", 65535), (" 8089 ", 8089)])
def test_valid_port(raw: str, expected: int) -> None:
    assert load_settings({"splunk_access_port": raw}).splunk_access_port == expected


@pytest.mark.parametrize("raw", ["80x", "0", "65536", "-1", "+80", "8.5", "9" * 30])
def test_invalid_port(raw: str) -> None:
    assert problems_of({"splunk_access_port": raw}) == (
        f"splunk_access_port={raw!r}: expected an integer from 1 to 65535",
    )


def test_empty_port_means_default() -> None:
    settings = load_settings({"splunk_access_port": ""})
    assert settings.splunk_access_port == 8089
    assert settings.source_of("splunk_access_port") == "default"


@pytest.mark.parametrize(("raw", "expected"), [("4", 4), ("1", 1)])
def test_api_workers(raw: str, expected: int) -> None:
    assert load_settings({"api_workers": raw}).api_workers == expected


@pytest.mark.parametrize("raw", ["0", "-2", "two"])
def test_invalid_api_workers(raw: str) -> None:
    (problem,) = problems_of({"api_workers": raw})
    assert problem == f"api_workers={raw!r}: expected an integer >= 1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://splunk:8088", "https://splunk:8088"),
        ("https://splunk:8088/", "https://splunk:8088"),
        ("http://10.0.0.5:8088", "http://10.0.0.5:8088"),
        ("HTTPS://hec.example.com", "HTTPS://hec.example.com"),
        ("https://[::1]:8088", "https://[::1]:8088"),
        ("https://proxy.example.com/splunk/", "https://proxy.example.com/splunk"),
    ],
)
def test_valid_hec_url(raw: str, expected: str) -> None:
    settings = load_settings({**HEC_ON, "splunk_hec_url": raw})
    assert settings.splunk_hec_url == expected
    assert settings.hec_event_url == f"{expected}/services/collector/event"


@pytest.mark.parametrize(
    "raw",
    [
        "splunk:8088",
        "ftp://splunk:8088",
        "https://",
        "https://:8088",
        "https://splunk:99999",
        "https://splunk:port",
        "https://splunk:8088?x=1",
        "https://[::1",
        "https://bad host:8088",
    ],
)
def test_invalid_hec_url(raw: str) -> None:
    (problem,) = problems_of({"splunk_hec_url": raw})
    assert problem.startswith(f"splunk_hec_url={raw!r}: expected an http:// or https:// URL")


@pytest.mark.parametrize(
    "raw",
    [
        "https://admin:hunter2-PASSWORD@splunk:8088",
        "https://hunter2-PASSWORD@splunk:8088",
        "https://admin:hunter2-PASSWORD@[::1]:8088/",
        "http://:hunter2-PASSWORD@10.0.0.5:8088",
    ],
)
def test_credentials_in_a_url_are_refused_without_showing_them(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**HEC_ON, "splunk_hec_url": raw})
    (problem,) = caught.value.problems
    assert problem.startswith("splunk_hec_url=")
    assert "user name or password" in problem
    assert "hunter2-PASSWORD" not in str(caught.value)
    assert "admin" not in str(caught.value)


def test_hec_url_without_enabling_gives_no_event_url() -> None:
    settings = load_settings({**HEC_ON, "splunk_hec_enabled": "0"})
    assert not settings.hec_enabled
    assert settings.hec_event_url is None


def test_hec_enabled_without_token_names_the_token() -> None:
    (problem,) = problems_of({"splunk_hec_enabled": "true", "splunk_hec_url": "https://splunk:8088"})
    assert "splunk_hec_token is not set" in problem
    assert "splunk_hec_enabled" in problem


def test_hec_enabled_without_url_and_token_names_both() -> None:
    problems = problems_of({"splunk_hec_enabled": "1", "splunk_hec_token": " "})
    assert len(problems) == 2
    assert "splunk_hec_url is not set" in problems[0]
    assert "splunk_hec_token is not set" in problems[1]


def test_invalid_url_of_enabled_hec_is_reported_once() -> None:
    (problem,) = problems_of({**HEC_ON, "splunk_hec_url": "splunk:8088"})
    assert problem.startswith("splunk_hec_url=")


def test_splunk_access_enabled_requires_host_and_token() -> None:
    problems = problems_of({"splunk_access_enabled": "yes"})
    assert [problem.split(" is on but ")[1].split()[0] for problem in problems] == [
        "splunk_access_host",
        "splunk_access_token",
    ]


def test_disabled_services_need_nothing_else() -> None:
    settings = load_settings({"splunk_hec_enabled": "false", "splunk_access_enabled": "0"})
    assert not settings.hec_enabled


def test_splunk_access_settings() -> None:
    settings = load_settings(
        {
            "splunk_access_enabled": "1",
            "splunk_access_host": "splunk_search.example.com",
            "splunk_access_port": "9089",
            "splunk_access_token": TOKEN,
        }
    )
    assert settings.splunk_access_host == "splunk_search.example.com"
    assert settings.splunk_access_port == 9089
    assert settings.splunk_access_token.reveal() == TOKEN


@pytest.mark.parametrize("raw", ["https://splunk", "splunk:8089", "-splunk", "bad host", "splunk..example"])
def test_invalid_access_host(raw: str) -> None:
    (problem,) = problems_of({"splunk_access_host": raw})
    assert problem.startswith(f"splunk_access_host={raw!r}: expected a host name or IP address")


@pytest.mark.parametrize(
    ("raw", "expected"), [("dev", "DEV"), (" Prod ", "PROD"), ("DEV", "DEV"), ("", "PROD")]
)
def test_mode_is_normalised(raw: str, expected: str) -> None:
    assert load_settings({"MODE_DEV_PROD": raw}).mode == expected


def test_invalid_mode() -> None:
    assert problems_of({"MODE_DEV_PROD": "test"}) == (
        "MODE_DEV_PROD='test': expected one of DEV, PROD (any case)",
    )


@pytest.mark.parametrize(("raw", "expected"), [("debug", "DEBUG"), ("Warning", "WARNING")])
def test_log_level_is_normalised(raw: str, expected: str) -> None:
    assert load_settings({"GOLDEN_LOG_LEVEL": raw}).log_level == expected


def test_invalid_log_level_lists_the_levels() -> None:
    (problem,) = problems_of({"GOLDEN_LOG_LEVEL": "verbose"})
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in problem


@pytest.mark.parametrize(("raw", "expected"), [("", "off"), ("OFF", "off"), ("MLflow", "mlflow")])
def test_the_registry_switch_is_read_in_any_case(raw: str, expected: str) -> None:
    assert load_settings({"GOLDEN_REGISTRY": raw}).registry == expected


def test_an_unknown_registry_names_the_choices() -> None:
    assert problems_of({"GOLDEN_REGISTRY": "wandb"}) == (
        "GOLDEN_REGISTRY='wandb': expected one of off, mlflow (any case)",
    )


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("false", False), ("off", False)])
def test_tls_verify_flag(raw: str, expected: bool) -> None:
    assert load_settings({"GOLDEN_TLS_VERIFY": raw}).tls_verify is expected


def test_tls_verify_empty_keeps_verification_on() -> None:
    assert load_settings({"GOLDEN_TLS_VERIFY": ""}).tls_verify is True


def test_tls_verify_ca_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load_settings({"GOLDEN_TLS_VERIFY": str(bundle)}).tls_verify == bundle


@pytest.mark.parametrize("name", ["missing.pem", "."])
def test_tls_verify_needs_an_existing_file(tmp_path: Path, name: str) -> None:
    raw = str(tmp_path / name)
    (problem,) = problems_of({"GOLDEN_TLS_VERIFY": raw})
    assert problem.startswith(f"GOLDEN_TLS_VERIFY={raw!r}: expected a flag")
    assert "path of an existing CA bundle file" in problem


@pytest.mark.parametrize("raw", ["main", "golden_metrics", "a-b", "0ops", "x" * 80])
def test_valid_index(raw: str) -> None:
    settings = load_settings({"GOLDEN_EVENTS_INDEX": raw, "GOLDEN_METRICS_INDEX": raw})
    assert (settings.events_index, settings.metrics_index) == (raw, raw)


@pytest.mark.parametrize("raw", ["_internal", "-x", "Main", "x" * 81, "my index", "idx.1"])
def test_invalid_index(raw: str) -> None:
    problems = problems_of({"GOLDEN_EVENTS_INDEX": raw, "GOLDEN_METRICS_INDEX": raw})
    assert [problem.split("=")[0] for problem in problems] == ["GOLDEN_EVENTS_INDEX", "GOLDEN_METRICS_INDEX"]
    assert all("expected a Splunk index name" in problem for problem in problems)


def test_spool_dir_expands_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_settings({"GOLDEN_SPOOL_DIR": "~/spool"}).spool_dir == tmp_path / "spool"
    assert not (tmp_path / "spool").exists()


def test_default_spool_dir_without_writable_srv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert load_settings({}).spool_dir == tmp_path / ".cache" / "dsdl-golden" / "spool"


def test_every_setting_comes_from_its_variable(tmp_path: Path) -> None:
    environ = {
        "splunk_hec_enabled": "1",
        "splunk_hec_url": "https://splunk:8088",
        "splunk_hec_token": TOKEN,
        "splunk_access_enabled": "1",
        "splunk_access_host": "splunk",
        "splunk_access_port": "9089",
        "splunk_access_token": TOKEN,
        "api_token": TOKEN,
        "MODE_DEV_PROD": "DEV",
        "ENABLE_HTTPS": "false",
        "api_workers": "2",
        "GOLDEN_PROJECT": "churn",
        "GOLDEN_USE_CASE": "scoring",
        "GOLDEN_EVENTS_INDEX": "ml_events",
        "GOLDEN_METRICS_INDEX": "ml_metrics",
        "GOLDEN_SOURCETYPE": "ml:golden",
        "GOLDEN_TLS_VERIFY": "0",
        "GOLDEN_SPOOL_DIR": str(tmp_path),
        "GOLDEN_SRV_DIR": str(tmp_path / "srv"),
        "GOLDEN_MAX_REQUEST_MB": "64",
        "GOLDEN_LOG_LEVEL": "DEBUG",
        "GOLDEN_REGISTRY": "mlflow",
        "GOLDEN_IMAGE_NAME": "golden-cpu-test",
        "GOLDEN_IMAGE_VERSION": "1.2.3",
        "GOLDEN_IMAGE_REVISION": "0123abc",
        "GOLDEN_IMAGE_DIGEST": "sha256:" + "ab" * 32,
    }
    settings = load_settings(environ)
    fields = [field.name for field in dataclasses.fields(Settings) if not field.name.startswith("_")]
    assert list(settings.as_dict()) == fields
    assert sorted(settings.source_of(name).removeprefix("env ") for name in fields) == sorted(environ)
    defaults = Settings().as_dict(masked=False)
    assert [name for name, value in settings.as_dict(masked=False).items() if value == defaults[name]] == []


def test_source_of() -> None:
    settings = load_settings({"splunk_access_port": "9000", "MODE_DEV_PROD": "dev"})
    assert settings.source_of("splunk_access_port") == "env splunk_access_port"
    assert settings.source_of("mode") == "env MODE_DEV_PROD"
    assert settings.source_of("api_workers") == "default"
    with pytest.raises(KeyError, match="no_such_setting"):
        settings.source_of("no_such_setting")


def test_image_facts_come_from_the_image_file_unless_a_variable_sets_them(tmp_path: Path) -> None:
    image_file = tmp_path / "image.json"
    facts = {
        "name": "golden-cpu-empresa",
        "version": "0.4.0",
        "revision": "9f1c2e7",
        "created": "2026-12-01T00:00:00Z",
    }
    image_file.write_text(json.dumps(facts), encoding="utf-8")
    settings = load_settings({"GOLDEN_IMAGE_VERSION": "0.4.1"}, image_file=image_file)
    assert (settings.image_name, settings.image_version, settings.image_revision) == (
        "golden-cpu-empresa",
        "0.4.1",
        "9f1c2e7",
    )
    assert settings.source_of("image_name") == f"file {image_file}"
    assert settings.source_of("image_version") == "env GOLDEN_IMAGE_VERSION"
    assert settings.image_digest is None


@pytest.mark.parametrize(
    "content",
    [None, "", "{not json", "[1, 2]", '{"name": 7, "version": "", "revision": null}', "\udcff"],
    ids=["missing", "empty", "broken", "not-an-object", "no-usable-value", "undecodable"],
)
def test_an_unusable_image_file_leaves_the_facts_unknown(tmp_path: Path, content: str | None) -> None:
    image_file = tmp_path / "image.json"
    if content is not None:
        image_file.write_bytes(content.encode("utf-8", "surrogateescape"))
    settings = load_settings({}, image_file=image_file)
    assert (settings.image_name, settings.image_version, settings.image_revision) == (None, None, None)
    assert settings.source_of("image_version") == "default"


def test_settings_are_frozen() -> None:
    settings = load_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.api_workers = 3  # type: ignore[misc]


def test_as_dict_is_json_and_masks_secrets(tmp_path: Path) -> None:
    environ = {**HEC_ON, "api_token": TOKEN, "GOLDEN_SPOOL_DIR": str(tmp_path)}
    settings = load_settings(environ)
    masked = settings.as_dict()
    assert TOKEN not in json.dumps(masked)
    assert masked["splunk_hec_token"] == MASK
    assert masked["splunk_access_token"] is None
    assert masked["spool_dir"] == str(tmp_path)
    revealed = settings.as_dict(masked=False)
    assert json.loads(json.dumps(revealed))["splunk_hec_token"] == TOKEN
    assert revealed["api_token"] == TOKEN


def test_tokens_never_in_repr_or_errors() -> None:
    environ = {**HEC_ON, "splunk_access_token": TOKEN, "api_token": TOKEN}
    settings = load_settings(environ)
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    assert MASK in repr(settings)
    bad = {**environ, "splunk_access_enabled": "1", "api_token": f"{TOKEN} {TOKEN}", "api_workers": "x"}
    with pytest.raises(ConfigError) as caught:
        load_settings(bad)
    assert (
        "api_token=(hidden): expected a token without spaces or control characters" in caught.value.problems
    )
    assert TOKEN not in str(caught.value)


def test_secret_hides_its_value() -> None:
    secret = Secret(TOKEN)
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}"):
        assert TOKEN not in shown
        assert MASK in shown
    assert str(Secret("x")) == str(Secret("x" * 100)) == MASK
    assert secret.reveal() == TOKEN


def test_secret_truthiness_and_equality() -> None:
    assert Secret("a")
    assert not Secret("")
    assert Secret(TOKEN) == Secret(TOKEN)
    assert Secret(TOKEN) == TOKEN
    assert Secret(TOKEN) != Secret("other")
    assert Secret("é") == "é"
    assert Secret(TOKEN) != 1
    assert len({Secret(TOKEN), Secret(TOKEN)}) == 1


def test_secret_cannot_be_pickled_but_can_be_copied() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(TOKEN))
    settings = load_settings(HEC_ON)
    with pytest.raises(TypeError):
        pickle.dumps(settings)
    assert copy.deepcopy(settings) == settings
    assert dataclasses.replace(settings, project="other").splunk_hec_token == TOKEN
