"""Extract title, visible text, main content, links and images from an HTML page.

This is the one module that imports the HTML parser: selectolax's lexbor binding. For this
extraction it measured 1.3-1.9x faster than lxml.html (parsing alone is on par; the gain
is in text extraction): see bench/parser_bench.py.

Decisions callers rely on:
- Links are deduplicated by canonical URL in document order. A link is `nofollow` only
  when every occurrence on the page says so. Anchor text is not extracted: nothing stores
  it (the Link model is source, target, internal, nofollow), and it cost 0.1 ms a page.
- Images are deduplicated by canonical URL; the first occurrence's alt, title and
  caption are kept. At most MAX_IMAGES_PER_PAGE are kept, in document order: each one
  becomes a download, an LLM call and a counted unit (isidorus/integrations/job_counters.py
  sizes the job's counter items on that bound). Candidates come from `src`, `srcset`
  and the `srcset` of the `<source>` elements of an enclosing `<picture>`.
- Text is the body's visible text, with a space at block boundaries, whitespace
  collapsed, cut at a word boundary to at most `max_text_chars`.
- The content (`ParsedPage.content`) is the main content (`main_content.py`) as Markdown
  and as text, one block per line. When the main content is almost nothing while the page
  shows much more (see `_is_too_little`), it is the whole body instead, flagged
  `FULL_TEXT`: a page the extractor misreads keeps its words.
- `robots_meta` and `canonical` come from the document (the head or, as browsers allow,
  anywhere); an empty canonical `href` resolves to the page itself.
- Pathologically nested markup is parsed only up to where it turns quadratic
  (see `nesting.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from isidorus.crawling.charset import decode_html
from isidorus.crawling.main_content import main_content_root
from isidorus.crawling.markdown import Rendered, render
from isidorus.crawling.nesting import truncate_pathological_nesting
from isidorus.crawling.urls import canonicalize

MAX_TITLE_CHARS = 1000
MAX_IMAGE_TEXT_CHARS = 1000
MAX_IMAGES_PER_PAGE = 64

_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "svg", "head"]
_BLOCK_TAGS_TEXT = """
    address article aside blockquote br button caption dd details dialog div dl dt fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr img input label legend
    li main nav ol option p pre section select summary table tbody td textarea tfoot th
    thead tr ul
