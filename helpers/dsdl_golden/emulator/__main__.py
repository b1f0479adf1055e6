"""``python -m dsdl_golden.emulator [options]``: the same as ``golden emulator [options]``."""

import sys

from dsdl_golden.cli import main

raise SystemExit(main(["emulator", *sys.argv[1:]]))
