"""A requests session whose connections go only to addresses the network policy allows.

The check happens where the socket is opened, on the address actually connected to, so a
name that resolves differently between a pre-check and the connection (DNS rebinding)
cannot slip past.
"""

from __future__ import annotations

import socket
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from isidorus.integrations.network_policy import BlockedAddress, allowed_addresses


class BlockedConnection(NewConnectionError):
    """Raised inside urllib3 so requests surfaces it as a ConnectionError we can classify."""

    def __init__(self, conn: Any, blocked: BlockedAddress) -> None:
        super().__init__(conn, str(blocked))
        self.blocked = blocked


class _GuardedConnectionMixin:
    host: str
    port: int
    timeout: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            addresses = allowed_addresses(self.host, self.port)
        except BlockedAddress as blocked:
            raise BlockedConnection(self, blocked) from None
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error  # type: ignore[arg-type]
        last_error: OSError | None = None
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                timeout = self.timeout
                if isinstance(timeout, int | float):
                    sock.settimeout(timeout)
                sock.connect((address, self.port))
                return sock
            except TimeoutError as error:
                sock.close()
                raise ConnectTimeoutError(self, f"connect to {self.host} timed out") from error
            except OSError as error:
                sock.close()
                last_error = error
        raise NewConnectionError(self, f"could not connect to {self.host}: {last_error}")


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


def guarded_session(pool_size: int = 32) -> requests.Session:
    session = requests.Session()
    adapter = GuardedAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False  # no proxies from the environment: we connect directly
    return session


def blocked_in(error: BaseException) -> BlockedAddress | None:
    """Find a BlockedConnection anywhere in a requests/urllib3 exception chain."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BlockedConnection):
            return current.blocked
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return None
