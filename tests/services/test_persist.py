"""Write-behind persistence against a throwaway PostgreSQL that the test stops and starts again."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest

from services.metrics import Metrics
from services.migrate import migrate
from services.persist import AttachReply, MessageRef, Recorder, RecordExchange, RecordFeedback, RemoveFeedback
from services.persist_spill import LOG_EVERY, Spill
from services.storage import Exchange, Storage
from tests.fakes.pg_process import PgProcess
from tests.helpers import eventually

if TYPE_CHECKING:
    from loguru import Record

pytestmark = pytest.mark.timeout(90)


def exchange(n: int) -> Exchange:
    return Exchange(
        request_id=uuid.uuid4(),
        surface="dm",
        team_id="T1",
        channel_id="D1",
        thread_ts=None,
        user_id="U1",
        question=f"질문 {n}",
        answer=f"답 {n}",
        kind="answer",
        sources=[],
        confidence=0.9,
        used_llm=False,
        llm_failed=False,
        model=None,
        prompt_tokens=0,
        completion_tokens=0,
        latency_ms=12,
        category="it",
        department="it",
        kb_version="v1",
        created_at=datetime.now(UTC),
    )


async def test_writes_survive_a_database_outage(throwaway_pg: PgProcess, tmp_path: Path) -> None:
    pool = await asyncpg.create_pool(throwaway_pg.url, min_size=1, max_size=2, timeout=2)
    async with pool.acquire() as conn:
        await migrate(conn)
    metrics = Metrics()
    recorder = Recorder(Storage(pool), metrics=metrics, spill_path=tmp_path / "spill.jsonl", max_backoff=0.5)
    await recorder.start()
    first = exchange(0)
    recorder.submit(RecordExchange(first))
    assert await recorder.flush(10)
    await throwaway_pg.stop()  # the outage
    pending = [exchange(i) for i in range(1, 6)]
    for ex in pending:
        recorder.submit(RecordExchange(ex))
    recorder.submit(AttachReply(first.request_id, "D1", "1700000000.000200"))
    assert not await recorder.flush(2)
    assert not recorder.healthy
    await throwaway_pg.start()  # recovery: same data directory, same socket
    assert await recorder.flush(30)
    assert recorder.healthy
    rows = await pool.fetch("SELECT request_id, reply_ts FROM messages ORDER BY id")
    assert [r["request_id"] for r in rows] == [first.request_id] + [ex.request_id for ex in pending]
    assert rows[0]["reply_ts"] == "1700000000.000200"
    assert (metrics.registry.get_sample_value("persist_operations_total", {"operation": "retry"}) or 0) > 0
    await recorder.aclose()
    await pool.close()


async def test_overflow_and_leftovers_are_spilled_then_replayed(throwaway_pg: PgProcess, tmp_path: Path) -> None:
    pool = await asyncpg.create_pool(throwaway_pg.url, min_size=1, max_size=2, timeout=2)
    async with pool.acquire() as conn:
        await migrate(conn)
    await throwaway_pg.stop()
    spill = tmp_path / "spill.jsonl"
    recorder = Recorder(Storage(pool), metrics=Metrics(), spill_path=spill, max_queue=2, max_backoff=0.2)
    await recorder.start()
    exchanges = [exchange(i) for i in range(6)]
    for ex in exchanges:
        recorder.submit(RecordExchange(ex))
    await recorder.aclose(grace=0.5)  # the database is still down: nothing may be lost
    assert len(spill.read_text(encoding="utf-8").splitlines()) == 6
    await throwaway_pg.start()
    again = Recorder(Storage(pool), metrics=Metrics(), spill_path=spill)
    await again.start()
    assert await again.flush(30)
    stored = {r["request_id"] for r in await pool.fetch("SELECT request_id FROM messages")}
    assert stored == {ex.request_id for ex in exchanges}
    assert not spill.exists()
    await again.aclose()
    await pool.close()


@pytest.fixture
async def pg_storage(pg_url: str) -> AsyncIterator[tuple[asyncpg.Pool, Storage]]:
    pool = await asyncpg.create_pool(pg_url, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield pool, Storage(pool)
    await pool.close()


def _ops(metrics: Metrics, operation: str) -> float:
    return metrics.registry.get_sample_value("persist_operations_total", {"operation": operation}) or 0.0


async def test_a_vote_for_a_message_not_stored_yet_waits_aside_and_lands_when_it_arrives(
    pg_storage: tuple[asyncpg.Pool, Storage], tmp_path: Path
) -> None:
    pool, storage = pg_storage
    recorder = Recorder(storage, metrics=Metrics(), spill_path=tmp_path / "spill.jsonl")
    await recorder.start()
    answer = exchange(1)
    vote = RecordFeedback(MessageRef(channel_id="D1", reply_ts="1.000100"), "T1", "U2", 1, "reaction")
    recorder.submit(vote)  # the reaction came first (the exchange is another replica's, still queued there)
    behind = exchange(2)
    recorder.submit(RecordExchange(behind))
    stored = "SELECT count(*) FROM messages WHERE request_id = $1"
    # not held up behind the vote (it waited ~30 s in line before)
    await eventually(lambda: pool.fetchval(stored, behind.request_id), "the exchange behind the vote stored", 10)
    assert await pool.fetchval("SELECT count(*) FROM feedback") == 0  # the vote is still set aside
    recorder.submit(RecordExchange(answer))
    recorder.submit(AttachReply(answer.request_id, "D1", "1.000100"))
    assert await recorder.flush(30)
    rows = await pool.fetch("SELECT m.request_id, f.rating FROM feedback f JOIN messages m ON m.id = f.message_id")
    assert [(r["request_id"], r["rating"]) for r in rows] == [(answer.request_id, 1)]
    await recorder.aclose()


async def test_a_reaction_on_a_message_that_is_no_answer_is_let_go_quietly(
    pg_storage: tuple[asyncpg.Pool, Storage], tmp_path: Path
) -> None:
    _, storage = pg_storage
    metrics = Metrics()
    spill = tmp_path / "spill.jsonl"
    recorder = Recorder(storage, metrics=metrics, spill_path=spill, reference_waits=3)
    await recorder.start()
    recorder.submit(RecordFeedback(MessageRef(channel_id="D1", reply_ts="9.000900"), "T1", "U2", 1, "reaction"))
    lost_button = RecordFeedback(MessageRef(request_id=str(uuid.uuid4())), "T1", "U2", -1, "button")
    recorder.submit(lost_button)  # a button vote names a real answer: never dropped silently
    assert await recorder.flush(30)
    assert (_ops(metrics, "orphaned"), _ops(metrics, "failed")) == (1, 1)
    rejected = spill.with_name(spill.name + ".rejected").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["data"]["ref"]["request_id"] for line in rejected] == [lost_button.ref.request_id]
    await recorder.aclose()


async def test_votes_set_aside_at_shutdown_are_spilled_and_replayed(
    pg_storage: tuple[asyncpg.Pool, Storage], tmp_path: Path
) -> None:
    pool, storage = pg_storage
    spill = tmp_path / "spill.jsonl"
    recorder = Recorder(storage, metrics=Metrics(), spill_path=spill)
    await recorder.start()
    vote = RecordFeedback(MessageRef(channel_id="D1", reply_ts="2.000200"), "T1", "U3", -1, "reaction")
    recorder.submit(vote)
    await eventually(lambda: recorder.pending == 1 and not recorder._queue.qsize(), "the vote set aside", 10)
    await recorder.aclose(grace=0.1)
    assert [json.loads(line)["op"] for line in spill.read_text(encoding="utf-8").splitlines()] == ["feedback"]
    answer = exchange(3)
    await storage.record_exchange(answer)
    await storage.attach_reply(answer.request_id, "D1", "2.000200")
    again = Recorder(storage, metrics=Metrics(), spill_path=spill)
    await again.start()  # the next run replays the spilled vote
    assert await again.flush(30)
    assert await pool.fetchval("SELECT rating FROM feedback") == -1
    await again.aclose()


RETRIED_A_WHILE = 8  # tries of a vote set aside: its pauses grow by 0.05 s a try


class LookupCounter(Storage):
    """The real storage, counting the look-ups of a reply's message (each try of a vote waiting for it)."""

    def __init__(self, pool: asyncpg.Pool, enough: int) -> None:
        super().__init__(pool)
        self.lookups, self.enough = 0, enough
        self.reached = asyncio.Event()

    async def message_id_for_reply(self, channel_id: str, reply_ts: str) -> int | None:
        self.lookups += 1
        if self.lookups >= self.enough:
            self.reached.set()
        return await super().message_id_for_reply(channel_id, reply_ts)


async def test_one_voters_votes_land_in_the_order_given_while_their_message_is_awaited(
    pg_storage: tuple[asyncpg.Pool, Storage], tmp_path: Path
) -> None:
    """👍 then taking it back, both before the answer is stored (another replica's write still on its way):
    the vote retried longest must not land after the retraction."""
    pool, _ = pg_storage
    storage = LookupCounter(pool, RETRIED_A_WHILE)
    recorder = Recorder(storage, metrics=Metrics(), spill_path=tmp_path / "spill.jsonl")
    await recorder.start()
    ref = MessageRef(channel_id="D1", reply_ts="3.000300")
    recorder.submit(RecordFeedback(ref, "T1", "U4", 1, "reaction"))
    # it has been retried a while (~1.5 s): its next try is ~0.4 s away
    await asyncio.wait_for(storage.reached.wait(), 10)
    recorder.submit(RemoveFeedback(ref, "T1", "U4", 1))  # tried at once otherwise, and found nothing to remove
    answer = exchange(4)
    recorder.submit(RecordExchange(answer))
    recorder.submit(AttachReply(answer.request_id, "D1", "3.000300"))
    assert await recorder.flush(30)
    assert await pool.fetchval("SELECT count(*) FROM feedback") == 0
    await recorder.aclose()


def test_a_sustained_overflow_warns_once_per_interval_with_the_count(
    tmp_path: Path, warnings_logged: list[Record]
) -> None:
    now = [100.0]
    metrics = Metrics()
    spill = Spill(tmp_path / "writes.jsonl", metrics, clock=lambda: now[0])
    for n in range(500):  # a full queue: every write spills
        spill.write([RecordExchange(exchange(n))])
        now[0] += 0.01  # 5 s in all
    now[0] += LOG_EVERY
    spill.write([RecordExchange(exchange(500))])
    spilled = [r for r in warnings_logged if r["message"] == "writes spilled to disk"]
    assert [r["extra"]["count"] for r in spilled] == [1, 500]  # the first at once, then the 499 since plus this one
    assert len((tmp_path / "writes.jsonl").read_text(encoding="utf-8").splitlines()) == 501  # every write kept
    assert metrics.registry.get_sample_value("persist_operations_total", {"operation": "spilled"}) == 501
