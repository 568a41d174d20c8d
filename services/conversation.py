"""Conversations: the history of a thread for follow-ups, which message carries an answer, and greeting state."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import asyncpg
from loguru import logger

from services.answer_types import Turn
from services.dedupe import EventDeduper
from services.persist import AttachReply, Recorder
from services.storage import Storage

HISTORY_TURNS = 6
MESSAGES_READ = 50  # a thread's messages read from Slack when PostgreSQL has none
# A greeting is once per user: remembered for a year (the marker outlives any Slack redelivery window).
GREETING_MEMORY_SECONDS = 365 * 24 * 3600

Message = Mapping[str, Any]


class ThreadReader(Protocol):
    """Reads a thread's messages where the conversation happened (Slack); None when it cannot."""

    async def replies(self, channel: str, thread_ts: str, limit: int) -> Sequence[Message] | None: ...


def turns_from_messages(messages: Sequence[Message], bot_user_id: str | None) -> list[Turn] | None:
    """(question, answer) turns from a thread's messages; None when Endy is not part of the thread."""
    is_bot = [m.get("user") == bot_user_id or bool(m.get("bot_id")) for m in messages]
    if not any(is_bot):
        return None
    turns: list[Turn] = []
    question: str | None = None
    for message, by_bot in zip(messages, is_bot, strict=True):
        if not by_bot:
            question = str(message.get("text") or "")
        elif question is not None:
            turns.append(Turn(question, str(message.get("text") or "")))
            question = None
    return turns[-HISTORY_TURNS:]


class ConversationService:
    """Thread history (PostgreSQL first, the thread itself as fallback) and greeting state (its own Redis key)."""

    def __init__(self, storage: Storage, recorder: Recorder, greeted: EventDeduper) -> None:
        self._storage = storage
        self._recorder = recorder
        self._greeted = greeted

    def replied(self, request_id: uuid.UUID, channel: str, reply_ts: str) -> None:
        """The message an answer was posted as (reactions on it vote on that answer; its thread has history)."""
        self._recorder.submit(AttachReply(request_id, channel, reply_ts))

    async def history(
        self, team_id: str, channel: str, thread_ts: str, bot_user_id: str | None, thread: ThreadReader
    ) -> list[Turn] | None:
        """Earlier (question, answer) turns of a thread Endy answered in; None when Endy is not part of it."""
        try:
            rows = await self._storage.thread_history(team_id, channel, thread_ts, limit=HISTORY_TURNS)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            logger.bind(error=type(err).__name__).warning("thread history from PostgreSQL failed; asking Slack")
        else:
            if rows:
                return [Turn(q, a) for q, a in rows]
        messages = await thread.replies(channel, thread_ts, MESSAGES_READ)
        return None if messages is None else turns_from_messages(messages, bot_user_id)

    async def first_greeting(self, team_id: str, user_id: str) -> bool:
        """True the first time a user opens Endy's messages tab (across replicas), False afterwards."""
        return await self._greeted.first_time(f"{team_id}:{user_id}")
