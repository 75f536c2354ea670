"""moto's server, with one request at a time through its backends.

DynamoDB applies each conditional write atomically, and each TransactWriteItems as a whole.
moto's threaded server does not: two concurrent conditional UpdateItems on one item can
both pass their condition. The duplicate-delivery crash test saw a write batch counted
twice that way (1 run in 7), and racing transactions double-counted in 61 of 150 trials.
Isidorus relies on DynamoDB's guarantee, so the emulator must give it: each request holds
one lock while moto handles it. Connections are still served by threads, so a client's
keep-alive connection never blocks the others. Run with moto's own arguments:

    .venvs/moto/bin/python scripts/moto_server_serialized.py -H 127.0.0.1 -p 4569
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto import server


class SerializedApp:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            # The whole response is produced inside the lock (it may be a generator).
            return list(self._app(environ, start_response))


def _run_serialized(host: str, port: int, app: Any, **options: Any) -> None:
    _run_simple(host, port, SerializedApp(app), **options)


_run_simple = server.run_simple
server.run_simple = _run_serialized

if __name__ == "__main__":
    server.main()
