"""The built image, started with a real container engine (podman with runc) and called over HTTPS.

Each container runs with the host's network (this machine's podman has no other working network),
so one container at a time holds ports 5000/8888/6006/6000; the Splunk emulator runs in this process
on loopback and the container verifies its TLS certificate with the emulator's CA, mounted in.
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
import ssl
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import urllib3

from dsdl_golden.emulator import SplunkEmulator
from goldenimage.oci import archive_config, open_archive
from goldenimage.spec import load_spec

pytestmark = [pytest.mark.image, pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec()
TOKEN = "api-container-5b0e7f21-token"
HEC_TOKEN = "hec-container-8d21c3aa"
ENGINE = [
    "podman",
    "run",
    "--runtime",
    "runc",
    "--ulimit",
    "nofile=20000:20000",
    "--ulimit",
    "nproc=32768:32768",
]
SEED_LIBRARIES = (
    "numpy pandas sklearn scipy joblib statsmodels aeon matplotlib seaborn splunklib tensorflow keras torch "
    "mlflow fastapi uvicorn pyarrow jupyterlab nbconvert tensorboard splunk_otel dsdl_golden"
)
# Files that hold credentials by their name (DSDL's baked dltk.key among them).
SECRET_FILES = {
    "dltk.key",
    "id_rsa",
    "id_ed25519",
    ".netrc",
    ".pypirc",
    ".git-credentials",
    "auth.json",
    ".env",
}
# GnuTLS compiles its FIPS self-test keys in (published test vectors, not anyone's identity).
PUBLIC_TEST_KEYS = "usr/lib/x86_64-linux-gnu/libgnutls.so.*"
# A whole PEM private key (TLS libraries hold the armour lines alone, as strings they parse for).
PRIVATE_KEY = re.compile(
    rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----\r?\n[A-Za-z0-9+/=:,\- \r\n]{64,}?-----END \1PRIVATE KEY-----"
)


def podman(*arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *arguments], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def image(image_archive: Path) -> Iterator[str]:
    """The archive loaded into podman's storage; removed afterwards unless it was there before (3.6 GB)."""
    with open_archive(image_archive) as (manifest, _):
        image_id = manifest["config"]["digest"].removeprefix("sha256:")
    there_before = podman("image", "exists", image_id, check=False).returncode == 0
    loaded = podman("load", "-i", str(image_archive)).stdout
    (reference,) = re.findall(r"Loaded image: (\S+)", loaded)
    yield reference
    if not there_before:
        podman("rmi", "--force", image_id, check=False)


@pytest.fixture(scope="module")
def splunk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SplunkEmulator]:
    with SplunkEmulator(cert_dir=tmp_path_factory.mktemp("emulator-tls")) as emulator:
        emulator.add_index("golden_metrics", metrics=True)
        emulator.add_hec_token(HEC_TOKEN, name="container", indexes=["main", "golden_metrics"])
        yield emulator


class Container:
    """A running container and HTTPS to its API, verified against the certificate it made."""

    def __init__(self, name: str, started: float, tmp: Path) -> None:
        self.name, self.started, self.tmp = name, started, tmp
        self.answered_after: float | None = None
        self.http: urllib3.PoolManager | None = None

    def exec(self, *command: str) -> str:
        return podman("exec", self.name, *command).stdout

    def wait_for_api(self, https: bool = True, timeout: float = 120) -> None:
        scheme = "https" if https else "http"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if https and self.http is None:
                certificate = self.tmp / f"{self.name}.pem"
                if (
                    podman(
                        "cp", f"{self.name}:/dltk/.jupyter/dltk.pem", str(certificate), check=False
                    ).returncode
                    == 0
                ):
                    # The container's own certificate, verified with its name for the loopback address.
                    context = ssl.create_default_context(cafile=str(certificate))
                    self.http = urllib3.PoolManager(ssl_context=context, retries=False, timeout=5)
            client = self.http if https else urllib3.PoolManager(retries=False, timeout=5)
            if client is not None:
                try:
                    response = client.request(
                        "GET", f"{scheme}://127.0.0.1:5000/", headers={"Authorization": TOKEN}
                    )
                    if response.status == 200:
                        self.answered_after = time.monotonic() - self.started
                        self.scheme = scheme
                        return
                except urllib3.exceptions.HTTPError:
                    pass
            time.sleep(0.1)
        raise AssertionError(
            f"the API did not answer: {podman('logs', self.name, check=False).stdout[-3000:]}"
        )

    def call(self, path: str, frame: pd.DataFrame, meta: dict[str, Any]) -> dict[str, Any]:
        client = self.http or urllib3.PoolManager(timeout=300)
        response = client.request(
            "POST",
            f"{self.scheme}://127.0.0.1:5000{path}",
            body=json.dumps({"data": frame.to_csv(index=False), "meta": meta}).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
            timeout=300,
        )
        assert response.status == 200, response.data[:500]
        answer: dict[str, Any] = json.loads(response.data)
        return answer


