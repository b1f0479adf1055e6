"""``golden health``: the image's health check against the model API on loopback, over HTTP and HTTPS."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_testing import Capture, closed_port, golden
from golden_testing import serve

from dsdl_golden.config import load_settings
from dsdl_golden.emulator.tls import TlsFiles, write_tls_files
from dsdl_golden.runtime import create_app

pytestmark = pytest.mark.integration


def port_of(url: str) -> str:
    return url.rsplit(":", 1)[1]


@pytest.fixture
def http_api(srv: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The model API over plain HTTP, as the bootstrap starts it with ENABLE_HTTPS=false; yields its port."""
    monkeypatch.setenv("ENABLE_HTTPS", "false")
    settings = load_settings({"GOLDEN_SRV_DIR": str(srv), "GOLDEN_SPOOL_DIR": str(srv.parent / "spool")})
    with serve(create_app(settings, {})) as url:
        yield port_of(url)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A certificate signed by a CA that no trust store holds, with that CA in its chain file."""
    return write_tls_files(tmp_path_factory.mktemp("api-tls"))


@pytest.fixture
def https_api(srv: Path, tls_files: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The model API over HTTPS; API_SSL_CERT names its certificate, as the bootstrap's settings do."""
    monkeypatch.delenv("ENABLE_HTTPS", raising=False)
    monkeypatch.setenv("API_SSL_CERT", str(tls_files.cert_chain))
    settings = load_settings({"GOLDEN_SRV_DIR": str(srv), "GOLDEN_SPOOL_DIR": str(srv.parent / "spool")})
    app = create_app(settings, {})
    with serve(app, ssl_certfile=str(tls_files.cert_chain), ssl_keyfile=str(tls_files.key)) as url:
        yield port_of(url)


def test_healthy_over_http(http_api: str, capsys: Capture) -> None:
    status, out, err = golden(capsys, "health", "--port", http_api)
    assert (status, err) == (0, "")
    assert out == f'healthy: http://127.0.0.1:{http_api}/healthz answered 200 {{"status":"ok"}}\n'


def test_ready_asks_readyz_and_says_why_not(http_api: str, srv: Path, capsys: Capture) -> None:
    assert golden(capsys, "health", "--ready", "--port", http_api)[0] == 0
    shutil.rmtree(srv / "app")
    status, out, _ = golden(capsys, "health", "--ready", "--port", http_api)
    assert status == 1
    assert out.startswith(f"unhealthy: http://127.0.0.1:{http_api}/readyz answered 503 ")
    assert '"model_package":"missing"' in out
    assert golden(capsys, "health", "--port", http_api)[0] == 0, "alive, though not ready"


def test_https_trusts_the_apis_own_certificate_without_its_ca_in_any_store(
    https_api: str, capsys: Capture
) -> None:
    status, out, _ = golden(capsys, "health", "--port", https_api)
    assert status == 0
    assert out.startswith(f"healthy: https://127.0.0.1:{https_api}/healthz answered 200")


def test_https_refuses_a_server_whose_certificate_is_not_the_named_one(
    https_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    other = write_tls_files(tmp_path / "other")
    monkeypatch.setenv("API_SSL_CERT", str(other.cert_chain))
    status, out, _ = golden(capsys, "health", "--port", https_api)
    assert status == 1
    assert out.startswith(f"unhealthy: https://127.0.0.1:{https_api}/healthz: TLS failed (")
    assert "is API_SSL_CERT the API's?" in out


def test_a_missing_certificate_file_is_named(
    https_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    missing = tmp_path / "nowhere.pem"
    monkeypatch.setenv("API_SSL_CERT", str(missing))
    status, out, _ = golden(capsys, "health", "--port", https_api)
    assert status == 1
    assert out.startswith(f"unhealthy: cannot read the API's certificate {missing} (")


def test_plain_http_to_an_https_api_is_unhealthy(
    https_api: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setenv("ENABLE_HTTPS", "False")
    status, out, _ = golden(capsys, "health", "--port", https_api)
    assert status == 1
    assert out.startswith(f"unhealthy: http://127.0.0.1:{https_api}/healthz")


def test_nothing_listening_is_unhealthy(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    monkeypatch.setenv("ENABLE_HTTPS", "false")
    port = closed_port()
    status, out, _ = golden(capsys, "health", "--port", str(port), "--timeout", "2")
    assert status == 1
    assert out.startswith(f"unhealthy: http://127.0.0.1:{port}/healthz: ")
    assert "refused" in out


def test_a_proxy_in_the_environment_is_not_used(
    http_api: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    assert golden(capsys, "health", "--port", http_api)[0] == 0


def test_usage_errors(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exit_:
        golden(capsys, "health", "--timeout", "0")
    assert exit_.value.code == 2
    assert "expected a number of seconds > 0" in capsys.readouterr().err
