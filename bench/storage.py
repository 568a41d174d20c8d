"""Storage benchmark: write throughput, then report-query latency and plans at 10k, 100k and 1M messages.

Run: .venv/bin/python bench/storage.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
         [--sizes 10000 100000 1000000] [--writes 3000] [--concurrency 10]
The URL is an admin URL: the script creates its own database `endy_bench_<random>` on that server,
migrates it, and drops it at the end. Synthetic history is generated server-side (generate_series),
spread over the 120 days before the load, with ~20% of messages voted on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from loguru import logger

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.migrate import migrate  # noqa: E402
from services.storage import Exchange, Storage  # noqa: E402
from services.storage.reports import (  # noqa: E402
    DAILY_SQL,
    DEFAULT_LOW_CONFIDENCE,
    LOW_CONFIDENCE_SQL,
    NEGATIVE_FEEDBACK_SQL,
    SNIPPET_CHARS,
    SUMMARY_SQL,
    split_window,
)

WINDOWS = (7, 30, 90)
RUNS = 5
HISTORY_DAYS = 120
USERS = 2_000
CHUNK = 100_000

_CONVERSATIONS = """
INSERT INTO conversations (surface, team_id, channel_id, thread_ts, user_id, created_at)
SELECT (ARRAY['dm', 'mention', 'slash', 'cli'])[1 + g % 4], 'T1', 'C' || (g % 40), 'b' || $2 || '.' || g,
       'U' || (g % 2000), now()
FROM generate_series(1, $1) AS g"""

# Two messages per conversation; confidence mostly high, ~12% not found; answers of ~300 characters.
_MESSAGES = """
INSERT INTO messages (request_id, conversation_id, user_id, question, answer, kind, sources, confidence, used_llm,
                      llm_failed, model, prompt_tokens, completion_tokens, latency_ms, category, department,
                      kb_version, channel_id, reply_ts, created_at)
SELECT gen_random_uuid(), $2 + (g - 1) / 2, 'U' || floor($6 * r1 * r1)::int,
       (ARRAY['연차는 어떻게 신청하나요?', '재택근무 신청 방법', '법인카드 분실 신고', '노트북 교체 주기',
              '경조사 휴가 일수', '급여일이 언제인가요?', '회의실 예약', '야근 식대 기준'])[1 + g % 8] || ' #' || g,
       CASE WHEN nf THEN '' ELSE repeat('e-HR 시스템에서 신청서를 작성한 뒤 팀장 승인을 받으면 됩니다. ', 8) END,
       CASE WHEN nf THEN 'not_found' ELSE 'answer' END,
       CASE WHEN nf THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
           'title', (ARRAY['연차 신청 방법', '재택근무', '법인카드', '노트북 지급'])[1 + g % 4],
           'link', 'https://wiki.example/hr#s' || g % 70, 'source', 'hr.md', 'section_id', 'hr-' || g % 70)) END,
       CASE WHEN nf THEN 0.4 * r2 ELSE 0.45 + 0.55 * sqrt(r2) END,
       g % 3 <> 0, g % 97 = 0, 'gpt-4o-mini', 800 + g % 400, 60 + g % 200, 300 + g % 2500,
       (ARRAY['근태', '급여', '복지', 'IT'])[1 + g % 4], (ARRAY['hr', 'it', 'finance'])[1 + g % 3], 'bench',
       'C' || (g % 40), 'r' || $5 || '.' || g,
       $3::timestamptz - make_interval(days => $4) + (($7 + g)::float8 / $8) * make_interval(days => $4)
           + (r2 - 0.5) * interval '10 minutes'
FROM (SELECT g, random() AS r1, random() AS r2, random() < 0.12 AS nf FROM generate_series(1, $1) AS g) AS s"""

# ~20% of messages get a vote from their asker; not-found answers are down-voted more often.
_FEEDBACK = """
INSERT INTO feedback (message_id, asked_at, team_id, user_id, rating, via, reasons, comment, created_at, updated_at)
SELECT id, created_at, 'T1', user_id, rating, CASE WHEN id % 3 = 0 THEN 'button' ELSE 'reaction' END,
       CASE WHEN rating = -1 THEN ARRAY['부정확해요', '출처가 없어요'] ELSE '{}' END,
       CASE WHEN rating = -1 AND id % 4 = 0 THEN '담당 부서가 틀렸어요' END,
       created_at + interval '2 minutes', created_at + interval '2 minutes'
