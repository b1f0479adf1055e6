"""image/deploy/kubernetes.yaml matches the image it deploys and the API it probes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from golden_testing import serve

from dsdl_golden.config import load_settings
from dsdl_golden.runtime import create_app
from goldenimage.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = load_spec()


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    documents = list(yaml.safe_load_all((ROOT / "image" / "deploy" / "kubernetes.yaml").read_text()))
    (deployment,) = [document for document in documents if document["kind"] == "Deployment"]
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


def test_it_deploys_this_image_as_its_user_with_the_srv_volume(golden: dict[str, Any]) -> None:
    (container,) = golden["containers"]
    assert container["image"].rsplit("/", 1)[1] == f"{SPEC.raw['image']['name']}:{SPEC.version}"
    user, group = SPEC.raw["config"]["user"].split(":")
    assert (golden["securityContext"]["runAsUser"], golden["securityContext"]["runAsGroup"]) == (
        int(user),
        int(group),
    )
    assert {port["containerPort"] for port in container["ports"]} <= set(SPEC.raw["config"]["ports"])
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert set(SPEC.raw["config"]["volumes"]) <= mounts
    assert "/etc/golden/ca-certificates" in mounts  # where the bootstrap looks for corporate CAs
    assert golden["terminationGracePeriodSeconds"] >= 10


def test_the_probes_are_routes_that_answer_without_a_token(golden: dict[str, Any], srv: Path) -> None:
    (container,) = golden["containers"]
    probes = {
        kind: container[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe", "startupProbe")
    }
    assert {probe["path"] for probe in probes.values()} == {"/healthz", "/readyz"}
    assert probes["readinessProbe"]["path"] == "/readyz"
    environment = {"api_token": "a-token-the-probes-do-not-send", "GOLDEN_SRV_DIR": str(srv)}
    with serve(create_app(load_settings(environment), environment)) as url:
        for probe in probes.values():
            assert requests.get(url + probe["path"], timeout=10).status_code == 200, probe
