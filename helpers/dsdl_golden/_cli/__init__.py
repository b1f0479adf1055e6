"""The logic of the ``golden`` subcommands that is more than a few lines (see :mod:`dsdl_golden.cli`).

Each module is imported by its subcommand's run function only, so that ``golden --help`` and
``import dsdl_golden.cli`` stay fast.
"""
