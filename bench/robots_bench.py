"""Time robots.txt checks: our parser (isidorus/crawling/robots.py) against Protego.

One deterministic robots.txt of 200 lines (21 groups, wildcards, `$` anchors, comments,
sitemaps) is parsed once by each, then the same 10,000 URLs are checked against it. The
median of several rounds is reported per check, with the ratio, and the number of URLs on
which the two disagree (docs/robots.md lists why they can).

Run: .venv/bin/python bench/robots_bench.py [--urls N] [--rounds N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from protego import Protego

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from isidorus.crawling.robots import RobotsRules

AGENT = "IsidorusBot/1.0 (+https://isidorus.example/bot)"
TOKEN = "isidorusbot"  # what Protego is given: see tests/support/protego_robots.py
LINES = 200
SECTIONS = ["admin", "cart", "search", "account", "api", "tag", "blog", "shop", "media", "user"]
BOTS = [
    "googlebot", "bingbot", "slurp", "duckduckbot", "baiduspider", "yandexbot", "facebot",
    "ia_archiver", "applebot", "petalbot", "semrushbot", "ahrefsbot", "mj12bot", "dotbot",
    "gptbot", "ccbot", "claudebot", "bytespider", "amazonbot", "seznambot",
]  # fmt: skip


def _rule(rng: random.Random) -> str:
    section = rng.choice(SECTIONS)
    kind = rng.random()
    if kind < 0.5:
        return f"/{section}/{rng.choice(['', 'private/', 'edit/', 'tmp/'])}"
    if kind < 0.7:
        return f"/*?{rng.choice(['sort', 'filter', 'session', 'page'])}="
    if kind < 0.85:
        return f"/{section}/*.{rng.choice(['pdf', 'php', 'json', 'xml'])}$"
    return f"/{section}/%E3%83%84-{rng.randrange(100)}"


def robots_txt(seed: int = 7) -> str:
    """A 200-line robots.txt: a group per bot, then a large `*` group, which is ours."""
    rng = random.Random(seed)
    lines = ["# robots.txt for www.example.com", ""]
    for bot in BOTS:
        lines += [f"User-agent: {bot}"]
        lines += [f"Disallow: {_rule(rng)}" for _ in range(rng.randrange(2, 5))]
        lines += ["Allow: /", ""] if rng.random() < 0.5 else [""]
    lines += ["User-agent: *", "Crawl-delay: 1"]
    while len(lines) < LINES - 1:
        verb = "Allow" if rng.random() < 0.2 else "Disallow"
        lines.append(f"{verb}: {_rule(rng)}")
    lines.append("Sitemap: https://www.example.com/sitemap.xml")
    return "\n".join(lines) + "\n"


def urls(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        path = f"/{rng.choice(SECTIONS)}/{rng.choice(['', 'private/', 'edit/', 'x/'])}"
        path += f"item-{rng.randrange(10_000)}.{rng.choice(['html', 'pdf', 'php', 'json'])}"
        if rng.random() < 0.3:
            path += f"?{rng.choice(['sort', 'q', 'page', 'filter'])}={rng.randrange(50)}"
        out.append(f"https://www.example.com{path}")
    return out


def _per_check_ms(check: Callable[[str], bool], targets: list[str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for url in targets:
            check(url)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000 / len(targets)


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--urls", type=int, default=10_000)
    arguments.add_argument("--rounds", type=int, default=5)
    options = arguments.parse_args()

    text = robots_txt()
    targets = urls(options.urls)
    ours = RobotsRules.parse(text, AGENT)
    theirs = Protego.parse(text)

    def protego_allows(url: str) -> bool:
        return theirs.can_fetch(url, TOKEN)

    disagreements = sum(ours.allows(url) != protego_allows(url) for url in targets)
    allowed = sum(ours.allows(url) for url in targets)
    ours_ms = _per_check_ms(ours.allows, targets, options.rounds)
    protego_ms = _per_check_ms(protego_allows, targets, options.rounds)
    print(f"robots.txt: {len(text.splitlines())} lines, {len(ours.rules)} rules in our group")
    print(f"{len(targets)} URLs, {allowed} allowed, {disagreements} disagreements")
    print(f"hand-written: {ours_ms:.5f} ms per check")
    print(f"Protego:      {protego_ms:.5f} ms per check")
    print(f"Protego / hand-written: {protego_ms / ours_ms:.2f}x (median of {options.rounds})")


if __name__ == "__main__":
    main()