"""
_BLOCK_TAGS = frozenset(_BLOCK_TAGS_TEXT.split())


@dataclass(frozen=True)
class Link:
    url: str
    nofollow: bool


@dataclass(frozen=True)
class ImageRef:
    url: str
    alt: str
    title: str
    caption: str


class ContentSource(StrEnum):
    MAIN = "main"
    FULL_TEXT = "full_text"


@dataclass(frozen=True)
class PageContent:
    markdown: str
    text: str
    source: ContentSource


@dataclass(frozen=True)
class ParsedPage:
    title: str
    # Every visible string of the body, whitespace collapsed to single spaces.
    text: str
    content: PageContent
    links: list[Link]
    images: list[ImageRef]
    charset: str
    # The content of each `<meta name="robots">` (isidorus/crawling/indexing.py reads them).
    robots_meta: tuple[str, ...] = ()
    # `<link rel="canonical">`, canonical form.
    canonical: str | None = None


# The main content is "almost nothing" under this many visible characters (whitespace
# left out; characters, not words, so that Japanese counts too) when the full text has at
# least FALLBACK_RATIO times as many. The corpus's sparsest real main contents have 73 and
# 74 (tests/fixtures/extraction, docs/extraction.md): a short page keeps its few words.
FALLBACK_MAX_MAIN_CHARS = 25
FALLBACK_RATIO = 2


def parse_html(
    body: bytes,
    url: str,
    *,
    header_charset: str | None = None,
    max_text_chars: int = 200_000,
) -> ParsedPage:
    """Parse an HTML `body` fetched from (canonical) `url`; never raises on bad markup."""
    html, charset = decode_html(body, header_charset)
    html = truncate_pathological_nesting(html)
    # Bytes, not str: lexbor reads them as UTF-8, and "replace" disarms lone surrogates.
    tree = LexborHTMLParser(html.encode("utf-8", errors="replace"))
    # One walk of the tree finds them all, in document order.
    title_and_base = tree.css("title, base[href], meta[name][content], link[rel][href]")
    resolver = _Resolver(_document_base(title_and_base, url))
    title = _title(title_and_base)
    robots_meta = [
        node.attributes.get("content") or ""
        for node in title_and_base
        if node.tag == "meta" and (node.attributes.get("name") or "").strip().lower() == "robots"
    ]
    canonical = _canonical(title_and_base, resolver)
    links = _links(tree, resolver)
    images = _images(tree, resolver)
    text = _visible_text(tree, max_text_chars)
    # Last: finding the main content removes the page's furniture from the tree.
    root = main_content_root(tree)
    main = render(root, resolver, max_chars=max_text_chars) if root is not None else None
    if main is not None and not _is_too_little(main.text, text):
        content = PageContent(main.markdown, main.text, ContentSource.MAIN)
    else:
        whole = _render_whole_body(html, resolver, max_text_chars)
        content = PageContent(whole.markdown, whole.text, ContentSource.FULL_TEXT)
    return ParsedPage(
        title=title,
        text=text,
        content=content,
        links=links,
        images=images,
        charset=charset,
        robots_meta=tuple(robots_meta),
        canonical=canonical,
    )


def _canonical(head_nodes: list[LexborNode], resolve: _Resolver) -> str | None:
    """The first `<link rel="canonical">`, resolved as links are (None if not http(s))."""
    for node in head_nodes:
        if node.tag == "link" and "canonical" in (node.attributes.get("rel") or "").lower().split():
            return resolve((node.attributes.get("href") or "").strip())
    return None


def _is_too_little(main_text: str, full_text: str) -> bool:
    main_chars = _visible_chars(main_text)
    if main_chars >= FALLBACK_MAX_MAIN_CHARS:
        return False
    return _visible_chars(full_text) >= max(1, main_chars) * FALLBACK_RATIO


def _visible_chars(text: str) -> int:
    return len(text) - sum(text.count(space) for space in (" ", "\n", "\t"))


def _render_whole_body(html: str, resolve: _Resolver, max_chars: int) -> Rendered:
    # Parsed again: the first tree lost its furniture. Only fallback pages pay for it.
    tree = LexborHTMLParser(html.encode("utf-8", errors="replace"))
    tree.strip_tags(_INVISIBLE_TAGS)
    root = tree.body
    if root is None:
        return Rendered(markdown="", text="")
    return render(root, resolve, max_chars=max_chars)


class _Resolver:
    """canonicalize() against the document base, once per distinct raw value."""

    def __init__(self, base: str) -> None:
        self._base = base
        self._resolved: dict[str, str | None] = {}

    def __call__(self, raw: str) -> str | None:
        if raw not in self._resolved:
            self._resolved[raw] = canonicalize(raw, self._base)
        return self._resolved[raw]


def _document_base(title_and_base: list[LexborNode], page_url: str) -> str:
    """The first `<base href>` resolved against the page, if it is http(s); else the page."""
    base = next((node for node in title_and_base if node.tag == "base"), None)
    href = base.attributes.get("href") if base is not None else None
    if not href:
        return page_url
    try:
        resolved = urljoin(page_url, href.strip())
    except ValueError:
        return page_url
    return resolved if resolved.startswith(("http://", "https://")) else page_url


def _title(title_and_base: list[LexborNode]) -> str:
    for node in title_and_base:
        # An SVG <title> is a tooltip, not the page's title.
        if node.tag == "title" and not _inside_svg(node):
            return _collapse(node.text(), MAX_TITLE_CHARS)
    return ""


def _inside_svg(node: LexborNode) -> bool:
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.tag == "svg":
            return True
        ancestor = ancestor.parent
    return False


def _links(tree: LexborHTMLParser, resolve: _Resolver) -> list[Link]:
    # {href: every occurrence is nofollow}, then the same by canonical URL.
    nofollow_by_href: dict[str, bool] = {}
    for node in tree.css("a[href], area[href]"):
        attributes = node.attributes
        href = (attributes.get("href") or "").strip()
        if not href:
            continue
        nofollow = "nofollow" in (attributes.get("rel") or "").lower().split()
        nofollow_by_href[href] = nofollow_by_href.get(href, True) and nofollow

    nofollow_by_url: dict[str, bool] = {}
    for href, nofollow in nofollow_by_href.items():
        url = resolve(href)
        if url is not None:
            nofollow_by_url[url] = nofollow_by_url.get(url, True) and nofollow
    return [Link(url=url, nofollow=nofollow) for url, nofollow in nofollow_by_url.items()]


def _images(tree: LexborHTMLParser, resolve: _Resolver) -> list[ImageRef]:
    captions = _captions_by_image(tree)
    images: dict[str, ImageRef] = {}
    for node in tree.css("img"):
        attributes = node.attributes
        alt = _collapse(attributes.get("alt") or "", MAX_IMAGE_TEXT_CHARS)
        title = _collapse(attributes.get("title") or "", MAX_IMAGE_TEXT_CHARS)
        caption = captions.get(node.mem_id, "")
        for candidate in _image_candidates(node):
            if candidate[:5].lower() == "data:":
                continue
            url = resolve(candidate)
            if url is not None and url not in images:
                images[url] = ImageRef(url=url, alt=alt, title=title, caption=caption)
                if len(images) == MAX_IMAGES_PER_PAGE:
                    return list(images.values())
    return list(images.values())


def _captions_by_image(tree: LexborHTMLParser) -> dict[int, str]:
    """Caption text for each image inside a `<figure>`, keyed by the image's node id."""
    captions: dict[int, str] = {}
    # Document order visits outer figures first, so the nearest figure's caption wins.
    for figure in tree.css("figure"):
        figcaption = next((child for child in figure.iter() if child.tag == "figcaption"), None)
        caption = (
            _collapse(figcaption.text(separator=" "), MAX_IMAGE_TEXT_CHARS) if figcaption else ""
        )
        for image in figure.css("img"):
            captions[image.mem_id] = caption
    return captions


