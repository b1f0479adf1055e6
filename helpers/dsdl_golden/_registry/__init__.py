"""The private parts of :mod:`dsdl_golden.model_registry`; none of them imports MLflow at import time."""
