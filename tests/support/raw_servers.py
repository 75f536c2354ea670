"""Raw-socket HTTP servers for behaviour FixtureSite cannot express: bodies that drip or
never end, compression bombs, connections closed without an answer, servers that never
answer or never accept.

A RawSite is a dict of path -> handler. A handler writes its response through a
RawConnection; the server then closes the connection, unless the handler keeps it alive.
"Forever" is capped by `max_seconds`, so a fetcher that fails to cut a response makes its
test fail on time instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from tests.support.site import CRAWLER_OWN_PATHS

DEFAULT_MAX_SECONDS = 20.0


class RawConnection:
    def __init__(self, sock: socket.socket, site: RawSite, path: str) -> None:
        self.sock = sock
        self.site = site
        self.path = path

    @property
    def open(self) -> bool:
        return not self.site.stopped.is_set()

    def send(self, data: bytes) -> bool:
        """Send `data`; False once the client has gone away or the site is stopping."""
        if not self.open:
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        self.site.count_sent(len(data))
        return True

    def head(self, status: int = 200, headers: dict[str, str] | None = None) -> bool:
        lines = [f"HTTP/1.1 {status} X"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def wait(self, seconds: float) -> bool:
        """Sleep unless the site stops first; True if still open afterwards."""
        return not self.site.stopped.wait(seconds)


Handler = Callable[[RawConnection], bool | None]


class RawSite:
    def __init__(
        self,
        routes: dict[str, Handler],
        *,
        fallback: Callable[[str], Handler | None] | None = None,
        host: str = "127.0.0.1",
        max_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> None:
        self.routes = routes
        self.fallback = fallback
        self.host = host
        self.max_seconds = max_seconds
        self.stopped = threading.Event()
        self.requests: list[str] = []
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server((host, 0))
        self._connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        # The cap on "forever": stop every response, wherever it is.
        self._cap = threading.Timer(max_seconds, self.stopped.set)
        self._cap.daemon = True

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def requested_paths(self) -> list[str]:
        with self._lock:
            return list(self.requests)

    def page_paths(self) -> list[str]:
        """The paths requested, less the crawler's own: robots.txt and the sitemap it
        looks for at the start of every job."""
        return [path for path in self.requested_paths() if path not in CRAWLER_OWN_PATHS]

    def count_sent(self, size: int) -> None:
        with self._lock:
            self.bytes_sent += size

    def __enter__(self) -> RawSite:
        self._thread.start()
        self._cap.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._cap.cancel()
        self.stopped.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of _serve
        self._listener.close()
        with self._lock:
            for sock in self._connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections.append(sock)
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        with sock:
            keep_alive = True
            while keep_alive:
                path = _read_request_path(sock)
                if path is None:
                    return
                with self._lock:
                    self.requests.append(path)
                handler = self.routes.get(path)
                if handler is None and self.fallback is not None:
                    handler = self.fallback(path)
                # A handler that returns True leaves the connection open for the next request.
                keep_alive = bool((handler or not_found)(RawConnection(sock, self, path)))


def _read_request_path(sock: socket.socket) -> str | None:
    data = b""
    sock.settimeout(10)
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            data += chunk
    except OSError:
        return None
    finally:
        sock.settimeout(None)
    parts = data.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode("latin-1") if len(parts) >= 2 else None


# --- handlers -----------------------------------------------------------------------------


def page(
    body: bytes | str,
    content_type: str = "text/html; charset=utf-8",
    *,
    keep_alive: bool = False,
    headers: dict[str, str] | None = None,
) -> Handler:
    data = body.encode() if isinstance(body, str) else body
    head = {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})}
    if not keep_alive:
        head["Connection"] = "close"

    def handle(conn: RawConnection) -> bool:
        return conn.head(200, head) and conn.send(data) and keep_alive

    return handle


def redirect_to(location: str, status: int = 302) -> Handler:
    def handle(conn: RawConnection) -> None:
        conn.head(status, {"Location": location, "Content-Length": "0", "Connection": "close"})

    return handle


def not_found(conn: RawConnection) -> None:
    body = b"<html><body>not found</body></html>"
    if conn.head(404, {"Content-Type": "text/html", "Content-Length": str(len(body))}):
        conn.send(body)


def drip_body(interval: float = 1.0) -> Handler:
    """Headers at once, then one body byte per `interval`, forever."""

    def handle(conn: RawConnection) -> None:
        head = {"Content-Type": "text/html", "Connection": "close"}
        if not conn.head(200, head) or not conn.send(b"<html><body>"):
            return
        while conn.wait(interval) and conn.send(b"x"):
            pass

    return handle


def drip_headers(interval: float = 1.0) -> Handler:
    """A status line, then one byte of a header that never ends per `interval`."""

    def handle(conn: RawConnection) -> None:
        if not conn.send(b"HTTP/1.1 200 OK\r\nX-Slow: "):
            return
        while conn.wait(interval) and conn.send(b"a"):
            pass

    return handle


def endless_body(*, chunked: bool) -> Handler:
    """A body with no length that streams as fast as the client reads, forever."""
    block = b"<p>" + b"spam " * 13_000 + b"</p>\n"

    def handle(conn: RawConnection) -> None:
        head = {"Content-Type": "text/html"}
        head["Transfer-Encoding" if chunked else "Connection"] = "chunked" if chunked else "close"
        if not conn.head(200, head):
            return
        frame = b"%x\r\n%s\r\n" % (len(block), block) if chunked else block
        while conn.send(frame):
            pass

    return handle


def declared_length(length: int) -> Handler:
    """Announces `length` bytes, then sends one byte a second."""

    def handle(conn: RawConnection) -> None:
        head = {"Content-Type": "text/html", "Content-Length": str(length)}
        if not conn.head(200, head):
            return
        while conn.send(b"x") and conn.wait(1.0):
            pass

    return handle


def close_without_response(conn: RawConnection) -> None:
    conn.sock.shutdown(socket.SHUT_RDWR)


def silent(conn: RawConnection) -> None:
    """Reads the request, never answers, keeps the connection open."""
    conn.wait(conn.site.max_seconds)


# --- compression bombs --------------------------------------------------------------------

BOMB_BYTES = 200 * 1024 * 1024


def _zeros(total: int) -> Iterator[bytes]:
    block = bytes(1024 * 1024)
    for _ in range(total // len(block)):
        yield block


@cache
def bomb(encoding: str, inflated: int = BOMB_BYTES) -> bytes:
    """`inflated` zero bytes compressed with `encoding` (gzip, deflate, br, or a chain)."""
    data: bytes | None = None
    for step in [part.strip() for part in encoding.split(",")]:
        data = _compress(step, data, inflated)
    assert data is not None
    return data


def _compress(encoding: str, data: bytes | None, inflated: int) -> bytes:
    chunks = [data] if data is not None else _zeros(inflated)
    if encoding == "br":
        import brotli

        brotli_compressor: Any = brotli.Compressor(quality=5)
        out = b"".join(brotli_compressor.process(chunk) for chunk in chunks)
        return out + bytes(brotli_compressor.finish())
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}[encoding]
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(compressor.compress(chunk) for chunk in chunks) + compressor.flush()


def compressed_page(encoding: str, body: bytes) -> Handler:
    return page(body, headers={"Content-Encoding": encoding})


class FullBacklog:
    """A listening socket that never accepts, its accept queue filled: connects hang."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._listener = socket.create_server((host, 0), backlog=0)
        self.host = host
        self._fillers: list[socket.socket] = []

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def __enter__(self) -> FullBacklog:
        # Linux queues backlog + 1 connections; fill until a connect no longer completes.
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.3)
            try:
                filler.connect((self.host, self.port))
            except OSError:
                filler.close()
                return self
            self._fillers.append(filler)
        raise RuntimeError("could not fill the accept queue")

    def __exit__(self, *exc: object) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()
