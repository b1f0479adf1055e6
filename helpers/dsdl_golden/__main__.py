"""``python -m dsdl_golden``: the ``golden`` command line."""

from dsdl_golden.cli import main

raise SystemExit(main())
