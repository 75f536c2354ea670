"""A LocalStack (SQS and S3) of the test's own, so a test can restart it under a running
crawl without touching the shared one (other test runs use it at the same time).

It is started exactly as scripts/launcher.py starts the shared one, from LocalStack's own
virtualenv (.venvs/localstack). The community edition keeps nothing across a restart:
queues, messages, buckets and objects are gone. Its first SQS call loads the SQS provider
(8-18 s here), so `start` makes one before returning.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

from tests.support.processes import free_port, terminate
from tests.support.workers import REPO_ROOT

LOCALSTACK_PYTHON = REPO_ROOT / ".venvs" / "localstack" / "bin" / "python"
SITECUSTOMIZE = REPO_ROOT / "scripts" / "localstack_sitecustomize"


class OwnLocalStack:
    def __init__(self, log_path: Path) -> None:
        if not LOCALSTACK_PYTHON.exists():
            raise RuntimeError(
                f"{LOCALSTACK_PYTHON} is missing: `python3 -m scripts.launcher stack up` creates it"
            )
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self.port = free_port()
        self.filesystem_root = Path(tempfile.mkdtemp(prefix="isidorus-localstack-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 90.0) -> OwnLocalStack:
        environment = {
            **os.environ,
            "SERVICES": "sqs,s3",
            "GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
            "GATEWAY_SERVER": "hypercorn",
            "DNS_ADDRESS": "0",
            "DISABLE_EVENTS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(self.filesystem_root),
            "SQS_ENDPOINT_STRATEGY": "path",
            "LOCALSTACK_HOST": f"localhost:{self.port}",
            "PYTHONPATH": str(SITECUSTOMIZE),
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(LOCALSTACK_PYTHON), "-m", "localstack.runtime.main"],
                cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"own LocalStack exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/_localstack/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"own LocalStack not healthy in {timeout}s") from None
                time.sleep(0.2)
        # The first SQS call loads the provider; make it here, not inside a timed test step.
        sqs = boto3.client(
            "sqs", endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
            config=Config(read_timeout=timeout, retries={"max_attempts": 1}),
        )  # fmt: skip
        sqs.list_queues()

    def kill(self) -> None:
        """SIGKILL the server, the way a crashed container dies: nothing is kept."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()
        terminate(self.process)

    def remove_files(self) -> None:
        shutil.rmtree(self.filesystem_root, ignore_errors=True)