def _image_candidates(image: LexborNode) -> Iterator[str]:
    src = (image.attributes.get("src") or "").strip()
    if src:
        yield src
    yield from parse_srcset(image.attributes.get("srcset") or "")
    parent = image.parent
    if parent is not None and parent.tag == "picture":
        for source in parent.iter():
            if source.tag == "source":
                yield from parse_srcset(source.attributes.get("srcset") or "")


def parse_srcset(srcset: str) -> list[str]:
    """The candidate URLs of a `srcset` (HTML Standard parsing, descriptors ignored).

    URLs may contain commas (`a.jpg?x=1,2 1x`); a comma ends a candidate only after
    whitespace, at the end of a URL, or outside parentheses in the descriptors.
    """
    urls: list[str] = []
    position, length = 0, len(srcset)
    while position < length:
        while position < length and (srcset[position].isspace() or srcset[position] == ","):
            position += 1
        start = position
        while position < length and not srcset[position].isspace():
            position += 1
        url = srcset[start:position]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            while position < length and (srcset[position] != "," or depth > 0):
                if srcset[position] == "(":
                    depth += 1
                elif srcset[position] == ")":
                    depth = max(depth - 1, 0)
                position += 1
        if url:
            urls.append(url)
    return urls


def _visible_text(tree: LexborHTMLParser, max_chars: int) -> str:
    tree.strip_tags(_INVISIBLE_TAGS)
    root = tree.body or tree.root
    if root is None:
        return ""
    chunks: list[str] = []
    for node in root.traverse(include_text=True):
        if node.is_text_node:
            previous = node.prev
            if previous is not None and previous.tag in _BLOCK_TAGS:
                chunks.append(" ")
            chunks.append(node.text_content or "")
        elif node.tag in _BLOCK_TAGS:
            chunks.append(" ")
    text = " ".join("".join(chunks).split())
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    if not text[max_chars].isspace():
        cut = cut.rpartition(" ")[0] or cut  # do not end on half a word
    return cut.rstrip()


def _collapse(text: str, max_chars: int) -> str:
    return " ".join(text.split())[:max_chars].rstrip()
