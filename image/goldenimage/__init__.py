"""The daemonless, reproducible builder of the golden-cpu-empresa image (``image/build``).

A Debian bookworm root from mmdebstrap, the Python environment installed from ``poetry.lock`` with
every hash checked, dsdl_golden and DSDL's layout on top, cut into layers by ``image/spec.toml`` and
written as an OCI archive (also loadable by ``docker load``) with fixed times and owners, so that
the same inputs give the same digest.
"""
