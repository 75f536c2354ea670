"""The content walk (isidorus/crawling/markdown.py) through `parse_html`: Markdown and text."""

from __future__ import annotations

import pytest

from isidorus.crawling.markdown import MAX_DEPTH
from isidorus.crawling.parse import ContentSource, PageContent, parse_html

PAGE_URL = "https://docs.example/guide/page.html"


def content_of(body: str, *, max_text_chars: int = 200_000) -> PageContent:
    html = f"<html><head><title>T</title></head><body><main>{body}</main></body></html>"
    return parse_html(html.encode(), PAGE_URL, max_text_chars=max_text_chars).content


def markdown_of(body: str) -> str:
    return content_of(body).markdown


def test_headings_paragraphs_and_inline_markup() -> None:
    content = content_of(
        "<h1>Install</h1><p>Run <code>pip install x</code> <strong>first</strong>, "
        "then <em>wait</em>.</p><h3>Notes</h3><p>Done.</p>"
    )
    assert content.markdown == (
        "# Install\n\nRun `pip install x` **first**, then *wait*.\n\n### Notes\n\nDone."
    )
    assert content.text == "Install\nRun pip install x first, then wait.\nNotes\nDone."
    assert content.source is ContentSource.MAIN


def test_heading_anchor_and_edit_links_are_left_out() -> None:
    markdown = markdown_of(
        '<h2>Usage<a class="headerlink" href="#usage">¶</a></h2>'
        '<h2>History<span class="mw-editsection">[<a href="/edit">edit</a>]</span></h2>'
        '<h2><a class="anchor" href="#x">#</a>Setup</h2><p>Text of the page here.</p>'
    )
    assert markdown.split("\n\n")[:3] == ["## Usage", "## History", "## Setup"]


def test_links_and_images_resolve_against_the_document_base() -> None:
    markdown = markdown_of(
        '<p>See <a href="../api/">the API</a>, <a href="mailto:a@b.example">mail</a>, '
        '<a href="#top">top</a> and <img src="/img/a b.png" alt="A (chart)">.</p>'
    )
    assert markdown == (
        "See [the API](https://docs.example/api/), mail, top and "
        "![A (chart)](https://docs.example/img/a%20b.png)."
    )


def test_nested_lists_keep_their_structure() -> None:
    markdown = markdown_of(
        "<ul><li>One</li><li>Two<ul><li>Two a</li><li>Two b</li></ul></li></ul>"
        '<ol start="3"><li><p>Third</p><p>More about it</p></li><li>Fourth</li></ol>'
    )
    assert markdown == (
        "- One\n- Two\n  - Two a\n  - Two b\n\n3. Third\n   More about it\n4. Fourth"
    )


def test_code_blocks_are_fenced_with_their_language() -> None:
    markdown = markdown_of(
        '<div class="highlight-python"><pre>def f():\n    return "```"\n</pre></div>'
        '<pre><code class="language-bash">echo hi</code></pre>'
    )
    assert markdown == ('````python\ndef f():\n    return "```"\n````\n\n```bash\necho hi\n```')


def test_tables_become_pipe_tables_with_a_caption_line() -> None:
    content = content_of(
        "<table><caption>Times</caption><thead><tr><th>Stop</th><th>Time</th></tr></thead>"
        "<tbody><tr><td>A | B</td><td>06:40</td></tr><tr><td colspan=2>Daily</td></tr>"
        "</tbody></table>"
    )
    assert content.markdown == (
        "Times\n\n| Stop | Time |\n| --- | --- |\n| A \\| B | 06:40 |\n| Daily |  |"
    )
    assert content.text == "Times\nStop\tTime\nA | B\t06:40\nDaily"


def test_quotes_rules_and_line_breaks() -> None:
    markdown = markdown_of(
        "<blockquote><p>First</p><p>Second</p></blockquote><hr><p>Line one<br>Line two</p>"
    )
    assert markdown == "> First\n>\n> Second\n\n---\n\nLine one  \nLine two"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>2 * 3 = [6]</p>", "2 \\* 3 = \\[6\\]"),
        ("<p># not a heading</p>", "\\# not a heading"),
        ("<p>1. not a list</p>", "1\\. not a list"),
        ("<p>- not a list</p>", "\\- not a list"),
        ("<p>snake_case stays, _edges_ do not</p>", "snake_case stays, \\_edges\\_ do not"),
        ("<p>a &lt;div&gt; tag</p>", "a \\<div> tag"),
    ],
)
def test_text_that_looks_like_markup_is_escaped(html: str, expected: str) -> None:
    assert markdown_of(html) == expected


def test_deep_nesting_is_rendered_as_text_within_a_bounded_walk() -> None:
    depth = MAX_DEPTH * 20
    content = content_of("<div>" * depth + "<p>deep words</p>" + "</div>" * depth)
    assert content.text == "deep words"
    assert content.markdown == "deep words"


def test_the_content_is_cut_to_the_text_limit_at_a_word_boundary() -> None:
    paragraphs = "".join(f"<p>paragraph number {n} has words</p>" for n in range(200))
    content = content_of(paragraphs, max_text_chars=1000)
    assert 900 < len(content.markdown) <= 1000
    assert 900 < len(content.text) <= 1000
    *whole, last = content.text.split("\n")
    assert whole == [f"paragraph number {n} has words" for n in range(len(whole))]
    cut_from = f"paragraph number {len(whole)} has words "
    assert cut_from.startswith(last + " ")
