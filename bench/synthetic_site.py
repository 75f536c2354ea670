"""A deterministic synthetic site, pre-rendered in memory and served on 127.0.0.1.

Used by bench/crawl_bench.py (issue 4). Stdlib only, so both the app venv and the Scrapy
venv can import it.

The site: page 0 is `/`, page i is `/page/<i>.html`. Every page links to 50-200 other
pages: its children in a 40-ary tree (so everything is reachable from `/` in
ceil(log40 N) hops), then random pages, plus a few off-site links to 127.0.0.2 that a
host-scoped crawler must not follow (nothing listens there). Text is sentences of
pseudo-words drawn from a Zipf distribution, so pages have a realistic number of
distinct terms; pages carry headings, lists, figures with captions, `srcset`, a script
and a stylesheet. Two profiles (see PROFILES): `typical`, where about a fifth of the
HTML is visible text and the rest is markup, and `text-heavy`, where nearly all of it is.
Two more are shaped like documentation sites (bench/docs_pages.py): `docs-small` and
`docs-large`.

The server is an asyncio HTTP/1.1 keep-alive server forked into a few processes that
share one listening socket; responses are pre-built bytes, so serving a page is a
dictionary lookup and one write. It counts requests per page in shared memory, so the
bench can show that every page was served and how many were fetched twice. The pages'
images are real PNG files (bench/site_images.py), generated when first asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import signal
import socket
import statistics
import time
from collections import Counter, deque
from dataclasses import dataclass
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

from docs_pages import DOCS_SHAPES, render_docs_page
from site_images import image_response, warm_image_bases

TREE_FANOUT = 40
EXTERNAL_ORIGIN = "http://127.0.0.2:9"
ROBOTS_TXT = b"User-agent: *\nAllow: /\n"
_SYLLABLES_TEXT = """
    ka ri to mu sel van dor ith an el por qua ste lin bra mon cor dis tel gra fen hol mar
    nes pri sol tur ver wil zan ber cha dru fos gen hul jor kel lum nor pel ros sim tor ul
    vis yor zel
