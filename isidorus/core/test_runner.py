"""`python manage.py test` runs the pytest suite, so a Django user's habit works.

pytest runs in a child process with the test settings: this process has already set
Django up with the settings `manage.py` chose.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any


class PytestRunner:
    def __init__(self, verbosity: int = 1, failfast: bool = False, **kwargs: Any) -> None:
        self.verbosity = verbosity
        self.failfast = failfast

    def run_tests(self, test_labels: list[str], **kwargs: Any) -> int:
        args = [sys.executable, "-m", "pytest", *test_labels]
        if self.failfast:
            args.append("--exitfirst")
        if self.verbosity > 1:
            args.append("-v")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
        return subprocess.call(args, env=env)
