"""Private helpers of :mod:`dsdl_golden.metrics_calculator`; not a public API."""
