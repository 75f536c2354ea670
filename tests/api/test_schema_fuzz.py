"""Property-based fuzzing of every endpoint against the OpenAPI schema (schemathesis).

Bounded examples per operation so it fits in CI; it fails on any 500 or any response that
does not match the documented schema.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.fixture
def fuzz_key(owner: Any, redis_clean: Any, aws_resources: Any) -> Iterator[str]:
    from isidorus.accounts.services import api_key_create

    _, raw = api_key_create(owner=owner, name="fuzz")
    # In-process WSGI calls fire request_finished, which would close the test's database
    # connection (inside its transaction); Django's own test client disconnects it too.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield raw
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
# Derandomized, so CI sees the same examples every run; FUZZ_RANDOM=1 explores new ones
# (a random run found the empty Host header case, now a regression test of its own).
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)
def test_no_endpoint_answers_500_or_breaks_its_schema(case: Any, fuzz_key: str) -> None:
    # Excluded: "a schema-valid request must be accepted". The schema cannot express every
    # rule (for example, a start URL must resolve to a public address), and those 400s are
    # deliberate. Also excluded: "a schema-violating request must be rejected" (unknown
    # query parameters are ignored, as most APIs do). Server errors, undocumented statuses
    # and content types, and responses that break the schema are still failures.
    case.call_and_validate(
        headers={"X-API-Key": fuzz_key},
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )
