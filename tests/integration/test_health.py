from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_health_is_200_when_every_dependency_answers(aws_resources: Any) -> None:
    response = Client().get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"postgresql", "redis", "sqs", "dynamodb", "s3"}


def test_health_is_503_and_names_the_dependency_that_is_down(aws_resources: Any) -> None:
    broken = {**settings.AWS_ENDPOINTS, "s3": "http://127.0.0.1:9"}
    with override_settings(AWS_ENDPOINTS=broken, AWS_TIMEOUT_SECONDS=1.0):
        response = Client().get("/health/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["s3"]["status"] == "down"
    assert "error" in checks["s3"]
    assert all(
        checks[name]["status"] == "ok" for name in ("postgresql", "redis", "sqs", "dynamodb")
    )


def test_liveness_asks_no_store(aws_resources: Any) -> None:
    down = {name: "http://127.0.0.1:9" for name in settings.AWS_ENDPOINTS}
    with override_settings(AWS_ENDPOINTS=down, REDIS_URL="redis://127.0.0.1:9/0"):
        response = Client().get("/health/live")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readiness_needs_postgresql_and_redis_but_not_the_aws_stores(aws_resources: Any) -> None:
    down = {name: "http://127.0.0.1:9" for name in settings.AWS_ENDPOINTS}
    with override_settings(AWS_ENDPOINTS=down, AWS_TIMEOUT_SECONDS=1.0):
        ready = Client().get("/health/ready")
        everything = Client().get("/health/")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"postgresql": {"status": "ok"}, "redis": {"status": "ok"}},
    }
    assert everything.status_code == 503  # the full report still names what is down


def test_readiness_fails_while_redis_does_not_answer(aws_resources: Any) -> None:
    with override_settings(REDIS_URL="redis://127.0.0.1:9/0"):
        response = Client().get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "down"
