"""Render a content element as Markdown and as plain text, in one walk of its tree.

The Markdown is CommonMark with GitHub's pipe tables:
- `#` headings by level, without their anchor links (Sphinx's `¶`, MediaWiki's `[edit]`);
- paragraphs; `-` and `1.` lists, nested by indentation; `>` quotes; `---` rules;
- `[text](url)` links and `![alt](url)` images, URLs resolved against the document base as
  `parse_html` resolves links (a link whose URL is not http(s) keeps only its text);
- `**strong**`, `*emphasis*`, inline code in backticks, and `pre` as a fenced block with
  the language of a `language-*`, `lang-*` or `highlight-*` class;
- tables as pipe tables (first row as header, caption as a line above, `|` escaped).

The plain text is the same walk without markup: one block per line. Text characters that
Markdown would read as markup are escaped; underscores only at word edges, so
`snake_case` stays readable.

Elements nested deeper than MAX_DEPTH (real pages stay far below; the parser's nesting
guard allows thousands) are rendered as a paragraph of their text, so the walk's recursion
stays bounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from selectolax.lexbor import LexborNode

MAX_DEPTH = 48

Resolve = Callable[[str], str | None]

_HEADING_LEVELS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Elements whose children are blocks: walked for their blocks, adding no markup.
_CONTAINERS_TEXT = """
    address article center details dialog div dl fieldset figcaption figure footer header
    hgroup legend main p section summary tbody thead tfoot body html
"""
_CONTAINERS = frozenset(_CONTAINERS_TEXT.split())
_LISTS = frozenset(("ul", "ol", "menu"))
_SKIPPED = frozenset(("script", "style", "noscript", "template", "head", "-comment", "button"))
_STRONG = frozenset(("strong", "b"))
_EMPHASIS = frozenset(("em", "i", "cite", "dfn"))
_CODE = frozenset(("code", "kbd", "samp", "tt", "var"))
_OTHER_BLOCKS_TEXT = "li dt dd pre blockquote table tr td th caption hr"
_BLOCK_TAGS = frozenset((*_HEADING_LEVELS, *_CONTAINERS, *_LISTS, *_OTHER_BLOCKS_TEXT.split()))
# A heading's own anchor links and edit links are not its text.
_HEADING_FURNITURE = re.compile(r"headerlink|anchor|editsection|permalink", re.IGNORECASE)
_MAX_HEADING_FURNITURE_CHARS = 12
_ANCHOR_SYMBOLS = frozenset(("¶", "#", "§", "🔗", "edit", "[edit]"))
_CODE_LANGUAGE = re.compile(r"(?:^|\s)(?:language|lang|highlight)-([\w+#.-]+)")

_INLINE_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*[]<"})
_EDGE_UNDERSCORE = re.compile(r"(?<!\w)_|_(?!\w)")
_BLOCK_START_MARKUP = re.compile(r"^(?:[#>+=]|[-*] |-{3,}$|(\d{1,9})([.)])(?= |$))")
# A hard line break inside a paragraph, kept through whitespace collapsing.
_LINE_BREAK = "\x00"
_BLANK = " \t\n\r\f" + _LINE_BREAK


class Block(NamedTuple):
    # A tuple: a page makes hundreds, and a frozen dataclass costs 3x the time to create.
    markdown: str
    text: str


@dataclass(frozen=True)
class Rendered:
    markdown: str
    text: str


def render(root: LexborNode, resolve: Resolve, *, max_chars: int) -> Rendered:
    """`root`'s content as Markdown and plain text, each cut to about `max_chars`."""
    blocks = _Walker(resolve).blocks(root, 0)
    return Rendered(
        markdown=_join_bounded([b.markdown for b in blocks], "\n\n", max_chars),
        text=_join_bounded([b.text for b in blocks], "\n", max_chars),
    )


def _join_bounded(parts: list[str], separator: str, max_chars: int) -> str:
    """Whole parts while they fit; the first part that does not is cut at a word boundary."""
    kept: list[str] = []
    used = 0
    for part in parts:
        if not part:
            continue
        cost = len(part) + (len(separator) if kept else 0)
        if used + cost > max_chars:
            room = max_chars - used - (len(separator) if kept else 0)
            if room > 0:
                cut = part[:room]
                if not part[room].isspace():
                    cut = cut.rpartition(" ")[0] or cut
                kept.append(cut.rstrip())
            break
        kept.append(part)
        used += cost
    return separator.join(kept)


