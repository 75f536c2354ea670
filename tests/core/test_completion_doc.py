"""docs/completion.md shows the work item kinds the code declares, and names tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

from isidorus.job_state.items import ITEM_KINDS, kind_of, markdown_table

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = (REPO_ROOT / "docs" / "completion.md").read_text()


def test_the_doc_holds_the_declared_item_table() -> None:
    assert markdown_table() in DOC


def test_every_item_name_belongs_to_one_kind() -> None:
    assert [kind_of(f"{kind.prefix}x") for kind in ITEM_KINDS] == list(ITEM_KINDS)
    assert kind_of("claim:page:x") is None


def test_every_test_the_doc_names_exists() -> None:
    named = set(re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", DOC))
    assert named
    for path, test in named:
        source = (REPO_ROOT / path).read_text()
        if test:
            assert f"def {test}(" in source, f"{path}::{test}"
