from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from isidorus.core.health import health_report


def health(request: HttpRequest) -> JsonResponse:
    checks = health_report()
    healthy = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )
