"""Storage on a real PostgreSQL database: exchanges, conversations, replies, roles, feedback, limits, reports."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.migrate import migrate
from services.storage import TRUNCATED, DailyStat, Exchange, Storage, Summary
from services.storage.reports import LOW_CONFIDENCE_INDEXED_BELOW, LOW_CONFIDENCE_SQL, NEGATIVE_FEEDBACK_SQL

T0 = datetime(2026, 3, 2, tzinfo=UTC)
SOURCE = {"title": "연차 신청 방법", "link": "https://wiki.example/hr#leave", "source": "hr.md", "section_id": "hr-1"}


@pytest.fixture
async def pool(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await asyncpg.create_pool(pg_url, min_size=1, max_size=6)
    async with created.acquire() as conn:
        await migrate(conn)
    yield created
    await created.close()


@pytest.fixture
def storage(pool: asyncpg.Pool) -> Storage:
    return Storage(pool)


def exchange(**overrides: Any) -> Exchange:
    values: dict[str, Any] = {
        "request_id": uuid.uuid4(),
        "surface": "mention",
        "team_id": "T1",
        "channel_id": "C1",
        "thread_ts": "1700000000.000100",
        "user_id": "U1",
        "question": "연차는 어떻게 신청하나요?",
        "answer": "e-HR에서 신청하세요.",
        "kind": "answer",
        "sources": [SOURCE],
        "confidence": 0.9,
        "used_llm": True,
        "llm_failed": False,
        "model": "gpt-4o-mini",
        "prompt_tokens": 812,
        "completion_tokens": 95,
        "latency_ms": 1432,
        "category": "근태",
        "department": "hr",
        "kb_version": "abc123",
    }
    return Exchange(**(values | overrides))


async def test_record_exchange_round_trip(storage: Storage, pool: asyncpg.Pool) -> None:
    ex = exchange(created_at=T0, confidence=0.5)  # exact in a real column
    message_id = await storage.record_exchange(ex)
    assert await storage.message_id_for_request(ex.request_id) == message_id
    assert await storage.message_id_for_request(uuid.uuid4()) is None

    row = await pool.fetchrow("SELECT * FROM messages WHERE id = $1", message_id)
    assert row is not None
    stored = {k: row[k] for k in row.keys() if k not in ("id", "conversation_id", "reply_ts")}
    expected = dataclasses.asdict(ex)
    for name in ("surface", "team_id", "thread_ts"):
        del expected[name]
    assert {**stored, "sources": json.loads(stored["sources"])} == expected
    conversation = await pool.fetchrow("SELECT * FROM conversations WHERE id = $1", row["conversation_id"])
    assert conversation is not None
    assert (conversation["surface"], conversation["team_id"], conversation["channel_id"]) == ("mention", "T1", "C1")
    assert (conversation["thread_ts"], conversation["user_id"]) == (ex.thread_ts, "U1")
    assert await pool.fetchval("SELECT last_seen_at IS NOT NULL FROM slack_users WHERE user_id = 'U1'")


async def test_created_at_defaults_to_now_and_must_be_aware(storage: Storage, pool: asyncpg.Pool) -> None:
    message_id = await storage.record_exchange(exchange(surface="cli", team_id="", channel_id=None, thread_ts=None))
    age = await pool.fetchval("SELECT now() - created_at FROM messages WHERE id = $1", message_id)
    assert timedelta(0) <= age < timedelta(minutes=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        await storage.record_exchange(exchange(created_at=datetime(2026, 1, 1)))
    with pytest.raises(ValueError, match="surface must be one of"):
        await storage.record_exchange(exchange(surface="email"))


async def test_a_retried_request_is_stored_once(storage: Storage, pool: asyncpg.Pool) -> None:
    ex = exchange(thread_ts=None)
    first = await storage.record_exchange(ex)
    assert await storage.record_exchange(dataclasses.replace(ex, answer="다른 답")) == first
    # Concurrent retries race inside the insert: still one message, and no orphan conversation.
    racing = exchange(thread_ts=None)
    ids = await asyncio.gather(*(storage.record_exchange(racing) for _ in range(5)))
    assert len(set(ids)) == 1
    assert await pool.fetchval("SELECT count(*) FROM messages") == 2
    assert await pool.fetchval("SELECT count(*) FROM conversations") == 2
    assert await pool.fetchval("SELECT answer FROM messages WHERE id = $1", first) == ex.answer


async def test_a_thread_is_one_conversation(storage: Storage, pool: asyncpg.Pool) -> None:
    async def conversation_of(ex: Exchange) -> int:
        message_id = await storage.record_exchange(ex)
        return int(await pool.fetchval("SELECT conversation_id FROM messages WHERE id = $1", message_id))

    first = await conversation_of(exchange(thread_ts="1.1"))
    assert await conversation_of(exchange(thread_ts="1.1", user_id="U2")) == first
    assert await conversation_of(exchange(thread_ts="1.2")) != first
    assert await conversation_of(exchange(thread_ts="1.1", channel_id="C2")) != first
    assert await conversation_of(exchange(thread_ts="1.1", team_id="T2")) != first
    no_thread = [await conversation_of(exchange(surface="slash", thread_ts=None)) for _ in range(2)]
    assert len(set(no_thread)) == 2
    # The first questions of a new thread arriving together share one conversation.
    together = await asyncio.gather(*(conversation_of(exchange(thread_ts="9.9")) for _ in range(4)))
    assert len(set(together)) == 1


async def test_thread_history_is_the_latest_turns_oldest_first(storage: Storage) -> None:
    for i in range(8):
        await storage.record_exchange(exchange(question=f"q{i}", answer=f"a{i}", created_at=T0 + timedelta(minutes=i)))
    await storage.record_exchange(exchange(thread_ts="other", question="elsewhere"))
    history = await storage.thread_history("T1", "C1", "1700000000.000100")
    assert history == [(f"q{i}", f"a{i}") for i in range(2, 8)]
    assert await storage.thread_history("T1", "C1", "1700000000.000100", limit=2) == [("q6", "a6"), ("q7", "a7")]
    assert await storage.thread_history("T1", "C1", "1700000000.000100", limit=0) == []
    assert await storage.thread_history("T1", "C1", "unknown") == []


async def test_replies_are_found_by_channel_and_ts(storage: Storage) -> None:
    ex = exchange(surface="dm", channel_id=None, thread_ts=None)
    message_id = await storage.record_exchange(ex)
    assert await storage.message_id_for_reply("D1", "1700000001.000200") is None
    await storage.attach_reply(ex.request_id, "D1", "1700000001.000200")
    await storage.attach_reply(ex.request_id, "D1", "1700000001.000200")  # a retried write is harmless
    assert await storage.message_id_for_reply("D1", "1700000001.000200") == message_id
    assert await storage.message_id_for_reply("D2", "1700000001.000200") is None
    await storage.attach_reply(uuid.uuid4(), "D1", "1700000009.000900")  # unknown request: logged, no error


async def test_roles_change_with_an_audit_row(storage: Storage, pool: asyncpg.Pool) -> None:
    assert await storage.get_role("T1", "U7") == "user"
    assert await storage.set_role("T1", "U7", "admin", actor="U1") == "user"
    assert await storage.get_role("T1", "U7") == "admin"
    assert await storage.get_role("T2", "U7") == "user"
    assert await storage.set_role("T1", "U7", "admin", actor="U1") == "admin"  # no change, no audit row
    assert await storage.set_role("T1", "U7", "user", actor="cli") == "admin"
    audit = await pool.fetch(
        "SELECT team_id, target_id, actor_id, old_role, new_role, changed_at FROM role_changes ORDER BY id"
    )
    assert [tuple(r)[:5] for r in audit] == [("T1", "U7", "U1", "user", "admin"), ("T1", "U7", "cli", "admin", "user")]
    assert all(r["changed_at"] is not None for r in audit)
    with pytest.raises(ValueError, match="role must be one of"):
        await storage.set_role("T1", "U7", "owner", actor="U1")


async def votes(pool: asyncpg.Pool) -> list[tuple[Any, ...]]:
    rows = await pool.fetch("SELECT message_id, user_id, rating, via, reasons, comment FROM feedback ORDER BY id")
    return [tuple(r) for r in rows]


async def test_one_vote_per_user_per_message(storage: Storage, pool: asyncpg.Pool) -> None:
    m = await storage.record_exchange(exchange())
    await storage.record_feedback(m, "T1", "U1", 1, "reaction")
    await storage.record_feedback(m, "T1", "U2", -1, "reaction")
    await storage.record_feedback(m, "T1", "U1", -1, "button", reasons=["부정확해요"], comment="링크가 틀려요")
    assert await votes(pool) == [
        (m, "U1", -1, "button", ["부정확해요"], "링크가 틀려요"),
        (m, "U2", -1, "reaction", [], None),
    ]
    # The same rating again without details (the reaction re-added) keeps the reasons already given.
    await storage.record_feedback(m, "T1", "U1", -1, "reaction")
    assert (await votes(pool))[0] == (m, "U1", -1, "reaction", ["부정확해요"], "링크가 틀려요")
    # Changing the vote drops the old vote's reasons.
    await storage.record_feedback(m, "T1", "U1", 1, "button")
    assert (await votes(pool))[0] == (m, "U1", 1, "button", [], None)


async def test_removing_a_reaction_removes_only_a_reaction_vote(storage: Storage, pool: asyncpg.Pool) -> None:
    m = await storage.record_exchange(exchange())
    await storage.record_feedback(m, "T1", "U1", 1, "button")
    assert not await storage.remove_feedback(m, "T1", "U1")
    await storage.record_feedback(m, "T1", "U1", -1, "reaction")
    assert not await storage.remove_feedback(m, "T1", "U1", rating=1)  # 👍 removed, but the vote is 👎
    assert not await storage.remove_feedback(m, "T2", "U1")
    assert await storage.remove_feedback(m, "T1", "U1", rating=-1)
    assert await votes(pool) == []
    assert not await storage.remove_feedback(m, "T1", "U1")


async def test_feedback_on_an_unknown_message_is_ignored(storage: Storage, pool: asyncpg.Pool) -> None:
    await storage.record_feedback(424242, "T1", "U1", 1, "reaction")
    assert await votes(pool) == []
    for rating, via in ((0, "reaction"), (1, "emoji")):
        with pytest.raises(ValueError, match="must be one of"):
            await storage.record_feedback(424242, "T1", "U1", rating, via)


async def test_oversized_text_is_truncated_with_a_marker(storage: Storage, pool: asyncpg.Pool) -> None:
    ex = exchange(
        question="질" * 5_000, answer="답" * 25_000, model="m" * 900, sources=[{"title": "t" * 900, "link": None}] * 30
    )
    m = await storage.record_exchange(ex)
    row = await pool.fetchrow("SELECT question, answer, model, sources FROM messages WHERE id = $1", m)
    assert row is not None
    assert len(row["question"]) == 4_000
    assert row["question"].endswith(TRUNCATED)
    assert row["question"][0] == "질"
    assert len(row["answer"]) == 20_000
    assert row["answer"].endswith(TRUNCATED)
    assert len(row["model"]) == 500
    assert row["model"].endswith(TRUNCATED)
    sources = json.loads(row["sources"])
    assert len(sources) == 20
    assert sources[-1] == {"title": TRUNCATED}
    assert len(sources[0]["title"]) == 500

    await storage.record_feedback(m, "T1", "U1", -1, "button", reasons=["r" * 150] * 12, comment="c" * 4_000)
    reasons, comment = (await votes(pool))[0][4:]
    assert len(reasons) == 10
    assert reasons[-1] == TRUNCATED
    assert len(reasons[0]) == 100
    assert reasons[0].endswith(TRUNCATED)
    assert len(comment) == 3_000
    assert comment.endswith(TRUNCATED)


async def test_text_at_the_limit_or_unstorable_is_kept(storage: Storage, pool: asyncpg.Pool) -> None:
    m = await storage.record_exchange(exchange(question="q" * 4_000, answer="NUL\x00 and \ud800 lone surrogate"))
    row = await pool.fetchrow("SELECT question, answer FROM messages WHERE id = $1", m)
    assert row is not None
    assert row["question"] == "q" * 4_000
    assert row["answer"] == "NUL\ufffd and \ufffd lone surrogate"


async def seed_report_data(storage: Storage) -> list[int]:
    """Three days from T0 plus rows just outside the window; returns the in-window message ids."""

    async def record(hours: float, user: str, kind: str, confidence: float, **extra: Any) -> int:
        at = T0 + timedelta(hours=hours)
        return await storage.record_exchange(
            exchange(user_id=user, kind=kind, confidence=confidence, created_at=at, thread_ts=None, **extra)
        )

    m1 = await record(9, "U1", "answer", 0.9)
    m2 = await record(10, "U1", "not_found", 0.1, sources=[], answer="", question="비트코인 사도 되나요?")
    m3 = await record(11, "U2", "answer", 0.45, answer="가" * 300, question="재택 신청은?")
    m4 = await record(50, "U3", "answer", 0.65)
    before, after = await record(-0.5, "U9", "not_found", 0.0), await record(72, "U9", "not_found", 0.0)
    await storage.record_feedback(m1, "T1", "U1", 1, "reaction")
    await storage.record_feedback(m1, "T1", "U2", -1, "reaction")
    await storage.record_feedback(m3, "T1", "U2", -1, "button", reasons=["틀렸어요", "출처가 없어요"], comment="다시요")
    await storage.record_feedback(m4, "T1", "U3", 1, "button")
    for outside in (before, after):
        await storage.record_feedback(outside, "T1", "U9", -1, "reaction")
    return [m1, m2, m3, m4]


async def test_summary_and_daily_figures(storage: Storage) -> None:
    await seed_report_data(storage)
    until = T0 + timedelta(days=3)
    assert await storage.summary(T0, until) == Summary(
        questions=4, unique_askers=3, answered=3, not_found=1, up=2, down=2, helpful_pct=50.0
    )
    assert await storage.daily(T0, until) == [
        DailyStat(date(2026, 3, 2), questions=3, unique_users=2, up=1, down=2),
        DailyStat(date(2026, 3, 3), questions=0, unique_users=0, up=0, down=0),
        DailyStat(date(2026, 3, 4), questions=1, unique_users=1, up=1, down=0),
    ]


async def test_empty_periods(storage: Storage) -> None:
    await seed_report_data(storage)
    quiet = T0 + timedelta(days=30)
    assert await storage.summary(quiet, quiet + timedelta(days=2)) == Summary(0, 0, 0, 0, 0, 0, None)
    assert await storage.daily(quiet, quiet + timedelta(days=2)) == [
        DailyStat(date(2026, 4, 1), 0, 0, 0, 0),
        DailyStat(date(2026, 4, 2), 0, 0, 0, 0),
    ]
    assert await storage.daily(quiet, quiet) == []
    assert await storage.low_confidence(quiet, quiet + timedelta(days=2)) == []
    assert await storage.negative_feedback(quiet, quiet + timedelta(days=2)) == []
    # Votes only, no down-votes: 100 %.
    m = await storage.record_exchange(exchange(created_at=quiet, thread_ts=None))
    await storage.record_feedback(m, "T1", "U1", 1, "reaction")
    assert (await storage.summary(quiet, quiet + timedelta(days=1))).helpful_pct == 100.0


async def test_low_confidence_lists_not_found_and_weak_answers_newest_first(storage: Storage) -> None:
    m1, m2, m3, m4 = await seed_report_data(storage)
    until = T0 + timedelta(days=3)
    found = await storage.low_confidence(T0, until)
    assert [(x.message_id, x.kind) for x in found] == [(m3, "answer"), (m2, "not_found")]
    assert found[0].top_source == SOURCE["title"]
    assert found[1].top_source is None
    assert found[0].question == "재택 신청은?"
    assert found[0].confidence == pytest.approx(0.45)
    assert found[1].created_at == T0 + timedelta(hours=10)
    assert found[1].department == "hr"
    assert [x.message_id for x in await storage.low_confidence(T0, until, threshold=0.3)] == [m2]
    assert [x.message_id for x in await storage.low_confidence(T0, until, threshold=0.7)] == [m4, m3, m2]
    assert [x.message_id for x in await storage.low_confidence(T0, until, limit=1)] == [m3]
    assert [x.message_id for x in await storage.low_confidence(T0, until, threshold=0.95)] == [m4, m3, m2, m1]


async def test_negative_feedback_with_reasons_and_the_exchange(storage: Storage) -> None:
    m1, _, m3, _ = await seed_report_data(storage)
    found = await storage.negative_feedback(T0, T0 + timedelta(days=3))
    assert [x.message_id for x in found] == [m3, m1]
    latest = found[0]
    assert (latest.reasons, latest.comment, latest.question) == (
        ["틀렸어요", "출처가 없어요"],
        "다시요",
        "재택 신청은?",
    )
    assert latest.answer_snippet == "가" * 200 + "…"
    assert latest.asked_at == T0 + timedelta(hours=11)
    assert found[1].reasons == []
    assert found[1].comment is None
    assert found[1].answer_snippet == "e-HR에서 신청하세요."
    assert len(await storage.negative_feedback(T0, T0 + timedelta(days=3), limit=1)) == 1


async def test_report_windows_must_be_timezone_aware(storage: Storage) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await storage.summary(datetime(2026, 3, 1), T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        await storage.daily(T0, datetime(2026, 3, 3))


WINDOWS = [
    (T0, T0 + timedelta(days=5)),  # whole days only
    (T0 + timedelta(hours=3), T0 + timedelta(days=4, hours=5)),  # partial days at both edges
    (T0 + timedelta(hours=2), T0 + timedelta(hours=20)),  # inside one day
    (T0 + timedelta(hours=20), T0 + timedelta(hours=30)),  # across one midnight, no whole day
    (T0 - timedelta(days=1), T0 + timedelta(days=10)),  # wider than the data
    (T0 + timedelta(days=1), T0 + timedelta(days=1, microseconds=1)),
]


async def assert_reports_match(storage: Storage, pool: asyncpg.Pool) -> None:
    """summary() and daily() equal a brute-force count over the raw messages and feedback, for every window."""
    asked = [tuple(r) for r in await pool.fetch("SELECT created_at, user_id, kind FROM messages")]
    voted = [tuple(r) for r in await pool.fetch("SELECT asked_at, rating FROM feedback")]
    for since, until in WINDOWS:
        inside = [(at, user, kind) for at, user, kind in asked if since <= at < until]
        votes = [(at, rating) for at, rating in voted if since <= at < until]
        expected = Summary(
            questions=len(inside),
            unique_askers=len({u for _, u, _ in inside}),
            answered=sum(k == "answer" for _, _, k in inside),
            not_found=sum(k == "not_found" for _, _, k in inside),
            up=sum(r == 1 for _, r in votes),
            down=sum(r == -1 for _, r in votes),
            helpful_pct=100 * sum(r == 1 for _, r in votes) / len(votes) if votes else None,
        )
        assert await storage.summary(since, until) == expected, (since, until)
        last = (until - timedelta(microseconds=1)).date()
        days = [since.date() + timedelta(days=i) for i in range((last - since.date()).days + 1)]
        assert await storage.daily(since, until) == [
            DailyStat(
                d,
                questions=sum(a.date() == d for a, _, _ in inside),
                unique_users=len({u for a, u, _ in inside if a.date() == d}),
                up=sum(a.date() == d and r == 1 for a, r in votes),
                down=sum(a.date() == d and r == -1 for a, r in votes),
            )
            for d in days
        ], (since, until)


async def test_reports_from_the_daily_rollups_match_the_raw_rows(storage: Storage, pool: asyncpg.Pool) -> None:
    for i in range(120):
        at = T0 + timedelta(minutes=97 * i)  # about eight days, every hour of the day
        kind = "not_found" if i % 5 == 0 else "answer"
        ex = exchange(created_at=at, user_id=f"U{i * 7 % 11}", kind=kind, thread_ts=f"t{i % 30}")
        m = await storage.record_exchange(ex)
        if i % 3 == 0:
            await storage.record_feedback(m, "T1", f"V{i % 4}", 1 if i % 2 else -1, "reaction")
            await storage.record_feedback(m, "T1", "V9", -1, "button")
        if i % 9 == 0:
            await storage.record_feedback(m, "T1", f"V{i % 4}", -1 if i % 2 else 1, "reaction")  # changed vote
        if i % 15 == 0:
            await storage.remove_feedback(m, "T1", "V9", "button")
    await assert_reports_match(storage, pool)

    # Deleting conversations (retention) cascades to messages and feedback, and the rollups follow.
    await pool.execute("DELETE FROM conversations WHERE thread_ts IN ('t0', 't3', 't7')")
    await assert_reports_match(storage, pool)
    assert await pool.fetchval("SELECT count(*) FROM usage_daily WHERE questions <= 0") == 0

    with pytest.raises(asyncpg.CheckViolationError, match="cannot change"):
        await pool.execute("UPDATE messages SET kind = 'not_found' WHERE kind = 'answer'")
    await pool.execute("UPDATE messages SET reply_ts = id::text")  # other columns stay writable
    await pool.execute("TRUNCATE feedback, messages, conversations")
    assert await pool.fetchval("SELECT (SELECT count(*) FROM usage_daily) + (SELECT count(*) FROM daily_votes)") == 0


async def test_list_queries_can_use_their_partial_indexes(pool: asyncpg.Pool) -> None:
    window = (T0, T0 + timedelta(days=1))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # an empty table would not need an index
        for sql, args, index in [
            (LOW_CONFIDENCE_SQL, (*window, LOW_CONFIDENCE_INDEXED_BELOW, 50), "messages_low_confidence_idx"),
            (NEGATIVE_FEEDBACK_SQL, (*window, 20, 201), "feedback_negative_idx"),
        ]:
            plan = "\n".join(row[0] for row in await conn.fetch("EXPLAIN " + sql, *args))
            assert index in plan, plan
