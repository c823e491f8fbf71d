"""deploy/kubernetes/, validated offline and strictly against Kubernetes' own schemas.

kubernetes-validate ships the OpenAPI schemas of each Kubernetes release; strict mode rejects
any property the schema does not define, so a misspelt field fails here, not in a cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
# The oldest release still widely run and the newest the package knows.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


def resources() -> dict[str, dict[str, Any]]:
    """Every resource in deploy/kubernetes/*.yaml by kind."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert document["kind"] not in found, f"{path.name}: a second {document['kind']}"
            found[document["kind"]] = document
    return found


def container() -> dict[str, Any]:
    (only,) = resources()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return dict(only)


def env() -> dict[str, str]:
    return {item["name"]: item["value"] for item in container()["env"]}


def test_the_four_resources_are_there() -> None:
    assert set(resources()) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("kind", ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"])
def test_each_resource_validates_strictly(kind: str, version: str) -> None:
    kubernetes_validate.validate(resources()[kind], version, strict=True)


def test_strict_validation_rejects_a_misspelt_field() -> None:
    deployment = resources()["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="'livenesProbe' was unexpected"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_probes_ask_liveness_and_readiness_on_the_named_port() -> None:
    probes = container()
    assert probes["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert probes["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert probes["ports"] == [{"name": "http", "containerPort": int(env()["PORT"]), "protocol": "TCP"}]


def test_readiness_notices_the_drain_before_it_ends() -> None:
    probe = container()["readinessProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] < float(env()["DRAIN_SECONDS"])


def test_resources_are_set() -> None:
    limits = container()["resources"]
    assert set(limits) == {"requests", "limits"}
    for part in ("requests", "limits"):
        assert set(limits[part]) == {"cpu", "memory"}


def test_runs_as_non_root_on_a_read_only_root_filesystem() -> None:
    pod = resources()["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
    security = container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]


def test_the_grace_period_outlasts_the_drain_and_the_graceful_shutdown() -> None:
    pod = resources()["Deployment"]["spec"]["template"]["spec"]
    shutdown = float(env()["DRAIN_SECONDS"]) + float(env()["GRACEFUL_SHUTDOWN_SECONDS"])
    # The process exits within a few seconds of the graceful shutdown's end
    # (tests/service/test_server_shutdown.py): 5 s of margin for it.
    assert pod["terminationGracePeriodSeconds"] >= shutdown + 5


def test_service_hpa_and_pdb_select_the_deployments_pods() -> None:
    found = resources()
    pod_labels = found["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert found["Deployment"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert found["Service"]["spec"]["selector"].items() <= pod_labels.items()
    assert found["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    assert found["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    target = found["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", found["Deployment"]["metadata"]["name"])


def test_the_hpa_scales_on_cpu_and_keeps_the_pdb_satisfiable() -> None:
    found = resources()
    hpa = found["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    (metric,) = hpa["spec"]["metrics"]
    assert (metric["type"], metric["resource"]["name"]) == ("Resource", "cpu")
    assert hpa["spec"]["minReplicas"] > found["PodDisruptionBudget"]["spec"]["minAvailable"]


def test_prometheus_annotations_name_the_metrics_endpoint() -> None:
    annotations = resources()["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == env()["PORT"]
