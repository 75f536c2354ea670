"""Run the real fetcher and LLM client against IPv6 addresses, inside a network namespace
that has only loopback (`unshare -n`), and print what happened as JSON.

Usage: python -m tests.support.ssrf_probe ADDRESS... (from the repository root, with the
test settings). Each address is tried as a page URL, as the target of a redirect from a
site on 127.0.0.1, as a robots.txt origin, as an LLM base URL, and as the target of a
redirect from an LLM endpoint on 127.0.0.1. An audit hook records every socket.connect,
so the caller can tell a refusal before connecting from a failed connection.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import django

Outcome = dict[str, Any]
_connects: list[str] = []


def _record_connects(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        _connects.append(str(args[1][0]))


def _observed(attempt: Callable[[], str]) -> Outcome:
    """Run one attempt; its reason and the addresses it connected to."""
    _connects.clear()
    reason = attempt()
    return {"reason": reason, "connected_to": sorted(set(_connects))}


class _RedirectingLLM(BaseHTTPRequestHandler):
    """An LLM endpoint that answers every POST with a 307 to `target` + the same path."""

    target = ""
    served: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.served.append(self.path)
        self.send_response(307)
        self.send_header("Location", f"{self.target}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()


@contextmanager
def _redirecting_llm() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RedirectingLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _page(url: str) -> str:
    from isidorus.integrations.http_fetch import FetchLimits, fetch

    result = fetch(url, limits=FetchLimits(total_seconds=5))
    return f"{result.outcome}/{result.reason}@{result.final_url}"


def _robots(origin: str) -> str:
    from isidorus.scrapings.robots_cache import _download

    return _download(origin).split("\n", 1)[0]


def _llm(base_url: str) -> str:
    from isidorus.enrichment.providers.base import ProviderError
    from isidorus.enrichment.providers.openai_api import OpenAIChatModel

    model = OpenAIChatModel(
        provider="openai", model="m", api_key="k", base_url=base_url, timeout=5.0
    )
    try:
        model.complete(system="s", prompt="p", max_tokens=5, timeout=5.0)
    except ProviderError as error:
        return error.reason
    return "answered"


def _attempts(address: str, site_origin: str, llm: ThreadingHTTPServer) -> Outcome:
    url = f"http://[{address}]/"
    _RedirectingLLM.target = f"http://[{address}]"
    llm_port = llm.server_address[1]
    return {
        "direct": _observed(lambda: _page(url)),
        "redirect": _observed(lambda: _page(f"{site_origin}/to/{address}")),
        "robots": _observed(lambda: _robots(f"http://[{address}]")),
        "llm": _observed(lambda: _llm(f"{url}v1")),
        "llm_redirect": _observed(lambda: _llm(f"http://127.0.0.1:{llm_port}/v1")),
    }


def main(addresses: list[str]) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    django.setup()
    from tests.support.site import FixtureSite, Route, html, redirect

    def to_address(path: str) -> Route | None:
        if path.startswith("/to/"):
            return redirect(f"http://[{path.removeprefix('/to/')}]/")
        return None

    sys.addaudithook(_record_connects)
    routes = {"/ok": Route(body=html("ok", "<p>ok</p>"))}
    with FixtureSite(routes, fallback=to_address) as site, _redirecting_llm() as llm:
        report: dict[str, Any] = {
            "interfaces": [name for _, name in socket.if_nameindex()],
            "control": _observed(lambda: _page(site.url("/ok"))),
            "cases": {address: _attempts(address, site.origin, llm) for address in addresses},
        }
        report["site_served"] = site.requested_paths()
        report["llm_served"] = _RedirectingLLM.served
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
