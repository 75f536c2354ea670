"""What-if experiments: candidate pipeline changes, applied at run time in the bench's
workers only (`--whatif NAME,...`), so their gain can be measured without editing the
pipeline. NOT the shipped code: each one is a sketch of a suggested change.

- gzip1: stage batches in S3 with gzip level 1 instead of 5.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)
WHATIFS = ("gzip1",)
ENV = "BENCH_WHATIF"


def selected() -> list[str]:
    names = [n for n in os.environ.get(ENV, "").split(",") if n]
    unknown = set(names) - set(WHATIFS)
    if unknown:
        raise ValueError(f"unknown what-if {sorted(unknown)}; known: {WHATIFS}")
    return names


def apply(names: list[str]) -> None:
    for name in names:
        globals()["_" + name.replace("-", "_")]()
        logger.warning("what-if applied: %s", name)


def _gzip1() -> None:
    from django.conf import settings

    from isidorus.integrations.aws import s3_client
    from isidorus.scrapings import staging
    from isidorus.scrapings.services import scrape

    def stage_put(key: str, payload: dict[str, Any]) -> None:
        body = gzip.compress(json.dumps(payload, separators=(",", ":")).encode("utf-8"), 1)
        s3_client().put_object(
            Bucket=settings.S3_BUCKET, Key=key, Body=body, ContentType="application/json",
            ContentEncoding="gzip",
        )  # fmt: skip

    staging.stage_put = stage_put
    scrape.stage_put = stage_put  # type: ignore[attr-defined]
