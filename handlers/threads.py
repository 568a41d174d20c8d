"""A Slack thread as the conversation service reads it when PostgreSQL has no history (services/conversation.py)."""

from __future__ import annotations

from collections.abc import Sequence

from loguru import logger
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from services.conversation import Message


class SlackThread:
    """conversations.replies through the bot's client (None when Slack refuses)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def replies(self, channel: str, thread_ts: str, limit: int) -> Sequence[Message] | None:
        """The thread's messages, oldest first."""
        try:
            resp = await self._client.conversations_replies(channel=channel, ts=thread_ts, limit=limit)
        except SlackApiError as err:
            logger.bind(error=err.response.get("error")).warning("conversations.replies failed")
            return None
        return list(resp.get("messages") or [])
