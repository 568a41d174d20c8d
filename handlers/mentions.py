"""@엔디 in a channel: answer in a thread (with the thread's history when it is a follow-up)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers import doors
from handlers.common import ask_in_background, is_user_message, once_per_delivery, strip_mentions
from handlers.context import SlackServices, Spawner
from handlers.reply import Target
from handlers.threads import SlackThread
from services.answer_types import Asker, Turn


async def on_mention(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient, services: SlackServices, tasks: Spawner
) -> None:
    """Answer the mention in its thread."""
    if not is_user_message(event, context.bot_user_id):
        return
    channel, team = str(event["channel"]), str(context.team_id or event.get("team") or "")
    thread_ts = str(event.get("thread_ts") or event["ts"])
    history: list[Turn] = []
    if event.get("thread_ts"):
        turns = await services.conversation.history(team, channel, thread_ts, context.bot_user_id, SlackThread(client))
        history = turns or []
    asker = Asker(user_id=str(event["user"]), team_id=team, surface="mention", channel_id=channel, thread_ts=thread_ts)
    ask_in_background(
        tasks,
        client,
        services,
        strip_mentions(str(event.get("text") or "")),
        asker,
        Target(channel, thread_ts),
        history,
        door=doors.MENTION,
    )


def register(app: AsyncApp) -> None:
    """Listen to app_mention events."""
    app.event("app_mention")(once_per_delivery(on_mention))
