"""A real upstream HTTP server for the HTTP plugin's tests and benchmark.

uvicorn serving a small Starlette app in a background thread, on 127.0.0.1:0,
optionally over TLS. It speaks:

- OpenAI-style `POST /v1/chat/completions` and `/v1/completions` (JSON, or SSE
  chunks with `stream: true`, usage in the last chunk when asked);
- Anthropic-style `POST /v1/messages` (JSON, or the message_start …
  content_block_delta … message_stop event sequence);
- a plain JSON service: `GET /api/items`, `POST /api/echo` (echoes method, path,
  headers and body), `POST /api/upload` (size and sha256 of the body),
  `GET /api/gzip`, `GET /api/slow?seconds=S`, `GET /sse/bulk?bytes=N` (N bytes
  of events), `GET /sse/paced?events=N&interval=S` (event `i` at `i * S` seconds,
  then `[DONE]`), `GET /api/paced?chunks=N&interval=S` (a Content-Length body
  written one chunk every S seconds), `GET /api/credential` (echoes the injected credential),
  `GET /api/cards` (a card number sent as a JSON number);
- a WebSocket at `/ws/echo` that answers each text message with `echo: …`.

The model's reply is `REPLY` unless the last user message starts with `say:`;
then it is the rest of that message. Streamed replies are cut into pieces of
`chunk` characters (request field `x_chunk`, default 4), so a test can make a
model "stream" a secret across several events.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

REPLY = "Hello from the fixture model."
ITEMS = [
    {
        "id": 1,
        "name": "alice",
        "email": "alice@example.com",
        "password": "hunter2",
        "note": "key AKIAABCDEFGHIJKLMNOP in a note",
    },
    {"id": 2, "name": "bob", "email": "bob@example.com", "password": "s3cret", "note": "plain"},
]


def _reply(body: dict[str, Any]) -> str:
    messages = body.get("messages") or []
    text = ""
    if messages:
        content = messages[-1].get("content")
        text = content if isinstance(content, str) else ""
    text = text or str(body.get("prompt") or "")
    return text[4:] if text.startswith("say:") else REPLY


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _sse(data: Any, event: str = "") -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n".encode()


async def chat(request: Request) -> Response:
    body = await request.json()
    text, model = _reply(body), body.get("model", "gpt-test")
    usage = {
        "prompt_tokens": 11,
        "completion_tokens": len(text.split()),
        "total_tokens": 11 + len(text.split()),
    }
    if not body.get("stream"):
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            }
        )
    size = int(body.get("x_chunk", 4))
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    async def events() -> AsyncIterator[bytes]:
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}
        yield _sse(
            {
                **base,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": ""},
                        "finish_reason": None,
                    }
                ],
            }
        )
        for piece in _pieces(text, size):
            yield _sse(
                {
                    **base,
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
            )
        yield _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if include_usage:
            yield _sse({**base, "choices": [], "usage": usage})
        yield _sse("[DONE]")

    return StreamingResponse(events(), media_type="text/event-stream")


async def completions(request: Request) -> Response:
    body = await request.json()
    text = _reply(body)
    return JSONResponse(
        {
            "id": "cmpl-1",
            "object": "text_completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "text": text, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
        }
    )


async def messages(request: Request) -> Response:
    body = await request.json()
    text, model = _reply(body), body.get("model", "claude-test")
    if not body.get("stream"):
        return JSONResponse(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 9, "output_tokens": 7},
            }
        )
    size = int(body.get("x_chunk", 4))

    async def events() -> AsyncIterator[bytes]:
        yield _sse(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": 9, "output_tokens": 1},
                },
            },
            "message_start",
        )
        yield _sse(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        )
        for piece in _pieces(text, size):
            yield _sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
                "content_block_delta",
            )
        yield _sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        yield _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 7},
            },
            "message_delta",
        )
        yield _sse({"type": "message_stop"}, "message_stop")

    return StreamingResponse(events(), media_type="text/event-stream")


async def items(request: Request) -> Response:
    return JSONResponse({"data": ITEMS, "count": len(ITEMS)})


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": {k: v for k, v in request.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }
    )


async def upload(request: Request) -> Response:
    digest, size = hashlib.sha256(), 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    return JSONResponse({"bytes": size, "sha256": digest.hexdigest()})


async def gzipped(request: Request) -> Response:
    data = gzip.compress(json.dumps({"data": ITEMS}).encode())
    return Response(data, media_type="application/json", headers={"content-encoding": "gzip"})


async def slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("seconds", "1")))
    return JSONResponse({"slept": True})


async def credential(request: Request) -> Response:
    return JSONResponse({"you_sent": request.headers.get("authorization", "")})


async def cards(request: Request) -> Response:
    return JSONResponse({"cards": [{"holder": "alice", "number": 4111111111111111, "cvv": 123}]})


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text("echo: " + await websocket.receive_text())
    except WebSocketDisconnect:
        pass


async def bulk(request: Request) -> Response:
    total = int(request.query_params.get("bytes", str(1024 * 1024)))
    piece = json.dumps(
        {"choices": [{"index": 0, "delta": {"content": "lorem ipsum dolor sit amet " * 8}}]}
    )
    event = f"data: {piece}\n\n".encode()

    async def events() -> AsyncIterator[bytes]:
        sent = 0
        while sent < total:
            yield event
            sent += len(event)
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


def _paced(request: Request, name: str) -> tuple[int, float]:
    return int(request.query_params.get(name, "10")), float(
        request.query_params.get("interval", "0.5")
    )


async def paced_sse(request: Request) -> Response:
    count, interval = _paced(request, "events")

    async def events() -> AsyncIterator[bytes]:
        for i in range(count):
            yield _sse({"choices": [{"index": 0, "delta": {"content": f"{i} "}}]})
            await asyncio.sleep(interval)
        yield _sse("[DONE]")

    return StreamingResponse(events(), media_type="text/event-stream")


async def paced_body(request: Request) -> Response:
    count, interval = _paced(request, "chunks")
    chunk = b"x" * 99 + b"\n"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield chunk
            await asyncio.sleep(interval)

    length = str(count * len(chunk))
    return StreamingResponse(
        chunks(), media_type="application/octet-stream", headers={"content-length": length}
    )


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/api/items", items),
            Route("/api/echo", echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            Route("/api/upload", upload, methods=["POST", "PUT"]),
            Route("/api/gzip", gzipped),
            Route("/api/slow", slow),
            Route("/api/credential", credential),
            Route("/sse/bulk", bulk),
            Route("/sse/paced", paced_sse),
            Route("/api/paced", paced_body),
            Route("/api/cards", cards),
            WebSocketRoute("/ws/echo", ws_echo),
        ]
    )


class HttpUpstreamServer:
    """`with HttpUpstreamServer() as up: up.url` — a live server for the block's duration."""

    def __init__(self, cert: Path | None = None, key: Path | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.tls = cert is not None
        config = uvicorn.Config(
            app(),
            log_level="error",
            ssl_certfile=str(cert) if cert else None,
            ssl_keyfile=str(key) if key else None,
            lifespan="off",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _run(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self) -> HttpUpstreamServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError("the fixture upstream did not start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.sock.close()

    def __enter__(self) -> HttpUpstreamServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":  # python tests/support/http_upstream.py: serve until ^C
    with HttpUpstreamServer() as server:
        print(server.url, flush=True)
        threading.Event().wait()
