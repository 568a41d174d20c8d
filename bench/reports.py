"""Admin report benchmark: the whole `/endy-admin report` (AdminService.report) at 10k / 100k / 1M messages.

Run: .venv/bin/python bench/reports.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
Creates and drops its own database; the history is the same synthetic one bench/storage.py loads.
Target: <= 1 s per report at 1M messages (PostgreSQL aggregates; Python only groups <= 600 gap candidates).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.storage import _admin_url, load_history  # noqa: E402  (bench/storage.py's loader)
from services.admin import AdminService  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.storage import Storage  # noqa: E402
from services.tokenizer import KoreanTokenizer  # noqa: E402

RUNS = 5


async def _time(admin: AdminService, days: int) -> tuple[float, float, int]:
    times = []
    gaps = 0
    for _ in range(RUNS):
        started = time.perf_counter()
        report = await admin.report(days)
        times.append((time.perf_counter() - started) * 1000)
        gaps = len(report.gaps)
    return statistics.median(times), max(times), gaps


async def _parts(storage: Storage, days: int) -> dict[str, float]:
    until = datetime.now(UTC)
    since = until - timedelta(days=days)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "summary": lambda: storage.summary(since, until),
        "daily": lambda: storage.daily(since, until),
        "votes_by_category": lambda: storage.votes_by_category(since, until),
        "worst_answers": lambda: storage.worst_answers(since, until),
        "gap_candidates": lambda: storage.gap_candidates(since, until),
    }
    out = {}
    for name, call in calls.items():
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            await call()
            times.append((time.perf_counter() - started) * 1000)
        out[name] = statistics.median(times)
    return out


async def run(url: str, sizes: list[int]) -> None:
    """Load each size, time the report for 7/30/90 days, print Markdown."""
    name = f"endy_bench_{uuid.uuid4().hex[:10]}"
    admin_conn = await asyncpg.connect(url)
    await admin_conn.execute(f'CREATE DATABASE "{name}"')
    try:
        pool = await asyncpg.create_pool(_admin_url(url, name), min_size=2, max_size=4)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            tokenizer = KoreanTokenizer()
            tokenizer.warm_up()
            admin = AdminService(Storage(pool), [], tokenizer)
            print("| messages | period | median (ms) | max (ms) | gap groups |\n|---:|---|---:|---:|---:|")
            for stage, size in enumerate(sizes):
                await load_history(pool, size, stage)
                for days in (7, 30, 90):
                    median, worst, gaps = await _time(admin, days)
                    print(f"| {size} | {days}d | {median:.0f} | {worst:.0f} | {gaps} |", flush=True)
            print(f"\nParts of the 90-day report at {sizes[-1]} messages (median ms):\n")
            for part, ms in (await _parts(admin.storage, 90)).items():
                print(f"- {part}: {ms:.0f}")
        finally:
            await pool.close()
    finally:
        await admin_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin_conn.close()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    asyncio.run(run(args.database_url, args.sizes))


if __name__ == "__main__":
    main()
