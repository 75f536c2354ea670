"""Each app service of docker/docker-compose.yml, run here as compose would run it (issue 14).

There is no Docker engine on these machines, so each service's command runs as a local
process with the compose file's environment, its host names pointed at 127.0.0.1 (the
test's database, Redis, LocalStack and moto) and its names at the test's namespace, and
the image's entrypoint in front: migrate exits 0, the API answers /health/, a worker of
each queue connects and polls, and beat sends its first scheduled task.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from scripts.processes import spawn, stop_tree
from tests.support.processes import free_port
from tests.support.workers import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
COMPOSE = yaml.safe_load((REPO_ROOT / "docker" / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (REPO_ROOT / "docker" / "Dockerfile").read_text()
ENTRYPOINT = str(REPO_ROOT / "docker" / "entrypoint.sh")


def _image_command() -> list[str]:
    [line] = [line for line in DOCKERFILE.splitlines() if line.startswith("CMD ")]
    return list(yaml.safe_load(line.removeprefix("CMD ")))


def _command(name: str, tmp: Path) -> list[str]:
    command = SERVICES[name].get("command") or _image_command()
    argv = command if isinstance(command, list) else shlex.split(command)
    namespace = settings.ISIDORUS_NAMESPACE

    def local(arg: str) -> str:
        if arg.startswith("isidorus-"):  # a queue: compose's namespace becomes the test's
            return arg.replace("isidorus-", f"{namespace}-", 1)
        if arg.startswith("/tmp/"):  # a container's own file (beat's schedule)
            return str(tmp / Path(arg).name)
        return arg

    return [local(arg) for arg in argv]


def _environment(name: str, worker_env: dict[str, str], tmp: Path) -> dict[str, str]:
    compose = {key: str(value) for key, value in SERVICES[name]["environment"].items()}
    local = {
        "DATABASE_URL": worker_env["DATABASE_URL"],
        "REDIS_URL": os.environ["REDIS_URL"],
        "AWS_ENDPOINT_URL": settings.AWS_ENDPOINTS["sqs"] or "",
        "AWS_ENDPOINT_URL_DYNAMODB": settings.AWS_ENDPOINTS["dynamodb"] or "",
        "ISIDORUS_NAMESPACE": settings.ISIDORUS_NAMESPACE,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"metrics-{name}"),  # the image's ENV
    }
    assert set(local) - {"ISIDORUS_NAMESPACE", "PROMETHEUS_MULTIPROC_DIR"} <= set(compose)
    env = {**os.environ, **compose, **local}
    # The image's python, gunicorn and celery are on its PATH; here, the virtualenv's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the image runs the project's own settings
    return env


@pytest.fixture
def run_service(
    worker_env: dict[str, str], aws_resources: Any, tmp_path: Path
) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    started: list[subprocess.Popen[bytes]] = []

    def run(name: str, **extra_env: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{name}.log"
        env = {**_environment(name, worker_env, tmp_path), **extra_env}
        process = spawn([ENTRYPOINT, *_command(name, tmp_path)], log_path=log, env=env)
        started.append(process)
        return process, log

    yield run
    for process in started:
        if process.poll() is None:
            stop_tree(process.pid, grace=10)


def _wait_for_log(process: subprocess.Popen[bytes], log: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {log.name}:\n{log.read_text(errors='replace')[-3000:]}")


def test_migrate_exits_0(run_service: Callable[..., Any]) -> None:
    process, log = run_service("migrate")
    assert process.wait(timeout=120) == 0, log.read_text(errors="replace")[-3000:]
    assert "bucket" in log.read_text()


def test_the_api_answers_its_health_check(run_service: Callable[..., Any]) -> None:
    port = free_port()
    process, log = run_service("web", ISIDORUS_API_BIND=f"127.0.0.1:{port}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            with opener.open(f"http://127.0.0.1:{port}/health/", timeout=5) as response:
                assert response.status == 200
                return
        except OSError:
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.3)


def test_a_worker_of_every_queue_connects_and_polls(run_service: Callable[..., Any]) -> None:
    workers = [name for name in SERVICES if name.startswith("worker-")]
    ports = {name: free_port() for name in workers}  # one host here: a port each
    running = [
        run_service(name, WORKER_METRICS_ADDRESS=f"127.0.0.1:{ports[name]}") for name in workers
    ]
    for process, log in running:
        _wait_for_log(process, log, " ready.", timeout=60)
        _wait_for_log(process, log, "Connected to", timeout=5)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for port in ports.values():  # what the worker's healthcheck asks
        with opener.open(f"http://127.0.0.1:{port}/health/live", timeout=5) as response:
            assert response.status == 200


def test_beat_sends_its_first_scheduled_task(run_service: Callable[..., Any]) -> None:
    process, log = run_service("beat", REAPER_INTERVAL_SECONDS="1")
    _wait_for_log(process, log, "Sending due task", timeout=60)
