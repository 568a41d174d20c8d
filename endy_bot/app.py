"""build_app: the Bolt app wired to Endy's services (listeners in handlers/, one module per surface)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from endy_bot.deps import Deps
from endy_bot.socket_mode import current_envelope_id
from endy_bot.tasks import TaskTracker
from handlers import actions, admin, commands, home, mentions, messages, reactions, replay, texts


def slack_client(deps: Deps) -> AsyncWebClient:
    """The bot's Web API client: SLACK_API_URL, and retries for 429 (Retry-After), 5xx and connection errors."""
    token = deps.settings.slack_bot_token.get_secret_value() if deps.settings.slack_bot_token else None
    # One long-lived session: slack_sdk otherwise opens a new connection (a TLS handshake against Slack)
    # for every call; measured ~35% more answers/s in bench/slack_load.py. Closed by open_deps's exit stack.
    client = AsyncWebClient(token=token, base_url=deps.settings.slack_api_url, timeout=10, session=deps.http)
    client.retry_handlers.extend(
        [
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


def error_hook(deps: Deps, client: AsyncWebClient) -> Callable[[BaseException, dict[str, Any]], Awaitable[None]]:
    """What happens to any unexpected exception: masked log with a reference id, errors_total, an apology."""

    async def report(error: BaseException, where: dict[str, Any]) -> None:
        ref = uuid.uuid4().hex[:8]
        deps.metrics.errors.labels(type(error).__name__).inc()
        logger.opt(exception=error).bind(ref=ref, endpoint=where.get("endpoint")).error("unhandled error")
        text = texts.GENERIC_ERROR.format(ref=ref)
        try:
            if where.get("respond") is not None:
                await where["respond"](response_type="ephemeral", replace_original=False, text=text)
            elif where.get("channel") and where.get("user"):
                await client.chat_postEphemeral(
                    channel=where["channel"], user=where["user"], text=text, thread_ts=where.get("thread_ts")
                )
        except SlackApiError:
            logger.bind(ref=ref).warning("could not tell the user about the error")

    return report


class _NoUnusedTokenNote(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and, given Endy's client too, warns at every start
    that the token "will be unused": the client carries the same token (from settings), so nothing is unused."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


def _quiet_bolt_token_note() -> None:
    bolt = logging.getLogger(f"slack_bolt.{AsyncApp.__name__}")  # Bolt's framework logger (get_bolt_logger)
    if not any(isinstance(f, _NoUnusedTokenNote) for f in bolt.filters):
        bolt.addFilter(_NoUnusedTokenNote())


def build_app(deps: Deps, tasks: TaskTracker, *, http: bool = False) -> AsyncApp:
    """The Bolt app: one global middleware injects the Slack services and the task tracker; Slack retries are
    answered once."""
    settings = deps.settings
    client = slack_client(deps)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    _quiet_bolt_token_note()
    app = AsyncApp(
        client=client,
        signing_secret=secret if http else None,
        request_verification_enabled=http,
        ignoring_self_events_enabled=True,
    )
    report = error_hook(deps, client)
    if tasks.on_error is None:
        tasks.on_error = report
    tasks_hook = tasks

    @app.middleware
    async def inject(context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> Any:
        event_id = body.get("event_id")
        if event_id:  # event listeners check it after the ack (handlers.common.once_per_delivery)
            context["event_id"] = str(event_id)
        envelope_id = current_envelope_id()
        if envelope_id:  # Socket Mode: the replay guard's key (handlers/replay.py)
            context["envelope_id"] = envelope_id
        context["services"] = deps.slack
        context["tasks"] = tasks_hook
        return await next()

    @app.error
    async def on_error(error: BaseException, body: dict[str, Any]) -> None:
        raw_event = body.get("event")
        event: dict[str, Any] = raw_event if isinstance(raw_event, dict) else {}
        await report(
            error,
            {
                "channel": event.get("channel") or (body.get("channel") or {}).get("id"),
                "user": event.get("user") or (body.get("user") or {}).get("id"),
                "thread_ts": event.get("thread_ts") or event.get("ts"),
                "endpoint": "listener",
            },
        )

    replay.register(app)  # after `inject`: a replayed command or interaction is dropped before any listener
    for module in (messages, mentions, commands, admin, actions, reactions, home):
        module.register(app)
    return app
