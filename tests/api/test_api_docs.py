"""The API's docs (Swagger UI, Redoc) and the admin's static files, served by the app
itself from its own files: no CDN, DEBUG off. Through the real server: e2e/test_api_server."""

from __future__ import annotations

import re
from typing import Any

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


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "allOf" in node:
        merged: dict[str, Any] = {"properties": {}}
        for part in node["allOf"]:
            merged["properties"].update(_resolve(schema, part).get("properties", {}))
        return merged
    return node


def _fields_match(schema: dict[str, Any], node: dict[str, Any], value: Any, where: str) -> None:
    """The example has exactly the properties its schema declares, all the way down."""
    node = _resolve(schema, node)
    if isinstance(value, dict) and "properties" in node:
        assert set(value) == set(node["properties"]), where
        for name, item in value.items():
            _fields_match(schema, node["properties"][name], item, f"{where}.{name}")
    elif isinstance(value, list) and "items" in node:
        for item in value:
            _fields_match(schema, node["items"], item, f"{where}[]")


def test_every_operation_has_examples_with_exactly_its_fields(client: Client) -> None:
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    checked = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path == "/api/v1/schema/":
                continue
            name = f"{method.upper()} {path}"
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                example = body["examples"]["example"]["value"]
                _fields_match_request(schema, body["schema"], example, name)
            for status, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if not status.startswith("2") or content is None:
                    continue
                assert "examples" in content, f"{name} {status} has no example"
                example = content["examples"]["example"]["value"]
                _fields_match(schema, content["schema"], example, f"{name} {status}")
                checked += 1
    assert checked >= 12


def _fields_match_request(
    schema: dict[str, Any], node: dict[str, Any], value: dict[str, Any], where: str
) -> None:
    """A request example may leave out optional fields, but names no unknown one."""
    properties = _resolve(schema, node)["properties"]
    assert set(value) <= set(properties), where
