"""The compose file, checked offline (no Docker engine here): one worker per declared
queue, exactly one beat, and every app service built from the project's image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from config.queues import STAGES

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO_ROOT / "docker" / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def _commands() -> dict[str, str]:
    return {name: str(service.get("command", "")) for name, service in SERVICES.items()}


def test_every_declared_queue_has_exactly_one_worker_service() -> None:
    workers = [command for command in _commands().values() if "celery -A config worker" in command]
    queues = sorted(command.split(" -Q ")[1].split()[0] for command in workers)
    assert queues == sorted(f"isidorus-{stage}" for stage in STAGES)


def test_there_is_exactly_one_beat() -> None:
    beats = [name for name, command in _commands().items() if "celery -A config beat" in command]
    assert beats == ["beat"]


def test_app_services_use_the_project_image_and_wait_for_the_migrations() -> None:
    app_services = [name for name, service in SERVICES.items() if "build" in service]
    assert set(app_services) >= {"web", "migrate", "beat"}
    for name in app_services:
        assert SERVICES[name]["build"]["dockerfile"] == "docker/Dockerfile"
        if name != "migrate":
            assert SERVICES[name]["depends_on"] == ["migrate"], name
    assert "bootstrap_aws" in _commands()["migrate"]


def test_the_image_leaves_out_local_state_and_collects_static_files() -> None:
    contexts = {service["build"]["context"] for service in SERVICES.values() if "build" in service}
    assert contexts == {".."}  # the repository root, where .dockerignore is read
    ignored = set((REPO_ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".venvs", ".stack", "staticfiles"} <= ignored
    dockerfile = (REPO_ROOT / "docker" / "Dockerfile").read_text()
    assert "manage.py collectstatic --no-input" in dockerfile
    assert "USER isidorus" in dockerfile
    assert '"-c", "config/gunicorn.conf.py"' in dockerfile
    assert (REPO_ROOT / "config" / "gunicorn.conf.py").is_file()
