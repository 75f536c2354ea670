"""deploy/k8s/, checked offline: every core object against the Kubernetes schemas
(kubernetes-validate, strict: an unknown field is an error), every KEDA ScaledObject
against KEDA's CRD schema vendored in tests/fixtures/schemas (strict too), and the wiring:
one worker Deployment per queue, each with a KEDA ScaledObject on its own SQS queue, one
beat, the API's two probes, the migrate Job, resources on every container."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from config.queues import PACED_STAGES, STAGES

REPO_ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.33.0"
KEDA_CRD = REPO_ROOT / "tests" / "fixtures" / "schemas" / "keda.sh_scaledobjects.yaml"
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


def _strict(schema: Any) -> Any:
    """`schema` with every object that lists its properties closed to other fields (unless
    it says `x-kubernetes-preserve-unknown-fields`), as structural pruning would drop them."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        strict["additionalProperties"] = False
    return strict


def _keda_validator(api_version: str) -> jsonschema.protocols.Validator:
    crd = yaml.safe_load(KEDA_CRD.read_text())
    group, _, version = api_version.partition("/")
    assert crd["spec"]["group"] == group
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version and v["served"]]
    schema = _strict(served["schema"]["openAPIV3Schema"])
    return jsonschema.Draft7Validator(schema)


KEDA_OBJECTS = [doc for doc in DOCUMENTS if doc["apiVersion"] == "keda.sh/v1alpha1"]


@pytest.mark.parametrize("document", KEDA_OBJECTS, ids=lambda doc: doc["metadata"]["name"])
def test_each_scaled_object_follows_kedas_crd_schema(document: dict[str, Any]) -> None:
    assert document["kind"] == "ScaledObject"
    errors = [
        error.message for error in _keda_validator(document["apiVersion"]).iter_errors(document)
    ]
    assert errors == []


def test_the_keda_schema_check_rejects_a_misspelt_or_mistyped_field() -> None:
    validator = _keda_validator("keda.sh/v1alpha1")
    misspelt = {**KEDA_OBJECTS[0], "spec": {**KEDA_OBJECTS[0]["spec"], "minReplicas": 0}}
    mistyped = {**KEDA_OBJECTS[0], "spec": {**KEDA_OBJECTS[0]["spec"], "maxReplicaCount": "ten"}}
    assert not validator.is_valid(misspelt)
    assert not validator.is_valid(mistyped)
    assert validator.is_valid(KEDA_OBJECTS[0])


def _assert_scraped_and_probed_on_its_own_port(deployment: dict[str, Any]) -> None:
    """A worker serves its host's metrics and its liveness on WORKER_METRICS_ADDRESS."""
    settings = _of("ConfigMap")["isidorus-settings"]["data"]
    port = int(settings["WORKER_METRICS_ADDRESS"].rpartition(":")[2])
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port
    assert annotations["prometheus.io/path"] == "/metrics"
    worker = _containers(deployment)[0]
    [declared] = worker["ports"]
    assert declared["containerPort"] == port
    probe = worker["livenessProbe"]["httpGet"]
    assert (probe["path"], probe["port"]) == ("/health/live", declared["name"])
    assert "readinessProbe" not in worker  # it serves no traffic


def test_one_worker_per_queue_each_scaled_by_keda_on_its_own_queue() -> None:
    deployments, scaled = _of("Deployment"), _of("ScaledObject")
    for stage in STAGES:
        name = f"isidorus-worker-{stage}"
        command = _containers(deployments[name])[0]["command"]
        assert command[command.index("-Q") + 1] == f"isidorus-{stage}"
        spec = scaled[name]["spec"]
        assert spec["scaleTargetRef"]["name"] == name
        assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        trigger, *others = spec["triggers"]
        assert trigger["type"] == "aws-sqs-queue"
        if stage in PACED_STAGES:  # a paced stage also scales on what pacing holds back
            [held] = others
            assert held["type"] == "prometheus"
            query = f'sum(isidorus_held_batches{{stage="{stage}"}})'
            assert held["metadata"]["query"] == query
        else:
            assert others == []
        assert trigger["metadata"]["queueURL"].endswith(f"/isidorus-{stage}")
        assert int(trigger["metadata"]["queueLength"]) > 0
        _assert_scraped_and_probed_on_its_own_port(deployments[name])
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
