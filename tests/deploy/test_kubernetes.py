"""deploy/kubernetes: valid against the Kubernetes schemas, and safe, probed and scalable."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.helpers import ROOT

K8S = ROOT / "deploy" / "kubernetes"
MANIFESTS = (
    "namespace.yaml",
    "deployment.yaml",
    "service.yaml",
    "hpa.yaml",
    "pdb.yaml",
    "networkpolicy.yaml",
)
# Custom resources: kubernetes-validate has no schema for them (PODMONITOR_SCHEMA below).
CUSTOM = ("podmonitor.yaml",)
NAMESPACE_NAME = "forefoot-triage"
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
    (found,) = [doc for name in MANIFESTS + CUSTOM for doc in _load(name) if doc["kind"] == kind]
    return found


NAMESPACE = _only("Namespace")
DEPLOYMENT = _only("Deployment")
SERVICE = _only("Service")
HPA = _only("HorizontalPodAutoscaler")
PDB = _only("PodDisruptionBudget")
NETWORK_POLICY = _only("NetworkPolicy")
POD_MONITOR = _only("PodMonitor")
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
    assert sorted(kustomization["resources"]) == sorted(on_disk) == sorted(MANIFESTS + CUSTOM)
    assert kustomization["namespace"] == NAMESPACE["metadata"]["name"] == NAMESPACE_NAME


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
    for document in (NAMESPACE, DEPLOYMENT, SERVICE, HPA, PDB, NETWORK_POLICY, POD_MONITOR, POD):
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
    """/tmp is a writable in-memory emptyDir with a size limit; the metrics and replay folders
    are in it."""
    volume = _tmp_volume()
    assert volume["emptyDir"]["medium"] == "Memory"
    assert _mebibytes(volume["emptyDir"]["sizeLimit"]) > 0
    assert [item["mountPath"] for item in CONTAINER["volumeMounts"]] == ["/tmp"]
    assert ENV["PROMETHEUS_MULTIPROC_DIR"]["value"].startswith("/tmp/")
    assert ENV["TRIAGE_CDS_REPLAY_DIR"]["value"].startswith("/tmp/")


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


# Prometheus Operator's PodMonitor (monitoring.coreos.com/v1): the fields used here, with the types
# and patterns of its CRD's openAPIV3Schema (monitoring.coreos.com_podmonitors.yaml, operator
# v0.91.0). No pip or npm package ships that CRD, and kubernetes-validate only knows built-in
# kinds, so the subset is written out here; closed (additionalProperties false) like a strict
# validation: a field added to podmonitor.yaml must be added here, checked against the CRD.
_DURATION = (
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
PODMONITOR_SCHEMA: Manifest = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PodMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "labels": _LABELS},
        },
        "spec": {
            "type": "object",
            # The CRD's only required field of spec.
            "required": ["selector"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"matchLabels": _LABELS},
                },
                "podMetricsEndpoints": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string", "minLength": 1},
                            "path": {"type": "string"},
                            "interval": {"type": "string", "pattern": _DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": _DURATION},
                        },
                    },
                },
            },
        },
    },
}


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, f"expected a duration in seconds, got {duration!r}"
    return int(match[1])


def test_pod_monitor_matches_the_crd_fields_it_uses() -> None:
    """podmonitor.yaml is a monitoring.coreos.com/v1 PodMonitor whose every field has the
    CRD's type and pattern."""
    jsonschema.validate(POD_MONITOR, PODMONITOR_SCHEMA)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("spec", "podMetricsEndpoints", 0, "interval"), "30 seconds", "does not match"),
        (("spec", "podMetricsEndpoints", 0, "targetPort"), 8000, r"(was|were) unexpected"),
        (("spec", "podMetricEndpoints"), [], r"(was|were) unexpected"),
        (("spec", "podMetricsEndpoints", 0, "port"), 8000, "is not of type 'string'"),
    ],
    ids=["bad-duration", "unlisted-field", "typo", "port-number"],
)
def test_pod_monitor_schema_rejects_a_broken_monitor(
    path: tuple[str | int, ...], value: Any, message: str
) -> None:
    """A wrong duration, an unlisted field, a typo'd key or a wrong type fails: the check bites."""
    broken = copy.deepcopy(POD_MONITOR)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.validate(broken, PODMONITOR_SCHEMA)


def test_pod_monitor_scrapes_each_pod_on_the_metrics_port() -> None:
    """The Deployment's pods, on the named container port the annotations also give, /metrics,
    a timeout below the interval."""
    spec = POD_MONITOR["spec"]
    assert spec["selector"] == DEPLOYMENT["spec"]["selector"]
    (endpoint,) = spec["podMetricsEndpoints"]
    annotations = POD["metadata"]["annotations"]
    assert _container_port(endpoint["port"]) == int(annotations["prometheus.io/port"]) == 8000
    assert endpoint["path"] == annotations["prometheus.io/path"] == "/metrics"
    assert 0 < _seconds(endpoint["scrapeTimeout"]) < _seconds(endpoint["interval"])


