"""gunicorn's settings for the API: `make run` (scripts/launcher.py), the Docker image and
the tests that run the real server all read this file (`gunicorn -c config/gunicorn.conf.py`).

Threaded workers (gthread): a worker's main loop keeps answering gunicorn's liveness
check while its threads serve requests, so a long streamed response (an export) is never
killed as a hung worker by `timeout`, and one such response holds one thread, not a
whole worker. `timeout` still restarts a worker whose main loop is stuck.
"""

from __future__ import annotations

import os

bind = os.environ.get("ISIDORUS_API_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
accesslog = "-"


def post_worker_init(worker: object) -> None:
    """Load the URLconf, and with it every view module, before the first request: otherwise
    the first requests a new worker takes wait for those imports (about 75 ms alone, several
    times that beside a busy crawl)."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - evaluated for its imports
