"""A Redis server of the test's own, so a test can restart it under a running crawl."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from tests.support.processes import free_port, terminate, wait_listening


class OwnRedis:
    def __init__(self, directory: Path, *, persistent: bool, policy: str = "noeviction") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; the Redis restart test needs it")
        self.binary = binary
        self.directory = directory
        self.persistent = persistent
        self.policy = policy
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.persistent
            else ["--appendonly", "no"]
        )
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--dir", str(self.directory), "--maxmemory-policy", self.policy, *persistence],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_listening(self.port, what="own redis-server")
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        terminate(self.process)

    def restart(self, *, down_seconds: float = 1.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()
