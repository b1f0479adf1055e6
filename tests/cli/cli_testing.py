"""Helpers of the ``golden export|check|call|dev`` tests: notebooks, modules and HTTP servers to call."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from dsdl_golden import cli

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_NOTEBOOK = ROOT / "template" / "template_empresa_base.ipynb"
CHURN_CSV = ROOT / "template" / "data" / "churn_sample.csv"
CHURN_META = ROOT / "template" / "data" / "churn_sample.json"
CHURN_FEATURES = ["tenure", "monthly_charges", "contract", "payment_method", "support_calls"]
TOKEN = "api-7c1e55b0-DISTINCTIVE-token"

Capture = pytest.CaptureFixture[str]


def golden(capsys: Capture, *argv: str | Path) -> tuple[int, str, str]:
    """Run ``golden argv`` in this process; returns the status, stdout and stderr."""
    status = cli.main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


#: A module honouring DSDL's contract, without heavy imports.
GOOD_MODULE = """
import json

MODEL_DIRECTORY = "{model_dir}/"


def init(df, param):
    return {{"rows": len(df)}}


def fit(model, df, param):
    return {{"message": "fitted"}}


def apply(model, df, param):
    return df


def save(model, name):
    with open(MODEL_DIRECTORY + name + ".json", "w") as file:
        json.dump(model, file)
    return model


def load(name):
    with open(MODEL_DIRECTORY + name + ".json") as file:
        return json.load(file)


def summary(model=None):
    return {{"model": model}}
"""


def good_module(model_dir: Path | str = "/tmp") -> str:
    """The source of :data:`GOOD_MODULE` saving into ``model_dir``."""
    return GOOD_MODULE.format(model_dir=model_dir)


def notebook_of(*cells: str | tuple[str, str], path: Path) -> Path:
    """Write a notebook of code ``cells`` to ``path``: a ``(name, source)`` cell is named (exported), a
    plain string is a free cell."""
    node = nbformat.v4.new_notebook()
    node.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for cell in cells:
        if isinstance(cell, tuple):
            name, source = cell
            node.cells.append(nbformat.v4.new_code_cell(source, metadata={"name": name, "deletable": False}))
        else:
            node.cells.append(nbformat.v4.new_code_cell(cell))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(node, str(path))
    return path


def module_notebook(source: str, path: Path) -> Path:
    """A notebook whose single named cell is ``source`` (a whole module)."""
    return notebook_of(("mltkc_module", source), path=path)


@dataclass
class Recorded:
    """What a :class:`StubApi` received and what it answers."""

    status: int = 200
    answer: bytes = b'{"status": "success", "message": "/fit done successfully", "results": "a\\n1\\n"}'
    requests: list[dict[str, Any]] = field(default_factory=list)


@contextlib.contextmanager
def stub_api(
    status: int = 200, answer: bytes | Mapping[str, Any] | None = None
) -> Iterator[tuple[str, Recorded]]:
    """A plain HTTP server on loopback recording each POST (path, headers, JSON body) and answering
    ``status`` with ``answer``; yields its base URL and the record."""
    record = Recorded(status=status)
    if answer is not None:
        record.answer = answer if isinstance(answer, bytes) else json.dumps(answer).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            record.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
            )
            self.send_response(record.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(record.answer)))
            self.end_headers()
            self.wfile.write(record.answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="stub-api", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
