"""Warnings that point at the data scientist's line, not at ours or scikit-learn's.

``warnings.warn``'s ``stacklevel`` counts frames, and the count depends on the path: scikit-learn
wraps ``transform`` (``set_output``), a ``Pipeline`` adds its own frames, and a subclass may call
``super()``. :func:`warn_user` walks up to the first frame of neither package instead.
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["warn_user"]

#: Modules whose frames a warning never points at (mutmut's trampolines sit between our functions
#: under ``./dev mutate``).
_LIBRARY_PREFIXES = ("dsdl_golden.", "sklearn.", "mutmut.")


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the nearest caller outside dsdl_golden and
    scikit-learn (Jupyter and the ``warnings`` filters then show and match the user's code)."""
    level, frame = 2, sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(_LIBRARY_PREFIXES):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)
