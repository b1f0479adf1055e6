"""dsdl-golden: the golden-image library for Splunk DSDL notebooks."""

__version__ = "0.1.0"  # keep equal to [project].version in pyproject.toml (a test checks)
