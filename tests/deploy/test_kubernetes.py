"""deploy/kubernetes: valid against the Kubernetes schemas, and safe, probed and scalable."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.helpers import ROOT

K8S = ROOT / "deploy" / "kubernetes"
MANIFESTS = ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml")
# The newest schemas bundled with kubernetes-validate 1.37.0 (they ship with the package, so
# validation works offline). validate() answers with the major.minor it really used.
KUBERNETES_VERSION = "1.37.0"

Manifest = dict[str, Any]


def _load(name: str) -> list[Manifest]:
    text = (K8S / name).read_text(encoding="utf-8")
    return [document for document in yaml.safe_load_all(text) if document is not None]


DOCUMENTS = [
    pytest.param(document, id=f"{name}:{document['kind']}")
    for name in MANIFESTS
    for document in _load(name)
]


def _only(kind: str) -> Manifest:
    (found,) = [doc for name in MANIFESTS for doc in _load(name) if doc["kind"] == kind]
    return found


DEPLOYMENT = _only("Deployment")
SERVICE = _only("Service")
HPA = _only("HorizontalPodAutoscaler")
PDB = _only("PodDisruptionBudget")
POD = DEPLOYMENT["spec"]["template"]
(CONTAINER,) = POD["spec"]["containers"]
ENV = {item["name"]: item for item in CONTAINER["env"]}


def _container_port(port: int | str) -> int:
    """A port as a probe or Service names it (number or port name) -> the container's number."""
    ports = {item["name"]: item["containerPort"] for item in CONTAINER["ports"]}
    if isinstance(port, str):
        return int(ports[port])
    assert port in ports.values()
    return port


def _mebibytes(quantity: str) -> float:
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", quantity)
    assert match, f"unexpected memory quantity {quantity!r}"
    return int(match[1]) * {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}[match[2]]


