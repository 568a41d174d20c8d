"""Admin report queries over a half-open window [since, until).

Votes count towards the period in which the question was asked (feedback.asked_at), so a period's
helpful_pct describes the answers given in that period.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from services.storage.records import DailyStat, LowConfidence, NegativeFeedback, Summary

# messages_low_confidence_idx covers thresholds up to this value (its predicate is repeated verbatim below).
LOW_CONFIDENCE_INDEXED_BELOW = 0.6
DEFAULT_LOW_CONFIDENCE = 0.5
SNIPPET_CHARS = 200

# Windows are split by split_window(): whole UTC days [$3, $4) come from the rollups (migration 0002), the
# partial days at the edges, [$1, $5) and [$6, $2), from messages and feedback themselves.
_EDGES = ("created_at >= $1 AND created_at < $5", "created_at >= $6 AND created_at < $2")
_VOTE_EDGES = tuple(edge.replace("created_at", "asked_at") for edge in _EDGES)

SUMMARY_SQL = f"""
WITH per_user AS (
    SELECT user_id, sum(questions) AS questions, sum(answered) AS answered, sum(not_found) AS not_found
    FROM (
        SELECT user_id, sum(questions) AS questions, sum(answered) AS answered, sum(not_found) AS not_found
        FROM usage_daily WHERE day >= $3 AND day < $4 GROUP BY user_id
        UNION ALL
        SELECT user_id, count(*), count(*) FILTER (WHERE kind = 'answer'), count(*) FILTER (WHERE kind = 'not_found')
        FROM messages WHERE {_EDGES[0]} GROUP BY user_id
        UNION ALL
        SELECT user_id, count(*), count(*) FILTER (WHERE kind = 'answer'), count(*) FILTER (WHERE kind = 'not_found')
        FROM messages WHERE {_EDGES[1]} GROUP BY user_id
    ) AS parts
    GROUP BY user_id
), votes AS (
    SELECT sum(up) AS up, sum(down) AS down FROM daily_votes WHERE day >= $3 AND day < $4
    UNION ALL
    SELECT count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = -1) FROM feedback WHERE {_VOTE_EDGES[0]}
    UNION ALL
    SELECT count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = -1) FROM feedback WHERE {_VOTE_EDGES[1]}
)
SELECT coalesce(sum(questions), 0)::bigint AS questions, count(*) AS unique_askers,
       coalesce(sum(answered), 0)::bigint AS answered, coalesce(sum(not_found), 0)::bigint AS not_found,
       (SELECT coalesce(sum(up), 0) FROM votes)::bigint AS up,
       (SELECT coalesce(sum(down), 0) FROM votes)::bigint AS down
FROM per_user"""

# Edge days never overlap whole days, so per-day figures from the three sources are simply appended.
DAILY_SQL = f"""
WITH asked AS (
    SELECT day, sum(questions) AS questions, count(*) AS users
    FROM usage_daily WHERE day >= $3 AND day < $4 GROUP BY day
    UNION ALL
    SELECT (created_at AT TIME ZONE 'UTC')::date, count(*), count(DISTINCT user_id)
    FROM messages WHERE {_EDGES[0]} GROUP BY 1
    UNION ALL
    SELECT (created_at AT TIME ZONE 'UTC')::date, count(*), count(DISTINCT user_id)
    FROM messages WHERE {_EDGES[1]} GROUP BY 1
), votes AS (
    SELECT day, sum(up) AS up, sum(down) AS down
    FROM daily_votes WHERE day >= $3 AND day < $4 GROUP BY day
    UNION ALL
    SELECT (asked_at AT TIME ZONE 'UTC')::date, count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = -1)
    FROM feedback WHERE {_VOTE_EDGES[0]} GROUP BY 1
    UNION ALL
    SELECT (asked_at AT TIME ZONE 'UTC')::date, count(*) FILTER (WHERE rating = 1), count(*) FILTER (WHERE rating = -1)
    FROM feedback WHERE {_VOTE_EDGES[1]} GROUP BY 1
)
SELECT d.day::date AS day, coalesce(a.questions, 0)::bigint AS questions, coalesce(a.users, 0) AS unique_users,
       coalesce(v.up, 0)::bigint AS up, coalesce(v.down, 0)::bigint AS down
FROM generate_series(($1 AT TIME ZONE 'UTC')::date, (($2 - interval '1 microsecond') AT TIME ZONE 'UTC')::date,
                     interval '1 day') AS d(day)
