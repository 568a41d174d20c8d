"""Write-behind persistence against a throwaway PostgreSQL that the test stops and starts again."""

from __future__ import annotations

import asyncio
import json
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.metrics import Metrics
from services.migrate import migrate
from services.persist import AttachReply, MessageRef, Recorder, RecordExchange, RecordFeedback, RemoveFeedback
from services.storage import Exchange, Storage

pytestmark = pytest.mark.timeout(90)


def _start(pgdata: Path) -> Any:
    import pgserver

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        return pgserver.get_server(pgdata, cleanup_mode="stop")


@pytest.fixture
def throwaway_pg(tmp_path: Path) -> Iterator[tuple[Path, Any]]:
    """Our own PostgreSQL (never the machine's shared one): the test may stop it."""
    pgdata = tmp_path / "pg"
    server = _start(pgdata)
    yield pgdata, server
    server.cleanup()


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


async def test_writes_survive_a_database_outage(throwaway_pg: tuple[Path, Any], tmp_path: Path) -> None:
    pgdata, server = throwaway_pg
    url = server.get_uri()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2, timeout=2)
    async with pool.acquire() as conn:
        await migrate(conn)
    metrics = Metrics()
    recorder = Recorder(Storage(pool), metrics=metrics, spill_path=tmp_path / "spill.jsonl", max_backoff=0.5)
    await recorder.start()
    first = exchange(0)
    recorder.submit(RecordExchange(first))
    assert await recorder.flush(10)
    server.cleanup()  # the outage
    pending = [exchange(i) for i in range(1, 6)]
    for ex in pending:
        recorder.submit(RecordExchange(ex))
    recorder.submit(AttachReply(first.request_id, "D1", "1700000000.000200"))
    assert not await recorder.flush(2) and not recorder.healthy
    server = _start(pgdata)  # recovery: same data directory, same socket
    assert await recorder.flush(30) and recorder.healthy
    rows = await pool.fetch("SELECT request_id, reply_ts FROM messages ORDER BY id")
    assert [r["request_id"] for r in rows] == [first.request_id] + [ex.request_id for ex in pending]
    assert rows[0]["reply_ts"] == "1700000000.000200"
    assert (metrics.registry.get_sample_value("persist_operations_total", {"operation": "retry"}) or 0) > 0
    await recorder.aclose()
    await pool.close()


async def test_overflow_and_leftovers_are_spilled_then_replayed(throwaway_pg: tuple[Path, Any], tmp_path: Path) -> None:
    pgdata, server = throwaway_pg
    pool = await asyncpg.create_pool(server.get_uri(), min_size=1, max_size=2, timeout=2)
    async with pool.acquire() as conn:
        await migrate(conn)
    server.cleanup()
    spill = tmp_path / "spill.jsonl"
    recorder = Recorder(Storage(pool), metrics=Metrics(), spill_path=spill, max_queue=2, max_backoff=0.2)
    await recorder.start()
    exchanges = [exchange(i) for i in range(6)]
    for ex in exchanges:
        recorder.submit(RecordExchange(ex))
    await recorder.aclose(grace=0.5)  # the database is still down: nothing may be lost
    assert len(spill.read_text(encoding="utf-8").splitlines()) == 6
    server = _start(pgdata)
    again = Recorder(Storage(pool), metrics=Metrics(), spill_path=spill)
    await again.start()
    assert await again.flush(30)
    stored = {r["request_id"] for r in await pool.fetch("SELECT request_id FROM messages")}
    assert stored == {ex.request_id for ex in exchanges} and not spill.exists()
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
    async with asyncio.timeout(10):  # not held up behind the vote (it waited ~30 s in line before)
        while not await pool.fetchval(  # noqa: ASYNC110 (polling the database)
            "SELECT count(*) FROM messages WHERE request_id = $1", behind.request_id
        ):
            await asyncio.sleep(0.05)
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
    async with asyncio.timeout(10):
        while recorder.pending != 1 or recorder._queue.qsize():  # noqa: ASYNC110 (waiting for it to be set aside)
            await asyncio.sleep(0.02)
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


async def test_one_voters_votes_land_in_the_order_given_while_their_message_is_awaited(
    pg_storage: tuple[asyncpg.Pool, Storage], tmp_path: Path
) -> None:
    """👍 then taking it back, both before the answer is stored (another replica's write still on its way):
    the vote retried longest must not land after the retraction."""
    pool, storage = pg_storage
    recorder = Recorder(storage, metrics=Metrics(), spill_path=tmp_path / "spill.jsonl")
    await recorder.start()
    ref = MessageRef(channel_id="D1", reply_ts="3.000300")
    recorder.submit(RecordFeedback(ref, "T1", "U4", 1, "reaction"))
    await asyncio.sleep(1.5)  # it has been retried a while: its next try is ~0.5 s away
    recorder.submit(RemoveFeedback(ref, "T1", "U4", 1))  # tried at once otherwise, and found nothing to remove
    answer = exchange(4)
    recorder.submit(RecordExchange(answer))
    recorder.submit(AttachReply(answer.request_id, "D1", "3.000300"))
    assert await recorder.flush(30)
    assert await pool.fetchval("SELECT count(*) FROM feedback") == 0
    await recorder.aclose()
