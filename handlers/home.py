"""App Home: the messages tab greets once with suggested prompts; the home tab explains how to use Endy."""

from __future__ import annotations

from typing import Any

from loguru import logger
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers import blocks, learning_blocks, texts
from handlers.admin_view import dashboard_lines, text_blocks
from handlers.common import once_per_delivery
from handlers.context import SlackServices


async def on_home_opened(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient, services: SlackServices
) -> None:
    """Publish the home tab, or greet once in the messages tab."""
    user = event.get("user")
    if not isinstance(user, str):
        return
    if event.get("tab") == "home":
        await publish_home(client, services, str(context.team_id or ""), user)
        return
    if not await services.conversation.first_greeting(str(context.team_id), user):
        return
    text = blocks.greeting_text(services.kb.categories)
    channel = event.get("channel")
    await client.chat_postMessage(channel=channel if isinstance(channel, str) and channel else user, text=text)


async def publish_home(client: AsyncWebClient, services: SlackServices, team: str, user: str) -> None:
    """The home tab for one user: admins also see the dashboard and the open knowledge gaps with their actions."""
    extra: list[blocks.Block] = []
    if await services.admin.is_admin(team, user):
        lines = dashboard_lines(await services.admin.report(7), services.kb)
        if texts.REPORT_GAPS in lines:  # the actionable list below replaces it
            lines = lines[: lines.index(texts.REPORT_GAPS) - 1]
        gaps = await services.learning.gaps(days=7, limit=5)
        title, empty = texts.GAPS_HOME_TITLE, texts.GAPS_EMPTY.format(days=7)
        extra = [
            {"type": "divider"},
            *text_blocks(lines),
            {"type": "divider"},
            *learning_blocks.gap_blocks(gaps, services.keys, services.kb, title=title, empty=empty),
        ]
    await client.views_publish(user_id=user, view=blocks.home_view(services.kb.categories, extra))


async def refresh_if_home(client: AsyncWebClient, services: SlackServices, body: dict[str, Any]) -> None:
    """After an action pressed in the App Home, publish it again (the gap it changed leaves the list)."""
    view = body.get("view") or {}
    if view.get("type") == "home":
        user = body.get("user") or {}
        team = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
        await publish_home(client, services, team, str(user.get("id") or ""))


async def on_thread_started(event: dict[str, Any], client: AsyncWebClient, services: SlackServices) -> None:
    """A new agent thread: offer one suggested prompt per category."""
    thread = event.get("assistant_thread")
    if not isinstance(thread, dict):
        return
    try:
        await client.assistant_threads_setSuggestedPrompts(
            channel_id=str(thread.get("channel_id") or ""),
            thread_ts=str(thread.get("thread_ts") or ""),
            title=texts.SUGGESTED_PROMPTS_TITLE,
            prompts=blocks.suggested_prompts(services.kb.categories),
        )
    except SlackApiError as err:
        logger.bind(error=err.response.get("error")).warning("suggested prompts not set")


def register(app: AsyncApp) -> None:
    """Listen to app_home_opened and assistant_thread_started."""
    app.event("app_home_opened")(once_per_delivery(on_home_opened))
    app.event("assistant_thread_started")(once_per_delivery(on_thread_started))