def test_network_policy_admits_the_service_port_and_only_dns_out() -> None:
    """In: only TCP to the http port (clients and Prometheus), none to the health port (the
    kubelet's probes come from the node, always allowed). Out: only DNS to kube-dns."""
    spec = NETWORK_POLICY["spec"]
    assert spec["podSelector"] == DEPLOYMENT["spec"]["selector"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = spec["ingress"]
    assert "from" not in ingress  # from anywhere; narrowed by a patch where wanted (README)
    assert [_container_port(port["port"]) for port in ingress["ports"]] == [8000]
    assert {port["protocol"] for port in ingress["ports"]} == {"TCP"}
    (egress,) = spec["egress"]
    assert egress["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert sorted((port["port"], port["protocol"]) for port in egress["ports"]) == [
        (53, "TCP"),
        (53, "UDP"),
    ]


def test_pods_spread_over_zones_then_nodes_without_ever_blocking() -> None:
    """Zone and node spread constraints over the Deployment's pods, each a preference
    (ScheduleAnyway) per ReplicaSet: never a pod left Pending for want of a zone."""
    constraints = POD["spec"]["topologySpreadConstraints"]
    assert [item["topologyKey"] for item in constraints] == [
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    ]
    for item in constraints:
        assert item["whenUnsatisfiable"] == "ScheduleAnyway"
        assert item["maxSkew"] == 1
        assert item["labelSelector"] == DEPLOYMENT["spec"]["selector"]
        assert item["matchLabelKeys"] == ["pod-template-hash"]


def test_namespace_enforces_the_restricted_pod_security_profile() -> None:
    """The namespace admits only pods meeting Pod Security "restricted" (ours do)."""
    labels = NAMESPACE["metadata"]["labels"]
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


needs_kubectl = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (Debian's kubectl package) is not installed"
)


def _kustomize(folder: Path) -> list[Manifest]:
    built = subprocess.run(
        ["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True
    )
    return [document for document in yaml.safe_load_all(built.stdout) if document is not None]


@needs_kubectl
def test_kustomize_builds_everything_into_the_namespace() -> None:
    """`kubectl kustomize deploy/kubernetes`: every object, each namespaced one in
    forefoot-triage, and the built objects still valid against the 1.37 schemas."""
    built = _kustomize(K8S)
    assert sorted(doc["kind"] for doc in built) == sorted(
        doc["kind"] for name in MANIFESTS + CUSTOM for doc in _load(name)
    )
    for document in built:
        if document["kind"] == "Namespace":
            assert "namespace" not in document["metadata"]
            assert document["metadata"]["name"] == NAMESPACE_NAME
            continue
        assert document["metadata"]["namespace"] == NAMESPACE_NAME
        if document["kind"] == "PodMonitor":
            jsonschema.validate(
                {
                    **document,
                    "metadata": {k: v for k, v in document["metadata"].items() if k != "namespace"},
                },
                PODMONITOR_SCHEMA,
            )
        else:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


@needs_kubectl
def test_the_cds_egress_component_adds_https_out(tmp_path: Path) -> None:
    """An overlay with the cds-egress component: a second NetworkPolicy over the same pods,
    TCP 443 out only, to public addresses (no private, link-local or CGNAT range)."""
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                # Relative: kustomize refuses an absolute path to a base or component.
                "resources": [os.path.relpath(K8S, tmp_path)],
                "components": [os.path.relpath(K8S / "cds-egress", tmp_path)],
            }
        ),
        encoding="utf-8",
    )
    policies = [doc for doc in _kustomize(tmp_path) if doc["kind"] == "NetworkPolicy"]
    assert sorted(doc["metadata"]["name"] for doc in policies) == [
        "forefoot-triage",
        "forefoot-triage-cds-egress",
    ]
    (extra,) = [doc for doc in policies if doc["metadata"]["name"].endswith("cds-egress")]
    kubernetes_validate.validate(extra, KUBERNETES_VERSION, strict=True)
    assert extra["metadata"]["namespace"] == NAMESPACE_NAME
    spec = extra["spec"]
    assert spec["podSelector"] == DEPLOYMENT["spec"]["selector"]
    assert spec["policyTypes"] == ["Egress"]
    (rule,) = spec["egress"]
    assert rule["ports"] == [{"port": 443, "protocol": "TCP"}]
    (block,) = rule["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(
        block["ipBlock"]["except"]
    )
