"""PostgreSQL side of learned knowledge: every write with its audit row in one transaction, idempotent by keys."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.learning_types import (
    LearnedEntry,
    LearnedFaq,
    LearnedKind,
    LearnedPhrasing,
    LearnedSnapshot,
    LearningReport,
    Notification,
    Origin,
)

_AUDIT = """
INSERT INTO learning_audit (team_id, actor_id, action, kind, entry_id, gap_key, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)"""
_ADD_PHRASING = """
INSERT INTO learned_phrasings (section_id, phrasing, phrasing_key, origin, gap_key, created_by, keywords)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (section_id, phrasing_key) DO NOTHING RETURNING id"""
_ADD_FAQ = """
INSERT INTO learned_faq (question, question_key, answer, category, department, link, keywords, origin, gap_key,
                         created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (question_key) DO NOTHING RETURNING id"""
_ADD_SYNONYM = """
INSERT INTO learned_synonyms (word, word_key, knowledge_word, knowledge_key, origin, gap_key, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (word_key, knowledge_key) DO NOTHING RETURNING id"""
_CLOSE_QUESTIONS = """
INSERT INTO learning_question_states (question_key, gap_key, state)
SELECT unnest($1::text[]), $2, $3 ON CONFLICT (question_key) DO UPDATE SET
    state = CASE WHEN learning_question_states.state = 'closed' THEN 'closed' ELSE excluded.state END,
    changed_at = now()"""
_CLOSE_GAP = """
UPDATE learning_gaps SET state = $2, closed_at = coalesce(closed_at, now()), closed_by = coalesce(closed_by, $3),
    closed_how = coalesce(closed_how, $4)
WHERE gap_key = $1 AND state <> 'closed' AND state <> $2"""
_SAVE_GAP = """
INSERT INTO learning_gaps (gap_key, example, questions, asked, negative, department)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (gap_key) DO UPDATE SET example = excluded.example, questions = excluded.questions,
    asked = excluded.asked, negative = excluded.negative, department = excluded.department, last_listed = now()
RETURNING first_seen"""
_GAP = "SELECT gap_key, example, questions, asked, negative, department, first_seen, state FROM learning_gaps"
_ENTRIES = """
SELECT * FROM (
  SELECT id, 'phrasing' AS kind, origin, section_id, phrasing AS text, created_by, created_at, gap_key
  FROM learned_phrasings
  UNION ALL
  SELECT id, 'faq', origin, NULL, question, created_by, created_at, gap_key FROM learned_faq
  UNION ALL
  SELECT id, 'synonym', origin, NULL, word || ' → ' || knowledge_word, created_by, created_at, gap_key
  FROM learned_synonyms
) e WHERE ($1::text IS NULL OR e.section_id = $1) ORDER BY created_at DESC, id DESC LIMIT $2"""
_REMOVE = {
    LearnedKind.PHRASING: "DELETE FROM learned_phrasings WHERE id = $1 RETURNING id, 'phrasing' AS kind, origin,"
    " section_id, phrasing AS text, created_by, created_at, gap_key",
    LearnedKind.FAQ: "DELETE FROM learned_faq WHERE id = $1 RETURNING id, 'faq' AS kind, origin, NULL AS section_id,"
    " question AS text, created_by, created_at, gap_key",
    LearnedKind.SYNONYM: "DELETE FROM learned_synonyms WHERE id = $1 RETURNING id, 'synonym' AS kind, origin,"
    " NULL AS section_id, word || ' → ' || knowledge_word AS text, created_by, created_at, gap_key",
}
_REPORT = """
SELECT
  (SELECT count(*) FROM learning_gaps WHERE state = 'closed' AND closed_at >= $1 AND closed_at < $2) AS closed,
  (SELECT count(*) FROM learning_gaps WHERE state = 'open' AND last_listed >= $1) AS open,
  (SELECT count(*) FROM messages WHERE created_at >= $1 AND created_at < $2 AND kind = 'answer'
     AND sources -> 0 ->> 'section_id' LIKE 'learned%') AS answered,
  (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - first_seen))
     FROM learning_gaps WHERE state = 'closed' AND closed_at >= $1 AND closed_at < $2) AS median_seconds"""
_VOTE = """
INSERT INTO learning_votes (question_key, question, section_id, team_id, user_id, rating, reasons)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (question_key, section_id, team_id, user_id) DO UPDATE SET
    rating = excluded.rating, reasons = excluded.reasons, voted_at = now()"""
_UPVOTERS = """
SELECT count(*) FROM learning_votes WHERE question_key = $1 AND section_id = $2 AND rating = 1
  AND NOT EXISTS (SELECT 1 FROM learning_demotions d WHERE d.question_key = $1 AND d.section_id = $2)"""
_PENDING = """
SELECT s.id, s.team_id, s.user_id, s.question, q.gap_key FROM learning_subscriptions s
LEFT JOIN learning_question_states q ON q.question_key = s.question_key
WHERE s.notified_at IS NULL ORDER BY s.id DESC LIMIT $1"""
_ASKED = "SELECT question, sources -> 0 ->> 'section_id' FROM messages"
_CLAIM = """
UPDATE learning_subscriptions s SET notified_at = now()
WHERE s.id IN (
    SELECT s2.id FROM learning_subscriptions s2 JOIN learning_question_states q ON q.question_key = s2.question_key
    WHERE s2.notified_at IS NULL AND q.state = 'closed' ORDER BY s2.id LIMIT $1 FOR UPDATE OF s2 SKIP LOCKED)
