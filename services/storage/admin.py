"""Admin queries beyond the headline report: votes by category, worst answers, gaps, feedback pages, export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.storage.reports import ReportStore, _window

# feedback.category is copied from the message (migration 0003): no join over the window's votes.
VOTES_BY_CATEGORY_SQL = """
SELECT coalesce(category, '') AS category,
       count(*) FILTER (WHERE rating = 1) AS up, count(*) FILTER (WHERE rating = -1) AS down
FROM feedback
WHERE asked_at >= $1 AND asked_at < $2
GROUP BY 1 ORDER BY count(*) DESC, 1"""

# The top answers by 👎 come from the partial index alone; details are fetched for those few only.
WORST_ANSWERS_SQL = """
WITH worst AS (
    SELECT message_id, count(*) AS down FROM feedback
    WHERE rating = -1 AND asked_at >= $1 AND asked_at < $2
    GROUP BY message_id ORDER BY down DESC, message_id DESC LIMIT $3)
SELECT m.id, m.question, left(m.answer, 200) AS answer_head, m.sources -> 0 ->> 'title' AS top_source, w.down,
       (SELECT count(*) FROM feedback f WHERE f.message_id = m.id AND f.rating = 1) AS up,
       coalesce((SELECT array_agg(DISTINCT r.reason ORDER BY r.reason) FROM feedback f, unnest(f.reasons) r(reason)
                 WHERE f.message_id = m.id AND f.rating = -1), '{}') AS reasons,
       coalesce((SELECT array_agg(DISTINCT f.comment) FROM feedback f
                 WHERE f.message_id = m.id AND f.comment IS NOT NULL), '{}') AS comments
FROM worst w JOIN messages m ON m.id = w.message_id
ORDER BY w.down DESC, up ASC, m.id DESC"""

# Knowledge-gap candidates: not found / low confidence, plus 👎'd answers; bounded, grouped in Python.
GAP_CANDIDATES_SQL = """
(SELECT question, sources -> 0 ->> 'title' AS top_source, department, 'low_confidence' AS why
 FROM messages
 WHERE created_at >= $1 AND created_at < $2 AND (kind = 'not_found' OR confidence < 0.6)
   AND (kind = 'not_found' OR confidence < $3)
 ORDER BY created_at DESC LIMIT $4)
UNION ALL
(SELECT m.question, m.sources -> 0 ->> 'title', m.department, 'negative'
 FROM feedback f JOIN messages m ON m.id = f.message_id
 WHERE f.rating = -1 AND f.asked_at >= $1 AND f.asked_at < $2
 ORDER BY f.asked_at DESC LIMIT $4)"""

FEEDBACK_PAGE_SQL = """
SELECT f.updated_at, f.rating, f.via, f.reasons, f.comment, m.question, left(m.answer, 200) AS answer_head,
       m.sources -> 0 ->> 'title' AS top_source
FROM feedback f JOIN messages m ON m.id = f.message_id
WHERE f.asked_at >= $1 AND f.asked_at < $2 AND ($3::boolean IS FALSE OR f.rating = -1)
ORDER BY f.updated_at DESC, f.id DESC
LIMIT $4 OFFSET $5"""

EXPORT_SQL = """
SELECT m.created_at, c.surface, m.kind, m.confidence, m.used_llm, m.category, m.department, m.question,
       m.answer, m.sources -> 0 ->> 'title' AS top_source,
       count(f.id) FILTER (WHERE f.rating = 1) AS up, count(f.id) FILTER (WHERE f.rating = -1) AS down,
       array_remove(array_agg(DISTINCT r.reason), NULL) AS reasons,
       string_agg(DISTINCT f.comment, ' | ') AS comments
FROM messages m
JOIN conversations c ON c.id = m.conversation_id
LEFT JOIN feedback f ON f.message_id = m.id
LEFT JOIN LATERAL unnest(f.reasons) AS r(reason) ON true
WHERE m.created_at >= $1 AND m.created_at < $2
GROUP BY m.id, c.surface
ORDER BY m.created_at, m.id"""


@dataclass(frozen=True, slots=True)
class CategoryVotes:
    """👍/👎 on answers of one category."""

    category: str
    up: int
    down: int


@dataclass(frozen=True, slots=True)
class WorstAnswer:
    """An answer with 👎 votes, why, and what it cited."""

    message_id: int
    question: str
    answer_head: str
    top_source: str | None
    up: int
    down: int
    reasons: list[str]
    comments: list[str]


@dataclass(frozen=True, slots=True)
class GapCandidate:
    """A question the knowledge base did not serve well."""

    question: str
    top_source: str | None
    department: str | None
    why: str


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """One vote for the paged feedback list."""

    voted_at: datetime
    rating: int
    via: str
    reasons: list[str]
    comment: str | None
    question: str
    answer_head: str
    top_source: str | None


class AdminStore(ReportStore):
    """Queries for `/endy-admin`; aggregation stays in PostgreSQL."""

    _pool: asyncpg.Pool

    async def votes_by_category(self, since: datetime, until: datetime) -> list[CategoryVotes]:
        """Votes per category for questions asked in the window."""
        rows = await self._report(VOTES_BY_CATEGORY_SQL, *_window(since, until))
        return [CategoryVotes(r["category"], int(r["up"]), int(r["down"])) for r in rows]

    async def worst_answers(self, since: datetime, until: datetime, limit: int = 5) -> list[WorstAnswer]:
        """Answers with the most 👎 in the window, with reasons and comments."""
        rows = await self._report(WORST_ANSWERS_SQL, *_window(since, until), limit)
        return [
            WorstAnswer(
                r["id"],
                r["question"],
                r["answer_head"],
                r["top_source"],
                int(r["up"]),
                int(r["down"]),
                list(r["reasons"]),
                list(r["comments"]),
            )
            for r in rows
        ]

    async def gap_candidates(
        self, since: datetime, until: datetime, limit: int = 300, threshold: float = 0.5
    ) -> list[GapCandidate]:
        """Recent not-found / low-confidence questions and 👎'd questions (bounded)."""
        rows = await self._report(GAP_CANDIDATES_SQL, *_window(since, until), threshold, limit)
        return [GapCandidate(r["question"], r["top_source"], r["department"], r["why"]) for r in rows]

    async def feedback_page(
        self, since: datetime, until: datetime, *, negative_only: bool, limit: int, offset: int
    ) -> list[FeedbackRow]:
        """One page of votes, newest first."""
        rows = await self._report(FEEDBACK_PAGE_SQL, *_window(since, until), negative_only, limit, offset)
        return [
            FeedbackRow(
                r["updated_at"],
                int(r["rating"]),
                r["via"],
                list(r["reasons"]),
                r["comment"],
                r["question"],
                r["answer_head"],
                r["top_source"],
            )
            for r in rows
        ]

    async def export_rows(self, since: datetime, until: datetime) -> AsyncIterator[asyncpg.Record]:
        """Every exchange of the window with its votes, streamed with a server-side cursor."""
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            async for row in conn.cursor(EXPORT_SQL, *_window(since, until), prefetch=500):
                yield row
