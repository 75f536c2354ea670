"""CPU time per pipeline step, for the crawl benchmark (bench/crawl_bench.py).

With ISIDORUS_CPU_STEPS=1 a worker process adds the CPU time of each `cpu_step` block
(its own thread's CPU, `time.thread_time`, so fetch threads count their own) and, after
each task, adds its totals to one Redis hash the bench reads. Steps are exclusive: a step
inside another is taken out of the outer one, so the steps of a process add up to at most
its CPU; the rest is the worker's own machinery (Celery, the SQS client, the task's glue).

Off (the default, and in production) `cpu_step` costs one boolean test.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from isidorus.integrations.redis_client import get_redis

ENABLED = os.environ.get("ISIDORUS_CPU_STEPS") == "1"
STEPS_KEY = "bench:cpu-steps"  # step name -> CPU seconds, over every process

_totals: defaultdict[str, float] = defaultdict(float)
_lock = threading.Lock()
_local = threading.local()


@contextmanager
def cpu_step(name: str) -> Iterator[None]:
    if not ENABLED:
        yield
        return
    stack: list[float] = _local.__dict__.setdefault("inner", [])
    stack.append(0.0)  # CPU of the steps inside this one
    started = time.thread_time()
    try:
        yield
    finally:
        spent = time.thread_time() - started
        inner = stack.pop()
        if stack:
            stack[-1] += spent
        with _lock:
            _totals[name] += spent - inner


def cpu_steps_flush() -> None:
    """Add this process's totals to the shared hash (after each task)."""
    if not ENABLED or not _totals:
        return
    with _lock:
        totals = dict(_totals)
        _totals.clear()
    pipe = get_redis().pipeline(transaction=False)
    for name, seconds in totals.items():
        pipe.hincrbyfloat(STEPS_KEY, name, seconds)
    pipe.execute()
