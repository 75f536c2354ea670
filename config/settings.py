"""Django settings, read from the environment through strict helpers (config/env.py).

Defaults point at the local stack (scripts/launcher.py). Every variable is listed in the
README's table. ISIDORUS_ENV=production refuses to start without a secret key, with
DEBUG on, or with a test-only switch on.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_optional_str,
    env_str,
)
from isidorus.core.logs import logging_config

# Lets Django's generic classes be subscripted at run time (ModelAdmin[Model]) for typing.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

ISIDORUS_ENV = env_choice("ISIDORUS_ENV", "dev", ("dev", "test", "production"))
PRODUCTION = ISIDORUS_ENV == "production"
DEBUG = env_bool("DJANGO_DEBUG", False)

_secret = env_optional_str("DJANGO_SECRET_KEY")
if PRODUCTION and _secret is None:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when ISIDORUS_ENV=production")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off when ISIDORUS_ENV=production")
SECRET_KEY = _secret or "insecure-dev-only-key-never-used-in-production"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)

INSTALLED_APPS = [
    # Django's admin, with a login limited per client address (isidorus/accounts/admin_site.py).
    "isidorus.accounts.admin_apps.IsidorusAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "isidorus.core",
    "isidorus.accounts",
    "isidorus.scrapings",
    "isidorus.dashboard",
]

# The dashboard's login (isidorus/dashboard/); the admin keeps its own.
LOGIN_URL = "dashboard-login"
LOGIN_REDIRECT_URL = "dashboard-jobs"

MIDDLEWARE = [
    # A view that loses PostgreSQL answers 503 with Retry-After (process_exception).
    "isidorus.core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin CSS, the API docs' Swagger UI and Redoc) in every mode.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database_from_url(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} must be a postgresql:// URL")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "isidorus",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        # Workers hold connections between tasks; a dropped one is re-opened, not reused.
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5},
    }


DATABASES = {
    "default": _database_from_url(
        env_str("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/isidorus")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# `make run` and the Docker image run collectstatic; finders also serve the apps' own
# static files where it has not run (tests, a fresh checkout).
WHITENOISE_USE_FINDERS = True

# Admin sessions: secure cookies whenever the site is served over HTTPS.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("API_MAX_BODY_BYTES", 64 * 1024, minimum=1024)

# LOG_FORMAT=json: one JSON object per line; text: the usual line. Both carry the job,
# task, batch and owner a line belongs to (isidorus/core/logs.py).
LOG_FORMAT = env_choice("LOG_FORMAT", "text", ("text", "json"))
LOGGING = logging_config(log_format=LOG_FORMAT, level=env_str("LOG_LEVEL", "INFO"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["isidorus.core.parsers.SafeJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Isidorus API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (BASE_DIR / "isidorus" / "core" / "api_description.md").read_text(),
    # Served from the app's own static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "isidorus.scrapings.models.JobStatus"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "isidorus.core.schema_hooks.add_common_error_responses",
        "isidorus.core.schema_examples.add_examples",
    ],
}

# --- Redis --------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# --- AWS ----------------------------------------------------------------------------
# Endpoints follow the standard AWS variables, so the same code runs on real AWS (unset)
# and on the local emulators.
AWS_REGION = env_str("AWS_DEFAULT_REGION", "us-east-1")
_aws_default_endpoint = env_optional_str("AWS_ENDPOINT_URL")
AWS_ENDPOINTS: dict[str, str | None] = {
    service: env_optional_str(f"AWS_ENDPOINT_URL_{service.upper()}") or _aws_default_endpoint
    for service in ("sqs", "s3", "dynamodb")
}
AWS_TIMEOUT_SECONDS = env_float("AWS_TIMEOUT_SECONDS", 10.0, minimum=0.1)

ISIDORUS_NAMESPACE = env_str("ISIDORUS_NAMESPACE", "isidorus")
JOBS_TABLE = env_str("ISIDORUS_JOBS_TABLE", f"{ISIDORUS_NAMESPACE}-scraping-jobs")
S3_BUCKET = env_str("ISIDORUS_S3_BUCKET", f"{ISIDORUS_NAMESPACE}-images")
# Staged batches are read within minutes; one nobody will read (its job stopped, its
# message dead-lettered) expires after this many days (an S3 lifecycle rule).
STAGING_EXPIRY_DAYS = env_int("ISIDORUS_STAGING_EXPIRY_DAYS", 7, minimum=1)
# A finished job's results stay in PostgreSQL until it is deleted (its status and counters
# copied there at the end: scrapings/retention.py); its working state expires. Its Redis
# keys expire this long after the terminal status, which must outlast any message still
# on its way (the visibility timeout times the receives, plus retry delays).
JOB_STATE_RETENTION_SECONDS = env_int(
    "ISIDORUS_JOB_STATE_RETENTION_SECONDS", 24 * 3600, minimum=3600
)
# ... and its DynamoDB item and counter shards this many days after it (the table's TTL).
JOB_ITEM_RETENTION_DAYS = env_int("ISIDORUS_JOB_ITEM_RETENTION_DAYS", 30, minimum=1)
# A running job's detail is read from DynamoDB and Redis at most this often per API
# process; polls in between get that read, unless the job's row changed (0: every time).
JOB_DETAIL_CACHE_SECONDS = env_float("ISIDORUS_JOB_DETAIL_CACHE_SECONDS", 1.0, minimum=0)
# Past that, a poll gets the last read at once while the process reads again in the
# background, if that read is younger than this (0: the poll waits for the new read).
JOB_DETAIL_STALE_SECONDS = env_float("ISIDORUS_JOB_DETAIL_STALE_SECONDS", 10.0, minimum=0)

# --- SQS / Celery -------------------------------------------------------------------
# The visibility timeout must exceed the longest task (hard time limit below), or a
# message still being worked on reappears and runs twice at once. A killed worker's
# message reappears after this long, so it is also the crash-recovery delay.
SQS_VISIBILITY_TIMEOUT = env_int("SQS_VISIBILITY_TIMEOUT", 300, minimum=5, maximum=43200)
SQS_MAX_RECEIVES = env_int("SQS_MAX_RECEIVES", 5, minimum=1, maximum=1000)
SQS_WAIT_TIME_SECONDS = env_int("SQS_WAIT_TIME_SECONDS", 1, minimum=0, maximum=20)
SQS_POLLING_INTERVAL = env_float("SQS_POLLING_INTERVAL", 0.01, minimum=0.0)
CELERY_TASK_TIME_LIMIT = env_int(
    "CELERY_TASK_TIME_LIMIT", max(3, SQS_VISIBILITY_TIMEOUT * 2 // 3), minimum=2
)
if CELERY_TASK_TIME_LIMIT >= SQS_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "CELERY_TASK_TIME_LIMIT must be shorter than SQS_VISIBILITY_TIMEOUT "
        f"({CELERY_TASK_TIME_LIMIT} >= {SQS_VISIBILITY_TIMEOUT})"
    )
# The soft limit leaves the task a moment to stop cleanly before the hard limit kills it.
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - max(1, CELERY_TASK_TIME_LIMIT // 5)
CELERY_TASK_MAX_RETRIES = env_int("CELERY_TASK_MAX_RETRIES", 4, minimum=0, maximum=20)
# Test-only: publish every task message twice to prove redelivery safety.
ISIDORUS_DUPLICATE_PUBLISHES = env_bool("ISIDORUS_DUPLICATE_PUBLISHES", False)
TEST_RUNNER = "isidorus.core.test_runner.PytestRunner"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
REST_FRAMEWORK["EXCEPTION_HANDLER"] = "isidorus.core.errors.api_exception_handler"

# --- Per-owner limits (all of an owner's keys together) -------------------------------
ISIDORUS_MAX_ACTIVE_KEYS = env_int("ISIDORUS_MAX_ACTIVE_KEYS", 10, minimum=1)
ISIDORUS_REQUESTS_PER_MINUTE = env_int("ISIDORUS_REQUESTS_PER_MINUTE", 600, minimum=1)
ISIDORUS_CRAWL_STARTS_PER_MINUTE = env_int("ISIDORUS_CRAWL_STARTS_PER_MINUTE", 10, minimum=1)
ISIDORUS_MAX_RUNNING_JOBS = env_int("ISIDORUS_MAX_RUNNING_JOBS", 5, minimum=1)
ISIDORUS_DAILY_PAGE_QUOTA = env_int("ISIDORUS_DAILY_PAGE_QUOTA", 100_000, minimum=1)
# Exports stream for as long as they take, each holding an API thread: at most this many
# at once per owner (isidorus/scrapings/exports/service.py).
ISIDORUS_MAX_CONCURRENT_EXPORTS = env_int("ISIDORUS_MAX_CONCURRENT_EXPORTS", 2, minimum=1)

# --- Webhooks (isidorus/scrapings/webhooks/) -------------------------------------------
# After a rotation the previous secret also signs for this long.
WEBHOOK_SECRET_OVERLAP_HOURS = env_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0)
# Attempts per event before it is given up; the waits double from the base (max 15 min).
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1)
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 5.0, minimum=0.1)
WEBHOOK_CONNECT_TIMEOUT = env_float("WEBHOOK_CONNECT_TIMEOUT", 5.0, minimum=0.1)
WEBHOOK_READ_TIMEOUT = env_float("WEBHOOK_READ_TIMEOUT", 10.0, minimum=0.1)
# The shortest `progress_seconds` a job may ask for.
WEBHOOK_MIN_PROGRESS_SECONDS = env_int("WEBHOOK_MIN_PROGRESS_SECONDS", 5, minimum=1)

# --- Failed authentications per client address (isidorus/accounts/auth_failures.py) -----
# After this many failed authentications (API keys and admin logins together) from one
# address within the window, that address is refused before any key or password is
# checked, until the window ends.
ISIDORUS_AUTH_FAILURE_LIMIT = env_int("ISIDORUS_AUTH_FAILURE_LIMIT", 20, minimum=1)
ISIDORUS_AUTH_FAILURE_WINDOW_SECONDS = env_int(
    "ISIDORUS_AUTH_FAILURE_WINDOW_SECONDS", 300, minimum=1, maximum=86400
)
# Reverse proxies whose X-Forwarded-For is believed (isidorus/core/client_address.py).
# Empty: the peer address is the client, and X-Forwarded-For is ignored.
ISIDORUS_TRUSTED_PROXIES = env_networks("ISIDORUS_TRUSTED_PROXIES", [])
# Who may read /metrics: a client in these networks, or one sending
# `Authorization: Bearer <METRICS_TOKEN>` (when it is set). Anyone else gets a 404.
METRICS_ALLOWED_NETWORKS = env_networks("METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env_optional_str("METRICS_TOKEN")
# A worker's own HTTP port, `host:port` (isidorus/core/worker_port.py): /metrics for the
# processes of its host (workers on other hosts cannot share the API's multiprocess
# directory) and /health/live for its liveness probe. Unset: no port.
WORKER_METRICS_ADDRESS = env_optional_str("WORKER_METRICS_ADDRESS")
# /health/live fails once the worker's event loop has not turned for this long.
WORKER_LIVENESS_STALE_SECONDS = env_int(
    "WORKER_LIVENESS_STALE_SECONDS", 60, minimum=10, maximum=3600
)


def _resolver_overrides(raw: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for entry in raw:
        host, sep, address = entry.partition("=")
        if not sep or not host.strip() or not address.strip():
            raise ImproperlyConfigured(
                f"ISIDORUS_RESOLVER_OVERRIDES entry {entry!r} must look like host=address"
            )
        overrides[host.strip().lower().rstrip(".")] = address.strip()
    return overrides


# --- Crawling -------------------------------------------------------------------------
# Networks the crawler may reach besides public addresses (SSRF guard). Empty in
# production; `make run` and the tests allow loopback only.
ISIDORUS_ALLOWED_NETWORKS = env_list("ISIDORUS_ALLOWED_NETWORKS", [])
ISIDORUS_RESOLVER_OVERRIDES = _resolver_overrides(env_list("ISIDORUS_RESOLVER_OVERRIDES", []))
CRAWL_USER_AGENT = env_str(
    "CRAWL_USER_AGENT", "IsidorusBot/0.1 (+https://github.com/isidorus/isidorus)"
)
CRAWL_MAX_DEPTH = env_int("CRAWL_MAX_DEPTH", 5, minimum=0, maximum=50)
CRAWL_DEFAULT_MAX_PAGES = env_int("CRAWL_DEFAULT_MAX_PAGES", 1000, minimum=1)
CRAWL_MAX_PAGES_LIMIT = env_int("CRAWL_MAX_PAGES_LIMIT", 100_000, minimum=1)
CRAWL_CONNECT_TIMEOUT = env_float("CRAWL_CONNECT_TIMEOUT", 5.0, minimum=0.1)
CRAWL_READ_TIMEOUT = env_float("CRAWL_READ_TIMEOUT", 10.0, minimum=0.1)
CRAWL_TOTAL_TIMEOUT = env_float("CRAWL_TOTAL_TIMEOUT", 30.0, minimum=0.5)
CRAWL_MAX_BODY_BYTES = env_int("CRAWL_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1024)
CRAWL_MAX_TEXT_CHARS = env_int("CRAWL_MAX_TEXT_CHARS", 200_000, minimum=1000)
CRAWL_MAX_URL_LENGTH = env_int("CRAWL_MAX_URL_LENGTH", 2048, minimum=64)
CRAWL_MAX_FETCH_ATTEMPTS = env_int("CRAWL_MAX_FETCH_ATTEMPTS", 3, minimum=1, maximum=10)
CRAWL_RETRY_BASE_SECONDS = env_float("CRAWL_RETRY_BASE_SECONDS", 2.0, minimum=0.0)
# URLs per scrape message: batching is what makes SQS cheap per page.
CRAWL_BATCH_SIZE = env_int("CRAWL_BATCH_SIZE", 64, minimum=1, maximum=1000)
# Children of small pages go in bigger messages, up to CRAWL_BATCH_GROWTH x the size, so that
# a message holds about CRAWL_BATCH_BYTES of HTML (by the mean size of the pages that found
# them): at 64 URLs, a message's fixed cost (SQS, staging, counters, task glue) was about
# 1.5 ms a page of a 2,000-page docs-small crawl. CRAWL_BATCH_GROWTH=1 turns it off.
CRAWL_BATCH_BYTES = env_int("CRAWL_BATCH_BYTES", 2 * 1024 * 1024, minimum=1)
CRAWL_BATCH_GROWTH = env_int("CRAWL_BATCH_GROWTH", 2, minimum=1, maximum=8)
CRAWL_FETCH_THREADS = env_int("CRAWL_FETCH_THREADS", 16, minimum=1, maximum=256)
# Fairness between jobs (isidorus/job_state/pacing.py, docs/fairness.md): on the scrape,
# summary and image queues, a job has at most max(MIN_BATCHES, FACTOR x that stage's recent
# processes / recently paced jobs) batches in the queue; the rest wait in Redis. A slot in
# line expires after SLOT_SECONDS (a lost message cannot narrow the window for good).
# CRAWL_PACING=false publishes every batch at once, as before pacing (for comparison in
# bench/fairness_bench.py).
CRAWL_PACING = env_bool("CRAWL_PACING", True)
CRAWL_PACE_MIN_BATCHES = env_int("CRAWL_PACE_MIN_BATCHES", 2, minimum=1, maximum=10_000)
CRAWL_PACE_FACTOR = env_float("CRAWL_PACE_FACTOR", 2.0, minimum=0.5)
CRAWL_PACE_SLOT_SECONDS = env_int("CRAWL_PACE_SLOT_SECONDS", 600, minimum=10)
# A job with at most this many batches left on a stage (held and in line) has them all
# released at once, and jobs with more keep one batch in line there meanwhile: small jobs
# go first (shortest backlog first); 0 turns that off.
CRAWL_PACE_SMALL_BACKLOG = env_int("CRAWL_PACE_SMALL_BACKLOG", 8, minimum=0, maximum=10_000)
CRAWL_HOST_CONCURRENCY = env_int("CRAWL_HOST_CONCURRENCY", 16, minimum=1)
CRAWL_HOST_DELAY = env_float("CRAWL_HOST_DELAY", 0.0, minimum=0.0)
CRAWL_STOP_WORDS = env_list("CRAWL_STOP_WORDS", [])
# The reaper: a job whose open work has not shrunk for this long is re-published once,
# then failed with the stuck items named.
REAPER_STALL_SECONDS = env_int("REAPER_STALL_SECONDS", 300, minimum=5)
REAPER_INTERVAL_SECONDS = env_int("REAPER_INTERVAL_SECONDS", 30, minimum=1)
# Each reaper pass also reads when the SQS queues and the S3 bucket were created: a store
# recreated (or gone) since a job started has lost that job's messages or staged batches,
# and the job is failed naming it (isidorus/scrapings/services/store_loss.py).
STORE_LOSS_CHECK = env_bool("STORE_LOSS_CHECK", True)
# Clock skew allowed between this host and the store's creation timestamps.
STORE_LOSS_SKEW_SECONDS = env_int("STORE_LOSS_SKEW_SECONDS", 5, minimum=0)
CELERY_BEAT_SCHEDULE_FILE = env_str(
    "CELERY_BEAT_SCHEDULE_FILE", f"/tmp/{ISIDORUS_NAMESPACE}-celerybeat-schedule"
)
# Fault injection for the reliability tests: a scrape batch with a URL matching this regex
# raises, every time, like a poison message. Refused in production (below).
ISIDORUS_FAULT_SCRAPE_URL_REGEX = env_optional_str("ISIDORUS_FAULT_SCRAPE_URL_REGEX")

# Each test-only switch breaks a guarantee on purpose (every message twice, injected
# failures, names resolved to chosen addresses), so production refuses to start with one on.
_TEST_ONLY_SWITCHES: dict[str, object] = {
    "ISIDORUS_DUPLICATE_PUBLISHES": ISIDORUS_DUPLICATE_PUBLISHES,
    "ISIDORUS_FAULT_SCRAPE_URL_REGEX": ISIDORUS_FAULT_SCRAPE_URL_REGEX,
    "ISIDORUS_RESOLVER_OVERRIDES": ISIDORUS_RESOLVER_OVERRIDES,
}
TEST_ONLY_VARIABLES = tuple(_TEST_ONLY_SWITCHES)
_switched_on = [name for name, value in _TEST_ONLY_SWITCHES.items() if value]
if PRODUCTION and _switched_on:
    raise ImproperlyConfigured(
        f"{', '.join(_switched_on)}: test-only, refused when ISIDORUS_ENV=production; unset it"
    )

# Diagnostics: every process appends each AWS call it makes (service, operation, resource)
# to this file as a JSON line (isidorus/integrations/aws_calls.py; the IAM policy's test).
ISIDORUS_RECORD_AWS_CALLS = env_optional_str("ISIDORUS_RECORD_AWS_CALLS")
if ISIDORUS_RECORD_AWS_CALLS:
    from isidorus.integrations.aws_calls import record_aws_calls

    record_aws_calls(ISIDORUS_RECORD_AWS_CALLS)

# Enrichment hand-off from the writer (summaries, images). With it off, jobs complete
# once their pages are written and no enrichment worker is needed.
ISIDORUS_ENRICHMENT_ENABLED = env_bool("ISIDORUS_ENRICHMENT_ENABLED", True)

from config.enrichment_settings import *  # noqa: E402,F403
