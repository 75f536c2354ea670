"""Task contracts: every registered task is declared, with a queue that exists; bodies
read back what was published; malformed bodies are refused."""

from __future__ import annotations

from typing import Any

import pytest

from config.celery import app
from config.queues import STAGES, queue_name
from isidorus.contracts import (
    ALL_TASKS,
    CONTRACTS,
    DELIVER_WEBHOOK,
    EXPAND,
    EXTRACT_IMAGE,
    SCRAPE,
    SUMMARIZE,
    WRITE,
    ImageBody,
    MalformedMessage,
    PageEntry,
    ScrapeBody,
    SummaryBody,
    WebhookBody,
    WriteBody,
    contract_named,
)

JOB = "0" * 8 + "-0000-0000-0000-" + "0" * 12


@pytest.mark.filterwarnings("ignore::celery.exceptions.CDeprecationWarning")
def test_every_registered_task_is_declared_and_routed_to_its_declared_queue() -> None:
    app.loader.import_default_modules()
    # Celery's built-ins and pytest-celery's helpers live elsewhere; ours in `tasks`.
    registered = {name for name, task in app.tasks.items() if task.__module__.startswith("tasks.")}
    declared = {task.name: task for task in ALL_TASKS}
    assert registered == set(declared)
    for name in registered:
        assert declared[name].stage in STAGES
        assert app.tasks[name].queue == queue_name(declared[name].stage), name


def test_task_names_are_unique() -> None:
    names = [task.name for task in ALL_TASKS]
    assert len(names) == len(set(names))
    assert contract_named("isidorus.write") is WRITE
    assert contract_named("isidorus.reap") is None  # a task with plain arguments


SAMPLES: list[tuple[Any, Any]] = [
    (
        SCRAPE,
        ScrapeBody(
            JOB,
            (
                PageEntry("http://example.com/", 0),
                PageEntry("http://example.com/a", 2, "http://example.com/", attempt=1),
            ),
        ),
    ),
    (EXPAND, ScrapeBody(JOB, (PageEntry("http://example.com/b", 1, "http://example.com/"),))),
    (WRITE, WriteBody(JOB, "batch-1", f"staging/{JOB}/batch-1.json.gz", ("page:ab", "page:cd"))),
    (SUMMARIZE, SummaryBody(JOB, (3, 1))),
    (EXTRACT_IMAGE, ImageBody(JOB, (7,), attempt=2)),
    (DELIVER_WEBHOOK, WebhookBody(42)),
]


@pytest.mark.parametrize(("contract", "body"), SAMPLES, ids=[c.name for c, _ in SAMPLES])
def test_a_body_reads_back_as_it_was_published(contract: Any, body: Any) -> None:
    assert contract.read(contract.wire(body)) == body


def test_the_wire_keeps_the_short_keys_messages_already_queued_use() -> None:
    entry = PageEntry("http://example.com/a", 2, "http://example.com/")
    assert SCRAPE.wire(ScrapeBody(JOB, (entry,))) == {
        "v": 1,
        "job": JOB,
        "items": [{"u": "http://example.com/a", "d": 2, "p": "http://example.com/"}],
    }
    assert SCRAPE.read(
        {"v": 1, "job": JOB, "items": [{"u": "http://example.com/", "d": 0, "a": 3}]}
    ).entries == (PageEntry("http://example.com/", 0, attempt=3),)
    assert SUMMARIZE.wire(SummaryBody(JOB, (4,))) == {"v": 1, "job": JOB, "pages": [4]}
    assert EXTRACT_IMAGE.wire(ImageBody(JOB, (4,), 1)) == {
        "v": 1,
        "job": JOB,
        "images": [4],
        "a": 1,
    }


def test_repeated_row_ids_are_read_once() -> None:
    assert SUMMARIZE.read({"v": 1, "job": JOB, "pages": [3, 1, 3]}).row_ids == (3, 1)


def test_an_open_items_payload_becomes_an_entry() -> None:
    payload = {"by": "ff", "d": 3, "p": "http://example.com/", "u": "http://example.com/x"}
    assert PageEntry.from_payload(payload) == PageEntry(
        "http://example.com/x", 3, "http://example.com/"
    )


ITEM = {"u": "http://example.com/", "d": 0}


@pytest.mark.parametrize(
    ("contract", "raw"),
    [
        (SCRAPE, None),
        (SCRAPE, [1]),
        (SCRAPE, {"v": 2, "job": JOB, "items": [ITEM]}),
        (SCRAPE, {"job": JOB, "items": [ITEM]}),
        (SCRAPE, {"v": 1, "job": "x", "items": [ITEM]}),
        (SCRAPE, {"v": 1, "job": JOB, "items": []}),
        (SCRAPE, {"v": 1, "job": JOB, "items": "http://example.com/"}),
        (SCRAPE, {"v": 1, "job": JOB, "items": [{"d": 0}]}),
        (SCRAPE, {"v": 1, "job": JOB, "items": [{"u": "http://example.com/", "d": "0"}]}),
        (SCRAPE, {"v": 1, "job": JOB, "items": [{"u": "http://example.com/", "d": True}]}),
        (SCRAPE, {"v": 1, "job": JOB, "items": [{**ITEM, "a": -1}]}),
        (SCRAPE, {"v": 1, "job": JOB, "items": [{**ITEM, "p": 5}]}),
        (EXPAND, {"v": 1, "job": JOB}),
        (WRITE, {"v": 1, "job": JOB, "batch": "", "key": "staging/x", "items": []}),
        (WRITE, {"v": 1, "job": JOB, "batch": "b", "key": "elsewhere/x", "items": []}),
        (WRITE, {"v": 1, "job": JOB, "batch": "b", "key": "staging/x", "items": [1]}),
        (SUMMARIZE, {"v": 1, "job": JOB, "pages": []}),
        (SUMMARIZE, {"v": 1, "job": JOB, "pages": ["1"]}),
        (SUMMARIZE, {"v": 1, "job": JOB, "pages": [True]}),
        (SUMMARIZE, {"v": 1, "job": JOB, "pages": [0]}),
        (SUMMARIZE, {"v": 1, "job": JOB, "pages": list(range(1, 1002))}),
        (SUMMARIZE, {"v": 1, "job": JOB, "images": [1]}),
        (SUMMARIZE, {"v": 1, "job": JOB, "pages": [1], "a": -1}),
        (EXTRACT_IMAGE, {"v": 1, "job": JOB, "pages": [1]}),
    ],
)
def test_a_malformed_body_is_refused(contract: Any, raw: Any) -> None:
    with pytest.raises(MalformedMessage):
        contract.read(raw)


def test_every_contract_has_a_body_type_that_reads_its_own_wire() -> None:
    assert {contract.name for contract, _ in SAMPLES} == {c.name for c in CONTRACTS}
