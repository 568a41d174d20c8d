"""A fake OpenAI-compatible HTTP server (aiohttp) for tests.

Usage::

    async with FakeOpenAI() as fake:
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test")

Fault injection uses ONE global FIFO queue of scripted behaviours. Each incoming
request consumes the first queued behaviour that matches it (``path`` filter,
compared by suffix, e.g. ``"/chat/completions"``; ``None`` matches any path).
``stream_cut`` behaviours only match streamed chat requests. Unmatched requests
are answered normally. Every request (faulted or not) is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

CHAT_PATH = "/v1/chat/completions"
EMBEDDINGS_PATH = "/v1/embeddings"
MODELS_PATH = "/v1/models"
DEFAULT_REPLY = "연차는 e-HR 시스템에서 신청해요. [1]"

BehaviourKind = Literal["fail", "slow", "stream_cut", "disconnect"]


@dataclass
class RecordedRequest:
    """One request received by the fake server."""

    path: str
    method: str
    headers: dict[str, str]
    body: Any

    @property
    def json(self) -> Any:
        """Alias for the parsed JSON body (``None`` if absent/invalid)."""
        return self.body


@dataclass
class _Behaviour:
    """A scripted fault consumed by a single request."""

    kind: BehaviourKind
    path: str | None = None
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    after_chunks: int = 2


def embed_text(text: str, dim: int = 64) -> list[float]:
    """Deterministic unit vector: signed hashed bag of character bigrams."""
    vec = [0.0] * dim
    padded = f" {text.lower()} "
    for i in range(len(padded) - 1):
        h = zlib.crc32(padded[i : i + 2].encode("utf-8"))
        vec[h % dim] += 1.0 if (h >> 31) & 1 == 0 else -1.0
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        vec[0], norm = 1.0, 1.0
    return [v / norm for v in vec]


def _count_tokens(text: str) -> int:
    """Rough token estimate (never zero for non-empty text)."""
    return max(1, len(text) // 4) if text else 0


def _error_type(status: int) -> str:
    """OpenAI-style error ``type`` for an HTTP status."""
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_exceeded",
    }.get(status, "server_error" if status >= 500 else "api_error")


class FakeOpenAI:
    """Real aiohttp server on 127.0.0.1 speaking the OpenAI wire format."""

    def __init__(
        self,
        reply: str = DEFAULT_REPLY,
        *,
        model: str = "gpt-4o-mini",
        embedding_model: str = "text-embedding-3-small",
        embedding_dim: int = 64,
        chunk_size: int = 8,
    ) -> None:
        self.reply: str = reply
        self.reply_fn: Callable[[dict[str, Any]], str] | None = None
        self.model = model
        self.embedding_model = embedding_model
        self.embedding_dim = embedding_dim
        self.chunk_size = chunk_size
        # Slow answers and cut streams the fake served to their end: 0 while no client waited a fault out.
        self.faults_completed = 0
        self.requests: list[RecordedRequest] = []
        self._queue: list[_Behaviour] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ---------------------------------------------------------------- lifecycle
    @property
    def base_url(self) -> str:
        """Base URL to pass to ``openai.AsyncOpenAI(base_url=...)``."""
        if self._port is None:
            raise RuntimeError("FakeOpenAI is not started")
        return f"http://127.0.0.1:{self._port}/v1"

    async def start(self) -> None:
        """Start listening on a random free port."""
        app = web.Application()
        app.router.add_post(CHAT_PATH, self._handle_chat)
        app.router.add_post(EMBEDDINGS_PATH, self._handle_embeddings)
        app.router.add_get(MODELS_PATH, self._handle_models)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop the server, cancelling in-flight handlers quickly."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeOpenAI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------ inspection
    def chat_requests(self) -> list[RecordedRequest]:
        """Recorded ``POST /v1/chat/completions`` requests."""
        return [r for r in self.requests if r.path == CHAT_PATH]

    def embedding_requests(self) -> list[RecordedRequest]:
        """Recorded ``POST /v1/embeddings`` requests."""
        return [r for r in self.requests if r.path == EMBEDDINGS_PATH]

    # ------------------------------------------------------- fault injection
    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        retry_after: float | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``n`` matching requests with an OpenAI error."""
        self._queue += [_Behaviour("fail", path, status=status, retry_after=retry_after) for _ in range(n)]

    def slow_next(self, n: int, delay_seconds: float, path: str | None = None) -> None:
        """Sleep ``delay_seconds`` before answering the next ``n`` matching requests."""
        self._queue += [_Behaviour("slow", path, delay=delay_seconds) for _ in range(n)]

    def stream_cut_next(self, n: int = 1, after_chunks: int = 2, path: str | None = None) -> None:
        """Cut the next ``n`` streamed chat responses after ``after_chunks`` chunks."""
        self._queue += [_Behaviour("stream_cut", path, after_chunks=after_chunks) for _ in range(n)]

    def disconnect_next(self, n: int = 1, path: str | None = None) -> None:
        """Close the connection without any response for the next ``n`` requests."""
        self._queue += [_Behaviour("disconnect", path) for _ in range(n)]

    def _take(self, path: str, streaming: bool) -> _Behaviour | None:
        """Pop the first queued behaviour matching this request."""
        for i, b in enumerate(self._queue):
            if b.path is not None and not path.endswith(b.path):
                continue
            if b.kind == "stream_cut" and not (streaming and path == CHAT_PATH):
                continue
            return self._queue.pop(i)
        return None

    # -------------------------------------------------------------- handlers
    async def _prelude(self, request: web.Request) -> tuple[Any, _Behaviour | None, web.Response | None]:
        """Record the request and apply a pre-response fault, if any."""
        body: Any = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        self.requests.append(RecordedRequest(request.path, request.method, dict(request.headers), body))
        streaming = isinstance(body, dict) and bool(body.get("stream"))
        behaviour = self._take(request.path, streaming)
        if behaviour is None:
            return body, None, None
        if behaviour.kind == "slow":
            await asyncio.sleep(behaviour.delay)  # cancelled on disconnect/shutdown
            self.faults_completed += 1
        elif behaviour.kind == "disconnect":
            await self._hang_up(request)
        elif behaviour.kind == "fail":
            return body, behaviour, self._error_response(behaviour)
        return body, behaviour, None

    @staticmethod
    async def _hang_up(request: web.Request) -> None:
        """Close the socket abruptly; the handler is then cancelled by aiohttp."""
        if request.transport is not None:
            request.transport.close()
        await asyncio.sleep(3600)
        raise ConnectionResetError("fake hang-up")

    @staticmethod
    def _error_response(b: _Behaviour) -> web.Response:
        """OpenAI-style error JSON response."""
        etype = _error_type(b.status)
        payload = {
            "error": {
                "message": f"Fake error {b.status}",
                "type": etype,
                "param": None,
                "code": etype if b.status == 429 else None,
            }
        }
        headers: dict[str, str] = {}
        if b.retry_after is not None:
            headers["Retry-After"] = f"{b.retry_after:g}"
            headers["retry-after-ms"] = str(int(b.retry_after * 1000))
        return web.json_response(payload, status=b.status, headers=headers)

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/chat/completions`` (streaming and non-streaming)."""
        body, behaviour, early = await self._prelude(request)
        if early is not None:
            return early
        req: dict[str, Any] = body if isinstance(body, dict) else {}
        text = self.reply_fn(req) if self.reply_fn is not None else self.reply
        model = str(req.get("model") or self.model)
        prompt_tokens = _count_tokens(json.dumps(req.get("messages", []), ensure_ascii=False))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": _count_tokens(text),
            "total_tokens": prompt_tokens + _count_tokens(text),
        }
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if not req.get("stream"):
            return web.json_response(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text, "refusal": None},
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                    "system_fingerprint": None,
                }
            )
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            c: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                c["usage"] = None
            return c

        chunks = [chunk({"role": "assistant", "content": ""})]
        chunks += [chunk({"content": text[i : i + self.chunk_size]}) for i in range(0, len(text), self.chunk_size)]
        chunks.append(chunk({}, "stop"))
        if include_usage:
            chunks.append({**chunk({}), "choices": [], "usage": usage})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        cut = behaviour.after_chunks if behaviour is not None and behaviour.kind == "stream_cut" else None
        for i, c in enumerate(chunks):
            if cut is not None and i >= cut:
                await self._hang_up(request)
            await resp.write(f"data: {json.dumps(c, ensure_ascii=False)}\n\n".encode())
        if cut is not None:
            await self._hang_up(request)
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        self.faults_completed += cut is not None
        return resp

    async def _handle_embeddings(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/embeddings`` with ``float`` or ``base64`` encoding."""
        body, _, early = await self._prelude(request)
        if early is not None:
            return early
        req: dict[str, Any] = body if isinstance(body, dict) else {}
        raw = req.get("input", "")
        if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)):
            raw = [raw]
        texts = [t if isinstance(t, str) else " ".join(map(str, t)) for t in raw]
        dim = int(req.get("dimensions") or self.embedding_dim)
        as_b64 = req.get("encoding_format") == "base64"
        data: list[dict[str, Any]] = []
        for i, t in enumerate(texts):
            vec = embed_text(t, dim)
            emb: Any = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode() if as_b64 else vec
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(_count_tokens(t) for t in texts)
        model = str(req.get("model") or self.embedding_model)
        return web.json_response(
            {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        )

    async def _handle_models(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/models`` listing the chat and embedding models."""
        _, _, early = await self._prelude(request)
        if early is not None:
            return early
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in (self.model, self.embedding_model)
        ]
        return web.json_response({"object": "list", "data": data})
