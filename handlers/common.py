"""What every Slack handler shares: which messages are questions, and running one in the background."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from endy_bot.deps import Deps
from endy_bot.tasks import TaskTracker
from handlers.reply import Target, deliver
from services.answer_types import Asker, Turn

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


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
    tasks: TaskTracker,
    client: AsyncWebClient,
    deps: Deps,
    question: str,
    asker: Asker,
    target: Target,
    history: list[Turn] | None = None,
    *,
    endpoint: str,
    kind: str,
) -> None:
    """Answer after the ack; failures reach the app's error hook with enough context to apologise."""
    context = {
        "channel": target.channel,
        "thread_ts": target.thread_ts,
        "user": asker.user_id,
        "respond": target.respond,
        "endpoint": endpoint,
        "kind": kind,
    }
    tasks.spawn(
        deliver(client, deps, question, asker, target, history or [], endpoint=endpoint, kind=kind), context=context
    )
