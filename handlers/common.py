"""What every Slack handler shares: which messages are questions, and running one in the background."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers.context import SlackServices, Spawner
from handlers.doors import Door, Status, count
from handlers.reply import Target, deliver
from services.answer_types import Asker, Turn

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_INJECTABLE = frozenset({"event", "context", "client", "services", "tasks"})
EventHandler = Callable[..., Awaitable[Status | None]]


def once_per_delivery(handler: EventHandler, door: Door | None = None) -> Callable[..., Awaitable[None]]:
    """An Events API listener that Bolt acks at once: the duplicate check (Slack redelivers what it thinks was
    lost) and the handler run afterwards as tracked background work, so a slow Redis never delays the ack and
    shutdown waits for them. The handler may ask for event, context, client, services and tasks; the status it
    returns is counted at `door`."""
    wanted = inspect.getfullargspec(handler).args
    if not set(wanted) <= _INJECTABLE:
        raise TypeError(f"{handler.__name__} asks for {sorted(set(wanted) - _INJECTABLE)}")

    async def listener(event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        services: SlackServices = context["services"]
        tasks: Spawner = context["tasks"]
        given = {"event": event, "context": context, "client": client, "services": services, "tasks": tasks}
        event_id = context.get("event_id")

        async def run() -> None:
            if event_id and not await services.deliveries.first_time(event_id):
                logger.bind(event_id=event_id).info("duplicate Slack delivery ignored")
                return
            status = await handler(**{name: given[name] for name in wanted})
            if status is not None and door is not None:
                count(services.metrics, door, status)

        where = {
            "channel": event.get("channel"),
            "user": event.get("user"),
            "thread_ts": event.get("thread_ts") or event.get("ts"),
            "endpoint": "listener",
        }
        tasks.spawn(run(), context=where)

    listener.__name__ = listener.__qualname__ = handler.__name__
    return listener


def is_user_message(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """A new message typed by a person: no edits, deletions, joins, bot or own messages, nor partial payloads."""
    if event.get("subtype") not in (None, "file_share", "thread_broadcast"):
        return False
    channel, ts = event.get("channel"), event.get("ts")
    if not (channel and isinstance(channel, str) and ts and isinstance(ts, str)):
        return False  # nothing to answer into (the handlers index both)
    return not event.get("bot_id") and event.get("user") not in (None, bot_user_id)


def mentions(text: str, user_id: str | None) -> bool:
    """True when the text mentions the user."""
    return bool(user_id) and f"<@{user_id}" in text


def strip_mentions(text: str) -> str:
    """The question without the @엔디 mention(s)."""
    return " ".join(_MENTION.sub(" ", text).split())


def ask_in_background(
    tasks: Spawner,
    client: AsyncWebClient,
    services: SlackServices,
    question: str,
    asker: Asker,
    target: Target,
    history: list[Turn] | None = None,
    *,
    door: Door,
) -> None:
    """Answer after the ack; failures reach the app's error hook with enough context to apologise."""
    context = {
        "channel": target.channel,
        "thread_ts": target.thread_ts,
        "user": asker.user_id,
        "respond": target.respond,
        "endpoint": door.endpoint,
        "kind": door.kind,
    }
    tasks.spawn(deliver(client, services, question, asker, target, history or [], door=door), context=context)
