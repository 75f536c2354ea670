"""Tells drf-spectacular how API-key authentication appears in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "isidorus.accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


class DashboardSessionScheme(SessionScheme):
    """The dashboard's session cookie, documented as drf-spectacular documents Django's."""

    target_class = "isidorus.accounts.api_views.DashboardSessionAuthentication"
