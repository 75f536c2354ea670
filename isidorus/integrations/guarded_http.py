"""A urllib3 pool manager whose connections go only to addresses the network policy
allows, and a wall-clock deadline that cuts those connections.

The check happens where the socket is opened, on the address actually connected to, so a
name that resolves differently between a pre-check and the connection (DNS rebinding)
cannot slip past.

Socket timeouts bound each read, not their sum: a peer that sends a byte a second (in the
TLS handshake, the headers or the body) keeps every read within its timeout forever. A
`ConnectionDeadline` therefore shuts down, when it expires, every socket its thread's
connections opened or read a response from; the blocked read returns at once.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import certifi
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from isidorus.integrations.network_policy import BlockedAddress, allowed_addresses


class BlockedConnection(NewConnectionError):
    """Raised where the socket would be opened; fetch classifies it as blocked_address."""

    def __init__(self, conn: Any, blocked: BlockedAddress) -> None:
        super().__init__(conn, str(blocked))
        self.blocked = blocked


_active = threading.local()


class ConnectionDeadline:
    """Within `with ConnectionDeadline(seconds):`, the current thread's guarded connections
    are shut down once `seconds` have passed; `expired` tells whether that happened."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._open = True
        self._watched: list[socket.socket] = []
        self._owned: list[socket.socket] = []
        self._seconds = max(seconds, 0.0)

    def __enter__(self) -> ConnectionDeadline:
        self._outer = getattr(_active, "deadline", None)
        _active.deadline = self
        _WATCHDOG.schedule(time.monotonic() + self._seconds, self._expire)
        return self

    def __exit__(self, *exc: object) -> None:
        _active.deadline = self._outer
        with self._lock:
            self._open = False
            self._watched.clear()
            owned, self._owned = self._owned, []
        for sock in owned:
            sock.close()

    def watch(self, sock: socket.socket, *, owned: bool = False) -> None:
        """Cut `sock` at the deadline; an `owned` socket is closed when the block ends."""
        with self._lock:
            if self._open:
                self._watched.append(sock)
                if owned:
                    self._owned.append(sock)
                if self.expired:
                    _shutdown(sock)
                return
        if owned:
            sock.close()

    def _expire(self) -> None:
        with self._lock:
            if not self._open:
                return
            self.expired = True
            for sock in self._watched:
                _shutdown(sock)


class _Watchdog:
    """One thread per process runs every deadline's expiry (a Timer thread per fetch cost
    about 130 us of CPU). An expiry that runs after its block ended does nothing."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # threads do not survive a fork

    def _reset(self) -> None:
        self._wakeup = threading.Condition()
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, at: float, callback: Callable[[], None]) -> None:
        with self._wakeup:
            heapq.heappush(self._due, (at, next(self._sequence), callback))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="connection-deadlines", daemon=True
                )
                self._thread.start()
            self._wakeup.notify()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._due or self._due[0][0] > time.monotonic():
                    timeout = self._due[0][0] - time.monotonic() if self._due else None
                    self._wakeup.wait(timeout)
                _, _, callback = heapq.heappop(self._due)
            callback()


_WATCHDOG = _Watchdog()


def _shutdown(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for an SSLSocket: its own would drop the TLS state
    # under the reading thread's feet, and that thread must see an ordinary EOF or error.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _active_deadline() -> ConnectionDeadline | None:
    return getattr(_active, "deadline", None)


class _GuardedConnectionMixin:
    host: str
    port: int
    timeout: Any
    socket_options: Any
    sock: socket.socket | None

    def getresponse(self) -> Any:
        # A pooled connection may be reused under a new deadline: watch it for this response.
        deadline = _active_deadline()
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().getresponse()  # type: ignore[misc]  # a mixin: the connection class comes later in the MRO

    def _new_conn(self) -> socket.socket:
        try:
            addresses = allowed_addresses(self.host, self.port)
        except BlockedAddress as blocked:
            raise BlockedConnection(self, blocked) from None
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error  # type: ignore[arg-type]  # self is the connection (mixin)
        last_error: OSError | None = None
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                timeout = self.timeout
                if isinstance(timeout, int | float):
                    sock.settimeout(timeout)
                deadline = _active_deadline()
                if deadline is not None:
                    # A duplicate, because TLS wrapping detaches this socket object; the
                    # duplicate still reaches the connection, TLS handshake included.
                    deadline.watch(sock.dup(), owned=True)
                sock.connect((address, self.port))
                return sock
            except TimeoutError as error:
                sock.close()
                raise ConnectTimeoutError(self, f"connect to {self.host} timed out") from error
            except OSError as error:
                sock.close()
                last_error = error
        message = f"could not connect to {self.host}: {last_error}"
        raise NewConnectionError(self, message)  # type: ignore[arg-type]  # self is the connection (mixin)


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


def guarded_pool_manager(pool_size: int = 32) -> PoolManager:
    """No retries and no redirects of its own: the caller follows and classifies both.
    Certificates are checked against certifi's bundle, as requests did."""
    manager = PoolManager(
        num_pools=pool_size, maxsize=pool_size, retries=False, ca_certs=certifi.where()
    )
    manager.pool_classes_by_scheme = {
        "http": GuardedHTTPConnectionPool,
        "https": GuardedHTTPSConnectionPool,
    }
    return manager


def blocked_in(error: BaseException) -> BlockedAddress | None:
    """Find a refusal of the network policy anywhere in an exception chain: a
    BlockedConnection (urllib3) or a BlockedAddress raised as a cause (httpx, see
    guarded_httpx)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BlockedConnection):
            return current.blocked
        if isinstance(current, BlockedAddress):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return None
