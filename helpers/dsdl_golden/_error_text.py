"""The failures of a data scientist's code, and their text for messages, logs and telemetry.

A data scientist's exception class can define a ``__str__`` that raises; calling ``str()`` on it
inside an ``except`` block would replace their error with that failure. Every place that puts an
exception's text into a message goes through :func:`exception_text`.
"""

from __future__ import annotations

from typing import Final

__all__ = ["USER_CODE_FAILURES", "exception_text"]

#: What the data scientist's code may raise that we report and answer as its failure: any exception,
#: and ``SystemExit`` (``sys.exit()`` or ``exit()`` left in a notebook), which ``except Exception``
#: would let through unreported.
USER_CODE_FAILURES: Final = (Exception, SystemExit)


def exception_text(error: BaseException) -> str:
    """The exception's text, its ``repr`` when that is empty; a note when its own ``str()`` fails.

    >>> exception_text(ValueError("bad column"))
    'bad column'
    >>> exception_text(KeyError())
    'KeyError()'
    """
    try:
        return str(error) or repr(error)
    except Exception as failure:
        return f"<its str() failed with {type(failure).__name__}>"
