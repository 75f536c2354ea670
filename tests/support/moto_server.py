"""A DynamoDB emulator of the test's own, so a test can freeze it under a running crawl
without touching the shared one (other test runs use it at the same time).

It is started exactly as scripts/launcher.py starts the shared one: moto's server through
scripts/moto_server_serialized.py (one request at a time, see docs/development.md), from moto's own
virtualenv, which `make test` creates in .venvs/moto.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.processes import free_port, terminate, wait_listening
from tests.support.workers import REPO_ROOT

MOTO_PYTHON = REPO_ROOT / ".venvs" / "moto" / "bin" / "python"
SERIALIZED_SERVER = REPO_ROOT / "scripts" / "moto_server_serialized.py"


class OwnMoto:
    def __init__(self, log_path: Path) -> None:
        if not MOTO_PYTHON.exists():
            raise RuntimeError(
                f"{MOTO_PYTHON} is missing: `python3 -m scripts.launcher stack up` creates it"
            )
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> OwnMoto:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(MOTO_PYTHON), str(SERIALIZED_SERVER), "-H", "127.0.0.1", "-p", str(self.port)],
                cwd=REPO_ROOT, env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_listening(self.port, timeout=30, what="own moto server")
        return self

    def stop(self) -> None:
        terminate(self.process)
