"""Find a page's main content: strip page furniture and pick the content's root element.

Chosen by measurement on tests/fixtures/extraction (docs/extraction.md). It works on the
tree `parse_html` already built, in four steps that each run mostly inside lexbor:

1. Drop what is never content: invisible elements, forms and their controls, and the
   HTML elements and ARIA roles of page furniture (`nav`, `aside`, `footer`,
   `role=navigation|banner|contentinfo|complementary|search|doc-toc`).
2. Drop elements whose class or id names page furniture (sidebar, breadcrumb, cookie,
   share, related, comments, toc, pagination, signature, ...), matched per word of the
   name (`site-nav` is `site` and `nav`), so `canvas` or `unavailable` do not match.
3. Take the `main` (or `role=main`) element as the root, else the only `article`, else
   the body.
4. Inside the root, drop link lists: a list, table, block or paragraph whose text is
   mostly link text (menus, tag clouds, "previous/next", "most read"). Headings stay.

The tree is changed in place: read everything else from it first.
"""

from __future__ import annotations

import functools
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

_NEVER_CONTENT = [
    *("script", "style", "noscript", "template", "svg", "head", "iframe", "object", "embed"),
    *("canvas", "form", "button", "input", "select", "textarea", "dialog", "menu"),
    *("nav", "aside", "footer"),
]
_FURNITURE_ROLES = (
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "doc-toc",
    "menu",
    "menubar",
    "toolbar",
    "dialog",
    "alertdialog",
)
_FURNITURE_SELECTOR = ",".join(f'[role="{role}"]' for role in _FURNITURE_ROLES)
_FURNITURE_WORDS_TEXT = """
    nav navbar navigation topnav menu sidebar breadcrumb breadcrumbs footer cookie cookies
    consent gdpr banner share sharing social related recommendations recommended comments
    comment toc pagination paginav pager tags signature postprofile byline author meta
    newsletter subscribe ad ads advert advertisement widget skip jump jumpbox ticker
    masthead announcement cart printfooter catlinks editsection headerlink back2top
    sitenotice sitesub promo sponsored popup modal reviews button btn online
"""
_FURNITURE_WORDS = frozenset(_FURNITURE_WORDS_TEXT.split())
_NAME_WORD = re.compile(r"[a-z0-9]+")
_LINK_LIST_TAGS = "ul, ol, dl, table, div, section, p, header"
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_MAX_LINK_SHARE = 0.5
# Every character str.isspace() accepts (none lies above U+3000).
_WHITESPACE = "".join(filter(str.isspace, map(chr, range(0x3001))))


def main_content_root(tree: LexborHTMLParser) -> LexborNode | None:
    """Strip page furniture from `tree` (in place) and return the main content's root."""
    tree.strip_tags(_NEVER_CONTENT)
    body = tree.body
    if body is None:
        return None
    _remove_all(body.css(_FURNITURE_SELECTOR))
    _remove_all([node for node in body.css("[class], [id]") if _is_named_furniture(node)])
    root = _pick_root(body)
    visible_chars = _VisibleChars(root)
    link_chars = _link_chars_by_ancestor(root, visible_chars)
    _remove_all(
        [
            node
            for node in root.css(_LINK_LIST_TAGS)
            if (chars := link_chars.get(node.mem_id))
            and chars > _MAX_LINK_SHARE * visible_chars(node)
        ]
    )
    return root


def _remove_all(nodes: list[LexborNode]) -> None:
    # Reverse document order: a descendant goes before its ancestor, so no node is
    # touched after the subtree holding it was freed.
    for node in reversed(nodes):
        node.decompose()


def _is_named_furniture(node: LexborNode) -> bool:
    attributes = node.attrs
    if not _names_furniture(attributes.get("class") or "", attributes.get("id") or ""):
        return False
    # Headings are content whatever their parts are called (Sphinx's `toc-backref`
    # heading links), and so is the block that holds the page's title.
    return not _inside_heading(node) and node.css_first("h1") is None


@functools.lru_cache(maxsize=4096)
def _names_furniture(class_names: str, element_id: str) -> bool:
    """Whether a word of the class or id is a furniture word (pages repeat their classes)."""
    words = _NAME_WORD.findall(f"{class_names} {element_id}".lower())
    return not _FURNITURE_WORDS.isdisjoint(words)


def _inside_heading(node: LexborNode) -> bool:
    ancestor = node.parent
    while ancestor is not None:
        if ancestor.tag in _HEADINGS:
            return True
        ancestor = ancestor.parent
    return False


def _pick_root(body: LexborNode) -> LexborNode:
    main = body.css_first('main, [role="main"]')
    if main is not None:
        return main
    articles = body.css("article")
    if len(articles) == 1:
        return articles[0]
    return body


def _link_chars_by_ancestor(root: LexborNode, visible_chars: _VisibleChars) -> dict[int, int]:
    """{element's mem_id: visible characters of the links inside it} within `root`."""
    totals: dict[int, int] = {}
    root_id = root.mem_id
    for link in root.css("a"):
        chars = visible_chars(link)
        ancestor = link.parent
        while chars and ancestor is not None and ancestor.mem_id != root_id:
            key = ancestor.mem_id
            totals[key] = totals.get(key, 0) + chars
            ancestor = ancestor.parent
    return totals


class _VisibleChars:
    """Characters of a node's text under `root`, whitespace (as str.split sees it) left out.

    Counts only the kinds of whitespace the root's text holds (usually the space and the
    newline), each with str.count: on `docs-large` pages a third of the time of
    len("".join(text.split())), which makes a string of every word of a large section.
    """

    def __init__(self, root: LexborNode) -> None:
        text = root.text()
        self._spaces = [space for space in _WHITESPACE if space in text]

    def __call__(self, node: LexborNode) -> int:
        text = node.text()
        return len(text) - sum([text.count(space) for space in self._spaces])
