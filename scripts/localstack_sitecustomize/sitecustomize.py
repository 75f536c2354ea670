"""Resolve ``localhost`` and ``*.localhost`` to loopback without asking DNS.

scripts/launcher.py puts this folder on LocalStack's PYTHONPATH only. At start LocalStack
resolves ``s3.<LOCALSTACK_HOST>`` (``s3.localhost``) once; RFC 6761 reserves
``*.localhost`` for loopback, but glibc here sends the query to DNS anyway. Answering
it in-process keeps that lookup on the machine without editing /etc/hosts.
"""

from __future__ import annotations

import socket
from typing import Any

_LOOPBACK_V4 = "127.0.0.1"
_LOOPBACK_V6 = "::1"

_real_getaddrinfo = socket.getaddrinfo
_real_gethostbyname = socket.gethostbyname
_real_gethostbyname_ex = socket.gethostbyname_ex


def _is_localhost(host: Any) -> bool:
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "ignore")
    if not isinstance(host, str):
        return False
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _getaddrinfo(
    host: Any,
    port: Any,
    family: int = 0,
    type: int = 0,  # same keyword names as socket.getaddrinfo
    proto: int = 0,
    flags: int = 0,
) -> list[Any]:
    if _is_localhost(host):
        # Numeric addresses never reach the resolver. Only an explicit IPv6 request
        # gets ::1; everything else is pinned to 127.0.0.1, where the stack listens.
        if family == socket.AF_INET6:
            return _real_getaddrinfo(_LOOPBACK_V6, port, family, type, proto, flags)
        return _real_getaddrinfo(_LOOPBACK_V4, port, socket.AF_INET, type, proto, flags)
    return _real_getaddrinfo(host, port, family, type, proto, flags)


def _gethostbyname(hostname: str) -> str:
    if _is_localhost(hostname):
        return _LOOPBACK_V4
    return _real_gethostbyname(hostname)


def _gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    if _is_localhost(hostname):
        return hostname, [], [_LOOPBACK_V4]
    return _real_gethostbyname_ex(hostname)


socket.getaddrinfo = _getaddrinfo
socket.gethostbyname = _gethostbyname
socket.gethostbyname_ex = _gethostbyname_ex
