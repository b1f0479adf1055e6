"""Private building blocks of :mod:`dsdl_golden.preprocessor` (no public API here)."""