class _Inline:
    """A run of inline content: its Markdown and its text, whitespace not yet collapsed."""

    __slots__ = ("markdown", "text")

    def __init__(self) -> None:
        self.markdown: list[str] = []
        self.text: list[str] = []

    def add(self, markdown: str, text: str) -> None:
        self.markdown.append(markdown)
        self.text.append(text)

    def extend(self, other: _Inline) -> None:
        self.markdown.extend(other.markdown)
        self.text.extend(other.text)

    def block(self, *, escape_start: bool = True) -> Block | None:
        raw_markdown = "".join(self.markdown)
        # Most runs are the whitespace between two blocks.
        if not raw_markdown.strip(_BLANK):
            return None
        markdown = _collapse_lines(raw_markdown)
        text = " ".join("".join(self.text).split())
        if escape_start:
            markdown = _escape_block_start(markdown)
        return Block(markdown.replace(_LINE_BREAK, "  \n"), text)


class _Walker:
    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve

    def blocks(self, node: LexborNode, depth: int) -> list[Block]:
        """The blocks of `node`'s children: runs of inline content become paragraphs."""
        blocks: list[Block] = []
        run: _Inline | None = None
        for child in node.iter(include_text=True):
            tag = child.tag or ""
            if tag in _BLOCK_TAGS:
                if run is not None and (paragraph := run.block()):
                    blocks.append(paragraph)
                run = None
                if depth >= MAX_DEPTH:
                    blocks.extend(_text_block(child))
                else:
                    blocks.extend(self._block(child, tag, depth + 1))
                continue
            if run is None:
                # Whitespace between blocks starts no paragraph (most text nodes of a page).
                if tag == "-text" and (child.text_content or " ").isspace():
                    continue
                run = _Inline()
            self._inline(child, tag, run, depth)
        if run is not None and (paragraph := run.block()):
            blocks.append(paragraph)
        return blocks

    def _block(self, node: LexborNode, tag: str, depth: int) -> list[Block]:
        if tag in _CONTAINERS or tag in ("td", "th", "tr", "caption"):
            return self.blocks(node, depth)
        if tag in _HEADING_LEVELS:
            return _optional(self._heading(node, _HEADING_LEVELS[tag], depth))
        if tag in _LISTS:
            return _optional(self._list(node, ordered=tag == "ol", depth=depth))
        if tag == "li":
            return _optional(self._list(node, ordered=False, depth=depth, items=[node]))
        if tag == "dt":
            run = self._inline_of(node, depth)
            text = "".join(run.text).strip()
            return _optional(Block(f"**{_escape_inline(text)}**", text) if text else None)
        if tag == "dd":
            return self.blocks(node, depth)
        if tag == "pre":
            return _optional(_code_block(node))
        if tag == "blockquote":
            return _optional(_quote(self.blocks(node, depth)))
        if tag == "table":
            return _optional(self._table(node, depth))
        return [Block("---", "")] if tag == "hr" else []

    def _inline(self, node: LexborNode, tag: str, run: _Inline, depth: int) -> None:
        if node.is_text_node:
            raw = node.text_content or ""
            run.add(_escape_inline(raw), raw)
        elif tag in _SKIPPED:
            return
        elif tag == "br":
            run.add(_LINE_BREAK, " ")
        elif depth >= MAX_DEPTH:
            text = node.text(separator=" ")
            run.add(_escape_inline(text), text)
        elif tag == "a":
            self._link(node, run, depth)
        elif tag == "img":
            self._image(node, run)
        elif tag in _CODE:
            text = node.text(deep=True)
            run.add(_inline_code(text), text)
        elif tag in _STRONG or tag in _EMPHASIS:
            inner = self._inline_of(node, depth)
            mark = "**" if tag in _STRONG else "*"
            run.add(_wrap("".join(inner.markdown), mark), "".join(inner.text))
        else:
            run.extend(self._inline_of(node, depth))

    def _inline_of(self, node: LexborNode, depth: int) -> _Inline:
        """`node`'s content as one inline run; blocks inside it flatten to spaced text."""
        run = _Inline()
        for child in node.iter(include_text=True):
            tag = child.tag or ""
            if tag in _BLOCK_TAGS:
                run.add(" ", " ")
                self._inline(child, "span", run, depth + 1)
                run.add(" ", " ")
            else:
                self._inline(child, tag, run, depth + 1)
        return run

    def _link(self, node: LexborNode, run: _Inline, depth: int) -> None:
        inner = self._inline_of(node, depth)
        label = "".join(inner.markdown)
        href = (node.attributes.get("href") or "").strip()
        url = self._resolve(href) if href and not href.startswith("#") else None
        if url is None or not label.strip():
            run.extend(inner)
            return
        run.add(_wrap(label, "[", f"]({_escape_url(url)})"), "".join(inner.text))

    def _image(self, node: LexborNode, run: _Inline) -> None:
        src = (node.attributes.get("src") or "").strip()
        url = self._resolve(src) if src and not src.lower().startswith("data:") else None
        if url is not None:
            alt = " ".join((node.attributes.get("alt") or "").split())
            run.add(f"![{_escape_inline(alt)}]({_escape_url(url)})", "")

    def _heading(self, node: LexborNode, level: int, depth: int) -> Block | None:
        run = _Inline()
        for child in node.iter(include_text=True):
            if not child.is_text_node and _is_heading_furniture(child):
                continue
            self._inline(child, child.tag or "", run, depth + 1)
        block = run.block(escape_start=False)
        if block is None:
            return None
        markdown = " ".join(block.markdown.replace("  \n", " ").split())
        return Block(f"{'#' * level} {markdown}", block.text)

    def _list(
        self,
        node: LexborNode,
        *,
        ordered: bool,
        depth: int,
        items: list[LexborNode] | None = None,
    ) -> Block | None:
        number = _list_start(node) if ordered else 1
        lines_md: list[str] = []
        lines_text: list[str] = []
        for item in items if items is not None else _list_items(node):
            blocks = self.blocks(item, depth + 1)
            if not blocks:
                continue
            marker = f"{number}. " if ordered else "- "
            number += 1
            indent = " " * len(marker)
            body = "\n".join(b.markdown for b in blocks if b.markdown)
            lines_md.append(marker + body.replace("\n", "\n" + indent))
            lines_text.extend(b.text for b in blocks if b.text)
        if not lines_md:
            return None
        return Block("\n".join(lines_md), "\n".join(lines_text))

    def _table(self, node: LexborNode, depth: int) -> Block | None:
        caption = ""
        rows: list[list[tuple[str, str]]] = []
        for child in _table_rows_and_caption(node):
            if child.tag == "caption":
                caption = " ".join(child.text(separator=" ").split())
                continue
            cells: list[tuple[str, str]] = []
            for cell in child.iter():
                if cell.tag not in ("td", "th"):
                    continue
                run = self._inline_of(cell, depth)
                markdown = " ".join("".join(run.markdown).replace(_LINE_BREAK, " ").split())
                text = " ".join("".join(run.text).split())
                cells.append((markdown.replace("|", "\\|"), text))
                cells.extend([("", "")] * (_colspan(cell) - 1))
            if any(text or markdown for markdown, text in cells):
                rows.append(cells)
        if not rows:
            return _optional_caption(caption)
        width = max(len(row) for row in rows)
        padded = [row + [("", "")] * (width - len(row)) for row in rows]
        lines = ["| " + " | ".join(markdown for markdown, _ in row) + " |" for row in padded]
        lines.insert(1, "|" + " --- |" * width)
        texts = ["\t".join(text for _, text in row).strip() for row in padded]
        if caption:
            lines.insert(0, _escape_block_start(_escape_inline(caption)) + "\n")
            texts.insert(0, caption)
        return Block("\n".join(lines), "\n".join(texts))


