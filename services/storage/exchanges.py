"""Answered questions: recording them once, their conversations, and the Slack replies that carry them."""

from __future__ import annotations

import json
import uuid

import asyncpg
from loguru import logger

from services.storage.records import (
    KINDS,
    MAX_ANSWER_CHARS,
    MAX_QUESTION_CHARS,
    SURFACES,
    Exchange,
    check_choice,
    clip,
    clip_optional,
    count,
    sources_json,
)

_MESSAGE_FOR_REQUEST = "SELECT id FROM messages WHERE request_id = $1"
_MESSAGE_FOR_REPLY = "SELECT id FROM messages WHERE channel_id = $1 AND reply_ts = $2"
_ATTACH_REPLY = "UPDATE messages SET channel_id = $2, reply_ts = $3 WHERE request_id = $1"

# The row is refreshed at most hourly; a conflicting row is locked either way, which only serialises one
# user's concurrent questions.
_UPSERT_USER = """
INSERT INTO slack_users AS u (team_id, user_id, last_seen_at) VALUES ($1, $2, now())
ON CONFLICT (team_id, user_id) DO UPDATE SET last_seen_at = excluded.last_seen_at
WHERE u.last_seen_at IS NULL OR u.last_seen_at < excluded.last_seen_at - interval '1 hour'"""

_FIND_THREAD = "SELECT id FROM conversations WHERE team_id = $1 AND channel_id = $2 AND thread_ts = $3"
# The no-op update makes RETURNING yield the id when a concurrent request created the thread first.
_UPSERT_THREAD = """
INSERT INTO conversations (surface, team_id, channel_id, thread_ts, user_id, created_at)
VALUES ($1, $2, $3, $4, $5, coalesce($6, now()))
ON CONFLICT (team_id, channel_id, thread_ts) WHERE thread_ts IS NOT NULL
DO UPDATE SET thread_ts = excluded.thread_ts
RETURNING id"""

_INSERT_MESSAGE = """
INSERT INTO messages (request_id, conversation_id, user_id, question, answer, kind, sources, confidence,
                      used_llm, llm_failed, model, prompt_tokens, completion_tokens, latency_ms, category,
                      department, kb_version, channel_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
        coalesce($19, now()))
ON CONFLICT (request_id) DO NOTHING
RETURNING id"""

_THREAD_HISTORY = """
SELECT question, answer FROM (
    SELECT m.question, m.answer, m.created_at, m.id
    FROM conversations c JOIN messages m ON m.conversation_id = c.id
    WHERE c.team_id = $1 AND c.channel_id = $2 AND c.thread_ts = $3
    ORDER BY m.created_at DESC, m.id DESC
    LIMIT $4
) AS recent
ORDER BY created_at, id"""


_STORED_ANSWER = "SELECT question, answer, kind, sources FROM messages WHERE request_id = $1"


class _AlreadyRecorded(Exception):
    """A concurrent call stored the same request_id first; roll back ours."""


class ExchangeStore:
    """Records exchanges idempotently and finds them again by request, reply or thread."""

    _pool: asyncpg.Pool

    async def record_exchange(self, ex: Exchange) -> int:
        """Store the exchange (creating or reusing its conversation) and return its message id."""
        _validate(ex)
        async with self._pool.acquire() as conn:
            existing = await conn.fetchval(_MESSAGE_FOR_REQUEST, ex.request_id)
            if existing is not None:
                return int(existing)
            try:
                async with conn.transaction():
                    await conn.execute(_UPSERT_USER, ex.team_id, ex.user_id)
                    conversation_id = await _conversation(conn, ex)
                    message_id = await conn.fetchval(_INSERT_MESSAGE, *_message_args(ex, conversation_id))
                    if message_id is None:
                        raise _AlreadyRecorded
            except _AlreadyRecorded:
                message_id = await conn.fetchval(_MESSAGE_FOR_REQUEST, ex.request_id)
        return int(message_id)

    async def attach_reply(self, request_id: uuid.UUID, channel_id: str, reply_ts: str) -> None:
        """Remember the bot's Slack message (channel, ts) that carries the answer to request_id."""
        async with self._pool.acquire() as conn:
            status = await conn.execute(_ATTACH_REPLY, request_id, channel_id, reply_ts)
        if status == "UPDATE 0":
            logger.bind(request_id=str(request_id)).warning("attach_reply: no message recorded for this request")

    async def message_id_for_reply(self, channel_id: str, reply_ts: str) -> int | None:
        """The message whose answer is the bot's Slack message (channel, ts), if any."""
        async with self._pool.acquire() as conn:
            found = await conn.fetchval(_MESSAGE_FOR_REPLY, channel_id, reply_ts)
        return None if found is None else int(found)

    async def message_id_for_request(self, request_id: uuid.UUID) -> int | None:
        """The message recorded for request_id, if any."""
        async with self._pool.acquire() as conn:
            found = await conn.fetchval(_MESSAGE_FOR_REQUEST, request_id)
        return None if found is None else int(found)

    async def stored_answer(self, request_id: uuid.UUID) -> tuple[str, str, str, list[dict[str, str | None]]] | None:
        """(question, answer, kind, sources) recorded for request_id, if any (to share or escalate it)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_STORED_ANSWER, request_id)
        if row is None:
            return None
        sources = row["sources"]
        parsed = json.loads(sources) if isinstance(sources, str) else list(sources or [])
        return row["question"], row["answer"], row["kind"], parsed

    async def thread_history(
        self, team_id: str, channel_id: str, thread_ts: str, limit: int = 6
    ) -> list[tuple[str, str]]:
        """The thread's last `limit` (question, answer) pairs, oldest first."""
        if limit <= 0:
            return []
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_THREAD_HISTORY, team_id, channel_id, thread_ts, limit)
        return [(row["question"], row["answer"]) for row in rows]


def _validate(ex: Exchange) -> None:
    check_choice("surface", ex.surface, SURFACES)
    check_choice("kind", ex.kind, KINDS)
    if ex.thread_ts is not None and ex.channel_id is None:
        raise ValueError("an exchange in a thread needs its channel_id")
    if ex.created_at is not None and ex.created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")


async def _conversation(conn: asyncpg.Connection, ex: Exchange) -> int:
    """The conversation for the exchange: the thread's existing one, or a new one."""
    if ex.thread_ts is not None:
        found = await conn.fetchval(_FIND_THREAD, ex.team_id, ex.channel_id, ex.thread_ts)
        if found is not None:
            return int(found)
    created = await conn.fetchval(
        _UPSERT_THREAD, ex.surface, ex.team_id, ex.channel_id, ex.thread_ts, ex.user_id, ex.created_at
    )
    return int(created)


def _message_args(ex: Exchange, conversation_id: int) -> tuple[object, ...]:
    return (
        ex.request_id,
        conversation_id,
        ex.user_id,
        clip(ex.question, MAX_QUESTION_CHARS),
        clip(ex.answer, MAX_ANSWER_CHARS),
        ex.kind,
        sources_json(ex.sources),
        float(ex.confidence),
        ex.used_llm,
        ex.llm_failed,
        clip_optional(ex.model),
        count(ex.prompt_tokens),
        count(ex.completion_tokens),
        count(ex.latency_ms),
        clip_optional(ex.category),
        clip_optional(ex.department),
        clip(ex.kb_version, 200),
        ex.channel_id,
        ex.created_at,
    )
