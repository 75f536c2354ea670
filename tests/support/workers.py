"""Real Celery worker processes for end-to-end tests.

Each worker runs in its own session (process group), so a test can SIGKILL the whole
worker, pool children included, the way a crashed machine or container would die. They
are started and stopped the launcher's way (scripts/processes.py).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

from scripts.processes import REPO_ROOT as REPO_ROOT  # the repository, for the tests
from scripts.processes import STACK_DIR, kill_group, log_tail, spawn, stop_tree

LOG_DIR = STACK_DIR / "test-workers"


class WorkerProcess:
    def __init__(
        self,
        *,
        queues: list[str],
        name: str,
        env: dict[str, str],
        concurrency: int = 2,
        pool: str = "prefork",
        wrapper: list[str] | None = None,
    ) -> None:
        # `wrapper`: a command the worker runs under (it must exec its arguments), such as
        # `unshare` for a worker on a "host" of its own.
        self.wrapper = wrapper or []
        self.queues = queues
        self.name = name
        self.env = env
        self.concurrency = concurrency
        self.pool = pool
        self.process: subprocess.Popen[bytes] | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}-{os.getpid()}-{time.monotonic_ns()}.log"

    def start(self, *, ready_timeout: float = 60.0) -> WorkerProcess:
        return self.launch().wait_ready(ready_timeout)

    def launch(self) -> WorkerProcess:
        """Start the process without waiting for it: launch several, then wait for each."""
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "-Q", ",".join(self.queues),
            "-n", f"{self.name}@%h",
            "-P", self.pool,
            "-c", str(self.concurrency),
            "--without-heartbeat", "--without-mingle", "--without-gossip",
            "-l", "INFO",
        ]  # fmt: skip
        self.process = spawn([*self.wrapper, *command], log_path=self.log_path, env=self.env)
        return self

    def wait_ready(self, ready_timeout: float = 60.0) -> WorkerProcess:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited early:\n{self.log_tail()}")
            if b" ready." in self.log_path.read_bytes():
                return self
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"worker {self.name} not ready in {ready_timeout}s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no cleanup, no acks."""
        if self.process is None:
            return
        kill_group(self.process.pid)
        self.process.wait(timeout=10)

    def stop(self, *, grace: float = 15.0) -> None:
        """SIGTERM (a warm shutdown), SIGKILL to what is left after `grace` seconds."""
        if self.process is None:
            return
        if self.process.poll() is None:
            stop_tree(self.process.pid, grace=grace)
        else:
            kill_group(self.process.pid)  # pool children its death left behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)
