"""A worker's own HTTP port (WORKER_METRICS_ADDRESS): `/metrics` and `/health/live`.

Workers on other hosts cannot share the API's multiprocess directory, so each worker
serves the metrics of its own host: the files of its main process and pool children in
PROMETHEUS_MULTIPROC_DIR. Prometheus scrapes every worker pod (deploy/k8s/workers.yaml).
The access rule is the API's (isidorus/core/metrics_access.py).

Liveness: the worker's event loop stamps a heartbeat every few seconds. `/health/live`
fails when the last stamp is older than WORKER_LIVENESS_STALE_SECONDS: the main process no
longer turns (stuck in a blocking call, deadlocked), which a restart cures. It does not
look at the stores: a worker waits out a Redis, SQS or PostgreSQL outage and resumes by
itself, so restarting it then would only lose its work in hand.
"""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from celery import bootsteps
from django.conf import settings

from isidorus.core.client_address import parse_address
from isidorus.core.metrics_access import scrape_allowed
from isidorus.integrations.metrics import exposition

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0


class Heartbeat:
    def __init__(self) -> None:
        self._last = time.monotonic()

    def beat(self) -> None:
        self._last = time.monotonic()

    def age(self) -> float:
        return time.monotonic() - self._last


class _Handler(BaseHTTPRequestHandler):
    heartbeat: Heartbeat

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        if path == "/health/live":
            age = self.heartbeat.age()
            live = age <= settings.WORKER_LIVENESS_STALE_SECONDS
            text = f"{'live' if live else 'stale'}: event loop turned {age:.1f} s ago\n"
            self._answer(200 if live else 503, text.encode(), "text/plain; charset=utf-8")
        elif path == "/metrics" and scrape_allowed(
            parse_address(self.client_address[0]), self.headers.get("Authorization", "")
        ):
            self._answer(200, *exposition())
        else:
            self._answer(404, b"not found\n", "text/plain; charset=utf-8")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("worker port: " + format, *args)


def serve(address: str, heartbeat: Heartbeat) -> ThreadingHTTPServer:
    """Serve the port from a daemon thread; `.shutdown()` stops it."""
    host, _, port = address.rpartition(":")
    handler = type("WorkerPortHandler", (_Handler,), {"heartbeat": heartbeat})
    server = ThreadingHTTPServer((host.strip("[]") or "0.0.0.0", int(port)), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-port", daemon=True).start()
    logger.info("worker port: /metrics and /health/live on %s", address)
    return server


class WorkerPortStep(bootsteps.StartStopStep):  # type: ignore[misc]  # celery is untyped: the base is Any
    """The worker's port, started with the worker when WORKER_METRICS_ADDRESS is set; its
    heartbeat is a timer on the worker's event loop (the hub)."""

    requires = ("celery.worker.components:Hub",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.server: ThreadingHTTPServer | None = None

    def include_if(self, worker: Any) -> bool:
        return bool(settings.WORKER_METRICS_ADDRESS)

    def start(self, worker: Any) -> None:
        heartbeat = Heartbeat()
        if worker.hub is not None:
            worker.hub.call_repeatedly(HEARTBEAT_SECONDS, heartbeat.beat)
        self.server = serve(str(settings.WORKER_METRICS_ADDRESS), heartbeat)

    def stop(self, worker: Any) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
