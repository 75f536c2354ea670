"""A worker (and every manage.py command) starts without importing the LLM SDKs: they
cost about 1.8 s per process start, and are only needed when a provider is configured."""

from __future__ import annotations

import os
import subprocess
import sys

from scripts.processes import REPO_ROOT

PROBE = (
    "import sys\n"
    "import config.celery\n"
    "config.celery.app.loader.import_default_modules()\n"
    "print(sorted(name for name in ('openai', 'anthropic') if name in sys.modules))\n"
)


def test_loading_every_task_imports_no_llm_sdk() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr[-2000:]