def _millicores(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def _tmp_volume() -> Manifest:
    """The volume mounted, writable, at /tmp."""
    (mount,) = [item for item in CONTAINER["volumeMounts"] if item["mountPath"] == "/tmp"]
    assert not mount.get("readOnly", False)
    volumes: list[Manifest] = POD["spec"]["volumes"]
    (volume,) = [item for item in volumes if item["name"] == mount["name"]]
    return volume


def _gunicorn_setting(name: str) -> int:
    # Read as text: importing gunicorn.conf.py would install its hooks into gunicorn.
    text = (ROOT / "gunicorn.conf.py").read_text(encoding="utf-8")
    (value,) = re.findall(rf"^{name} = (\d+)$", text, flags=re.MULTILINE)
    return int(value)


def test_kustomization_lists_every_manifest() -> None:
    """kustomization.yaml applies exactly the manifests of the folder, nothing left out."""
    (kustomization,) = _load("kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(on_disk) == sorted(MANIFESTS)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_manifest_is_valid_against_the_kubernetes_schema(document: Manifest) -> None:
    """Each document validates strictly (no unknown fields) against the bundled 1.37 schemas."""
    used = kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    assert used == "1.37"


def _unknown_field(doc: Manifest) -> None:
    doc["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesytem"] = (
        True
    )


def _port_as_string(doc: Manifest) -> None:
    doc["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8000"


def _no_selector(doc: Manifest) -> None:
    del doc["spec"]["selector"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_unknown_field, r"'readOnlyRootFilesytem' was unexpected"),
        (_port_as_string, r"'8000' is not of type 'integer'"),
        (_no_selector, r"'selector' is a required property"),
    ],
    ids=["unknown-field", "wrong-type", "missing-required"],
)
def test_validator_rejects_a_broken_deployment(
    mutate: Callable[[Manifest], None], message: str
) -> None:
    """A typo'd field, a wrong type or a missing selector fails validation: the check has teeth."""
    broken = copy.deepcopy(DEPLOYMENT)
    mutate(broken)
    with pytest.raises(kubernetes_validate.ValidationError, match=message):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_object_carries_the_app_name_label() -> None:
    """All objects and the pods are labelled app.kubernetes.io/name: forefoot-triage."""
    for document in (DEPLOYMENT, SERVICE, HPA, PDB, POD):
        assert document["metadata"]["labels"]["app.kubernetes.io/name"] == "forefoot-triage"


def test_image_is_the_project_version() -> None:
    """The image tag is the pyproject version, pulled only if the node lacks it."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    assert CONTAINER["image"] == f"forefoot-triage:{version}"
    assert CONTAINER["imagePullPolicy"] == "IfNotPresent"


def test_deployment_selects_its_own_pods_and_leaves_replicas_to_the_hpa() -> None:
    """The selector matches the pod labels; no fixed replica count fights the autoscaler."""
    selector = DEPLOYMENT["spec"]["selector"]["matchLabels"]
    assert selector.items() <= POD["metadata"]["labels"].items()
    assert "replicas" not in DEPLOYMENT["spec"]
    rolling = DEPLOYMENT["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0


def test_liveness_readiness_and_startup_probes() -> None:
    """Liveness asks /healthz; readiness and start-up ask /readyz (a validated ruleset)."""
    assert CONTAINER["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert CONTAINER["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert CONTAINER["startupProbe"]["httpGet"]["path"] == "/readyz"


def test_container_port_probes_and_metrics_agree() -> None:
    """Port 8000 named http is what gunicorn binds and Prometheus scrapes; 8001 named health is
    HEALTH_PORT, the probe port every probe calls; the image sets and exposes the same two."""
    assert CONTAINER["ports"] == [
        {"name": "http", "containerPort": 8000, "protocol": "TCP"},
        {"name": "health", "containerPort": 8001, "protocol": "TCP"},
    ]
    assert ENV["PORT"]["value"] == "8000"
    assert ENV["HEALTH_PORT"]["value"] == "8001"
    assert ENV["HOST"]["value"] == "0.0.0.0"  # noqa: S104 (the pod must accept the Service's traffic)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert _container_port(CONTAINER[probe]["httpGet"]["port"]) == 8001
    annotations = POD["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert _container_port(int(annotations["prometheus.io/port"])) == 8000
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^EXPOSE 8000 8001$", dockerfile, flags=re.MULTILINE)
    assert re.search(r"^ +HEALTH_PORT=8001 \\$", dockerfile, flags=re.MULTILINE)


def test_resources_requests_and_limits_fit_the_workers() -> None:
    """CPU and memory have requests below limits; the limit holds the workers and the tmpfs."""
    requests, limits = CONTAINER["resources"]["requests"], CONTAINER["resources"]["limits"]
    assert set(requests) == set(limits) == {"cpu", "memory"}
    assert 0 < _millicores(requests["cpu"]) <= _millicores(limits["cpu"])
    assert 0 < _mebibytes(requests["memory"]) <= _mebibytes(limits["memory"])
    # About 60 MB per worker plus the master, and the memory-backed /tmp counts too.
    workers = int(ENV["WEB_CONCURRENCY"]["value"])
    tmpfs = _mebibytes(_tmp_volume()["emptyDir"]["sizeLimit"])
    assert (workers + 1) * 60 + tmpfs <= _mebibytes(limits["memory"])


def test_runs_as_non_root_with_a_read_only_root() -> None:
    """Non-root user 10001 (the image's), read-only root, no escalation, no capabilities."""
    pod, container = POD["spec"]["securityContext"], CONTAINER["securityContext"]
    for context in (pod, container):
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == context["runAsGroup"] == 10001
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert POD["spec"]["automountServiceAccountToken"] is False
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.findall(r"^USER (\S+)$", dockerfile, flags=re.MULTILINE) == ["10001"]


def test_tmp_is_the_one_writable_memory_backed_path() -> None:
    """/tmp is a writable in-memory emptyDir with a size limit; the metrics directory is in it."""
    volume = _tmp_volume()
    assert volume["emptyDir"]["medium"] == "Memory"
    assert _mebibytes(volume["emptyDir"]["sizeLimit"]) > 0
    assert [item["mountPath"] for item in CONTAINER["volumeMounts"]] == ["/tmp"]
    assert ENV["PROMETHEUS_MULTIPROC_DIR"]["value"].startswith("/tmp/")


def test_api_keys_come_from_an_optional_secret() -> None:
    """TRIAGE_API_KEYS comes from a Secret that may be absent; no key is in the manifests."""
    assert ENV["TRIAGE_API_KEYS"] == {
        "name": "TRIAGE_API_KEYS",
        "valueFrom": {
            "secretKeyRef": {"name": "forefoot-triage-api-keys", "key": "keys", "optional": True}
        },
    }


def test_shutdown_drains_within_the_grace_period() -> None:
    """preStop sleeps, then gunicorn's graceful_timeout still fits in the grace period."""
    assert CONTAINER["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    grace = POD["spec"]["terminationGracePeriodSeconds"]
    assert grace == 40
    assert 5 + _gunicorn_setting("graceful_timeout") < grace


def test_service_routes_to_the_deployments_pods() -> None:
    """ClusterIP port 80 selects the pod labels and targets the container's http port."""
    spec = SERVICE["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["selector"] == DEPLOYMENT["spec"]["selector"]["matchLabels"]
    assert spec["selector"].items() <= POD["metadata"]["labels"].items()
    (port,) = spec["ports"]
    assert port["port"] == 80
    assert _container_port(port["targetPort"]) == 8000


def test_hpa_scales_the_deployment_on_cpu() -> None:
    """autoscaling/v2 on the Deployment: 2 to 10 replicas at 70% average CPU utilisation."""
    spec = HPA["spec"]
    assert HPA["apiVersion"] == "autoscaling/v2"
    assert spec["scaleTargetRef"] == {
        "apiVersion": DEPLOYMENT["apiVersion"],
        "kind": "Deployment",
        "name": DEPLOYMENT["metadata"]["name"],
    }
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}


def test_pdb_keeps_one_of_the_deployments_pods() -> None:
    """policy/v1 PodDisruptionBudget: minAvailable 1 over the Deployment's pods."""
    assert PDB["apiVersion"] == "policy/v1"
    assert PDB["spec"]["minAvailable"] == 1
    assert PDB["spec"]["selector"] == DEPLOYMENT["spec"]["selector"]
