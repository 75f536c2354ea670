"""Log lines carry the job, task, batch and owner they belong to, as JSON or as text."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator

import pytest

from isidorus.core import logs

JOB = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture(autouse=True)
def no_fields() -> Iterator[None]:
    logs.bind()
    yield
    logs.bind()


def _record(message: str = "hello", *args: object, error: bool = False) -> logging.LogRecord:
    exc_info = None
    if error:
        try:
            raise ValueError("bad page")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("isidorus.x", logging.WARNING, __file__, 1, message, args, exc_info)
    logs.ContextFilter().filter(record)
    return record


def test_a_json_line_carries_the_bound_fields_and_the_traceback() -> None:
    logs.bind(task="isidorus.write", task_id="t-1", job_id=JOB, batch_id="b-7", owner=3)
    line = json.loads(logs.JsonFormatter().format(_record("wrote %d pages", 5, error=True)))
    assert line["message"] == "wrote 5 pages"
    assert (line["level"], line["logger"]) == ("WARNING", "isidorus.x")
    assert {name: line[name] for name in logs.CONTEXT_FIELDS} == {
        "task": "isidorus.write", "task_id": "t-1", "job_id": JOB, "batch_id": "b-7", "owner": "3",
    }  # fmt: skip
    assert "ValueError: bad page" in line["exception"]
    assert line["time"].endswith("+00:00")


def test_a_text_line_has_the_fields_before_its_traceback() -> None:
    logs.bind(job_id=JOB, owner=None)
    logs.bind_more(task="isidorus.scrape")
    text = logs.TextFormatter().format(_record(error=True))
    first, _, rest = text.partition("\n")
    assert first.endswith(f"WARNING isidorus.x hello [job_id={JOB} task=isidorus.scrape]")
    assert "ValueError: bad page" in rest


def test_a_line_outside_any_task_or_request_has_no_fields() -> None:
    assert logs.TextFormatter().format(_record()).endswith("WARNING isidorus.x hello")
    assert set(json.loads(logs.JsonFormatter().format(_record()))) == {
        "time", "level", "logger", "message",
    }  # fmt: skip


def test_task_fields_come_from_the_message_body() -> None:
    body = {"v": 1, "job": JOB, "batch": "b-1", "key": "staging/x", "items": []}
    assert logs.task_fields("isidorus.write", "t-9", (body,)) == {
        "task": "isidorus.write", "task_id": "t-9", "job_id": JOB, "batch_id": "b-1",
    }  # fmt: skip
    # A body that is not a job's (a smoke task's token, a malformed message) names none.
    assert logs.task_fields("isidorus.smoke.ping", "t", ("token",))["job_id"] is None
    assert logs.task_fields("isidorus.scrape", "t", ({"job": 7},))["job_id"] is None
    assert logs.task_fields("isidorus.reap", None, ())["batch_id"] is None


@pytest.mark.parametrize(
    ("log_format", "formatter"), [("json", logs.JsonFormatter), ("text", logs.TextFormatter)]
)
def test_the_logging_config_formats_every_handler_with_the_fields(
    log_format: str, formatter: type[logging.Formatter]
) -> None:
    config = logs.logging_config(log_format=log_format, level="INFO")
    assert config["formatters"]["isidorus"]["()"] is formatter
    assert config["filters"]["context"]["()"] is logs.ContextFilter
    handler = config["handlers"]["console"]
    assert (handler["formatter"], handler["filters"]) == ("isidorus", ["context"])
    assert config["root"] == {"handlers": ["console"], "level": "INFO"}
