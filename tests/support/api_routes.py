"""A request for every API route, and a few admin ones: for outage tests (a store down)."""

from __future__ import annotations

import uuid

# Every API route (config/api_urls.py) with a request to make of it. The ids need not
# exist: authentication (a Redis read, then a database read) comes first on every route.
JOB, PAGE = str(uuid.uuid4()), "1"
API_REQUESTS = {
    "api-keys": [("get", "keys/"), ("post", "keys/")],
    "api-key-revoke": [("delete", "keys/1/")],
    "webhook-secret": [("get", "webhook-secret/"), ("post", "webhook-secret/")],
    "scrapings": [("get", "scrapings/"), ("post", "scrapings/")],
    "scraping-detail": [("get", f"scrapings/{JOB}/"), ("delete", f"scrapings/{JOB}/")],
    "scraping-pages": [("get", f"scrapings/{JOB}/pages/")],
    "scraping-page-detail": [("get", f"scrapings/{JOB}/pages/{PAGE}/")],
    "scraping-cancel": [("post", f"scrapings/{JOB}/cancel/")],
    "scraping-terms": [("get", f"scrapings/{JOB}/terms/")],
    "scraping-links": [("get", f"scrapings/{JOB}/links/")],
    "scraping-images": [("get", f"scrapings/{JOB}/images/")],
    "scraping-image-content": [("get", f"scrapings/{JOB}/images/1/content/")],
    "scraping-export": [("get", f"scrapings/{JOB}/export/")],
    "scraping-webhook-deliveries": [("get", f"scrapings/{JOB}/webhook-deliveries/")],
    "search": [("get", "search/?q=page")],
}
ADMIN_REQUESTS = [
    ("get", "/admin/"),
    ("get", "/admin/scrapings/scraping/"),
    ("get", "/admin/accounts/apikey/"),
    ("post", "/admin/login/"),
]
