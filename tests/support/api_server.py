"""The real API server, as `make run` starts it: gunicorn with config/gunicorn.conf.py."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port, terminate, wait_listening

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ApiServer:
    origin: str
    pid: int  # gunicorn's master


@contextlib.contextmanager
def api_server(env: dict[str, str], **settings: str) -> Iterator[ApiServer]:
    """gunicorn on a free port with `env` (and GUNICORN_* `settings`)."""
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server_env = {**env, "ISIDORUS_API_BIND": f"127.0.0.1:{port}"}
    server_env.update({f"GUNICORN_{name.upper()}": value for name, value in settings.items()})
    process = subprocess.Popen(
        [str(gunicorn), "config.wsgi:application", "-c", "config/gunicorn.conf.py"],
        cwd=REPO_ROOT,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port, timeout=30, what="gunicorn")
        yield ApiServer(f"http://127.0.0.1:{port}", process.pid)
    finally:
        terminate(process)
