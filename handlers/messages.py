"""DMs (agent messaging) and follow-ups in threads Endy already answered in."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers import doors
from handlers.common import ask_in_background, is_user_message, mentions, once_per_delivery, strip_mentions
from handlers.context import SlackServices, Spawner
from handlers.reply import Target
from handlers.threads import SlackThread
from services.answer_types import Asker, Turn


async def on_message(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient, services: SlackServices, tasks: Spawner
) -> None:
    """A DM is always a question; a channel message is one only as a reply in Endy's thread."""
    bot = context.bot_user_id
    text = str(event.get("text") or "")
    if not is_user_message(event, bot) or mentions(text, bot):  # mentions are app_mention's job
        return
    channel, team = str(event["channel"]), str(context.team_id or event.get("team") or "")
    is_dm = event.get("channel_type") == "im"
    if not is_dm and not event.get("thread_ts"):
        return
    thread_ts = str(event.get("thread_ts") or event["ts"])
    history: list[Turn] | None = []
    if event.get("thread_ts"):
        history = await services.conversation.history(team, channel, thread_ts, bot, SlackThread(client))
    if history is None:  # a thread Endy is not part of
        if not is_dm:
            return
        history = []
    asker = Asker(
        user_id=str(event["user"]),
        team_id=team,
        surface="dm" if is_dm else "mention",
        channel_id=channel,
        thread_ts=thread_ts,
    )
    ask_in_background(
        tasks,
        client,
        services,
        strip_mentions(text),
        asker,
        Target(channel, thread_ts),
        history,
        door=doors.DM if is_dm else doors.THREAD,
    )


def register(app: AsyncApp) -> None:
    """Listen to message events (message.im, message.channels, message.groups)."""
    app.event("message")(once_per_delivery(on_message))
