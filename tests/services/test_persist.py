"""Write-behind persistence against a throwaway PostgreSQL that the test stops and starts again."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.metrics import Metrics
from services.migrate import migrate
from services.persist import AttachReply, Recorder, RecordExchange
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
