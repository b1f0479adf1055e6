"""Settings files: ``NAME=value`` lines, as ``golden emulator`` and ``golden dev`` write them.

A shell reads one with ``set -a; . ./golden-emulator.env; set +a``; a notebook with
:func:`load_env_file`, which checks every name and value before it changes anything.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

from dsdl_golden._atomic import write_atomically
from dsdl_golden.config import SETTING_VARIABLES, ConfigError, Settings, load_settings

__all__ = ["load_env_file", "read_env_file", "write_env_file"]

_ASSIGNMENT = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)")


def _value(text: str, where: str) -> str:
    try:
        words = shlex.split(text, comments=True)
    except ValueError as error:
        raise ConfigError([f"{where}: {error}; quote the value as a shell would ('...')"]) from None
    if len(words) > 1:
        raise ConfigError([f"{where}: the value has unquoted spaces; quote it as a shell would ('...')"])
    return words[0] if words else ""


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """The ``NAME=value`` assignments of the settings file at ``path``.

    Blank lines and ``#`` comments are skipped, ``export`` before a name is allowed and values are
    unquoted as a POSIX shell would.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    dict of str to str
        Each name with its value, in file order (a later line wins).

    Raises
    ------
    ConfigError
        A line that is not an assignment, or a value a shell would not read as one word; each problem
        names the file and line. A file that is not UTF-8 text, naming the first bad byte's line.
    OSError
        The file cannot be read.

    Examples
    --------
    >>> from pathlib import Path
    >>> _ = Path("demo.env").write_text("# local Splunk\\nsplunk_hec_url='https://127.0.0.1:8088'\\n")
    >>> read_env_file("demo.env")
    {'splunk_hec_url': 'https://127.0.0.1:8088'}
    """
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad_line = data.count(b"\n", 0, error.start) + 1
        where = f"{path}, line {bad_line}"
        raise ConfigError(
            [f"{where}: byte {data[error.start]:#x} is not UTF-8: save the file as UTF-8 text"]
        ) from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{path}, line {number}"
        match = _ASSIGNMENT.fullmatch(stripped)
        if match is None:
            raise ConfigError([f"{where}: expected NAME=value, got {stripped[:40]!r}"])
        values[match[1]] = _value(match[2], where)
    return values


def write_env_file(path: str | os.PathLike[str], values: Mapping[str, str]) -> Path:
    """Write ``values`` as ``NAME=value`` lines (shell-quoted) to ``path``, readable by its owner only.

    The file is replaced atomically: a reader never sees half of it.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    values : mapping of str to str
        Variable names and values.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> path = write_env_file("local.env", {"GOLDEN_PROJECT": "churn demo"})
    >>> path.read_text()
    "GOLDEN_PROJECT='churn demo'\\n"
    >>> read_env_file(path)
    {'GOLDEN_PROJECT': 'churn demo'}
    """
    target = Path(path)
    text = "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())
    write_atomically(target, text, mode=0o600)
    return target


def load_env_file(path: str | os.PathLike[str] = "golden-emulator.env") -> Settings:
    """Use the settings of the file at ``path`` in this process (a notebook's kernel, say).

    The file's variables are checked together with the rest of the environment; only when all are
    valid are they set in ``os.environ`` and telemetry restarted with them, so :mod:`splunk_connector`
    and :mod:`telemetry_helper` use them from then on.

    Parameters
    ----------
    path : str or path-like, default "golden-emulator.env"
        A settings file, such as the one ``golden emulator`` writes in its working directory.

    Returns
    -------
    Settings
        The settings now in effect (shown as a table in a notebook).

    Raises
    ------
    ConfigError
        A line that cannot be read, a name that is not a setting (a typo, say) or an invalid value.
    OSError
        The file cannot be read.

    Examples
    --------
    >>> _ = write_env_file("project.env", {"GOLDEN_PROJECT": "churn"})
    >>> load_env_file("project.env").project
    'churn'
    """
    values = read_env_file(path)
    unknown = sorted(set(values) - SETTING_VARIABLES)
    if unknown:
        known = ", ".join(sorted(SETTING_VARIABLES))
        raise ConfigError([f"{path}: {name} is not a setting (the settings are {known})" for name in unknown])
    settings = load_settings({**os.environ, **values})
    os.environ.update(values)
    from dsdl_golden import telemetry_helper

    telemetry_helper.configure(settings)
    return settings