def _optional(block: Block | None) -> list[Block]:
    return [block] if block is not None else []


def _optional_caption(caption: str) -> Block | None:
    return Block(_escape_inline(caption), caption) if caption else None


def _text_block(node: LexborNode) -> list[Block]:
    text = " ".join(node.text(separator=" ").split())
    return [Block(_escape_block_start(_escape_inline(text)), text)] if text else []


def _code_block(node: LexborNode) -> Block | None:
    code = node.text(deep=True).strip("\n")
    if not code.strip():
        return None
    fence = "```"
    while fence in code:
        fence += "`"
    return Block(f"{fence}{_code_language(node)}\n{code}\n{fence}", code)


def _code_language(pre: LexborNode) -> str:
    """The language named by a class of the `pre`, its `code`, or the block around it."""
    candidates = [pre, pre.css_first("code"), pre.parent]
    for node in candidates:
        if node is None:
            continue
        match = _CODE_LANGUAGE.search(node.attributes.get("class") or "")
        if match:
            return match.group(1).lower()
    return ""


def _quote(blocks: list[Block]) -> Block | None:
    if not blocks:
        return None
    markdown = "\n\n".join(b.markdown for b in blocks)
    quoted = "\n".join(f"> {line}" if line else ">" for line in markdown.split("\n"))
    return Block(quoted, "\n".join(b.text for b in blocks if b.text))


