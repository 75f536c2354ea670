"""The demo site `make run` crawls: a small, fixed site about lighthouses on 127.0.0.1."""

from __future__ import annotations

import argparse
import struct
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOPICS = {
    "history": "Lighthouse history",
    "lenses": "Fresnel lenses",
    "keepers": "Lighthouse keepers",
    "automation": "Automation of lights",
    "famous": "Famous lighthouses",
    "signals": "Light signals and characters",
    "fog": "Fog signals",
    "building": "Building on rock",
}

PARAGRAPHS = {
    "history": (
        "The Pharos of Alexandria guided ships for centuries. Early lighthouses burned "
        "wood and coal in open fires on towers near harbours."
    ),
    "lenses": (
        "Augustin Fresnel designed a lens of concentric rings that bends light into a "
        "strong beam. Fresnel lenses let a small lamp be seen from far at sea."
    ),
    "keepers": (
        "Lighthouse keepers trimmed wicks, wound clockwork and kept logs. Keepers lived "
        "with their families at remote stations through long winters."
    ),
    "automation": (
        "Automation replaced keepers with electric lamps, timers and remote monitoring. "
        "Most lighthouses were automated by the end of the twentieth century."
    ),
    "famous": (
        "Famous lighthouses include Eddystone, Bell Rock and Hook Head. Each lighthouse "
        "has its own tower, light and story."
    ),
    "signals": (
        "Every light has a character: flashing, occulting or fixed, with a period and "
        "colour. Sailors read the character to know which lighthouse they see."
    ),
    "fog": (
        "When fog hides the light, fog signals sound. Horns, bells and sirens warned "
        "ships near the rocks."
    ),
    "building": (
        "Engineers built towers on wave-swept rock with interlocking granite blocks. "
        "Building a rock lighthouse took years of careful work."
    ),
}


# Each topic's picture: a lighthouse tower in its own colours, as a small PNG.
COLOURS = {
    "history": ((200, 60, 50), (240, 230, 210)),
    "lenses": ((40, 90, 160), (250, 220, 120)),
    "keepers": ((90, 60, 40), (230, 230, 230)),
    "automation": ((60, 60, 70), (120, 200, 230)),
    "famous": ((180, 40, 40), (255, 255, 255)),
    "signals": ((20, 40, 90), (255, 240, 90)),
    "fog": ((140, 150, 160), (220, 225, 230)),
    "building": ((110, 100, 90), (200, 190, 170)),
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(tower: tuple[int, int, int], sky: tuple[int, int, int], width: int = 160) -> bytes:
    """A `width` x `width` picture: sky, a striped tower narrowing upwards, a lit lamp."""
    rows = []
    for y in range(width):
        half = width // 10 + (width // 8) * y // width  # the tower widens downwards
        row = bytearray([0])  # PNG filter: none
        for x in range(width):
            inside = abs(x - width // 2) <= half and y > width // 5
            lamp = abs(x - width // 2) <= width // 12 and width // 10 < y <= width // 5
            stripe = (y // (width // 8)) % 2 == 0
            row += bytes((255, 230, 80) if lamp else (tower if stripe else sky) if inside else sky)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, width, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + _chunk(b"IEND", b"")
    )  # fmt: skip


def _page(title: str, body: str) -> bytes:
    nav = " | ".join(f'<a href="/{slug}.html">{name}</a>' for slug, name in TOPICS.items())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><nav>{nav}</nav><h1>{title}</h1>{body}</body></html>"
    ).encode()


def site() -> dict[str, tuple[str, bytes]]:
    pages: dict[str, tuple[str, bytes]] = {
        "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /drafts/\n"),
        "/": (
            "text/html; charset=utf-8",
            _page(
                "Lighthouses",
                "<p>A small guide to lighthouses, their lights and their keepers.</p>"
                '<p><a href="/drafts/unfinished.html">Drafts</a> are not for robots.</p>',
            ),
        ),
        "/drafts/unfinished.html": ("text/html", _page("Draft", "<p>Not ready.</p>")),
    }
    for slug, name in TOPICS.items():
        more = f'<p>See also <a href="/{slug}/details.html">more on {name.lower()}</a>.</p>'
        picture = f'<img src="/images/{slug}.png" alt="{name}" width="160" height="160">'
        pages[f"/{slug}.html"] = (
            "text/html; charset=utf-8",
            _page(name, f"<p>{PARAGRAPHS[slug]}</p>{picture}{more}"),
        )
        pages[f"/images/{slug}.png"] = ("image/png", _png(*COLOURS[slug]))
        pages[f"/{slug}/details.html"] = (
            "text/html; charset=utf-8",
            _page(f"{name}: details", f"<p>{PARAGRAPHS[slug]}</p><p>{PARAGRAPHS[slug]}</p>"),
        )
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    port = parser.parse_args().port
    pages = site()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            content_type, body = pages.get(self.path, ("text/html", _page("Not found", "")))
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
