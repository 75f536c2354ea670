"""The Celery app of the bench's workers when what-ifs are on: `celery -A bench.whatif_app`.

It is config's app, plus the patches named in BENCH_WHATIF (bench/whatif.py), applied in
each pool child once Django is set up. Without BENCH_WHATIF it changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from celery import signals

# Imported as `whatif` from bench/, the name crawl_bench.py uses, so the file has one
# module name (mypy refuses a file found under two).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import whatif

from config.celery import app

__all__ = ["app"]


def _apply_whatifs(**_: Any) -> None:
    import django
    from django.apps import apps

    if not apps.ready:  # setup() again would reconfigure logging and drop Celery's
        django.setup()
    whatif.apply(whatif.selected())


# A plain call, not `@...connect`: Celery is untyped and the decorator would untype it.
signals.worker_process_init.connect(_apply_whatifs)