@pytest.fixture
def start(image: str, splunk: SplunkEmulator, tmp_path: Path) -> Iterator[Any]:
    names: list[str] = []

    def run(*options: str, **environment: str) -> Container:
        name = f"golden-test-{uuid.uuid4().hex[:8]}"
        settings = {
            "api_token": TOKEN,
            "splunk_hec_enabled": "true",
            "splunk_hec_url": splunk.hec_url,
            "splunk_hec_token": HEC_TOKEN,
            "GOLDEN_TLS_VERIFY": "/run/golden-ca.pem",
            **environment,
        }
        arguments = [
            *ENGINE,
            "-d",
            "--name",
            name,
            "--network",
            "host",
            "-v",
            f"{splunk.ca_bundle}:/run/golden-ca.pem:ro",
        ]
        arguments += [option for key, value in settings.items() for option in ("-e", f"{key}={value}")]
        started = time.monotonic()
        subprocess.run([*arguments, *options, image], check=True, capture_output=True)
        names.append(name)
        return Container(name, started, tmp_path)

    yield run
    for name in names:
        podman("rm", "-f", "-t", "2", name, check=False)


def churn(model_name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    frame = pd.read_csv(ROOT / "template/data/churn_sample.csv")
    meta = json.loads((ROOT / "template/data/churn_sample.json").read_text())
    meta["options"]["params"] = {"algo": "template_empresa_base"}
    meta["options"]["model_name"] = model_name
    return frame, meta


def test_the_api_fits_and_applies_the_template_over_https_and_reports_to_splunk(
    start: Any, splunk: SplunkEmulator, image_archive: Path
) -> None:
    container = start()
    container.wait_for_api()
    print(f"\nthe API answered {container.answered_after:.2f} s after podman run")
    # The image's health check, run as Docker runs it: with the container's environment, not the bootstrap's.
    check = archive_config(image_archive)["config"]["Healthcheck"]
    assert check["Test"][0] == "CMD"
    healthy = container.exec(*check["Test"][1:])
    assert healthy.startswith("healthy: https://127.0.0.1:5000/healthz answered 200"), healthy
    frame, meta = churn("container_v1")
    fitted = container.call("/fit", frame, meta)
    assert (fitted["status"], fitted["message"]) == ("success", "/fit done successfully"), fitted["message"]
    assert list(pd.read_csv(io.StringIO(fitted["results"])).columns) == [
        "churn",
        "probability_no",
        "probability_yes",
    ]
    applied = container.call("/apply", frame.drop(columns="churn").head(20), meta)
    assert applied["status"] == "success", applied["message"]
    deadline = time.monotonic() + 60
    while not (
        fits := [event for event in splunk.events(index="main") if event["event"].get("type") == "fit"]
    ):
        assert time.monotonic() < deadline, "no fit event reached the emulator"
        time.sleep(0.5)
    # Telemetry says which image ran: the facts its build wrote into /etc/golden/image.json.
    facts = json.loads(container.exec("cat", "/etc/golden/image.json"))
    assert (facts["name"], facts["version"]) == (SPEC.raw["image"]["name"], SPEC.version)
    assert {key: fits[0]["fields"].get(f"image_{key}") for key in ("name", "version", "revision")} == {
        key: facts[key] for key in ("name", "version", "revision")
    }
    assert container.exec("golden", "--version").splitlines()[1] == (
        f"image {facts['name']} {facts['version']} (revision {facts['revision']})"
    )
    assert container.exec("id", "-u").strip() == "1001"
    modes = container.exec("stat", "-c", "%n %a %u:%g", "/dltk", "/srv", "/etc/passwd").split("\n")
    assert modes[:3] == ["/dltk 775 1001:0", "/srv 775 1001:0", "/etc/passwd 664 0:0"]
    assert container.exec("python", "-c", "import torch; print(torch.cuda.is_available())").strip() == "False"


def test_an_arbitrary_user_id_in_group_0_works_over_http(start: Any) -> None:
    container = start("--user", "4242:0", ENABLE_HTTPS="false")
    container.wait_for_api(https=False)
    assert container.exec("id", "-u").strip() == "4242"
    assert container.exec("golden", "health", "--ready").startswith(
        "healthy: http://127.0.0.1:5000/readyz answered 200"
    )
    frame, meta = churn("arbitrary_uid")
    assert container.call("/fit", frame, meta)["status"] == "success"
    assert "4242:0" in container.exec("cat", "/etc/passwd")


def logs(name: str) -> str:
    """What the container printed, on its standard output and error."""
    printed = podman("logs", name, check=False)
    return printed.stdout + printed.stderr


def fit_events(splunk: SplunkEmulator, model: str) -> list[dict[str, Any]]:
    return [
        event
        for event in splunk.events(index="main")
        if event["event"].get("type") == "fit" and event["fields"].get("model") == model
    ]


def test_events_that_hec_refused_until_podman_stop_reach_splunk_after_the_next_start(
    start: Any, splunk: SplunkEmulator
) -> None:
    model = "template_empresa_base_stopped"
    splunk.inject_fault(listener="hec", path="/services/collector/event", status=503, times=None)
    try:
        container = start(ENABLE_HTTPS="false")
        container.wait_for_api(https=False)
        frame, meta = churn("stopped")
        assert container.call("/fit", frame, meta)["status"] == "success"
        podman("stop", "-t", "10", container.name)  # SIGTERM: HEC still refuses, the events stay spooled
    finally:
        splunk.clear_faults()
    assert fit_events(splunk, model) == []
    podman("start", container.name)  # the spool is on the /srv volume: the next process sends it
    wait_for_fit_event(container, splunk, model)
    assert len(fit_events(splunk, model)) == 1


def wait_for_fit_event(container: Container, splunk: SplunkEmulator, model: str) -> None:
    deadline = time.monotonic() + 60
    while not fit_events(splunk, model):
        assert time.monotonic() < deadline, logs(container.name)[-3000:]
        time.sleep(0.5)


def test_a_ca_outside_the_system_trust_is_refused_until_it_is_given_to_the_container(
    start: Any, splunk: SplunkEmulator
) -> None:
    frame, meta = churn("untrusted")
    refused = start(ENABLE_HTTPS="false", GOLDEN_TLS_VERIFY="true")  # the system's CAs only
    refused.wait_for_api(https=False)
    assert refused.call("/fit", frame, meta)["status"] == "success"  # the model never waits for telemetry
    deadline = time.monotonic() + 30
    while "CERTIFICATE_VERIFY_FAILED" not in logs(refused.name):
        assert time.monotonic() < deadline, logs(refused.name)[-3000:]
        time.sleep(0.5)
    assert fit_events(splunk, "template_empresa_base_untrusted") == []
    podman("rm", "-f", "-t", "2", refused.name)  # the host's network: one API on port 5000 at a time

    for name, options, environment in [
        ("by_variable", (), {"GOLDEN_EXTRA_CA_CERTS": "/run/golden-ca.pem"}),
        ("mounted", ("-v", f"{splunk.ca_bundle}:/etc/golden/ca-certificates/corporate.pem:ro"), {}),
    ]:
        trusting = start(*options, ENABLE_HTTPS="false", GOLDEN_TLS_VERIFY="true", **environment)
        trusting.wait_for_api(https=False)
        assert "bootstrap: trusting the system's CAs and those of" in logs(trusting.name)
        frame, meta = churn(name)
        assert trusting.call("/fit", frame, meta)["status"] == "success"
        wait_for_fit_event(trusting, splunk, f"template_empresa_base_{name}")
        podman("rm", "-f", "-t", "2", trusting.name)


def test_a_ca_file_that_is_not_there_stops_the_start_with_its_name(start: Any) -> None:
    container = start(ENABLE_HTTPS="false", GOLDEN_EXTRA_CA_CERTS="/run/no-such-ca.pem")
    deadline = time.monotonic() + 60
    while podman("inspect", "-f", "{{.State.Running}}", container.name).stdout.strip() == "true":
        assert time.monotonic() < deadline, "the container kept running without its CA"
        time.sleep(0.5)
    assert "GOLDEN_EXTRA_CA_CERTS names /run/no-such-ca.pem, which is not a readable PEM file" in logs(
        container.name
    )


def test_a_user_module_named_like_an_image_module_survives_a_restart(start: Any) -> None:
    container = start(ENABLE_HTTPS="false")
    container.wait_for_api(https=False)
    mine = "# exported by a user under the name of an example of the image\n"
    container.exec("sh", "-c", f"printf '{mine}' > /srv/app/model/example_keras.py")
    container.exec("sh", "-c", "printf '# the API of another image\n' > /srv/app/main.py")
    podman("restart", "-t", "10", container.name)
    container.wait_for_api(https=False)
    assert container.exec("cat", "/srv/app/model/example_keras.py") == mine
    assert "dsdl_golden.runtime" in container.exec(
        "cat", "/srv/app/main.py"
    )  # DSDL's entry point: the image's
    assert (
        "bootstrap: kept your /srv/app/model/example_keras.py: it differs from the image's copy, which is "
        "/dltk/app/model/example_keras.py"
    ) in logs(container.name)


def test_dev_mode_serves_jupyter_with_the_dsdl_password_rules(start: Any) -> None:
    from jupyter_server.auth import passwd

    container = start(MODE_DEV_PROD="DEV", JUPYTER_PASSWD=passwd("a password for the test"))
    container.wait_for_api()
    assert container.http is not None
    deadline = time.monotonic() + 120
    while True:
        try:
            response = container.http.request("GET", "https://127.0.0.1:8888/login")
            if response.status == 200:
                break
        except urllib3.exceptions.HTTPError:
            pass
        assert time.monotonic() < deadline, podman("logs", container.name, check=False).stdout[-3000:]
        time.sleep(0.5)
    assert b"password" in response.data.lower()


def test_every_seed_library_imports_as_the_image_user(start: Any) -> None:
    container = start(ENABLE_HTTPS="false")
    container.wait_for_api(https=False)
    code = f"import {', '.join(SEED_LIBRARIES.split())}; print('ok')"
    assert container.exec("python", "-c", code).strip().endswith("ok")


def test_the_image_config_honours_dsdls_contract(image: str) -> None:
    (inspected,) = json.loads(podman("image", "inspect", image).stdout)
    config = inspected["Config"]
    assert config["User"] == "1001:0"
    assert config["WorkingDir"] == "/srv"
    assert set(config["ExposedPorts"]) == {"5000/tcp", "8888/tcp", "6006/tcp", "6000/tcp"}
    assert config["Entrypoint"][-1] == "/dltk/bootstrap_fast.sh"


def test_no_layer_holds_a_private_key_or_a_secret_file(image_archive: Path) -> None:
    found = []
    with tarfile.open(image_archive) as archive:
        for member in archive:
            if not member.name.startswith("blobs/") or member.size < 1000:
                continue
            blob = archive.extractfile(member)
            assert blob is not None
            try:
                with tarfile.open(fileobj=blob, mode="r|gz") as layer:
                    for entry in layer:
                        name = entry.name.rsplit("/", 1)[-1]
                        if name in SECRET_FILES or name.endswith(".key"):
                            found.append(entry.name)
                        content = layer.extractfile(entry) if entry.isreg() else None
                        data = b"" if content is None else content.read()
                        if PRIVATE_KEY.search(data) and not fnmatch.fnmatch(entry.name, PUBLIC_TEST_KEYS):
                            found.append(entry.name)
            except tarfile.ReadError:
                continue  # the config and manifest blobs are JSON
    assert found == []