LEFT JOIN asked a ON a.day = d.day::date
LEFT JOIN votes v ON v.day = d.day::date
ORDER BY d.day"""

_LOW_CONFIDENCE_SELECT = """
SELECT id, created_at, question, kind, confidence, sources -> 0 ->> 'title' AS top_source, department
FROM messages
WHERE created_at >= $1 AND created_at < $2 AND (kind = 'not_found' OR confidence < $3)"""
_LOW_CONFIDENCE_ORDER = "\nORDER BY created_at DESC, id DESC\nLIMIT $4"
LOW_CONFIDENCE_SQL = _LOW_CONFIDENCE_SELECT + "\n  AND (kind = 'not_found' OR confidence < 0.6)" + _LOW_CONFIDENCE_ORDER
LOW_CONFIDENCE_UNINDEXED_SQL = _LOW_CONFIDENCE_SELECT + _LOW_CONFIDENCE_ORDER

NEGATIVE_FEEDBACK_SQL = """
SELECT f.message_id, m.created_at AS asked_at, f.updated_at AS voted_at, f.reasons, f.comment, m.question,
       left(m.answer, $4) AS answer_head
FROM feedback f
JOIN messages m ON m.id = f.message_id
WHERE f.rating = -1 AND f.asked_at >= $1 AND f.asked_at < $2
ORDER BY f.asked_at DESC, f.id DESC
LIMIT $3"""


class ReportStore:
    """The figures and lists behind `/endy-admin` reports."""

    _pool: asyncpg.Pool

    async def summary(self, since: datetime, until: datetime) -> Summary:
        """Questions, unique askers, answered/not found and votes for questions asked in the window."""
        row = (await self._report(SUMMARY_SQL, *split_window(since, until)))[0]
        up, down = int(row["up"]), int(row["down"])
        return Summary(
            questions=int(row["questions"]),
            unique_askers=int(row["unique_askers"]),
            answered=int(row["answered"]),
            not_found=int(row["not_found"]),
            up=up,
            down=down,
            helpful_pct=100.0 * up / (up + down) if up + down else None,
        )

    async def daily(self, since: datetime, until: datetime) -> list[DailyStat]:
        """One row per UTC day of the window, days without questions zero-filled."""
        window = split_window(since, until)
        if since >= until:
            return []
        rows = await self._report(DAILY_SQL, *window)
        return [
            DailyStat(r["day"], int(r["questions"]), int(r["unique_users"]), int(r["up"]), int(r["down"])) for r in rows
        ]

    async def low_confidence(
        self, since: datetime, until: datetime, limit: int = 50, *, threshold: float = DEFAULT_LOW_CONFIDENCE
    ) -> list[LowConfidence]:
        """The latest not-found answers and answers with confidence below `threshold`, newest first."""
        indexed = threshold <= LOW_CONFIDENCE_INDEXED_BELOW
        sql = LOW_CONFIDENCE_SQL if indexed else LOW_CONFIDENCE_UNINDEXED_SQL
        rows = await self._report(sql, *_window(since, until), threshold, max(limit, 0))
        return [
            LowConfidence(
                r["id"],
                r["created_at"],
                r["question"],
                r["kind"],
                float(r["confidence"]),
                r["top_source"],
                r["department"],
            )
            for r in rows
        ]

    async def negative_feedback(self, since: datetime, until: datetime, limit: int = 20) -> list[NegativeFeedback]:
        """The latest 👎 votes on questions asked in the window, with reasons, comment and the exchange."""
        rows = await self._report(NEGATIVE_FEEDBACK_SQL, *_window(since, until), max(limit, 0), SNIPPET_CHARS + 1)
        return [
            NegativeFeedback(
                r["message_id"],
                r["asked_at"],
                r["voted_at"],
                list(r["reasons"]),
                r["comment"],
                r["question"],
                _snippet(r["answer_head"]),
            )
            for r in rows
        ]

    async def _report(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._pool.acquire() as conn, conn.transaction(readonly=True):
            # A cached generic plan would ignore how wide the window is (7 days vs 90): plan each call. JIT
            # compilation costs more than these short aggregates gain from it.
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
            return list(await conn.fetch(sql, *args))


def _window(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("report windows need timezone-aware datetimes (UTC)")
    return since, until


def split_window(since: datetime, until: datetime) -> tuple[datetime, datetime, date, date, datetime, datetime]:
    """(since, until, first whole UTC day, end of whole days, head end, tail start) for the rollup queries."""
    since, until = _window(since, until)
    first = since.astimezone(UTC).date()
    if _midnight(first) < since:
        first += timedelta(days=1)
    end = until.astimezone(UTC).date()
    if first >= end:  # no whole day inside: all of [since, until) comes from messages
        return since, until, first, first, until, until
    return since, until, first, end, _midnight(first), _midnight(end)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _snippet(head: str) -> str:
    return head if len(head) <= SNIPPET_CHARS else head[:SNIPPET_CHARS] + "…"
