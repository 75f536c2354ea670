"""An httpx transport whose connections go only to addresses the network policy allows:
the LLM clients' (OpenAI, Anthropic, Ollama), which are built on httpx.

As in guarded_http, the check happens where the socket is opened, on the address actually
connected to, so every redirect hop the client follows and every re-resolution of the
host is checked. A refusal is raised as a connect error caused by the BlockedAddress, so
`guarded_http.blocked_in` finds it in whatever the client library wraps it in.

Proxies from the environment (HTTPS_PROXY, ...) are not used: httpx ignores them once a
transport is given, and through a proxy the policy would see only the proxy's address.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterable, Sequence

import httpcore2
import httpx2

from isidorus.integrations.network_policy import BlockedAddress, allowed_addresses

NetworksSource = Callable[[], Sequence[str]]
# httpx's own defaults (its DEFAULT_LIMITS is not exported).
LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=20)


class PolicyBackend(httpcore2.SyncBackend):
    """Resolves through the network policy, then connects to an allowed address only."""

    def __init__(self, allowed_networks: NetworksSource) -> None:
        self._allowed_networks = allowed_networks

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        try:
            addresses = allowed_addresses(host, port, self._allowed_networks())
        except BlockedAddress as blocked:
            raise httpcore2.ConnectError(str(blocked)) from blocked
        except (socket.gaierror, UnicodeError) as error:
            raise httpcore2.ConnectError(f"cannot resolve {host}: {error}") from error
        *others, (_, last) = addresses
        for _, address in others:
            with contextlib.suppress(httpcore2.ConnectError):
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
        return super().connect_tcp(last, port, timeout, local_address, socket_options)


class GuardedTransport(httpx2.HTTPTransport):
    def __init__(self, allowed_networks: NetworksSource) -> None:
        super().__init__(limits=LIMITS)
        # httpx has no public way to give its pool a network backend; handle_request sends
        # every request through self._pool, so replacing it guards them all.
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=PolicyBackend(allowed_networks),
        )