RETURNING s.id, s.team_id, s.user_id, s.question,
    (SELECT gap_key FROM learning_question_states q WHERE q.question_key = s.question_key)"""


@dataclass(frozen=True, slots=True)
class Who:
    """Who made a change, how, and from which gap (for the rows and the audit)."""

    team_id: str
    actor: str
    origin: Origin = Origin.ADMIN
    gap_key: str | None = None


@dataclass(frozen=True, slots=True)
class StoredGap:
    """A gap row as last listed."""

    gap_key: str
    example: str
    questions: tuple[str, ...]
    asked: int
    negative: int
    department: str | None
    first_seen: datetime
    state: str


class LearningStore:
    """Learned knowledge in PostgreSQL (tables of migrations/0004_learning.sql)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def snapshot(self) -> LearnedSnapshot:
        """Everything learned, read in one repeatable-read transaction."""
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            faq = await conn.fetch(
                "SELECT id, question, answer, category, department, link, keywords FROM learned_faq ORDER BY id"
            )
            phr = await conn.fetch("SELECT id, section_id, phrasing, keywords FROM learned_phrasings ORDER BY id")
            syn = await conn.fetch("SELECT word, knowledge_word FROM learned_synonyms ORDER BY id")
            dem = await conn.fetch("SELECT question_key, section_id FROM learning_demotions")
        return LearnedSnapshot(
            [LearnedFaq(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6])) for r in faq],
            [LearnedPhrasing(r[0], r[1], r[2], tuple(r[3])) for r in phr],
            [(r[0], r[1]) for r in syn],
            {(r[0], r[1]) for r in dem},
        )

    async def hidden_questions(self) -> set[str]:
        """Question keys that left the gap list (closed or ignored)."""
        async with self._pool.acquire() as conn:
            return {r[0] for r in await conn.fetch("SELECT question_key FROM learning_question_states")}

    async def save_gap(
        self, key: str, example: str, questions: Sequence[str], asked: int, negative: int, department: str | None
    ) -> datetime:
        """Remember a listed gap (so a later click can teach its questions); returns when it was first seen."""
        async with self._pool.acquire() as conn:
            first: datetime = await conn.fetchval(_SAVE_GAP, key, example, list(questions), asked, negative, department)
        return first

    async def gap(self, key: str) -> StoredGap | None:
        """A gap as last listed."""
        async with self._pool.acquire() as conn:
            r = await conn.fetchrow(_GAP + " WHERE gap_key = $1", key)
        return None if r is None else StoredGap(r[0], r[1], tuple(r[2]), r[3], r[4], r[5], r[6], r[7])

    async def phrasing_keys(self, section_id: str) -> set[str]:
        """The keys of the phrasings the section has learned."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch("SELECT phrasing_key FROM learned_phrasings WHERE section_id = $1", section_id)
        return {r[0] for r in rows}

    async def faq_answer(self, key: str) -> str | None:
        """The answer of the curated FAQ entry with this question key."""
        async with self._pool.acquire() as conn:
            answer: str | None = await conn.fetchval("SELECT answer FROM learned_faq WHERE question_key = $1", key)
        return answer

    async def add_phrasings(
        self,
        section_id: str,
        phrasings: Sequence[tuple[str, str]],
        who: Who,
        close: Sequence[str],
        keywords: Sequence[Sequence[str]] = (),
    ) -> list[int]:
        """Add (phrasing, key) pairs (with their near words) to a section and close the gap's questions."""
        async with self._pool.acquire() as conn, conn.transaction():
            ids: list[int] = []
            near = list(keywords) or [()] * len(phrasings)
            for (text, key), words in zip(phrasings, near, strict=True):
                new = await conn.fetchval(
                    _ADD_PHRASING, section_id, text, key, who.origin.value, who.gap_key, who.actor, list(words)
                )
                if new is not None:
                    ids.append(int(new))
            for i in ids:
                await self._audit(
                    conn,
                    who,
                    "teach" if who.origin is not Origin.VOTES else "vote_learn",
                    LearnedKind.PHRASING,
                    i,
                    {"section_id": section_id},
                )
            await self._close(conn, who, close, "phrasing")
        return ids

    async def add_faq(self, faq: LearnedFaq, key: str, who: Who, close: Sequence[str]) -> int | None:
        """Add a curated FAQ entry (None when the same question exists) and close the gap's questions."""
        async with self._pool.acquire() as conn, conn.transaction():
            new = await conn.fetchval(
                _ADD_FAQ,
                faq.question,
                key,
                faq.answer,
                faq.category,
                faq.department,
                faq.link,
                list(faq.keywords),
                who.origin.value,
                who.gap_key,
                who.actor,
            )
            if new is not None:
                await self._audit(conn, who, "faq", LearnedKind.FAQ, new, {"question": faq.question})
            await self._close(conn, who, close, "faq")
        return None if new is None else int(new)

    async def add_synonyms(self, pairs: Sequence[tuple[str, str]], who: Who) -> list[int]:
        """Add (word, knowledge word) pairs in one transaction; returns the ids of the new ones."""
        ids: list[int] = []
        async with self._pool.acquire() as conn, conn.transaction():
            for word, target in pairs:
                keys = ("".join(word.split()).lower(), "".join(target.split()).lower())
                new = await conn.fetchval(
                    _ADD_SYNONYM, word, keys[0], target, keys[1], who.origin.value, who.gap_key, who.actor
                )
                if new is not None:
                    ids.append(int(new))
                    await self._audit(conn, who, "synonym", LearnedKind.SYNONYM, new, {"word": word, "target": target})
        return ids

    async def report(self, days: int, since: datetime, until: datetime) -> LearningReport:
        """Gaps closed in the window (and their median time from first sighting), open gaps, learned answers."""
        async with self._pool.acquire() as conn:
            r = await conn.fetchrow(_REPORT, since, until)
        hours = None if r["median_seconds"] is None else float(r["median_seconds"]) / 3600
        return LearningReport(days, int(r["closed"]), int(r["open"]), int(r["answered"]), hours)

    async def ignore(self, who: Who, questions: Sequence[str]) -> None:
        """Take a gap off the list (kept, audited)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_CLOSE_QUESTIONS, list(questions), who.gap_key, "ignored")
            changed = await conn.execute(_CLOSE_GAP, who.gap_key, "ignored", who.actor, "ignored")
            if changed != "UPDATE 0":  # a double click changes nothing and leaves no second audit row
                await self._audit(conn, who, "ignore", None, None, {"questions": len(questions)})

    async def entries(self, section_id: str | None, limit: int) -> list[LearnedEntry]:
        """Learned items, newest first."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_ENTRIES, section_id, limit)
        return [_entry(r) for r in rows]

    async def remove(self, entry_id: int, kind: LearnedKind, who: Who) -> LearnedEntry | None:
        """Delete one learned item (its content kept in the audit row); None when already gone."""
        async with self._pool.acquire() as conn, conn.transaction():
            r = await conn.fetchrow(_REMOVE[kind], entry_id)
            if r is None:
                return None
            entry = _entry(r)
            await self._audit(conn, who, "remove", kind, entry_id, {"text": entry.text, "section_id": entry.section_id})
        return entry

    async def vote(
        self,
        key: str,
        question: str,
        section_id: str,
        team_id: str,
        user_id: str,
        rating: int,
        reasons: Sequence[str],
        demote: bool,
    ) -> tuple[int, bool]:
        """Record one person's vote; returns the distinct 👍 voters of (question, section) (0 when demoted) and
        whether a demotion changed what is served (a new demotion, or a learned phrasing removed)."""
        gone: list[asyncpg.Record] = []
        new = None
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_VOTE, key, question, section_id, team_id, user_id, rating, list(reasons))
            if demote:
                new = await conn.fetchval(
                    "INSERT INTO learning_demotions (question_key, section_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
                    " RETURNING 1",
                    key,
                    section_id,
                )
                gone = await conn.fetch(
                    "DELETE FROM learned_phrasings WHERE section_id = $1 AND phrasing_key = $2 AND origin = 'votes'"
                    " RETURNING id",
                    section_id,
                    key,
                )
                who = Who(team_id, user_id, Origin.VOTES)
                await self._audit(
                    conn, who, "demote", LearnedKind.PHRASING, gone[0][0] if gone else None, {"section_id": section_id}
                )
            return int(await conn.fetchval(_UPVOTERS, key, section_id)), bool(demote and (gone or new is not None))

    async def subscribe(self, team_id: str, user_id: str, question: str, key: str) -> bool:
        """Opt in; False when this person already asked to be told about this question."""
        async with self._pool.acquire() as conn:
            new = await conn.fetchval(
                "INSERT INTO learning_subscriptions (team_id, user_id, question, question_key) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (team_id, user_id, question_key) DO NOTHING RETURNING id",
                team_id,
                user_id,
                question,
                key,
            )
        return new is not None

    async def asked(self, request_id: str) -> tuple[str, str | None] | None:
        """The (masked) question of an answered message and the section it cited first."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_ASKED + " WHERE request_id = $1::uuid", request_id)
        return None if row is None else (row[0], row[1])

    async def asked_in_reply(self, channel_id: str, reply_ts: str) -> tuple[str, str | None] | None:
        """`asked` for the answer Endy posted as this message (what a reaction names: channel and ts)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_ASKED + " WHERE channel_id = $1 AND reply_ts = $2", channel_id, reply_ts)
        return None if row is None else (row[0], row[1])

    async def claim(self, limit: int) -> list[Notification]:
        """Claim answered subscriptions exactly once (SKIP LOCKED: two replicas never claim the same one)."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_CLAIM, limit)
        return [Notification(r[0], r[1], r[2], r[3], r[4] or "") for r in rows]

    async def pending(self, limit: int) -> list[Notification]:
        """Opt-ins not notified yet, newest first (their question may be answered by now however it was learned)."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_PENDING, limit)
        return [Notification(r[0], r[1], r[2], r[3], r[4] or "") for r in rows]

    async def claim_one(self, subscription_id: int) -> bool:
        """Claim one opt-in for its DM; False when another replica (or an earlier call) already did."""
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                "UPDATE learning_subscriptions SET notified_at = now() WHERE id = $1 AND notified_at IS NULL",
                subscription_id,
            )
        return str(done) == "UPDATE 1"

    async def open_gaps(self) -> int:
        """How many listed gaps are still open (the gaps_open gauge)."""
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM learning_gaps WHERE state = 'open'"))

    async def _close(self, conn: asyncpg.Connection, who: Who, questions: Sequence[str], how: str) -> None:
        """The questions leave the gap list as answered (so opted-in askers are owed their DM), and so does the gap."""
        if questions:
            await conn.execute(_CLOSE_QUESTIONS, list(questions), who.gap_key or "", "closed")
        if who.gap_key is not None:
            await conn.execute(_CLOSE_GAP, who.gap_key, "closed", who.actor, how)

    async def _audit(
        self,
        conn: asyncpg.Connection,
        who: Who,
        action: str,
        kind: LearnedKind | None,
        entry_id: int | None,
        detail: dict[str, object],
    ) -> None:
        await conn.execute(
            _AUDIT,
            who.team_id,
            who.actor,
            action,
            kind.value if kind else None,
            entry_id,
            who.gap_key,
            json.dumps(detail, ensure_ascii=False),
        )


def _entry(r: asyncpg.Record) -> LearnedEntry:
    return LearnedEntry(
        int(r["id"]),
        LearnedKind(r["kind"]),
        Origin(r["origin"]),
        r["section_id"],
        None,
        r["text"],
        r["created_by"],
        r["created_at"],
        r["gap_key"],
    )