"""
_SYLLABLES = _SYLLABLES_TEXT.split()


def page_path(index: int) -> str:
    return "/" if index == 0 else f"/page/{index}.html"


@dataclass
class Site:
    seed: int
    pages: int
    responses: dict[bytes, bytes]  # request path -> full HTTP response bytes
    page_index: dict[bytes, int]  # request path -> page number (robots.txt: -1)
    total_bytes: int
    links_per_page: float
    images_per_page: float
    max_depth: int  # hops from / to the farthest page (BFS over the real links)
    profile: str = "typical"
    median_bytes: int = 0
    anchors_per_page: float = 0.0  # every <a href>, repeats and other sites included
    repeated_link_share: float = 0.0  # of a page's distinct links: those on most pages
    image_page_share: float = 0.0  # pages with at least one image


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(_SYLLABLES, k=rng.choice((2, 2, 3, 3, 3, 4)))))
    ordered = sorted(words)
    rng.shuffle(ordered)  # Zipf rank must not follow the alphabet
    return ordered


def _cumulative_zipf(size: int, exponent: float = 1.07) -> list[float]:
    total, cumulative = 0.0, []
    for rank in range(1, size + 1):
        total += 1.0 / rank**exponent
        cumulative.append(total)
    return cumulative


# A few real English words, stop words among them, so the tokenizer's stop-word and
# minimum-length rules have something to drop.
_GLUE_TEXT = "the and of to in for with on at by from is was are that this it as an or"
_GLUE = _GLUE_TEXT.split()


def _sentences(rng: random.Random, vocabulary: list[str], count: int) -> list[str]:
    cumulative = _cumulative_zipf(len(vocabulary))
    out = []
    for _ in range(count):
        words = rng.choices(vocabulary, cum_weights=cumulative, k=rng.randint(8, 24))
        for position in range(1, len(words), 4):
            words[position] = rng.choice(_GLUE)
        if rng.random() < 0.2:
            words.append(str(rng.randint(1, 2030)))
        sentence = " ".join(words)
        out.append(sentence[0].upper() + sentence[1:] + ".")
    return out


def _targets(rng: random.Random, index: int, pages: int) -> list[int]:
    wanted = rng.randint(50, 200)
    first_child = index * TREE_FANOUT + 1
    targets = list(range(first_child, min(first_child + TREE_FANOUT, pages)))
    chosen = set(targets) | {index}
    candidates = pages - 1
    while len(targets) < min(wanted, candidates):
        target = rng.randrange(pages)
        if target not in chosen:
            chosen.add(target)
            targets.append(target)
    rng.shuffle(targets)
    return targets


PROFILES = ("typical", "text-heavy", *DOCS_SHAPES)
# "typical": visible text is about a fifth of the HTML, the rest is markup as on common
# CMS and framework pages (wrapper divs with utility classes, data attributes, inline SVG
# icons, meta tags, JSON-LD and an inline JSON state script). "text-heavy": nearly all
# bytes are visible text (the only profile before; kept as a stress case for text work:
# terms, stored text and the full-text index all grow with it).
TYPICAL_TEXT_SHARE = 0.2
_WRAPPER_CLASSES = (
    "relative mx-auto max-w-prose px-4 py-2 text-base leading-7 text-gray-800 "
    "md:px-6 lg:px-8 dark:text-gray-200"
)
_LINK_CLASSES = "font-medium text-blue-700 underline-offset-2 hover:underline focus:outline-none"
_ICON = (
    "<svg class='icon h-4 w-4' viewBox='0 0 24 24' aria-hidden='true' fill='none' "
    "stroke='currentColor' stroke-width='2'><path stroke-linecap='round' "
    "stroke-linejoin='round' d='M13.19 8.688a4.5 4.5 0 0 1 1.242 7.244l-4.5 4.5a4.5 4.5 0 0 "
    "1-6.364-6.364l1.757-1.757m13.35-.622 1.757-1.757a4.5 4.5 0 0 0-6.364-6.364l-4.5 4.5a4.5 "
    "4.5 0 0 0 1.242 7.244'/></svg>"
)


def _typical_head(rng: random.Random, index: int, sentences: list[str]) -> str:
    metas = "".join(
        f"<meta property='og:{name}' content='{rng.choice(sentences)[:90]}'>"
        for name in ("title", "description", "site_name", "type", "locale")
    )
    preloads = "".join(
        f"<link rel='preload' as='script' href='/_app/chunks/{rng.randrange(10**8):08x}.js'>"
        for _ in range(8)
    )
    ld = (
        '<script type=\'application/ld+json\'>{"@context":"https://schema.org",'
        f'"@type":"Article","headline":"{rng.choice(sentences)[:80]}",'
        f'"datePublished":"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",'
        f'"author":{{"@type":"Person","name":"Author {index % 97}"}}}}</script>'
    )
    return (
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        + metas
        + "<meta name='twitter:card' content='summary_large_image'>"
        + "<link rel='icon' href='/favicon.ico' sizes='any'>"
        + preloads
        + ld
    )


def _state_script(rng: random.Random, size: int) -> str:
    """An inline JSON state blob of about `size` bytes (as SPA frameworks embed)."""
    entries: list[str] = []
    total = 0
    while total < size:
        entry = (
            f'{{"id":{rng.randrange(10**6)},"slug":"item-{rng.randrange(10**6)}",'
            f'"visible":{str(rng.random() < 0.5).lower()},"score":{rng.random():.4f}}}'
        )
        entries.append(entry)
        total += len(entry) + 1
    return (
        "<script id='__APP_STATE__' type='application/json'>{\"items\":["
        + ",".join(entries)
        + "]}</script>"
    )


def _render_page(
    rng: random.Random,
    index: int,
    pages: int,
    sentences: list[str],
    titles: list[str],
    profile: str = "typical",
) -> tuple[str, list[int], int]:
    """(html, link targets, image count) of page `index`."""
    typical = profile == "typical"
    targets = _targets(rng, index, pages)
    target_bytes = rng.randint(10_000, 90_000)
    text_budget = target_bytes * TYPICAL_TEXT_SHARE if typical else target_bytes
    link_attrs = f" class='{_LINK_CLASSES}'" if typical else ""
    title = titles[index % len(titles)]
    nav = [t for t in range(1, min(9, pages)) if t != index]
    nav_items = (
        f"<li class='menu-item'><a{link_attrs} href='{page_path(t)}'>{_ICON}"
        f"<span>{titles[t % len(titles)]}</span></a></li>"
        if typical
        else f"<li><a href='{page_path(t)}'>{titles[t % len(titles)]}</a></li>"
        for t in nav
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{title} | Page {index}</title>",
        f"<meta name='description' content='{rng.choice(sentences)}'>",
        _typical_head(rng, index, sentences) if typical else "",
        "<link rel='stylesheet' href='/static/site.css'>",
        "<style>body{font-family:serif;margin:0 auto;max-width:60em}.nav a{padding:4px}</style>",
        f"<script>window.dataLayer=window.dataLayer||[];dataLayer.push({{page:{index}}});</script>",
        "</head><body><header><nav class='nav'><ul>",
        *nav_items,
        "</ul></nav></header><main><article>",
        f"<h1>{title}</h1>",
    ]
    size = sum(map(len, parts))
    text_chars = len(title) * 2
    remaining = [t for t in targets if t not in nav]
    images = 0
    section = 0
    while (text_chars < text_budget if typical else size < target_bytes) or remaining:
        section += 1
        heading = f"{rng.choice(titles)} {section}"
        text_chars += len(heading)
        block = [
            f"<section id='s{section}' class='{_WRAPPER_CLASSES}' data-section='{section}'>"
            f"<h2 class='group flex items-center gap-2'>{heading}"
            f"<a class='anchor opacity-0 group-hover:opacity-100' href='#s{section}' "
            f"aria-label='Link to this section'>{_ICON}</a></h2>"
            if typical
            else f"<section><h2>{heading}</h2>"
        ]
        for _ in range(rng.randint(1, 4)):
            # Typical pages carry most links in menus and lists, and shorter paragraphs.
            sentence_count = rng.randint(1, 3) if typical else rng.randint(3, 9)
            text = " ".join(rng.choices(sentences, k=sentence_count))
            text_chars += len(text)
            if remaining:
                inline = [remaining.pop() for _ in range(min(len(remaining), rng.randint(1, 5)))]
                words = text.split(" ")
                for target in inline:
                    at = rng.randrange(len(words))
                    words[at] = f"<a{link_attrs} href='{page_path(target)}'>{words[at]}</a>"
                text = " ".join(words)
            if typical:
                block.append(
                    f"<div class='{_WRAPPER_CLASSES}' data-component='paragraph' "
                    f"data-block-id='{rng.randrange(16**10):010x}'><p class='mb-4'>{text}</p></div>"
                )
            else:
                block.append(f"<p>{text}</p>")
        if remaining and rng.random() < (0.8 if typical else 0.3):
            listed = [
                remaining.pop()
                for _ in range(min(len(remaining), rng.randint(3, 15 if typical else 10)))
            ]
            block.append("<ul>")
            block += [
                f"<li><a{link_attrs} href='{page_path(t)}'>{titles[t % len(titles)]}</a></li>"
                for t in listed
            ]
            text_chars += sum(len(titles[t % len(titles)]) for t in listed)
            block.append("</ul>")
        if rng.random() < 0.25:
            image = rng.randrange(500)
            alt = rng.choice(sentences)[:60]
            caption = rng.choice(sentences)
            text_chars += len(caption)
            images += 1
            block.append(
                f"<figure><img src='/img/{image}.jpg' alt='{alt}' "
                f"srcset='/img/{image}-2x.jpg 2x' width='640' height='480'>"
                f"<figcaption>{caption}</figcaption></figure>"
            )
        if rng.random() < 0.05:
            reference = f"{EXTERNAL_ORIGIN}/ref/{rng.randrange(20)}"
            block.append(f"<p>See also <a{link_attrs} href='{reference}'>a reference</a>.</p>")
        block.append("</section>")
        chunk = "".join(block)
        parts.append(chunk)
        size += len(chunk)
    about, footer = rng.choice(sentences), rng.choice(sentences)
    text_chars += len(about) + len(footer)
    parts += [
        f"</article><aside><h3>About</h3><p>{about}</p>",
        "<img src='/img/logo.png' alt='logo'></aside></main>",
        f"<footer><p>{footer}</p><a{link_attrs} href='/'>Home</a></footer>",
        "<script>document.querySelectorAll('a').forEach(function(a){a.dataset.seen=1});</script>",
    ]
    size += sum(map(len, parts[-4:]))
    if typical and size < target_bytes:
        parts.append(_state_script(rng, target_bytes - size))
    parts.append("</body></html>")
    return "".join(parts), [*nav, *targets], images + 1


def _http_response(body: bytes, content_type: str) -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: max-age=60\r\n\r\n"
    )
    return head.encode("ascii") + body


def build_site(pages: int, seed: int = 4, profile: str = "typical") -> Site:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {PROFILES}")
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng, 6000)
    sentences = _sentences(rng, vocabulary, 6000)
    titles = [" ".join(w.capitalize() for w in rng.sample(vocabulary[:800], 3)) for _ in range(300)]
    responses: dict[bytes, bytes] = {b"/robots.txt": _http_response(ROBOTS_TXT, "text/plain")}
    page_index: dict[bytes, int] = {b"/robots.txt": -1}
    graph: list[list[int]] = []
    total_bytes = links = images = 0
    sizes: list[int] = []
    anchors = pages_with_images = 0
    for index in range(pages):
        if profile in DOCS_SHAPES:
            html, targets, image_count = render_docs_page(
                rng, index, pages, sentences, titles, DOCS_SHAPES[profile], page_path
            )
        else:
            html, targets, image_count = _render_page(rng, index, pages, sentences, titles, profile)
        anchors += html.count("<a ")
        pages_with_images += image_count > 0
        body = html.encode("utf-8")
        sizes.append(len(body))
        path = page_path(index).encode("ascii")
        responses[path] = _http_response(body, "text/html; charset=utf-8")
        page_index[path] = index
        graph.append(targets)
        total_bytes += len(body)
        links += len(set(targets)) + (1 if index else 0)  # + the footer's Home link
        images += image_count
    return Site(
        seed=seed,
        pages=pages,
        responses=responses,
        page_index=page_index,
        total_bytes=total_bytes,
        links_per_page=links / pages,
        images_per_page=images / pages,
        max_depth=_max_depth(graph),
        profile=profile,
        median_bytes=int(statistics.median(sizes)) if sizes else 0,
        anchors_per_page=anchors / pages,
        repeated_link_share=_repeated_link_share(graph),
        image_page_share=pages_with_images / pages,
    )


def _repeated_link_share(graph: list[list[int]]) -> float:
    """Of the pages' distinct links, the share that point where most pages point too
    (navigation repeated on every page)."""
    on_pages = Counter(target for targets in graph for target in set(targets))
    common = {target for target, count in on_pages.items() if count > len(graph) / 2}
    total = sum(len(set(targets)) for targets in graph)
    return sum(len(set(targets) & common) for targets in graph) / max(total, 1)


def _max_depth(graph: list[list[int]]) -> int:
    depth = {0: 0}
    queue = deque([0])
    while queue:
        node = queue.popleft()
        for target in graph[node]:
            if target not in depth:
                depth[target] = depth[node] + 1
                queue.append(target)
    if len(depth) != len(graph):
        raise RuntimeError(f"only {len(depth)} of {len(graph)} pages are reachable from /")
    return max(depth.values())


# --------------------------------------------------------------------------- the server

_NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found"
)


class _HttpProtocol(asyncio.Protocol):
    def __init__(self, site: Site, counts: Any, offset: int) -> None:
        self.site = site
        self.counts = counts
        self.offset = offset
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a stream server's transport
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > 65536 and self.transport is not None:
                    self.transport.close()
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            request_line, _, headers = head.partition(b"\r\n")
            fields = request_line.split(b" ")
            if len(fields) != 3 or self.transport is None:
                if self.transport is not None:
                    self.transport.close()
                return
            method, target = fields[0], fields[1]
            response = self.site.responses.get(target)
            if response is None:
                response = image_response(target)
            if response is None or target in self.site.page_index:
                index = self.site.page_index.get(target, -2)
                # Slot layout per process: [404s, robots.txt, page 0 .. page N-1].
                self.counts[self.offset + index + 2] += 1
            response = response or _NOT_FOUND
            if method == b"HEAD":
                response = response[: response.find(b"\r\n\r\n") + 4]
            self.transport.write(response)
            if b"connection: close" in headers.lower():
                self.transport.close()
                return


def _serve(sock: socket.socket, site: Site, counts: Any, offset: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    loop = asyncio.new_event_loop()

    async def main() -> None:
        server = await loop.create_server(
            lambda: _HttpProtocol(site, counts, offset), sock=sock, backlog=1024
        )
        async with server:
            await server.serve_forever()

    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    with contextlib.suppress(RuntimeError):  # the loop stopped by SIGTERM
        loop.run_until_complete(main())


class SiteServer:
    """`processes` forked servers on one listening socket of 127.0.0.1."""

    def __init__(self, site: Site, processes: int = 2) -> None:
        self.site = site
        self.slots = site.pages + 2
        context = multiprocessing.get_context("fork")
        self.counts: SynchronizedArray[int] = context.Array("q", self.slots * processes, lock=False)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.sock.setblocking(False)
        self.processes = [
            context.Process(
                target=_serve, args=(self.sock, site, self.counts, n * self.slots), daemon=True
            )
            for n in range(processes)
        ]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def start(self) -> SiteServer:
        warm_image_bases()
        for process in self.processes:
            process.start()
        return self

    def stop(self) -> None:
        for process in self.processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGKILL)
                process.join(timeout=5)
        self.sock.close()

    def snapshot(self) -> list[int]:
        """Requests per slot, summed over processes: [404s, robots.txt, page 0, ...]."""
        totals = [0] * self.slots
        raw = self.counts[:]
        for n in range(len(self.processes)):
            for slot in range(self.slots):
                totals[slot] += raw[n * self.slots + slot]
        return totals


@dataclass
class ServedStats:
    robots: int
    not_found: int
    page_requests: int
    distinct_pages: int
    repeated: int  # page requests beyond the first per page


def served_between(before: list[int], after: list[int]) -> ServedStats:
    delta = [b - a for a, b in zip(before, after, strict=True)]
    pages = delta[2:]
    return ServedStats(
        not_found=delta[0],
        robots=delta[1],
        page_requests=sum(pages),
        distinct_pages=sum(1 for n in pages if n),
        repeated=sum(n - 1 for n in pages if n > 1),
    )


# --------------------------------------------------------------- the capacity load loop


def _load_client(
    port: int, paths: list[bytes], seconds: float, max_requests: int, out: Any
) -> None:
    """Keep-alive GETs of random pages over a raw socket; reports (requests, bytes)."""
    rng = random.Random(os.getpid())
    sock = socket.create_connection(("127.0.0.1", port))
    requests = [b"GET " + p + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" for p in paths]
    done = received = 0
    buffer = b""
    deadline = time.monotonic() + seconds
    while done < max_requests and time.monotonic() < deadline:
        sock.sendall(rng.choice(requests))
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += sock.recv(262144)
        head = buffer[:end].lower()
        length = int(head.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
        need = end + 4 + length
        while len(buffer) < need:
            buffer += sock.recv(max(262144, need - len(buffer)))
        received += length
        buffer = buffer[need:]
        done += 1
    sock.close()
    out.put((done, received))


def measure_capacity(
    server: SiteServer, *, clients: int = 4, seconds: float = 3.0, max_requests: int = 200_000
) -> tuple[int, int, float]:
    """Load the server from `clients` processes for at most `seconds` (bounded in count too).

    Returns (requests, bytes, elapsed seconds). The clients are Python and share the
    machine's cores with the server, so the rate is a lower bound of the server's capacity.
    """
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    paths = [page_path(i).encode() for i in range(server.site.pages)]
    port = int(server.origin.rsplit(":", 1)[1])
    workers = [
        context.Process(
            target=_load_client, args=(port, paths, seconds, max_requests // clients, out)
        )
        for _ in range(clients)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    results = [out.get(timeout=seconds + 30) for _ in workers]
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.join(timeout=10)
    return sum(r[0] for r in results), sum(r[1] for r in results), elapsed
