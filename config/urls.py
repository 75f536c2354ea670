from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import bad_request, page_not_found
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from isidorus.core.errors import error_body
from isidorus.core.views import health, health_live, health_ready
from isidorus.scrapings.metrics_api import metrics_view

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard-jobs"), name="home"),
    path("dashboard/", include("isidorus.dashboard.urls")),
    path("health/", health, name="health"),
    path("health/live", health_live, name="health-live"),
    path("health/ready", health_ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include("config.api_urls")),
]


def api_aware_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Unmatched URLs under /api/ answer in the API's JSON error shape, not Django's HTML."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "no such resource"), status=404)
    return page_not_found(request, exception)


def api_aware_bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Requests Django refuses before any view (an empty or invalid Host header, for
    example) answer in the JSON error shape under /api/ too. Never reads the host."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("bad_request", "the request is malformed"), status=400)
    return bad_request(request, exception)


handler400 = api_aware_bad_request
handler404 = api_aware_not_found
