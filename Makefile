# The two commands a new user needs: `make run` (the main job) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

# The local stack's endpoints and fixed local credentials: nothing reaches real AWS (the
# Python side reads the same values from isidorus/core/local_aws.py).
LOCALSTACK_PORT ?= 4566
MOTO_PORT ?= 4569
export LOCALSTACK_PORT MOTO_PORT
LOCAL_AWS := AWS_ENDPOINT_URL=http://127.0.0.1:$(LOCALSTACK_PORT) AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$(MOTO_PORT) \
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 \
	AWS_EC2_METADATA_DISABLED=true
# `make run` and `make test` use different queues, tables, databases and Redis databases.
RUN_ENV := $(LOCAL_AWS) ISIDORUS_NAMESPACE=isidorus DATABASE_URL=postgresql://postgres@127.0.0.1:5432/isidorus \
	REDIS_URL=redis://127.0.0.1:6379/0 DJANGO_SETTINGS_MODULE=config.settings ISIDORUS_ALLOWED_NETWORKS=127.0.0.0/8

.PHONY: run test install stack-up stack-down browser services-up lint format bench bench-scale bench-fairness bench-api bench-audit bench-extract bench-content bench-export migrate

# Built with uv (pip when uv cannot be installed): scripts/venvs.py.
$(INSTALLED): requirements.txt requirements-dev.txt
	$(PYTHON) -m scripts.venvs $(VENV) requirements-dev.txt --log $(VENV)/install.log
	touch $@

install: $(INSTALLED)

# The one launcher of the stack and the services (scripts/launcher.py), on the system
# Python: it runs while the project's virtualenv is being built.
LAUNCHER := $(PYTHON) -m scripts.launcher

stack-up:
	$(LAUNCHER) stack up

## Debian's chromium and chromium-driver, for the dashboard's browser test (apt when missing).
browser:
	$(LAUNCHER) browser

stack-down:
	$(LAUNCHER) services down
	$(LAUNCHER) stack down

migrate: install stack-up
	$(RUN_ENV) $(VENV_PY) scripts/ensure_database.py
	$(RUN_ENV) $(VENV_PY) manage.py migrate --no-input
	$(RUN_ENV) $(VENV_PY) manage.py bootstrap_aws
	$(RUN_ENV) $(VENV_PY) manage.py collectstatic --no-input -v 0

services-up: migrate
	$(RUN_ENV) $(LAUNCHER) services restart

URL ?= http://127.0.0.1:8765/
DEPTH ?= 2
MAX_PAGES ?= 1000
FORMAT ?= text

## The main job: start everything, check every queue answers, crawl URL (default: the demo site).
run: services-up
	@$(RUN_ENV) $(VENV_PY) manage.py smoke
	@$(RUN_ENV) $(VENV_PY) manage.py demo_account --url http://127.0.0.1:8000/dashboard/ > .stack/demo-login.txt
	@$(RUN_ENV) $(VENV_PY) manage.py crawl "$(URL)" --depth $(DEPTH) --max-pages $(MAX_PAGES) --wait \
		--user demo $(if $(filter json,$(FORMAT)),--json,)
	@cat .stack/demo-login.txt

## The whole test suite against the local stack (installs and starts what it needs).
# The project's virtualenv and the stack's (LocalStack, moto) are built side by side.
# Two test processes (pytest-xdist), each on its own queues, table, bucket and databases
# (config/test_settings.py); PYTEST_WORKERS=0 runs one.
PYTEST_WORKERS ?= 2
test:
	@$(MAKE) --no-print-directory -j3 install stack-up browser
	$(LOCAL_AWS) $(VENV_PY) -m pytest $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist worksteal,) $(PYTEST_ARGS)

## Issue 4's benchmark: the full pipeline against Scrapy on a synthetic site (BENCH_ARGS="--pages 500 ...").
bench: install stack-up
	$(VENV_PY) bench/crawl_bench.py $(BENCH_ARGS)

## Issue 14's scale-out benchmark: 1, 2 and 4 scraper processes, cost per page (BENCH_ARGS="--pages 500").
bench-scale: install stack-up
	$(VENV_PY) bench/scale_bench.py $(BENCH_ARGS)

## Issue 14's fairness benchmark: a 50-page job alone, then beside a 20,000-page job (BENCH_ARGS="--compare").
bench-fairness: install stack-up
	$(VENV_PY) bench/fairness_bench.py $(BENCH_ARGS)

## Issue 5's benchmark: the read API at 10,000 pages; then issue 15's load test during a crawl (LOAD_ARGS).
bench-api: install stack-up
	$(VENV_PY) bench/api_bench.py $(BENCH_ARGS)
	$(VENV_PY) bench/api_load.py $(LOAD_ARGS)

## Issue 19's audit cost: the end-of-job audit at 20,000 pages against the finish's old queries.
bench-audit: install stack-up
	$(VENV_PY) bench/audit_bench.py $(BENCH_ARGS)

## Issue 12's extractor choice: main-content extractors scored on tests/fixtures/extraction
## (docs/extraction.md). Its own venv outside the tree, so the candidates never reach .venv.
EXTRACT_VENV ?= /tmp/isidorus-bench-extract
$(EXTRACT_VENV)/.installed: bench/requirements-extract.txt
	test -x $(EXTRACT_VENV)/bin/python || $(PYTHON) -m venv $(EXTRACT_VENV)
	$(EXTRACT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(EXTRACT_VENV)/bin/python -m pip install --quiet -r bench/requirements-extract.txt
	touch $@

bench-extract: $(EXTRACT_VENV)/.installed
	$(EXTRACT_VENV)/bin/python bench/extract_bench.py $(BENCH_ARGS)

## Issue 12's export: a 100,000-page job through gunicorn; pages/s and the API's RSS growth.
bench-export: install stack-up
	$(VENV_PY) bench/export_bench.py $(BENCH_ARGS)

## What the main content and its Markdown add to parsing a page (CPU ms per page).
bench-content: install
	$(VENV_PY) bench/content_cost.py $(BENCH_ARGS)

## ruff, then mypy strict over the files listed in pyproject.toml ([tool.mypy] files).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
