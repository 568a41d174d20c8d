"""/endy: a private answer for the asker (with a share button); `/endy` or `/endy help` shows help."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from handlers import blocks, doors, texts
from handlers.common import ask_in_background
from handlers.context import SlackServices, Spawner
from handlers.doors import Status, counted
from handlers.reply import Target
from services.answer_types import Asker
from services.output_policy import WITHOUT_LINKS

_HELP_WORDS = {"", "help", "도움말", "도움", "?"}


async def on_endy(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: SlackServices,
    tasks: Spawner,
) -> Status | None:
    """Ack at once, then answer privately in the background."""
    text = str(command.get("text") or "").strip()
    if text.lower() in _HELP_WORDS:
        await ack(
            response_type="ephemeral",
            text=WITHOUT_LINKS.text(texts.help_text(services.kb.categories)),
            blocks=blocks.help_blocks(services.kb.categories),
        )
        return Status.OK
    await ack()
    channel = str(command.get("channel_id") or "")
    asker = Asker(
        user_id=str(command["user_id"]), team_id=str(command.get("team_id") or ""), surface="slash", channel_id=channel
    )
    target = Target(channel, None, respond=respond)
    ask_in_background(tasks, client, services, text, asker, target, door=doors.ENDY)
    return None  # counted when answered (handlers/reply.py)


def register(app: AsyncApp) -> None:
    """Listen to /endy."""
    app.command("/endy")(counted(doors.ENDY, on_endy))
