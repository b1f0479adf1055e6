"""The progress bar of a search: rows and pages received, left on screen when done."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from typing import Any

Page = list[dict[str, Any]]

_FORMAT = "{desc}: {n_fmt} rows [{elapsed}, {rate_fmt}{postfix}]"


def progress_wanted(progress: bool | None) -> bool:
    """``progress``, or by default: in a notebook kernel or on a terminal."""
    if progress is not None:
        return progress
    return "ipykernel" in sys.modules or sys.stderr.isatty()


def _bar_class() -> Any:
    """The notebook widget bar where it can be drawn (a kernel with ipywidgets), else the text bar
    (``tqdm.auto`` without ipywidgets only warns "IProgress not found")."""
    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm as notebook_bar

        return notebook_bar
    from tqdm.std import tqdm as text_bar

    return text_bar


def counted_pages(pages: Iterator[Page], enabled: bool) -> Iterator[Page]:
    """``pages`` unchanged; when ``enabled``, a bar counts their rows and pages and stays shown at
    the end with the final counts."""
    if not enabled:
        yield from pages
        return
    with _bar_class()(desc="Splunk search", unit=" rows", bar_format=_FORMAT, leave=True) as bar:
        for number, page in enumerate(pages, start=1):
            bar.set_postfix_str(f"{number} page{'s' if number > 1 else ''}", refresh=False)
            bar.update(len(page))
            yield page
