"""A guard against markup that makes HTML tree construction quadratic.

The HTML Standard's tree builder scans the stack of open elements for many tags, so a
few hundred KB of `<div>` (or `<ul><li>`, or `<em>` then `</p>`) that never close cost
seconds to minutes in any conforming parser. Before parsing, estimate that work from the
tags alone and cut the document where it would exceed a budget; real pages stay far below.
"""

from __future__ import annotations

import re

# Roughly 0.1-0.3 s of tree construction at the measured cost per stack step.
NESTING_WORK_BUDGET = 50_000_000
# n tags cannot cost more than n * (n + 1) / 2 steps, so smaller documents skip the scan.
_TAGS_ALWAYS_WITHIN_BUDGET = 10_000

_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
_VOID_ELEMENTS_TEXT = """
    area base br col embed hr img input link meta param source track wbr
"""
_VOID_ELEMENTS = frozenset(_VOID_ELEMENTS_TEXT.split())
# Elements closed implicitly by their next sibling: unclosed, they do not deepen the tree.
_SIBLING_CLOSED_ELEMENTS_TEXT = """
    p li dt dd option optgroup tr td th thead tbody tfoot colgroup caption rb rt rtc rp html
    head body
"""
_SIBLING_CLOSED_ELEMENTS = frozenset(_SIBLING_CLOSED_ELEMENTS_TEXT.split())


def truncate_pathological_nesting(html: str) -> str:
    """`html` unchanged, or cut at the first tag where the estimated work exceeds the budget."""
    if html.count("<") <= _TAGS_ALWAYS_WITHIN_BUDGET:
        return html
    depth = 0
    work = 0
    for match in _TAG.finditer(html):
        closing, name = match.groups()
        name = name.lower()
        if name not in _VOID_ELEMENTS and name not in _SIBLING_CLOSED_ELEMENTS:
            depth = max(depth - 1, 0) if closing else depth + 1
        work += depth
        if work > NESTING_WORK_BUDGET:
            return html[: match.start()]
    return html
