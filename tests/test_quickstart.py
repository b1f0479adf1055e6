"""The README's quickstart, followed literally by a data scientist with a clean environment: its
``golden emulator`` command (on free ports), then its Python blocks in order, in one interpreter.

Done right, Splunk accepts every telemetry event (none dead-lettered), nothing is written to stderr
(no warning, no error) and the results and events arrive where the README says they do.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from golden_testing import child_environ, running_emulator_command

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Quickstart for data scientists"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# Appended to the README's code: the state the test checks, as one JSON line.
REPORT = """
import json as _json
from dsdl_golden import get_telemetry as _get_telemetry
print("QUICKSTART " + _json.dumps({"stats": _get_telemetry().stats(), "rows": len(df), "sent": report.sent}))
"""


def quickstart_blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block of the README's quickstart section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    return FENCE.findall(readme[start : end if end >= 0 else None])


def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    (shell,) = [code for language, code in blocks if language == "sh"]
    python = "\n".join(code for language, code in blocks if language == "python")
    for name in (".venv", "template"):  # the README's commands run from the repository's directory
        (tmp_path / name).symlink_to(Path(sys.prefix) if name == ".venv" else ROOT / name)
    (tmp_path / "quickstart.py").write_text(python + REPORT, encoding="utf-8")

    with running_emulator_command(tmp_path, shlex.split(shell.strip())):
        ran = subprocess.run(
            [str(tmp_path / ".venv" / "bin" / "python"), "quickstart.py"],
            cwd=tmp_path,
            env=child_environ(),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )

    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == ""  # no warning, no log line, no error
    (line,) = [line for line in ran.stdout.splitlines() if line.startswith("QUICKSTART ")]
    state = json.loads(line.removeprefix("QUICKSTART "))
    assert state["stats"]["dead_lettered"] == 0
    assert state["stats"]["sent"] == state["stats"]["queued"] >= 2  # the parameters and the metrics
    assert state["sent"] == state["rows"] == 600
    assert "telemetry delivered: True" in ran.stdout
    counts = re.findall(r"^\d+\s+(\w+)\s+(\d+)$", ran.stdout, re.MULTILINE)
    assert ("params", "1") in counts
    assert re.search(r"^0\s+600$", ran.stdout, re.MULTILINE), ran.stdout  # the results, counted by Splunk
    assert (tmp_path / "holdout.png").read_bytes().startswith(b"\x89PNG")
