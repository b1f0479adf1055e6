"""``golden emulator`` as the README has a data scientist run it: the settings it prints and writes
work with the library's defaults (telemetry accepted, searches log in), and its help is a reference."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from golden_testing import Printed, child_environ, running_emulator_command

from dsdl_golden import splunk_connector
from dsdl_golden.config import load_settings
from dsdl_golden.emulator import ControlClient, start_subprocess
from dsdl_golden.settings_file import read_env_file
from dsdl_golden.telemetry_helper import build_telemetry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

GOLDEN = Path(sys.executable).with_name("golden")
WEB_CSV = "_time,status,host\n2024-01-01T00:00:00Z,500,web-1\n2024-01-01T00:01:00Z,200,web-2\n"


def golden_emulator(cwd: Path, *arguments: str) -> contextlib.AbstractContextManager[Printed]:
    """``golden emulator ARGUMENTS`` on free ports in ``cwd``."""
    return running_emulator_command(cwd, [str(GOLDEN), "emulator", *arguments])


def test_defaults_are_ready_for_the_library(tmp_path: Path) -> None:
    (tmp_path / "web.csv").write_text(WEB_CSV)
    with golden_emulator(tmp_path, "--dataset", "web", "web.csv") as printed:
        env_file = tmp_path / "golden-emulator.env"
        assert f"set -a; . {env_file}; set +a" in printed.text
        assert f"load_env_file('{env_file}')" in printed.text
        ca_bundle = Path(printed.field("CA"))
        assert ca_bundle.is_file()
        assert env_file.stat().st_mode & 0o077 == 0  # it holds tokens
        settings = load_settings({**read_env_file(env_file), "GOLDEN_SPOOL_DIR": str(tmp_path / "spool")})
        assert settings.tls_verify == ca_bundle

        telemetry = build_telemetry(settings)
        try:
            telemetry.log_event({"type": "first_run"})
            telemetry.log_metrics({"accuracy": 0.91}, stage="validation")
            assert telemetry.flush(20), telemetry.stats()  # nothing dead-lettered ("Incorrect index")
        finally:
            telemetry.close()
        control = ControlClient(printed.field("splunkd"), ca_bundle, token=printed.control_token)
        assert [record["event"]["type"] for record in control.events(index=settings.events_index)] == [
            "first_run"
        ]
        metrics = control.events(index=settings.metrics_index, kind="metric")
        assert [(record["metric_name"], record["value"]) for record in metrics] == [("accuracy", 0.91)]

        frame = splunk_connector.get_data("index=web", earliest="0", settings=settings, progress=False)
        assert sorted(frame["status"]) == [200, 500]


def test_given_credentials_are_the_ones_in_the_settings(tmp_path: Path) -> None:
    arguments = ["--token", "hec-1", "--user", "ana:pw-1", "--auth-token", "search-1", "--env-file", "s.env"]
    with golden_emulator(tmp_path, *arguments) as printed:
        values = read_env_file(tmp_path / "s.env")
        assert (values["splunk_hec_token"], values["splunk_access_token"]) == ("hec-1", "search-1")
        assert "user ana, password pw-1" in printed.text
        assert "export splunk_hec_token=hec-1\n" in printed.text
        assert not (tmp_path / "golden-emulator.env").exists()


def test_env_file_values_survive_quoting(tmp_path: Path) -> None:
    awkward = tmp_path / "my certs $HOME 'n' \"q\""
    env_file = tmp_path / "with space.env"
    token = "tok$en'\"`x"
    arguments = ["--cert-dir", str(awkward), "--auth-token", token, "--env-file", str(env_file)]
    with golden_emulator(tmp_path, *arguments):
        shell = subprocess.run(
            [
                "sh",
                "-c",
                'set -a; . "$1"; set +a; exec "$2" -c "import json, os; print(json.dumps(dict(os.environ)))"',
                "sh",
                str(env_file),
                sys.executable,
            ],
            env=child_environ(),
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        sourced = json.loads(shell.stdout)
        expected = {"GOLDEN_TLS_VERIFY": str(awkward / "ca.pem"), "splunk_access_token": token}
        assert {name: sourced[name] for name in expected} == expected
        assert {name: read_env_file(env_file)[name] for name in expected} == expected
        assert load_settings(sourced).tls_verify == awkward / "ca.pem"


def test_help_is_a_reference_of_datasets_users_faults_and_spl() -> None:
    result = subprocess.run(
        [str(GOLDEN), "emulator", "--help"],
        check=False,
        env=child_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for expected in (
        "--dataset INDEX_OR_QUERY PATH",
        "--user NAME:PASS",
        "--auth-token T",
        "/__mock__/faults",
        '"code": 9',
        "golden_metrics",
        "golden-emulator.env",
        "search, makeresults, head, fields, table, streamstats, eval, stats",
    ):
        assert expected in result.stdout


def test_usage_errors_stay_short() -> None:
    result = subprocess.run(
        [str(GOLDEN), "emulator", "--no-such-option"],
        check=False,
        env=child_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "/__mock__" not in result.stderr


def test_programs_get_one_json_line_with_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with start_subprocess(tokens=["hec-9"]) as splunk:
        assert splunk.settings["splunk_hec_token"] == "hec-9"
        settings = load_settings({**splunk.settings, "GOLDEN_SPOOL_DIR": str(tmp_path / "spool")})
        assert settings.splunk_access_port == splunk.rest_port
        assert settings.splunk_hec_url == splunk.hec_url
    assert list(tmp_path.iterdir()) == []  # no settings file unless asked for


def test_tokens_that_start_with_a_dash_are_given_to_the_emulator_as_tokens(tmp_path: Path) -> None:
    with start_subprocess(tokens=["-hec-token-9"]) as splunk:
        assert splunk.settings["splunk_hec_token"] == "-hec-token-9"


def test_help_documents_every_control_route_and_no_file_outside_the_repository() -> None:
    from dsdl_golden import emulator
    from dsdl_golden.emulator import control

    documented = control.__doc__ or ""
    routes = [f"{method} /__mock__/{path}" for method, path in control.ROUTES]
    # POST /__mock__/config is documented with PUT: "(or ``POST``)".
    assert [route for route in routes if route not in documented] == ["POST /__mock__/config"]
    assert "/work/" not in (emulator.__doc__ or "")
