"""Thread context: is a thread Endy's, and what was said in it (PostgreSQL first, Slack as fallback)."""

from __future__ import annotations

import asyncpg
from loguru import logger
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from endy_bot.deps import Deps
from services.answer_types import Turn

_HISTORY_TURNS = 6


async def thread_history(
    client: AsyncWebClient, deps: Deps, team_id: str, channel: str, thread_ts: str, bot_user_id: str | None
) -> list[Turn] | None:
    """Earlier (question, answer) turns of a thread Endy answered in; None when Endy is not part of it."""
    try:
        rows = await deps.storage.thread_history(team_id, channel, thread_ts, limit=_HISTORY_TURNS)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
        logger.bind(error=type(err).__name__).warning("thread history from PostgreSQL failed; asking Slack")
    else:
        if rows:
            return [Turn(q, a) for q, a in rows]
    return await _history_from_slack(client, channel, thread_ts, bot_user_id)


async def _history_from_slack(
    client: AsyncWebClient, channel: str, thread_ts: str, bot_user_id: str | None
) -> list[Turn] | None:
    try:
        resp = await client.conversations_replies(channel=channel, ts=thread_ts, limit=50)
    except SlackApiError as err:
        logger.bind(error=err.response.get("error")).warning("conversations.replies failed")
        return None
    messages = resp.get("messages") or []
    if not any(m.get("user") == bot_user_id or m.get("bot_id") for m in messages):
        return None
    turns: list[Turn] = []
    question: str | None = None
    for m in messages:
        if m.get("user") == bot_user_id or m.get("bot_id"):
            if question is not None:
                turns.append(Turn(question, str(m.get("text") or "")))
                question = None
        else:
            question = str(m.get("text") or "")
    return turns[-_HISTORY_TURNS:]
