"""The dashboard's pages. Each is a shell: its script (static/dashboard/) reads the API.

Pages from crawled sites are hostile input, so every page is served with a Content
Security Policy that allows only this site's own scripts, styles and images (no inline
script can run), and the scripts only ever write text (textContent), never HTML.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from isidorus.accounts.admin_site import LimitedAuthenticationForm, with_refusal_status
from isidorus.scrapings.models import Scope, Scraping, SitemapMode
from isidorus.scrapings.readers import owner_reads, readable

EXPORT_FORMATS = ("jsonl", "csv", "markdown")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    response = render(request, template, context)
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "same-origin"
    return response


@login_required
@ensure_csrf_cookie
def jobs_page(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        "dashboard/jobs.html",
        {
            "staff_view": request.user.is_staff,
            "scopes": Scope.choices,
            "sitemap_modes": SitemapMode.choices,
            "max_pages": settings.CRAWL_DEFAULT_MAX_PAGES,
        },
    )


@login_required
@ensure_csrf_cookie
def job_page(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    reader = owner_reads(request.user, signed_in_by_session=True)
    job = readable(Scraping.objects.filter(pk=job_id), reader).only("id", "url").first()
    if job is None:
        raise Http404
    return _page(
        request,
        "dashboard/job.html",
        {
            "job": job,
            "staff_view": request.user.is_staff,
            "export_formats": ["jsonl", "csv", "markdown"],
        },
    )


class DashboardAuthenticationForm(LimitedAuthenticationForm):
    failure_kind = "dashboard_login"


class DashboardLoginView(LoginView):
    template_name = "dashboard/login.html"
    authentication_form = DashboardAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return with_refusal_status(super().post(request, *args, **kwargs))

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response


class DashboardLogoutView(LogoutView):
    next_page = "dashboard-login"
