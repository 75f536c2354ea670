"""A worker's own port (isidorus/core/worker_port.py), served in-process: liveness follows
the event loop's heartbeat, and /metrics keeps the API's access rule."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from isidorus.core.worker_port import Heartbeat, serve


@pytest.fixture
def port_and_heartbeat() -> Iterator[tuple[int, Heartbeat]]:
    heartbeat = Heartbeat()
    server = serve("127.0.0.1:0", heartbeat)
    try:
        yield int(server.server_address[1]), heartbeat
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str, **headers: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=5)


def test_liveness_fails_once_the_event_loop_stops_turning(
    port_and_heartbeat: tuple[int, Heartbeat], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, heartbeat = port_and_heartbeat
    settings.WORKER_LIVENESS_STALE_SECONDS = 60
    assert _get(port, "/health/live").status_code == 200
    stuck_since = time.monotonic() - 61
    monkeypatch.setattr(heartbeat, "_last", stuck_since)
    answer = _get(port, "/health/live")
    assert answer.status_code == 503
    assert answer.text.startswith("stale: event loop turned 61")
    heartbeat.beat()
    assert _get(port, "/health/live").status_code == 200


def test_metrics_follow_the_apis_access_rule(
    port_and_heartbeat: tuple[int, Heartbeat], settings: Any
) -> None:
    port, _ = port_and_heartbeat
    settings.METRICS_TOKEN = "scrape-secret"
    assert _get(port, "/metrics").status_code == 200  # loopback is allowed by default
    settings.METRICS_ALLOWED_NETWORKS = []
    assert _get(port, "/metrics").status_code == 404
    assert _get(port, "/metrics", Authorization="Bearer wrong").status_code == 404
    allowed = _get(port, "/metrics", Authorization="Bearer scrape-secret")
    assert allowed.status_code == 200
    assert "isidorus_pages_total" in allowed.text or "# HELP isidorus_pages" in allowed.text
    assert _get(port, "/anything-else").status_code == 404
