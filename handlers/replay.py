"""Signed slash commands and interactions run once: Slack accepts a signed request for 5 minutes, so the same one
delivered again (HTTP: the same X-Slack-Signature and X-Slack-Request-Timestamp; Socket Mode: the same envelope id)
is acked and dropped, across replicas (Redis SET NX: services/dedupe.py). Events are de-duplicated by their own
event_id after the ack (handlers/common.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from loguru import logger
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from handlers.context import SlackServices

_NOT_GUARDED = frozenset({"event_callback", "url_verification", "ssl_check", "app_rate_limited"})


def _header(req: AsyncBoltRequest, name: str) -> str:
    values = req.headers.get(name) or [""]
    return str(values[0])


def replay_key(req: AsyncBoltRequest, envelope: str | None) -> str | None:
    """What identifies one delivery of a command or an interaction (None: not guarded here); `envelope`: the
    Socket Mode envelope id the composition root put into the context (endy_bot/socket_mode.py)."""
    if req.body.get("type") in _NOT_GUARDED:
        return None
    if req.mode == "socket_mode":
        return f"envelope:{envelope}" if envelope else None
    signature, timestamp = _header(req, "x-slack-signature"), _header(req, "x-slack-request-timestamp")
    if not signature or not timestamp:
        return None
    return "signed:" + hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()


async def once_per_request(
    req: AsyncBoltRequest, context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
) -> BoltResponse | None:
    """Global middleware: a replayed request gets an empty ack and reaches no listener."""
    key = replay_key(req, context.get("envelope_id"))
    services: SlackServices = context["services"]
    if key is None or await services.replays.first_time(key):
        await next()
        return None
    kind = "command" if "command" in req.body else str(req.body.get("type") or "unknown")
    services.metrics.errors.labels(type="slack_replay").inc()
    logger.bind(kind=kind).info("replayed Slack request ignored")
    return BoltResponse(status=200, body="")


def register(app: AsyncApp) -> None:
    """Guard every command and interaction (after the middleware that injects the services)."""
    app.middleware(once_per_request)
