"""A request and response example for every API operation, by operation id, added to the
OpenAPI schema by `add_examples` (a drf-spectacular postprocessing hook). A test checks
that each example has exactly the fields its schema declares, so they cannot drift."""

from __future__ import annotations

from typing import Any

JOB = "0e3ed829-379d-4e12-921b-2a8ce2c48d13"
ORIGIN = "https://docs.example.com"
WHEN = "2030-01-01T12:00:00Z"
LATER = "2030-01-01T12:01:40Z"

_KEY = {
    "id": 7, "name": "laptop", "prefix": "3f9c2a7be01d", "created_at": WHEN,
    "expires_at": None, "revoked_at": None, "last_used_at": LATER, "is_active": True,
}  # fmt: skip
_JOB = {
    "id": JOB, "status": "RUNNING", "status_reason": "",
    "status_url": f"https://isidorus.example/api/v1/scrapings/{JOB}/",
    "pages_url": f"https://isidorus.example/api/v1/scrapings/{JOB}/pages/",
    "url": f"{ORIGIN}/", "depth": 2, "max_pages": 200, "scope": "host", "include": [],
    "exclude": ["\\.pdf$"], "respect_robots": True, "follow_nofollow": False,
    "sitemap": "include", "summarize": True, "describe_images": True, "token_budget": None,
    "webhook": {
        "url": "https://hooks.example.com/isidorus",
        "events": ["job.started", "job.completed", "job.failed", "job.cancelled"],
        "progress_seconds": None,
    },
    "created_at": WHEN, "started_at": WHEN, "finished_at": None,
}  # fmt: skip
_COUNTERS = {
    "fetched": 180, "failed": 2, "skipped": 11,
    "skipped_by_reason": {"duplicate": 2204, "out_of_scope": 9, "robots_disallowed": 2},
    "failed_by_reason": {"http_4xx": 2}, "links": 17620, "images": 64,
    "enrichment": {
        "summaries": 176, "summaries_failed": 0, "images_stored": 60, "images_failed": 1,
        "images_skipped": 0, "image_descriptions_failed": 0, "summary_tokens_in": 0,
        "summary_tokens_out": 0, "image_tokens_in": 0, "image_tokens_out": 0,
        "enrichment_token_budget_exhausted": 0,
    },
}  # fmt: skip
_PROGRESS = {
    "pages": {"done": 193, "open": 41, "admitted": 234},
    "enrichment": {"done": 237, "open": 12, "admitted": 249},
}
_JOB_DETAIL = {
    **_JOB, "duration_seconds": 100.0, "pages_per_second": 1.8, "counters": _COUNTERS,
    "progress": _PROGRESS,
}  # fmt: skip
_PAGE = {
    "id": 4711, "url": f"{ORIGIN}/guide/install.html", "final_url": f"{ORIGIN}/guide/install.html",
    "status_code": 200, "title": "Installing Larkspur", "depth": 1, "parent_url": f"{ORIGIN}/",
    "outcome": "fetched", "reason": "", "content_source": "main",
    "summary": "Larkspur runs on any system with Python 3.10 or newer.",
    "summary_model": "offline/extractive", "summary_prompt_version": "extractive-2",
    "summary_error": "", "noindex": False, "nofollow": False, "canonical_url": "",
    "is_canonical": True,
}  # fmt: skip
_IMAGE = {
    "url": f"{ORIGIN}/img/queue.png", "alt": "The queue file", "title": "", "caption": "",
    "outcome": "stored", "reason": "", "s3_key": "images/5d41402abc4b2a76b9719d911017c592.png",
    "format": "PNG", "width": 640, "height": 360, "bytes": 48213,
    "description": "A diagram of the queue file. 640x360 pixels.", "described_by_llm": False,
}  # fmt: skip
_PAGE_DETAIL = {
    **_PAGE, "content_type": "text/html", "bytes": 23456, "fetched_at": WHEN,
    "content_markdown": "# Installing Larkspur\n\nLarkspur runs on any system with Python 3.10 "
    "or newer.\n\n```\n$ pip install larkspur\n```",
    "text": "Installing Larkspur\nLarkspur runs on any system with Python 3.10 or newer.\n"
    "$ pip install larkspur",
    "full_text": "Larkspur docs » Installing Larkspur Larkspur runs on any system with Python "
    "3.10 or newer. $ pip install larkspur Previous topic Quick start",
    "terms": [{"term": "larkspur", "count": 4}, {"term": "python", "count": 2}],
    "links": [
        {"target_url": f"{ORIGIN}/guide/quickstart.html", "internal": True, "nofollow": False}
    ],
    "images": [{"id": 90, **_IMAGE}],
}  # fmt: skip
_NEXT = f"https://isidorus.example/api/v1/scrapings/{JOB}/pages/?cursor=cD00NzEx"