FROM (SELECT id, created_at, user_id,
             CASE WHEN random() < CASE kind WHEN 'not_found' THEN 0.6 ELSE 0.2 END THEN -1 ELSE 1 END AS rating
      FROM messages WHERE random() < 0.2) AS voted"""


def _admin_url(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _exchange(i: int) -> Exchange:
    follow_up = i % 3 != 0
    return Exchange(
        request_id=uuid.uuid4(), surface="mention", team_id="T1", channel_id=f"C{i % 40}",
        thread_ts=f"w.{i // 3}" if follow_up else None, user_id=f"U{i % USERS}",
        question=f"연차는 어떻게 신청하나요? #{i}", answer="e-HR 시스템에서 신청하세요. " * 10, kind="answer",
        sources=[{"title": "연차 신청 방법", "link": "https://wiki.example/hr#leave", "source": "hr.md",
                  "section_id": "hr-1"}],
        confidence=0.8, used_llm=True, llm_failed=False, model="gpt-4o-mini", prompt_tokens=900,
        completion_tokens=120, latency_ms=1500, category="근태", department="hr", kb_version="bench",
    )  # fmt: skip


async def bench_writes(storage: Storage, total: int, concurrency: int) -> dict[str, float]:
    """record_exchange + record_feedback pairs from `concurrency` workers sharing the pool."""
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            message_id = await storage.record_exchange(_exchange(i))
            await storage.record_feedback(message_id, "T1", f"U{i % USERS}", 1 if i % 4 else -1, "reaction")
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {"pairs": total, "seconds": elapsed, "per_s": total / elapsed, "p50": q[49], "p95": q[94]}


async def load_history(pool: asyncpg.Pool, total: int, stage: int) -> tuple[int, float]:
    """Replace the history with `total` synthetic messages in time order (as a real table grows); (votes, s)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE feedback, messages, conversations RESTART IDENTITY")  # rollups: by trigger
        for offset in range(0, total, CHUNK):
            n = min(CHUNK, total - offset)
            conversations = (n + 1) // 2
            await conn.execute(_CONVERSATIONS, conversations, f"{stage}.{offset}")
            # One statement, no concurrent writers: the identity values just issued are consecutive.
            first = int(await conn.fetchval("SELECT max(id) FROM conversations")) - conversations + 1
            await conn.execute(_MESSAGES, n, first, now, HISTORY_DAYS, f"{stage}.{offset}", USERS, offset, total)
        await conn.execute(_FEEDBACK)
        await conn.execute("VACUUM (ANALYZE) conversations, messages, feedback, usage_daily, daily_votes")
        votes = int(await conn.fetchval("SELECT count(*) FROM feedback"))
    return votes, time.perf_counter() - started