def _list_items(node: LexborNode) -> list[LexborNode]:
    return [child for child in node.iter() if child.tag == "li"]


def _list_start(node: LexborNode) -> int:
    start = (node.attributes.get("start") or "").strip()
    return int(start) if start.isdigit() and len(start) < 10 else 1


def _table_rows_and_caption(table: LexborNode) -> list[LexborNode]:
    """The table's caption and rows in order, looking through its row groups only."""
    found: list[LexborNode] = []
    for child in table.iter():
        if child.tag in ("thead", "tbody", "tfoot"):
            found.extend(row for row in child.iter() if row.tag == "tr")
        elif child.tag in ("tr", "caption"):
            found.append(child)
    return found


def _colspan(cell: LexborNode) -> int:
    span = (cell.attributes.get("colspan") or "").strip()
    return min(int(span), 64) if span.isdigit() and int(span) > 0 else 1


def _is_heading_furniture(node: LexborNode) -> bool:
    text = node.text().strip().lower()
    if node.tag == "a" and text in _ANCHOR_SYMBOLS:
        return True
    # Short only: a class such as "anchor" on an element holding the heading's words stays.
    return len(text) <= _MAX_HEADING_FURNITURE_CHARS and bool(
        _HEADING_FURNITURE.search(node.attributes.get("class") or "")
    )


def _collapse_lines(value: str) -> str:
    """Collapse whitespace as HTML does, keeping hard line breaks."""
    if _LINE_BREAK not in value:
        return " ".join(value.split())
    lines = value.split(_LINE_BREAK)
    collapsed = [" ".join(line.split()) for line in lines]
    return _LINE_BREAK.join(collapsed).strip(_BLANK)


def _escape_inline(text: str) -> str:
    escaped = text.translate(_INLINE_ESCAPES)
    return _EDGE_UNDERSCORE.sub(r"\\_", escaped) if "_" in escaped else escaped


def _escape_block_start(markdown: str) -> str:
    """Escape a paragraph's start that Markdown would read as a heading, list or quote."""
    match = _BLOCK_START_MARKUP.match(markdown)
    if match is None:
        return markdown
    if match.group(1):  # "1. " would start an ordered list: escape its dot
        digits = match.group(1)
        return f"{digits}\\{markdown[len(digits) :]}"
    return "\\" + markdown


def _inline_code(text: str) -> str:
    code = " ".join(text.split())
    if not code:
        return ""
    fence = "`"
    while fence in code:
        fence += "`"
    padding = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{fence}{padding}{code}{padding}{fence}"


def _wrap(markdown: str, opening: str, closing: str | None = None) -> str:
    """`opening + markdown + closing`, whitespace at the edges moved outside the marks."""
    inner = markdown.strip()
    if not inner:
        return markdown
    lead = " " if markdown[:1].isspace() else ""
    trail = " " if markdown[-1:].isspace() else ""
    return f"{lead}{opening}{inner}{opening if closing is None else closing}{trail}"


def _escape_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
