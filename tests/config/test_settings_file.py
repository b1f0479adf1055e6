"""Settings files (what ``golden emulator`` writes, what a notebook loads), the settings' notebook view
and the names a notebook imports from ``dsdl_golden``."""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import dsdl_golden
from dsdl_golden import telemetry_helper
from dsdl_golden.config import SETTING_VARIABLES, ConfigError, load_settings
from dsdl_golden.settings_file import load_env_file, read_env_file, write_env_file


@pytest.fixture
def restored_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """load_env_file sets os.environ and the process-wide telemetry: both are put back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    telemetry_helper.configure(load_settings({}))


AWKWARD = {
    "splunk_hec_token": "to'ken with spaces $HOME `x` \\ #hash",
    "GOLDEN_PROJECT": "",
    "GOLDEN_USE_CASE": "naïve=café\ttab",
}


def test_values_survive_the_round_trip_through_the_file(tmp_path: Path) -> None:
    path = write_env_file(tmp_path / "s.env", AWKWARD)
    assert read_env_file(path) == AWKWARD


def test_the_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = write_env_file(tmp_path / "s.env", {"splunk_hec_token": "secret"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_shell_reads_the_file_to_the_same_values(tmp_path: Path) -> None:
    import subprocess

    path = write_env_file(tmp_path / "s.env", AWKWARD)
    names = " ".join(f'"${name}"' for name in AWKWARD)
    shown = subprocess.run(
        ["sh", "-c", f"set -a; . {path}; printf '%s\\0' {names}"],
        capture_output=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    ).stdout.decode()
    assert shown.split("\0")[:-1] == list(AWKWARD.values())


def test_comments_blank_lines_and_export_are_read(tmp_path: Path) -> None:
    path = tmp_path / "s.env"
    path.write_text("# settings\n\nexport GOLDEN_PROJECT=churn  # trailing\nGOLDEN_USE_CASE='a b'\n")
    assert read_env_file(path) == {"GOLDEN_PROJECT": "churn", "GOLDEN_USE_CASE": "a b"}


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("GOLDEN_PROJECT", "expected NAME=value"),
        ("GOLDEN_PROJECT=two words", "unquoted spaces"),
        ("GOLDEN_PROJECT='unclosed", "No closing quotation"),
    ],
)
def test_a_bad_line_is_named_with_its_number(tmp_path: Path, line: str, says: str) -> None:
    path = tmp_path / "s.env"
    path.write_text(f"GOLDEN_USE_CASE=x\n{line}\n")
    with pytest.raises(ConfigError, match=f"line 2: .*{says}"):
        read_env_file(path)


@pytest.mark.usefixtures("restored_environment")
def test_a_file_that_is_not_utf8_is_named_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.env"
    path.write_bytes(
        "# ok\nsplunk_hec_url=https://127.0.0.1:8088\nGOLDEN_EVENTS_INDEX=año\n".encode("latin-1")
    )
    with pytest.raises(ConfigError) as raised:
        read_env_file(path)
    assert raised.value.problems == (f"{path}, line 3: byte 0xf1 is not UTF-8: save the file as UTF-8 text",)


def test_loading_sets_the_environment_and_restarts_telemetry(tmp_path: Path) -> None:
    path = write_env_file(tmp_path / "s.env", {"GOLDEN_PROJECT": "churn", "GOLDEN_SPOOL_DIR": str(tmp_path)})
    settings = load_env_file(path)
    assert settings.project == "churn"
    assert os.environ["GOLDEN_PROJECT"] == "churn"
    assert telemetry_helper.get_telemetry().settings.project == "churn"


@pytest.mark.usefixtures("restored_environment")
@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"GOLDEN_PROJECT": "x", "splunk_hec_tokn": "t"}, "splunk_hec_tokn is not a setting"),
        ({"GOLDEN_PROJECT": "x", "splunk_access_port": "80a"}, "splunk_access_port"),
        ({"GOLDEN_PROJECT": "x", "splunk_hec_enabled": "true"}, "splunk_hec_url is not set"),
    ],
)
def test_a_bad_file_changes_nothing(tmp_path: Path, values: dict[str, str], says: str) -> None:
    path = write_env_file(tmp_path / "s.env", values)
    with pytest.raises(ConfigError, match=says):
        load_env_file(path)
    assert "GOLDEN_PROJECT" not in os.environ


def test_the_settings_view_shows_sources_and_masks_secrets() -> None:
    settings = load_settings(
        {"splunk_hec_token": "s3cr3t-token", "GOLDEN_PROJECT": "<b>churn</b>"},
        image_file=Path("/nonexistent"),
    )
    view = settings._repr_html_()
    assert "s3cr3t" not in view
    assert "&lt;b&gt;churn&lt;/b&gt;" in view
    assert "<b>churn" not in view
    assert "<td>GOLDEN_PROJECT</td>" in view
    assert "env GOLDEN_PROJECT" in view
    assert "default" in view


def test_every_top_level_name_is_its_modules_public_object() -> None:
    for name in dsdl_golden.__all__:
        if name == "__version__":
            continue
        module = importlib.import_module(dsdl_golden._MODULE_OF[name])
        assert name in module.__all__, f"{name} is not public in {module.__name__}"
        assert getattr(dsdl_golden, name) is getattr(module, name)
    assert set(dsdl_golden.__all__) == {"__version__", *dsdl_golden._MODULE_OF}
    assert set(dsdl_golden.__all__) <= set(dir(dsdl_golden))


def test_an_unknown_top_level_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'get_dta'"):
        dsdl_golden.get_dta  # noqa: B018


@pytest.mark.usefixtures("restored_environment")
def test_without_a_path_the_emulators_file_in_the_working_folder_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_env_file(
        "golden-emulator.env", {"GOLDEN_PROJECT": "from-emulator", "GOLDEN_SPOOL_DIR": str(tmp_path)}
    )
    assert load_env_file().project == "from-emulator"


@pytest.mark.usefixtures("restored_environment")
def test_an_unknown_name_lists_every_setting(tmp_path: Path) -> None:
    path = write_env_file(tmp_path / "s.env", {"GOLDEN_PROJCT": "x"})
    with pytest.raises(ConfigError) as caught:
        load_env_file(path)
    (problem,) = caught.value.problems
    assert (
        problem
        == f"{path}: GOLDEN_PROJCT is not a setting (the settings are {', '.join(sorted(SETTING_VARIABLES))})"
    )
