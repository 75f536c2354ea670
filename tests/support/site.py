"""Real HTTP servers for the sites the tests crawl, on 127.0.0.1 with a free port.

A site is a dict of path -> Route. Every request is logged (path and time), so tests
can assert on the server side what was fetched and what never was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CRAWLER_OWN_PATHS = frozenset(("/robots.txt", "/sitemap.xml"))


@dataclass
class Route:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # For dynamic routes: called with the request path, returns a Route.
    dynamic: Callable[[str], Route] | None = None


def html(title: str, body: str, head: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"
    )


def redirect(location: str, status: int = 302) -> Route:
    return Route(status=status, headers={"Location": location}, body=b"")


class FixtureSite:
    def __init__(
        self,
        routes: dict[str, Route],
        fallback: Callable[[str], Route | None] | None = None,
        host: str = "127.0.0.1",
    ):
        self.routes = routes
        self.fallback = fallback
        self.requests: list[tuple[str, float]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                with site._lock:
                    site.requests.append((self.path, time.time()))
                    site.in_flight += 1
                    site.max_in_flight = max(site.max_in_flight, site.in_flight)
                try:
                    self._respond()
                finally:
                    with site._lock:
                        site.in_flight -= 1

            def _respond(self) -> None:
                route = site.routes.get(self.path)
                if route is None and site.fallback is not None:
                    route = site.fallback(self.path)
                if route is None:
                    route = Route(status=404, body=html("Not found", "<p>nothing here</p>"))
                if route.dynamic is not None:
                    route = route.dynamic(self.path)
                if route.delay:
                    time.sleep(route.delay)
                body = route.body.encode() if isinstance(route.body, str) else route.body
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.host = host
        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    def requested_paths(self) -> list[str]:
        with self._lock:
            return [path for path, _ in self.requests]

    def page_paths(self) -> list[str]:
        """The paths requested, less the crawler's own: robots.txt and the sitemap it
        looks for at the start of every job."""
        return [path for path in self.requested_paths() if path not in CRAWLER_OWN_PATHS]

    def __enter__(self) -> FixtureSite:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
