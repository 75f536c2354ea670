"""deploy/k8s/, checked offline: every core object against the Kubernetes schemas
(kubernetes-validate, strict: an unknown field is an error), and the wiring: one worker
Deployment per queue, each with a KEDA ScaledObject on its own SQS queue, one beat, the
API's two probes, the migrate Job, resources on every container."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from config.queues import STAGES

REPO_ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.33.0"
DOCUMENTS: list[dict[str, Any]] = [
    document
    for path in sorted((REPO_ROOT / "deploy" / "k8s").glob("*.yaml"))
    for document in yaml.safe_load_all(path.read_text())
    if document
]


def _of(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in DOCUMENTS if doc["kind"] == kind}


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["spec"]["template"]["spec"]["containers"])


@pytest.mark.parametrize(
    "document",
    [doc for doc in DOCUMENTS if doc["apiVersion"] != "keda.sh/v1alpha1"],
    ids=lambda doc: f"{doc['kind']}/{doc['metadata']['name']}",
)
def test_each_core_object_follows_the_kubernetes_schema(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_one_worker_per_queue_each_scaled_by_keda_on_its_own_queue() -> None:
    deployments, scaled = _of("Deployment"), _of("ScaledObject")
    for stage in STAGES:
        name = f"isidorus-worker-{stage}"
        command = _containers(deployments[name])[0]["command"]
        assert command[command.index("-Q") + 1] == f"isidorus-{stage}"
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        [trigger] = spec["triggers"]
        assert trigger["type"] == "aws-sqs-queue"
        assert trigger["metadata"]["queueURL"].endswith(f"/isidorus-{stage}")
        assert int(trigger["metadata"]["queueLength"]) > 0
    assert set(scaled) == {f"isidorus-worker-{stage}" for stage in STAGES}


def test_exactly_one_beat_the_api_probes_and_the_migrate_job() -> None:
    deployments = _of("Deployment")
    beats = [d for d in deployments.values() if "beat" in _containers(d)[0].get("command", [])]
    assert [beat["metadata"]["name"] for beat in beats] == ["isidorus-beat"]
    assert beats[0]["spec"]["replicas"] == 1
    assert beats[0]["spec"]["strategy"]["type"] == "Recreate"
    api = _containers(deployments["isidorus-api"])[0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    service = _of("Service")["isidorus-api"]
    assert (
        service["spec"]["selector"]
        == deployments["isidorus-api"]["spec"]["selector"]["matchLabels"]
    )
    migrate = _of("Job")["isidorus-migrate"]
    assert "bootstrap_aws" in " ".join(
        migrate["spec"]["template"]["spec"]["containers"][0]["command"]
    )


def test_every_container_has_requests_and_a_memory_limit_and_reads_the_settings() -> None:
    workloads = [*_of("Deployment").values(), *_of("Job").values()]
    accounts = set(_of("ServiceAccount"))
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] in accounts
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"])
            assert "memory" in resources["limits"]
            sources = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
            assert sources == {"isidorus-settings", "isidorus-secrets"}
