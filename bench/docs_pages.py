"""Documentation-shaped pages for bench/synthetic_site.py (issue 15's `docs-small` and
`docs-large` profiles). Stdlib only: both the app venv and the Scrapy venv import it.

Shaped after two real sites measured from outside (issue 15):
- `docs-small`: many small pages (median about 11 KB), about 94 links a page, most of them
  the same sidebar navigation on every page; images on about 40% of pages.
- `docs-large`: large reference pages (median about 54 KB), about 200 links a page, about
  17 of them to other sites; code blocks and parameter tables.

Every page links to its children in a tree (so every page is reachable from `/`), to its
previous and next page, and to the sidebar's pages (the first `nav` pages, the same list
everywhere, with the current section's entries expanded).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DocsShape:
    min_bytes: int
    max_bytes: int
    nav: int  # sidebar links, the same on every page
    section_extra: int  # sidebar entries of the current section, expanded
    body_links: tuple[int, int]  # page-specific links in the text (min, max)
    external: tuple[int, int]  # links to other sites (min, max)
    image_share: float  # pages with images
    images: tuple[int, int]  # images on such a page (min, max)
    fanout: int  # tree children linked from each page
    code_share: float  # sections with a code block
    table_share: float  # sections with a parameter table
    sentences: tuple[int, int]  # per paragraph (min, max)


DOCS_SHAPES = {
    "docs-small": DocsShape(
        min_bytes=3_000, max_bytes=11_000, nav=66, section_extra=8, body_links=(6, 16),
        external=(0, 2), image_share=0.4, images=(1, 2), fanout=8, code_share=0.3,
        table_share=0.05, sentences=(1, 2),
    ),
    "docs-large": DocsShape(
        min_bytes=28_000, max_bytes=70_000, nav=100, section_extra=12, body_links=(40, 64),
        external=(12, 22), image_share=0.3, images=(1, 3), fanout=20, code_share=0.6,
        table_share=0.4, sentences=(2, 5),
    ),
}  # fmt: skip

EXTERNAL_HOSTS = ("127.0.0.2:9", "127.0.0.3:9", "127.0.0.4:9")


def render_docs_page(
    rng: random.Random,
    index: int,
    pages: int,
    sentences: list[str],
    titles: list[str],
    shape: DocsShape,
    path: Callable[[int], str],
) -> tuple[str, list[int], int]:
    """(html, internal link targets, image count) of page `index`."""
    title = titles[index % len(titles)]
    nav = [t for t in range(1, min(shape.nav + 1, pages))]
    section_start = 1 + (index // max(shape.section_extra, 1)) * shape.section_extra
    section = [
        t for t in range(section_start, section_start + shape.section_extra) if 0 < t < pages
    ]
    children = list(
        range(index * shape.fanout + 1, min(index * shape.fanout + 1 + shape.fanout, pages))
    )
    neighbours = [t for t in (index - 1, index + 1) if 0 <= t < pages]
    wanted = rng.randint(*shape.body_links)
    body_targets = children + neighbours
    while len(body_targets) < wanted and pages > 1:
        body_targets.append(rng.randrange(pages))
    target_bytes = rng.randint(shape.min_bytes, shape.max_bytes)

    sidebar = "".join(
        f"<li class='toctree-l1'><a class='reference internal' href='{path(t)}'>"
        f"{titles[t % len(titles)]}</a></li>"
        for t in nav
    )
    expanded = "".join(
        f"<li class='toctree-l2'><a class='reference internal' href='{path(t)}'>"
        f"{titles[(t * 7) % len(titles)]}</a></li>"
        for t in section
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{title} — Project documentation</title>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<link rel='stylesheet' href='/_static/pygments.css'>",
        "<link rel='stylesheet' href='/_static/theme.css'>",
        "<script src='/_static/searchtools.js'></script>",
        "</head><body><div class='wy-grid-for-nav'>",
        "<nav class='wy-nav-side'><div class='wy-side-scroll'>",
        "<a class='icon icon-home' href='/'>Project</a>",
        "<div role='search'><form action='/search.html'><input name='q'></form></div>",
        f"<div class='wy-menu wy-menu-vertical'><ul>{sidebar}</ul><ul>{expanded}</ul></div>",
        "</div></nav><section class='wy-nav-content-wrap'><div class='wy-nav-content'>",
        "<div role='navigation' aria-label='breadcrumbs'><ul class='wy-breadcrumbs'>",
        f"<li><a href='/'>Docs</a> &raquo;</li><li>{title}</li></ul></div>",
        f"<div class='document' itemprop='articleBody'><h1>{title}</h1>",
    ]
    size = sum(map(len, parts))
    remaining = list(body_targets)
    externals = rng.randint(*shape.external)
    images = rng.randint(*shape.images) if rng.random() < shape.image_share else 0
    placed_images = 0
    number = 0
    while size < target_bytes or remaining or externals or placed_images < images:
        number += 1
        block = [
            f"<section id='s{number}'><h2>{rng.choice(titles)}<a class='headerlink' "
            f"href='#s{number}'>¶</a></h2>"
        ]
        for _ in range(rng.randint(1, 3)):
            words = " ".join(rng.choices(sentences, k=rng.randint(*shape.sentences))).split(" ")
            for _ in range(min(len(remaining), rng.randint(1, 5))):
                at = rng.randrange(len(words))
                words[at] = (
                    f"<a class='reference internal' href='{path(remaining.pop())}'>{words[at]}</a>"
                )
            if externals and rng.random() < 0.5:
                externals -= 1
                host = rng.choice(EXTERNAL_HOSTS)
                at = rng.randrange(len(words))
                words[at] = (
                    f"<a class='reference external' href='http://{host}/ref/{rng.randrange(99)}'>{words[at]}</a>"
                )
            block.append(f"<p>{' '.join(words)}</p>")
        if rng.random() < shape.code_share:
            code = "\n".join(
                f"<span class='n'>{rng.choice(titles).split()[0].lower()}</span>"
                f"<span class='o'>=</span><span class='mi'>{rng.randrange(1000)}</span>"
                for _ in range(rng.randint(3, 12))
            )
            block.append(f"<div class='highlight-python'><pre>{code}</pre></div>")
        if rng.random() < shape.table_share:
            rows = "".join(
                f"<tr><td><code>{rng.choice(titles).split()[1].lower()}</code></td>"
                f"<td>{rng.choice(sentences)}</td></tr>"
                for _ in range(rng.randint(3, 10))
            )
            block.append(
                f"<table class='docutils'><tr><th>Name</th><th>Description</th></tr>{rows}</table>"
            )
        if placed_images < images:
            placed_images += 1
            image = rng.randrange(300)
            block.append(
                f"<figure><img src='/_images/{image}.png' alt='{rng.choice(sentences)[:50]}'>"
                f"<figcaption>{rng.choice(sentences)}</figcaption></figure>"
            )
        block.append("</section>")
        chunk = "".join(block)
        parts.append(chunk)
        size += len(chunk)
    footer_links = "".join(
        f"<a class='btn btn-neutral' href='{path(t)}'>{label}</a>"
        for t, label in ((index - 1, "Previous"), (index + 1, "Next"))
        if 0 <= t < pages
    )
    parts += [
        f"</div><footer>{footer_links}<p>&copy; Copyright. Built with a documentation tool.</p>",
        "</footer></div></section></div></body></html>",
    ]
    targets = [*nav, *section, *body_targets, *neighbours]
    return "".join(parts), targets, images
