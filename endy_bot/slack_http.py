"""The Slack HTTP door: a request is verified (timestamp, then the v0 signature over its raw bytes) before anything
parses its body; every refusal is a clean 4xx, counted in errors_total and logged as one short line without it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware
from loguru import logger
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request.async_request import AsyncBoltRequest

from config import problems
from config.settings import ConfigError
from services.metrics import Metrics

PATH = "/slack/events"
MAX_SKEW_SECONDS = 5 * 60  # Slack's replay window (slack_sdk's SignatureVerifier allows the same)
MAX_BODY_BYTES = 1024**2  # aiohttp's default client_max_size; Slack's payloads are a few KB
# What Bolt's parsing (AsyncBoltRequest: json.loads, parse_qsl, then context extraction that assumes a dict of
# dicts) raises on a signed but malformed body; an unsigned body never gets this far.
_PARSE_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class ReadTimeouts:
    """How long a client may take over its request line and headers, and then over its body.

    aiohttp's keep-alive timer starts with the connection and incoming bytes do not reset it, so it closes a client
    still sending headers as it closes an idle one: one number for both. The sidecar's clients (kubelet, Prometheus)
    connect directly: 10 s. The Slack listener sits behind an Ingress that buffers whole requests and keeps idle
    upstream connections open (nginx: 60 s); closing ours first races a request sent on the closing connection (a
    502 for Slack), so it waits longer. The Slack door bounds its own reading of a body; lingering_time bounds the
    reading (and discarding) of what is left of a refused body on both listeners.
    """

    header_seconds: float = 10.0
    proxied_header_seconds: float = 75.0
    body_seconds: float = 10.0


class Refused(Exception):
    """A request turned away before Bolt sees it."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_timestamp(headers: Mapping[str, str], now: float) -> str:
    """The request's timestamp, when signed and inside Slack's window (headers only: no body read yet)."""
    ts, signature = headers.get("X-Slack-Request-Timestamp", ""), headers.get("X-Slack-Signature", "")
    if not ts or not signature:
        raise Refused(401, "unsigned")
    if not (ts.isascii() and ts.isdigit()) or len(ts) > 12:
        raise Refused(401, "bad_timestamp")
    if abs(now - int(ts)) > MAX_SKEW_SECONDS:
        raise Refused(401, "stale_timestamp")
    return ts


def check_signature(secret: bytes, headers: Mapping[str, str], ts: str, body: bytes) -> None:
    """Raise Refused unless X-Slack-Signature is v0=HMAC-SHA256(secret, "v0:{ts}:{body}") (constant time)."""
    expected = b"v0=" + hmac.new(secret, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest().encode()
    given = headers.get("X-Slack-Signature", "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected, given):
        raise Refused(401, "bad_signature")


async def read_body(request: web.Request, seconds: float) -> bytes:
    """The body, at most MAX_BODY_BYTES, within `seconds`."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise Refused(413, "too_large")
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:  # chunked: no Content-Length to look at first
        raise Refused(413, "too_large") from None
    except TimeoutError:
        raise Refused(408, "slow_body") from None


def bolt_request(request: web.Request, body: bytes) -> AsyncBoltRequest:
    """Bolt's request for a verified body (Bolt parses it here); a malformed one is a 400."""
    try:
        parsed = AsyncBoltRequest(
            body=body.decode("utf-8"),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]  # as slack_bolt.adapter.aiohttp passes them
        )
    except _PARSE_ERRORS:
        raise Refused(400, "malformed_body") from None
    if not isinstance(parsed.body, dict):
        raise Refused(400, "malformed_body")
    return parsed


def refused(metrics: Metrics, status: int, reason: str, level: str = "INFO") -> None:
    """Count a refusal in errors_total{type="http_<reason>"} and log it as one short line (never the request)."""
    metrics.errors.labels(type=f"http_{reason}").inc()
    logger.bind(reason=reason, status=status).log(level, "http request refused")


def _refusal_response(metrics: Metrics, status: int, reason: str) -> web.Response:
    refused(metrics, status, reason)
    response = web.json_response({"error": "invalid_request"}, status=status)
    if status == 408:
        response.force_close()
    return response


class ServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger for both listeners: a request too malformed to route (the HTTP parser's 400) is
    one short counted line instead of an ERROR traceback quoting the request's bytes; the rest is as aiohttp logs."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(logging.getLogger("aiohttp.server"))
        self._metrics = metrics

    def _refused(self, exc_info: object, level: str) -> bool:
        if not isinstance(exc_info, HttpProcessingError):
            return False
        refused(self._metrics, exc_info.code, "malformed_request", level)
        return True

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        """aiohttp's choice for the first bytes not being HTTP at all (TLS to a plain port, scanners)."""
        if not self._refused(kwargs.get("exc_info"), "DEBUG"):
            super().debug(msg, *args, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """A client's malformed request is no server error: INFO, no traceback; a handler's failure stays one."""
        if not self._refused(kwargs.get("exc_info"), "INFO"):
            super().exception(msg, *args, **kwargs)


def _router_refusals(metrics: Metrics) -> Middleware:
    @web.middleware
    async def refusals(request: web.Request, handler: _Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:  # 404 / 405 from the router: no framework page, counted like the rest
            response = _refusal_response(metrics, exc.status, exc.reason.lower().replace(" ", "_"))
            if "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            return response

    return refusals


async def name_no_framework(request: web.Request, response: web.StreamResponse) -> None:
    """Server: endy on every routed response (aiohttp would name itself and its version; a request too
    malformed to route still gets aiohttp's own bare error reply)."""
    response.headers["Server"] = "endy"


def slack_web_app(
    app: AsyncApp, signing_secret: str | None, metrics: Metrics, timeouts: ReadTimeouts
) -> web.Application:
    """POST /slack/events: verify, then parse, then Bolt; nothing else is routed."""
    if not signing_secret:  # an empty key would let anyone sign
        raise ConfigError([problems.token_missing("SLACK_SIGNING_SECRET", mode="http")])
    secret = signing_secret.encode()
    # Bolt verifies again (defence in depth); its refusal line carries the whole body at INFO. It is only reachable
    # in the instant a timestamp crosses the window between the two checks, but a body must never be logged.
    # (Bolt sets this level when an AsyncApp is built, so it is set here, after build_app.)
    logging.getLogger(f"slack_bolt.{RequestVerification.__name__}").setLevel(logging.WARNING)  # Bolt's name for it

    async def events(request: web.Request) -> web.StreamResponse:
        try:
            ts = check_timestamp(request.headers, time.time())
            body = await read_body(request, timeouts.body_seconds)
            check_signature(secret, request.headers, ts, body)
            parsed = bolt_request(request, body)
        except Refused as refusal:
            return _refusal_response(metrics, refusal.status, refusal.reason)
        return await to_aiohttp_response(await app.async_dispatch(parsed))

    web_app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_router_refusals(metrics)])
    web_app.router.add_post(PATH, events)
    web_app.on_response_prepare.append(name_no_framework)
    return web_app
