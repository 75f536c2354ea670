"""The compose file and the Dockerfile, checked offline (no Docker engine here): the
Compose specification's schema, one worker per declared queue, exactly one beat, every
dependency waiting for health or for the migrations, host ports only for the API, and
the image's entrypoint and files present in the repository."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft201909Validator

from config.queues import STAGES

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (REPO_ROOT / "docker" / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (REPO_ROOT / "docker" / "Dockerfile").read_text()
INFRASTRUCTURE = {"postgres", "redis", "localstack", "dynamodb"}


def _command(name: str) -> list[str]:
    command = SERVICES[name].get("command", [])
    return command if isinstance(command, list) else str(command).split()


def _app_services() -> list[str]:
    return [name for name, service in SERVICES.items() if "build" in service]


def test_the_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((REPO_ROOT / "tests/fixtures/schemas/compose_spec.json").read_text())
    validator = Draft201909Validator(schema)  # the schema's own $schema
    errors = sorted(validator.iter_errors(COMPOSE), key=lambda error: list(error.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_every_declared_queue_has_exactly_one_scalable_worker_service() -> None:
    queues: list[str] = []
    for name in SERVICES:
        command = _command(name)
        if command[:4] == ["celery", "-A", "config", "worker"]:
            queues.append(command[command.index("-Q") + 1])
            # --scale needs no fixed container name or host port.
            assert "container_name" not in SERVICES[name]
            assert "ports" not in SERVICES[name]
            # Healthy while its event loop turns, asked on its own port (worker_port.py).
            address = SERVICES[name]["environment"]["WORKER_METRICS_ADDRESS"]
            port = address.rpartition(":")[2]
            assert SERVICES[name]["healthcheck"]["test"] == [
                "CMD",
                "curl",
                "-fs",
                f"http://localhost:{port}/health/live",
            ]
    assert sorted(queues) == sorted(f"isidorus-{stage}" for stage in STAGES)


def test_there_is_exactly_one_beat() -> None:
    beats = [name for name in SERVICES if _command(name)[:4] == ["celery", "-A", "config", "beat"]]
    assert beats == ["beat"]


def test_startup_waits_for_health_then_for_the_migrations() -> None:
    for name in INFRASTRUCTURE:
        assert "healthcheck" in SERVICES[name], name
    migrate = SERVICES["migrate"]
    assert migrate["depends_on"] == {
        name: {"condition": "service_healthy"} for name in INFRASTRUCTURE
    }
    assert "bootstrap_aws" in " ".join(_command("migrate"))
    assert migrate["restart"] == "no"
    for name in _app_services():
        assert SERVICES[name]["build"]["dockerfile"] == "docker/Dockerfile"
        if name != "migrate":
            assert SERVICES[name]["depends_on"] == {
                "migrate": {"condition": "service_completed_successfully"}
            }, name
    assert "healthcheck" in SERVICES["web"]


def test_host_ports_only_for_the_api_and_overridable() -> None:
    published = {name: service["ports"] for name, service in SERVICES.items() if "ports" in service}
    assert published == {"web": ["127.0.0.1:${ISIDORUS_HOST_PORT:-8000}:8000"]}


def test_redis_keeps_job_state_and_dynamodb_serialises_writes() -> None:
    redis = " ".join(SERVICES["redis"]["command"])
    assert "--appendonly yes" in redis
    assert "--maxmemory-policy noeviction" in redis
    assert SERVICES["dynamodb"]["entrypoint"][-1] == "/isidorus-scripts/moto_server_serialized.py"
    mount = SERVICES["dynamodb"]["volumes"][0].split(":")[0]
    assert (REPO_ROOT / "docker" / mount / "moto_server_serialized.py").is_file()


def test_the_image_leaves_out_local_state_and_its_entrypoint_is_in_the_repo() -> None:
    contexts = {SERVICES[name]["build"]["context"] for name in _app_services()}
    assert contexts == {".."}  # the repository root, where .dockerignore is read
    ignored = set((REPO_ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".venvs", ".stack", "staticfiles"} <= ignored
    assert "manage.py collectstatic --no-input" in DOCKERFILE
    assert "USER isidorus" in DOCKERFILE
    [entrypoint] = re.findall(r'^ENTRYPOINT \["/app/([^"]+)"\]', DOCKERFILE, re.MULTILINE)
    assert os.access(REPO_ROOT / entrypoint, os.X_OK)
    assert '"-c", "config/gunicorn.conf.py"' in DOCKERFILE
    assert (REPO_ROOT / "config" / "gunicorn.conf.py").is_file()
    for source in re.findall(r"^COPY (\S+) ", DOCKERFILE, re.MULTILINE):
        assert (REPO_ROOT / source).exists(), source
