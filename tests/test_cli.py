"""Tests of the ``golden`` command line (dsdl_golden.cli)."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from golden_testing import child_environ

import dsdl_golden
from dsdl_golden import cli

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "tok-4b1d0e77-DISTINCTIVE-93aa"
HEAVY_MODULES = ("pandas", "numpy", "sklearn", "tensorflow", "torch", "mlflow", "pydantic", "requests")


@pytest.fixture
def hec_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("splunk_hec_enabled", "true")
    monkeypatch.setenv("splunk_hec_url", "https://splunk:8088/")
    monkeypatch.setenv("splunk_hec_token", TOKEN)
    monkeypatch.setenv("api_token", TOKEN)


def test_version_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"golden {cli.package_version()}\n"


def test_version_names_the_image_it_runs_in(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOLDEN_IMAGE_NAME", "golden-cpu-empresa")
    monkeypatch.setenv("GOLDEN_IMAGE_VERSION", "1.2.3")
    monkeypatch.setenv("GOLDEN_IMAGE_DIGEST", "sha256:" + "ab" * 32)
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == (
        f"golden {cli.package_version()}\nimage golden-cpu-empresa 1.2.3 (digest sha256:{'ab' * 32})\n"
    )


def test_version_with_broken_settings_says_so_instead_of_failing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOLDEN_LOG_LEVEL", "loud")
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert (
        capsys.readouterr()
        .out.splitlines()[1]
        .startswith("image: unknown (GOLDEN_LOG_LEVEL='loud': expected")
    )


def test_version_of_installed_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: {"dsdl-golden": "9.8.7"}[name])
    assert cli.package_version() == "9.8.7"


def test_version_falls_back_to_package_version(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert cli.package_version() == dsdl_golden.__version__


def test_package_version_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert dsdl_golden.__version__ == project["version"]


def test_no_subcommand_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: golden")
    assert "config" in err


def test_unknown_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["frobnicate"])
    assert exit_.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_every_command_is_a_subcommand() -> None:
    help_text = cli.build_parser().format_help()
    for command in cli.COMMANDS:
        assert command.name in help_text
        assert command.help in help_text


def test_config_table(capsys: pytest.CaptureFixture[str], hec_environment: None) -> None:
    assert cli.main(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "VALUE", "SOURCE"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows["splunk_hec_url"] == ["https://splunk:8088", "env", "splunk_hec_url"]
    assert rows["splunk_hec_token"] == ["**********", "env", "splunk_hec_token"]
    assert rows["splunk_access_token"] == ["(unset)", "default"]
    assert rows["splunk_hec_enabled"] == ["true", "env", "splunk_hec_enabled"]
    assert rows["mode"] == ["PROD", "default"]
    value_column = lines[0].index("VALUE")
    source_column = lines[0].index("SOURCE")
    assert all(line[value_column - 2 : value_column] == "  " for line in lines)
    assert all(line[source_column - 2 : source_column] == "  " for line in lines)


def test_config_json(capsys: pytest.CaptureFixture[str], hec_environment: None) -> None:
    assert cli.main(["config", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["splunk_hec_url"] == {"value": "https://splunk:8088", "source": "env splunk_hec_url"}
    assert document["api_token"] == {"value": "**********", "source": "env api_token"}
    assert document["splunk_access_port"] == {"value": 8089, "source": "default"}
    assert document["tls_verify"] == {"value": True, "source": "default"}


@pytest.mark.parametrize("argv", [["config"], ["config", "--json"]])
def test_config_never_prints_tokens(
    capsys: pytest.CaptureFixture[str], hec_environment: None, argv: list[str]
) -> None:
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    assert TOKEN not in out + err


def test_config_error_goes_to_stderr_with_status_2(
    capsys: pytest.CaptureFixture[str], hec_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("splunk_access_port", "80x")
    monkeypatch.setenv("splunk_access_enabled", "1")
    monkeypatch.setenv("splunk_access_token", f"{TOKEN} x")
    assert cli.main(["config"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "splunk_access_port='80x': expected an integer from 1 to 65535" in err
    assert "splunk_access_host is not set" in err
    assert "splunk_access_token=(hidden)" in err
    assert TOKEN not in err


def run_module(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=child_environ(PYTHONPATH="helpers", **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_dsdl_golden_config() -> None:
    result = run_module(
        "-m", "dsdl_golden", "config", "--json", env={"splunk_hec_token": TOKEN, "MODE_DEV_PROD": "dev"}
    )
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout
    document = json.loads(result.stdout)
    assert document["mode"] == {"value": "DEV", "source": "env MODE_DEV_PROD"}
    assert document["splunk_hec_token"]["value"] == "**********"


@pytest.mark.parametrize("argv", [["config"], ["config", "--json"]])
def test_config_refuses_a_password_in_the_hec_url_without_printing_it(
    capsys: pytest.CaptureFixture[str],
    hec_environment: None,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    monkeypatch.setenv("splunk_hec_url", "https://admin:hunter2-PASSWORD@splunk:8088")
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert "splunk_hec_url=" in err
    assert "hunter2-PASSWORD" not in out + err


def test_python_m_dsdl_golden_invalid_config() -> None:
    result = run_module("-m", "dsdl_golden", "config", env={"GOLDEN_TLS_VERIFY": "/no/such/ca.pem"})
    assert result.returncode == 2
    assert "GOLDEN_TLS_VERIFY='/no/such/ca.pem'" in result.stderr


def test_cli_imports_no_heavy_modules() -> None:
    code = "import sys, dsdl_golden.cli; print(','.join(sorted(m for m in sys.modules if '.' not in m)))"
    result = run_module("-c", code, env={})
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.strip().split(",")).isdisjoint(HEAVY_MODULES)


def test_new_commands_build_no_heavy_modules() -> None:
    code = (
        "import sys, dsdl_golden.cli as c; c.build_parser().format_help(); "
        "print(','.join(sorted(m for m in sys.modules if '.' not in m)))"
    )
    result = run_module("-c", code, env={})
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.strip().split(",")).isdisjoint(HEAVY_MODULES)


def test_call_defaults() -> None:
    args = cli.build_parser().parse_args(["call", "fit", "data.csv", "--algo", "nb"])
    assert args.url == "https://localhost:5000"
    assert (args.token, args.ca, args.insecure, args.output, args.progress) == (None, None, False, None, None)
    assert (args.timeout, args.rows, args.param, args.target, args.model_name) == (600.0, 10, [], None, None)


def test_dev_defaults() -> None:
    args = cli.build_parser().parse_args(["dev"])
    assert args.workspace == "golden-workspace"
    assert (args.api_port, args.jupyter_port, args.hec_port, args.rest_port) == (5000, 8888, 0, 0)
    assert args.no_jupyter is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["call", "fit", "d.csv"], "the following arguments are required: --algo"),
        (["call", "score", "d.csv", "--algo", "nb"], "invalid choice: 'score'"),
        (["call", "fit", "d.csv", "--algo", "nb", "--ca", "x", "--insecure"], "not allowed with argument"),
        (["call", "fit", "d.csv", "--algo", "nb", "--timeout", "0"], "expected a number of seconds > 0"),
        (["call", "fit", "d.csv", "--algo", "nb", "--rows", "-1"], "expected an integer >= 0"),
        (["dev", "--api-port", "70000"], "expected a port from 0 (a free one) to 65535"),
        (["export"], "the following arguments are required: NOTEBOOK"),
        (["check"], "the following arguments are required: MODULE_OR_NOTEBOOK"),
    ],
)
def test_usage_errors_of_the_new_commands(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_ctrl_c_ends_with_status_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dsdl_golden._cli import call

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(call, "run", interrupted)
    assert cli.main(["call", "fit", "d.csv", "--algo", "nb"]) == 130
    assert capsys.readouterr().err == "golden call: interrupted\n"
