"""Local fake LLM providers: HTTP servers on 127.0.0.1 (free port) that speak the OpenAI Chat
Completions and the Anthropic Messages protocols, so tests drive the REAL client libraries.

Every request is recorded (path, headers, JSON body). Replies are scriptable: queue a few
(`script(Reply(status=429), Reply())`) and the rest get the default; `down_base_url()`
gives an address where nothing listens (a provider that is down).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    text: str = "A concise factual summary from the fake model."
    input_tokens: int = 120
    output_tokens: int = 30
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int = 0  # the status it was answered with


@dataclass(frozen=True)
class SentImage:
    mime: str
    data: bytes


def down_base_url() -> str:
    """A loopback URL where nothing listens: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class FakeLLMServer:
    def __init__(
        self, protocol: str, *, default: Reply | Callable[[dict[str, Any]], Reply] | None = None
    ) -> None:
        if protocol not in ("openai", "anthropic"):
            raise ValueError(protocol)
        self.protocol = protocol
        self.default = default or Reply()
        self.requests: list[RecordedRequest] = []
        self._scripted: list[Reply] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                body = json.loads(raw or b"{}")
                reply = server._record_and_pick(
                    RecordedRequest(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                if reply.delay:
                    time.sleep(reply.delay)
                payload = json.dumps(server._payload(reply, body)).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- scripting -------------------------------------------------------------------------
    def script(self, *replies: Reply) -> FakeLLMServer:
        """Replies for the next requests, in order; later requests get the default."""
        with self._lock:
            self._scripted.extend(replies)
        return self

    def _record_and_pick(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if self._scripted:
                reply = self._scripted.pop(0)
            else:
                reply = self.default(request.body) if callable(self.default) else self.default
            self.requests.append(dataclasses.replace(request, status=reply.status))
        return reply

    # --- protocols -------------------------------------------------------------------------
    def _payload(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        model = str(body.get("model", "fake-model"))
        if reply.status >= 400:
            kind = "rate_limit_error" if reply.status == 429 else "api_error"
            if self.protocol == "anthropic":
                return {"type": "error", "error": {"type": kind, "message": "scripted failure"}}
            return {"error": {"message": "scripted failure", "type": kind, "code": None}}
        if self.protocol == "anthropic":
            return {
                "id": f"msg_fake{len(self.requests)}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": reply.text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
            }
        return {
            "id": f"chatcmpl-fake{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": reply.input_tokens,
                "completion_tokens": reply.output_tokens,
                "total_tokens": reply.input_tokens + reply.output_tokens,
            },
        }

    # --- inspection --------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def base_url(self) -> str:
        # The OpenAI client appends /chat/completions; the Anthropic client /v1/messages.
        return f"{self.origin}/v1" if self.protocol == "openai" else self.origin

    def recorded(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self.requests)

    def sent_images(self, *, answered: bool = False) -> list[SentImage]:
        """Every image part of every request (`answered`: of those answered 2xx), decoded,
        as the provider would receive it."""
        found: list[SentImage] = []
        for request in self.recorded():
            if answered and not 200 <= request.status < 300:
                continue
            for message in request.body.get("messages", []):
                content = message.get("content")
                if not isinstance(content, list):
                    continue
                for part in content:
                    if part.get("type") == "image_url":
                        header, _, data = part["image_url"]["url"].partition(",")
                        mime = header.removeprefix("data:").removesuffix(";base64")
                        found.append(SentImage(mime, base64.b64decode(data)))
                    elif part.get("type") == "image":
                        source = part["source"]
                        found.append(
                            SentImage(source["media_type"], base64.b64decode(source["data"]))
                        )
        return found

    def __enter__(self) -> FakeLLMServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
