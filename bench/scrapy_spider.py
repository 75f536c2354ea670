"""The Scrapy side of bench/crawl_bench.py: crawl the synthetic site, extract like Isidorus.

Runs in its own venv (.venvs/bench-scrapy, created by crawl_bench.py), never in the app's:

    .venvs/bench-scrapy/bin/python bench/scrapy_spider.py --url http://127.0.0.1:PORT/ \
        --depth 5 --out result.json

A CrawlSpider follows links restricted to the site's host and, for every HTML page,
extracts the title, the visible text (without script, style, noscript, template, svg),
term counts with Isidorus's own tokenizer (isidorus.crawling.terms, stdlib only), every
link (with internal and nofollow flags) and every image (src and srcset, alt, title,
figure caption). Items go to a pipeline that only counts them. The result (pages, time,
CPU, totals and the pinned settings) is written as JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import scrapy  # noqa: E402
import twisted  # noqa: E402
from scrapy import signals  # noqa: E402
from scrapy.crawler import CrawlerProcess  # noqa: E402
from scrapy.linkextractors import LinkExtractor  # noqa: E402
from scrapy.spiders import CrawlSpider, Rule  # noqa: E402

from isidorus.crawling.terms import ENGLISH_STOP_WORDS, count_terms  # noqa: E402

VISIBLE_TEXT = (
    "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template or ancestor::svg)]"
)

# Pinned so a Scrapy upgrade cannot silently change the baseline; all printed by the bench.
PINNED_SETTINGS: dict[str, Any] = {
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "CONCURRENT_ITEMS": 100,
    "DOWNLOAD_DELAY": 0,
    "ROBOTSTXT_OBEY": True,
    "AUTOTHROTTLE_ENABLED": False,
    "HTTPCACHE_ENABLED": False,
    "COOKIES_ENABLED": True,
    "RETRY_ENABLED": True,
    "REDIRECT_ENABLED": True,
    "DOWNLOAD_TIMEOUT": 30,
    "DEPTH_PRIORITY": 0,
    "LOG_LEVEL": "WARNING",
    "TELNETCONSOLE_ENABLED": False,
    "USER_AGENT": "IsidorusBench-Scrapy/1.0",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "ITEM_PIPELINES": {"__main__.NoopPipeline": 100},
}


class NoopPipeline:
    """Counts items and what they carry; stores nothing."""

    totals: dict[str, int] = {"pages": 0, "terms": 0, "links": 0, "images": 0, "text_chars": 0}

    def process_item(self, item: dict[str, Any], spider: Any = None) -> dict[str, Any]:
        totals = NoopPipeline.totals
        totals["pages"] += 1
        totals["terms"] += len(item["terms"])
        totals["links"] += len(item["links"])
        totals["images"] += len(item["images"])
        totals["text_chars"] += len(item["text"])
        return item


class SiteSpider(CrawlSpider):
    name = "bench_site"

    def __init__(self, start_url: str, **kwargs: Any) -> None:
        self.start_urls = [start_url]
        parts = urlsplit(start_url)
        self.host = parts.hostname or ""
        self.allowed_domains = [self.host]
        # allow_domains compares netlocs, which carry the port here, so match the origin.
        origin = re.escape(f"{parts.scheme}://{parts.netloc}/")
        self.rules = (
            Rule(LinkExtractor(allow=[f"^{origin}"]), callback="parse_page", follow=True),
        )
        super().__init__(**kwargs)

    def parse_start_url(self, response: Any, **kwargs: Any) -> Any:
        return self.parse_page(response)

    def parse_page(self, response: Any) -> Any:
        text = " ".join(" ".join(response.xpath(VISIBLE_TEXT).getall()).split())
        links: dict[str, list[Any]] = {}
        for anchor in response.css("a[href], area[href]"):
            href = (anchor.attrib.get("href") or "").strip()
            if not href:
                continue
            url = response.urljoin(href)
            if not url.startswith(("http://", "https://")):
                continue
            nofollow = "nofollow" in (anchor.attrib.get("rel") or "").lower().split()
            seen = links.get(url)
            if seen is None:
                links[url] = [url, urlsplit(url).hostname == self.host, nofollow]
            else:
                seen[2] = seen[2] and nofollow
        images: dict[str, list[str]] = {}
        for image in response.css("img"):
            caption = " ".join(
                " ".join(image.xpath("ancestor::figure[1]/figcaption//text()").getall()).split()
            )
            candidates = [image.attrib.get("src") or ""]
            candidates += [
                part.split()[0]
                for part in (image.attrib.get("srcset") or "").split(",")
                if part.strip()
            ]
            for candidate in candidates:
                if candidate.strip() and not candidate.startswith("data:"):
                    url = response.urljoin(candidate.strip())
                    images.setdefault(
                        url,
                        [
                            url,
                            image.attrib.get("alt") or "",
                            image.attrib.get("title") or "",
                            caption,
                        ],
                    )
        yield {
            "url": response.url,
            "title": " ".join((response.css("title::text").get() or "").split()),
            "text": text,
            "terms": count_terms(text, ENGLISH_STOP_WORDS, ordered=False),
            "links": list(links.values()),
            "images": list(images.values()),
        }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    settings = {**PINNED_SETTINGS, "DEPTH_LIMIT": args.depth}
    process = CrawlerProcess(settings=settings)
    crawler = process.create_crawler(SiteSpider)
    marks: dict[str, Any] = {}

    def usage() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_utime + own.ru_stime

    def opened(spider: scrapy.Spider) -> None:
        marks["opened"] = (time.monotonic(), usage())

    def closed(spider: scrapy.Spider, reason: str) -> None:
        marks["closed"] = (time.monotonic(), usage())
        marks["reason"] = reason

    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler, start_url=args.url)
    process.start()

    stats = crawler.stats.get_stats() if crawler.stats else {}
    (t0, cpu0), (t1, cpu1) = marks["opened"], marks["closed"]
    result = {
        "scrapy": scrapy.__version__,
        "twisted": twisted.__version__,
        "python": sys.version.split()[0],
        "settings": {k: v for k, v in settings.items() if k != "ITEM_PIPELINES"},
        "close_reason": marks.get("reason"),
        "seconds": t1 - t0,
        "cpu_seconds_in_crawl": cpu1 - cpu0,
        "responses": stats.get("downloader/response_count", 0),
        "status_200": stats.get("downloader/response_status_count/200", 0),
        "offsite_filtered": stats.get("offsite/filtered", 0),
        "dupe_filtered": stats.get("dupefilter/filtered", 0),
        **NoopPipeline.totals,
    }
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