def _listed(*results: dict[str, Any]) -> dict[str, Any]:
    return {"next": _NEXT, "previous": None, "results": list(results)}


EXAMPLES: dict[str, dict[str, Any]] = {
    "v1_keys_retrieve": {"response": {"200": {"results": [_KEY]}}},
    "v1_keys_create": {
        "request": {"name": "laptop", "expires_at": None},
        "response": {
            "201": {**_KEY, "last_used_at": None, "key": "3f9c2a7be01d.q3VfJ0u1...(43 characters)"}
        },
    },
    "scrapings_list": {"response": {"200": _listed(_JOB)}},
    "scrapings_create": {
        "request": {
            "url": f"{ORIGIN}/",
            "depth": 2,
            "max_pages": 200,
            "exclude": ["\\.pdf$"],
            "sitemap": "include",
        },
        "response": {
            "202": {**_JOB, "status": "QUEUED", "started_at": None},
            "200": {**_JOB, "status": "QUEUED", "started_at": None},
        },
    },
    "scrapings_retrieve": {"response": {"200": _JOB_DETAIL}},
    "scrapings_cancel": {
        "response": {
            "200": {
                **_JOB_DETAIL,
                "status": "CANCELLED",
                "status_reason": "cancelled by its owner",
                "finished_at": LATER,
            }
        }
    },
    "scrapings_pages_list": {"response": {"200": _listed(_PAGE)}},
    "scrapings_pages_retrieve": {"response": {"200": _PAGE_DETAIL}},
    "scrapings_terms_list": {
        "response": {"200": {"results": [{"term": "larkspur", "count": 812, "pages": 174}]}}
    },
    "scrapings_links_list": {
        "response": {
            "200": _listed(
                {
                    "id": 4711 * 2**20 + 3,
                    "page_id": 4711,
                    "source_url": f"{ORIGIN}/guide/install.html",
                    "target_url": f"{ORIGIN}/guide/quickstart.html",
                    "internal": True,
                    "nofollow": False,
                }
            )
        }
    },
    "scrapings_images_list": {
        "response": {
            "200": _listed(
                {
                    "id": 90,
                    "page_id": 4711,
                    **_IMAGE,
                    "sha256": "9f86d0...a08",
                    "content_url": f"https://isidorus.example/api/v1/scrapings/{JOB}/images/90/content/",
                }
            )
        }
    },
    "v1_webhook_secret_retrieve": {
        "response": {"200": {"exists": True, "created_at": WHEN, "previous_valid_until": None}}
    },
    "v1_webhook_secret_create": {
        "response": {
            "201": {
                "secret": "9b1f0c2e...(64 hex characters)",
                "created_at": LATER,
                "previous_valid_until": "2030-01-02T12:01:40Z",
            }
        }
    },
    "scrapings_webhook_deliveries_list": {
        "response": {
            "200": _listed(
                {
                    "event_id": "5f0c6d1e-2b43-4c4f-9a53-1a8c3f2b7e10",
                    "event": "job.completed",
                    "status": "delivered",
                    "attempts": 2,
                    "last_status_code": 200,
                    "last_error": "",
                    "created_at": LATER,
                    "delivered_at": LATER,
                    "next_attempt_at": LATER,
                }
            )
        }
    },
    "search": {
        "response": {
            "200": {
                "next": "https://isidorus.example/api/v1/search/?q=install&page=2",
                "previous": None,
                "results": [
                    {
                        "page": {"id": 4711, "url": _PAGE["url"], "title": _PAGE["title"]},
                        "scraping": JOB,
                        "rank": 0.61,
                        "snippet": "Larkspur runs on any system … <mark>install</mark> it",
                    }
                ],
            }
        }
    },
}


def add_examples(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: put EXAMPLES into the operations."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            examples = EXAMPLES.get(operation.get("operationId", ""), {})
            if "request" in examples:
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    content["examples"] = {"example": {"value": examples["request"]}}
            for status, value in examples.get("response", {}).items():
                response = operation["responses"].get(status, {})
                for media_type, content in response.get("content", {}).items():
                    if media_type.startswith("application/json"):
                        content["examples"] = {"example": {"value": value}}
    return result