async def _median_ms(call: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _queries(storage: Storage, since: datetime, until: datetime) -> dict[str, Callable[[], Awaitable[object]]]:
    return {
        "summary": lambda: storage.summary(since, until),
        "daily": lambda: storage.daily(since, until),
        "low_confidence": lambda: storage.low_confidence(since, until),
        "negative_feedback": lambda: storage.negative_feedback(since, until),
    }


async def time_reports(storage: Storage) -> dict[str, dict[int, float]]:
    """Median milliseconds per query and window (days), through the Storage API."""
    until = datetime.now(UTC)
    results: dict[str, dict[int, float]] = {}
    for days in WINDOWS:
        for name, call in _queries(storage, until - timedelta(days=days), until).items():
            results.setdefault(name, {})[days] = await _median_ms(call)
    return results


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _describe(node: dict[str, Any]) -> str | None:
    """One scan of a plan as text; None for nodes that read no table or index."""
    kind = node["Node Type"]
    if kind == "Gather" or kind == "Gather Merge":
        return f"{kind} ({node.get('Workers Launched', 0)} workers)"
    if "Relation Name" not in node and "Index Name" not in node:
        return None  # subquery, CTE and function scans
    index = f" using {node['Index Name']}" if "Index Name" in node else ""
    table = f" on {node['Relation Name']}" if "Relation Name" in node else ""
    rows = int(node["Actual Rows"] * node["Actual Loops"])
    heap = f", heap fetches {node['Heap Fetches']}" if "Heap Fetches" in node else ""
    return f"{kind}{index}{table} ({rows} rows{heap})"


def plan_summary(explained: dict[str, Any]) -> str:
    """The scans of an EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) result, with buffers and time."""
    top = explained["Plan"]
    parts = [text for node in _nodes(top) if (text := _describe(node))]
    buffers = f"buffers hit {top.get('Shared Hit Blocks', 0)} read {top.get('Shared Read Blocks', 0)}"
    return f"{'; '.join(parts)}; {buffers}; {explained['Execution Time']:.1f} ms"


async def explain_reports(pool: asyncpg.Pool, days: int) -> dict[str, str]:
    """Plan summaries of the report queries over the last `days` days."""
    until = datetime.now(UTC)
    since = until - timedelta(days=days)
    statements: dict[str, tuple[str, tuple[object, ...]]] = {
        "summary": (SUMMARY_SQL, split_window(since, until)),
        "daily": (DAILY_SQL, split_window(since, until)),
        "low_confidence": (LOW_CONFIDENCE_SQL, (since, until, DEFAULT_LOW_CONFIDENCE, 50)),
        "negative_feedback": (NEGATIVE_FEEDBACK_SQL, (since, until, 20, SNIPPET_CHARS + 1)),
    }
    out = {}
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off")
        for name, (sql, args) in statements.items():
            raw = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *args)
            out[name] = plan_summary(json.loads(raw)[0])
    return out


async def run(url: str, sizes: list[int], writes: int, concurrency: int) -> None:
    """Create the throwaway database, run every stage, print Markdown, drop the database."""
    name = f"endy_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        pool = await asyncpg.create_pool(_admin_url(url, name), min_size=concurrency, max_size=concurrency)
        try:
            await _stages(pool, sizes, writes, concurrency)
        finally:
            await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _stages(pool: asyncpg.Pool, sizes: list[int], writes: int, concurrency: int) -> None:
    async with pool.acquire() as conn:
        await migrate(conn)
        version = await conn.fetchval("SHOW server_version")
    storage = Storage(pool)
    w = await bench_writes(storage, writes, concurrency)
    print(f"PostgreSQL {version}\n\n### Writes (record_exchange + record_feedback, concurrency {concurrency})\n")
    print("| pairs | seconds | pairs/s | writes/s | pair p50 (ms) | pair p95 (ms) |\n|---:|---:|---:|---:|---:|---:|")
    print(f"| {w['pairs']:.0f} | {w['seconds']:.2f} | {w['per_s']:.0f} | {2 * w['per_s']:.0f} "
          f"| {w['p50']:.1f} | {w['p95']:.1f} |", flush=True)  # fmt: skip

    rows, loads = [], []
    for stage, size in enumerate(sizes):
        votes, seconds = await load_history(pool, size, stage)
        count = size
        loads.append(f"| {count} | {votes} | {seconds:.1f} |")
        for query, by_window in (await time_reports(storage)).items():
            cells = " | ".join(f"{by_window[d]:.1f}" for d in WINDOWS)
            rows.append(f"| {count} | {query} | {cells} |")
    print("\n### Bulk load (a fresh time-ordered history per size; includes VACUUM ANALYZE)\n")
    print("| messages | feedback | seconds |\n|---:|---:|---:|")
    print("\n".join(loads))
    header = " | ".join(f"{d} days" for d in WINDOWS)
    print(f"\n### Report queries via Storage (median of {RUNS}, ms)\n\n| messages | query | {header} |")
    print("|---:|---|" + "---:|" * len(WINDOWS))
    print("\n".join(rows))
    for days in (7, 90):
        print(f"\n### Plans at {sizes[-1]} messages, {days}-day window (EXPLAIN ANALYZE, BUFFERS)\n")
        for query, summary in (await explain_reports(pool, days)).items():
            print(f"- **{query}**: {summary}")


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--writes", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    logger.remove()  # the migration log lines would interleave with the Markdown
    started = time.perf_counter()
    asyncio.run(run(args.database_url, sorted(args.sizes), args.writes, args.concurrency))
    print(f"\nTotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
