"""The API's docs (Swagger UI, Redoc) and the admin's static files, served by the app
itself from its own files: no CDN, DEBUG off. Through the real server: e2e/test_api_server."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


@pytest.mark.parametrize(
    ("path", "needle"), [("/api/docs/", "swagger-ui"), ("/api/redoc/", "redoc")]
)
def test_the_docs_pages_and_every_file_they_load_are_served_locally(
    client: Client, path: str, needle: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert needle in html
    assert "cdn." not in html
    assert "unpkg" not in html
    assets = _assets(html)
    assert assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, asset


def test_the_schema_explains_statuses_pagination_and_takes_an_api_key(client: Client) -> None:
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    description = schema["info"]["description"]
    for status in ("QUEUED", "RUNNING", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"):
        assert f"`{status}`" in description
    assert "cursor" in description
    scheme = schema["components"]["securitySchemes"]["ApiKeyAuth"]
    assert scheme == {"type": "apiKey", "in": "header", "name": "X-API-Key"}


def test_the_admin_css_is_served(client: Client) -> None:
    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"body" in b"".join(response.streaming_content)
