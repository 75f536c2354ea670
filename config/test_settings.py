"""Settings for the test suite: the local stack, with names apart from `make run`'s.

Values are put in the environment (not only in this module) so that the worker processes
the tests start inherit exactly the same configuration.
"""

from __future__ import annotations

import os

from isidorus.core.local_aws import local_aws_environment

TEST_ENVIRONMENT = {
    "ISIDORUS_ENV": "test",
    "ISIDORUS_NAMESPACE": "isidorus-test",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/isidorus_test",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    **local_aws_environment(),
    # Short timeouts so crash recovery and dead-lettering happen within a test's patience.
    "SQS_VISIBILITY_TIMEOUT": "12",
    "CELERY_TASK_TIME_LIMIT": "9",
    "SQS_MAX_RECEIVES": "3",
    "ISIDORUS_ALLOWED_NETWORKS": "127.0.0.0/8",
    # Names the tests use resolve to loopback here, so no test ever asks real DNS.
    "ISIDORUS_RESOLVER_OVERRIDES": "example.com=127.0.0.1,other.org=127.0.0.1",
    "REAPER_STALL_SECONDS": "30",
    "REAPER_INTERVAL_SECONDS": "5",
    "CRAWL_RETRY_BASE_SECONDS": "0.5",
    # The webhook test watches progress events a second apart.
    "WEBHOOK_MIN_PROGRESS_SECONDS": "1",
    # Most tests start scraper and writer workers only; enrichment tests turn this on.
    "ISIDORUS_ENRICHMENT_ENABLED": "false",
}
for _name, _value in TEST_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)

# Under pytest-xdist (`make test` runs two test processes), each process gets its own
# queues, table, bucket and Redis database (pytest-django adds the worker's suffix to the
# test database's name itself), so the two never share state. The worker processes a test
# starts inherit the result (and the marker, so they do not apply it again).
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER.startswith("gw") and os.environ.get("ISIDORUS_TEST_WORKER") != _XDIST_WORKER:
    os.environ["ISIDORUS_TEST_WORKER"] = _XDIST_WORKER
    os.environ["ISIDORUS_NAMESPACE"] += f"-{_XDIST_WORKER}"
    _redis_base, _, _redis_db = os.environ["REDIS_URL"].rpartition("/")
    # Past the databases of `make run` (0), a lone test run (1) and the bench (2).
    _redis_db_index = int(_redis_db) + 3 + int(_XDIST_WORKER.removeprefix("gw"))
    os.environ["REDIS_URL"] = f"{_redis_base}/{_redis_db_index}"

from config.settings import *  # noqa: E402,F403
