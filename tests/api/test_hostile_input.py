from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
SCRAPINGS_URL = "/api/v1/scrapings/"


def _post_raw(api: APIClient, body: bytes) -> tuple[int, dict[str, object]]:
    response = api.generic("POST", SCRAPINGS_URL, body, content_type="application/json")
    return response.status_code, response.json()


def test_deeply_nested_json_is_400(api: APIClient) -> None:
    status, body = _post_raw(api, b"[" * 20_000 + b"]" * 20_000)
    assert status == 400
    assert body["error"]["code"] == "malformed_request"  # type: ignore[index]


def test_invalid_utf8_is_400(api: APIClient) -> None:
    status, body = _post_raw(api, b'{"url": "http://example.com/\xff\xfe"}')
    assert status == 400
    assert "Traceback" not in str(body)


def test_an_oversized_body_is_413(api: APIClient) -> None:
    padding = "x" * (70 * 1024)
    status, body = _post_raw(api, f'{{"url": "http://example.com/", "pad": "{padding}"}}'.encode())
    assert status == 413
    assert body["error"]["code"] == "request_too_large"  # type: ignore[index]


def test_a_body_that_is_not_an_object_is_400(api: APIClient) -> None:
    status, body = _post_raw(api, b'["http://example.com/"]')
    assert status == 400
    assert body["error"]["code"] == "invalid"  # type: ignore[index]


@pytest.mark.parametrize("host", ["", "bad host!", "a" * 300])
def test_an_invalid_host_header_is_a_json_400(api: APIClient, host: str) -> None:
    # Found by the schema fuzzing: Django refuses these before any view, and its default
    # answer was an HTML page.
    response = api.get(SCRAPINGS_URL, HTTP_HOST=host)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "bad_request"
