"""A gate for the fake servers' handler threads: while it is closed, requests wait at it.

Crash tests close it, wait until a worker's request is held there, and kill the worker: the
kill then lands in the middle of a task for certain, not between two tasks by luck.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# A held request gives up after this long, so a test that forgets to open the gate
# cannot leave server threads behind forever.
HOLD_LIMIT_SECONDS = 60.0


class Gate:
    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._held = 0

    @property
    def held(self) -> int:
        """How many requests are waiting at the gate now."""
        with self._lock:
            return self._held

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def pass_through(self) -> None:
        """Called by a handler thread: returns at once if the gate is open, else waits."""
        if self._open.is_set():
            return
        with self._lock:
            self._held += 1
        try:
            self._open.wait(HOLD_LIMIT_SECONDS)
        finally:
            with self._lock:
                self._held -= 1

    def guard(self, respond: Callable[..., T]) -> Callable[..., T]:
        """`respond` (a dynamic route or a fake LLM reply), made to pass the gate first."""

        def guarded(*args: object) -> T:
            self.pass_through()
            return respond(*args)

        return guarded
