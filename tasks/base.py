"""The base class of every Isidorus task, and the typed decorators that register tasks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Concatenate, NoReturn, ParamSpec, Protocol, TypeVar

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from config.queues import queue_name
from isidorus.contracts import MAX_DELAY_SECONDS, Contract, PlainTask
from isidorus.job_state import JobStateLost

logger = logging.getLogger(__name__)

# What PostgreSQL raises when the connection drops mid-query (server restart, failover, a
# killed backend) or a transaction is cut off (deadlock, serialization failure).
DATABASE_CONNECTION_ERRORS = (OperationalError, InterfaceError)
# Seconds before the first retry after a dropped connection; doubled on each retry.
DATABASE_RETRY_BASE_SECONDS = 1


class IsidorusTask(Task):  # type: ignore[misc]  # celery is untyped: Task is Any
    # Redelivery-safe by construction (see DESIGN "Redelivery is safe"), so acks_late is on.
    acks_late = True
    # self.retry() publishes a new message and so resets SQS's receive count; the cap
    # lives here instead.
    max_retries = settings.CELERY_TASK_MAX_RETRIES

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except JobStateLost as lost:
            from isidorus.scrapings.services.finish import job_fail_lost_state

            logger.error("%s; failing the job", lost)
            job_fail_lost_state(lost.job_id)
            return None

    def retry_on_a_new_connection(self, error: Exception) -> NoReturn:
        """Run this message again soon, on a fresh database connection.

        Only for tasks whose work is one transaction plus idempotent steps: the transaction
        the drop cut off rolled back, so the retry starts over. Without this the message
        would wait out the whole SQS visibility timeout and spend one of its receives.
        The retry is a new message delayed by SQS (DelaySeconds), not a Celery countdown,
        which a worker would hold unacknowledged; after max_retries the error is raised
        and the message is redelivered by SQS as any failure is.
        """
        # The broken connection must not be reused by the retry or by the next task.
        connection.close()
        delay = min(MAX_DELAY_SECONDS, DATABASE_RETRY_BASE_SECONDS * 2**self.request.retries)
        logger.warning("database connection lost (%s); retrying in %ds", error, delay)
        raise self.retry(exc=error, countdown=0, delay_seconds=delay)


def queue_of(task: Contract[Any] | PlainTask) -> str:
    """The queue a task is routed to by default: its contract's stage."""
    return queue_name(task.stage)


P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class TaskHandle(Protocol[P, R_co]):
    """A registered task as its callers see it: callable in-process with the function's
    own parameters (without `self` for a bound task), or sent to a queue."""

    name: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...

    def delay(self, *args: P.args, **kwargs: P.kwargs) -> Any: ...

    def apply_async(
        self,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Any: ...

    def s(self, *args: Any, **kwargs: Any) -> Any: ...

    def si(self, *args: Any, **kwargs: Any) -> Any: ...


# Celery ships no type information, so `shared_task` is untyped and would make every task
# untyped too. These two are `shared_task(base=IsidorusTask, ...)` with a typed signature:
# the options pass through unchanged, and the Any that Celery returns is given its type here.


def task(**options: Any) -> Callable[[Callable[P, R]], TaskHandle[P, R]]:
    """`@shared_task(base=IsidorusTask, **options)`."""

    def register(function: Callable[P, R]) -> TaskHandle[P, R]:
        handle: TaskHandle[P, R] = shared_task(base=IsidorusTask, **options)(function)
        return handle

    return register


def bound_task(
    **options: Any,
) -> Callable[[Callable[Concatenate[IsidorusTask, P], R]], TaskHandle[P, R]]:
    """`@shared_task(bind=True, base=IsidorusTask, **options)`: the function receives the
    task instance (`self`) first."""

    def register(function: Callable[Concatenate[IsidorusTask, P], R]) -> TaskHandle[P, R]:
        handle: TaskHandle[P, R] = shared_task(bind=True, base=IsidorusTask, **options)(function)
        return handle

    return register
