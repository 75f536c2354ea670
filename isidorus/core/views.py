"""Health endpoints: /health/ checks every store (for people and monitors), /health/live
says the process serves requests (a liveness probe: no store is asked, so an outage never
restarts pods), /health/ready checks what every request needs (a readiness probe: see
READINESS_CHECKS for which stores, and why only those)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from isidorus.core.health import READINESS_CHECKS, health_report


def health(request: HttpRequest) -> JsonResponse:
    checks = health_report()
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )


def health_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def health_ready(request: HttpRequest) -> JsonResponse:
    checks = health_report(READINESS_CHECKS)
    ready = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unready", "checks": checks},
        status=200 if ready else 503,
    )
