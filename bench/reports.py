"""Admin report benchmark: the whole `/endy-admin report` (AdminService.report) at 10k / 100k / 1M messages, and
what one admin's report does to 20 users asking meanwhile.

Run: .venv/bin/python bench/reports.py [--database-url postgresql://postgres@127.0.0.1:5432/test]
         [--sizes 10000 100000 1000000] [--users 20] [--seconds 20] [--runs 3] [--long-gaps]
Creates and drops its own database; the history is the same synthetic one bench/storage.py loads.
Targets: <= 1 s per report at 1M messages (PostgreSQL aggregates; Python only groups <= 600 gap candidates);
with 20 users asking (AnswerService, no cache, extractive, recorded to PostgreSQL), the users' answer p95 rises
<= 20% while an admin's 90-day report (queries, gap grouping, chart PNG) runs back to back. A 10 ms loop-lag
ticker runs in both phases. `--long-gaps` first fills the window with 600 long low-confidence questions (the
worst case for gap grouping).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from loguru import logger

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.loop_lag import LoopLag, percentile, spread  # noqa: E402
from bench.storage import _admin_url, load_history  # noqa: E402  (bench/storage.py's loader)
from services.admin import AdminService  # noqa: E402
from services.answer_types import Asker  # noqa: E402
from services.answering import AnswerService, Protection  # noqa: E402
from services.knowledge import load_knowledge_base, sample_kb_dir  # noqa: E402
from services.metrics import Metrics  # noqa: E402
from services.migrate import migrate  # noqa: E402
from services.persist import Recorder  # noqa: E402
from services.retrieval import Retriever  # noqa: E402
from services.storage import Exchange, Storage  # noqa: E402
from services.tokenizer import KoreanTokenizer  # noqa: E402

try:
    from services.processes import stop_processes
except ImportError:  # an older tree (same-run baseline): charts were drawn in a thread

    def stop_processes() -> None:
        """Nothing to stop."""


try:
    from services.report_chart import render_daily_chart
except ImportError:  # an older tree (same-run baseline): the chart was drawn on the loop
    from services.report_chart import daily_chart

    async def render_daily_chart(days: Any, title: str) -> bytes | None:  # type: ignore[misc]
        return daily_chart(days, title)


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


@dataclass
class Phase:
    """One phase of the users-under-report experiment (latencies in ms)."""

    answers: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    reports: list[float] = field(default_factory=list)


def _questions() -> list[str]:
    lines = (ROOT / "tests" / "data" / "devset.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


async def _users(service: AnswerService, users: int, seconds: float, phase: Phase) -> None:
    """`users` closed-loop askers for `seconds`."""
    texts, turn = _questions(), iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def user(n: int) -> None:
        asker = Asker(user_id=f"U0LOAD{n:02d}", team_id="T1", surface="dm", channel_id=f"D{n}")
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await service.answer(texts[next(turn) % len(texts)], asker)
            phase.answers.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(user(n) for n in range(users)))


async def _phase(service: AnswerService, admin: AdminService | None, users: int, seconds: float) -> Phase:
    """Users ask for `seconds`; with `admin`, 90-day reports (and their chart) run back to back meanwhile."""
    phase = Phase()
    async with LoopLag() as lag:
        asking = asyncio.create_task(_users(service, users, seconds, phase))
        while admin is not None and not asking.done():
            started = time.perf_counter()
            report = await admin.report(90)
            await render_daily_chart(report.daily, "90일 리포트")
            phase.reports.append((time.perf_counter() - started) * 1000)
        await asking
    phase.lags = lag.samples
    return phase


async def _long_gaps(storage: Storage) -> None:
    """600 long low-confidence questions inside the window: every one becomes a gap candidate."""
    texts = _questions()
    now = datetime.now(UTC)
    for i in range(600):
        question = " ".join(texts[(i + k) % len(texts)] for k in range(20))[:500] + f" #{i}"
        await storage.record_exchange(
            Exchange(
                uuid.uuid4(),
                "dm",
                "T1",
                "D1",
                None,
                f"U{i}",
                question,
                "",
                "not_found",
                [],
                0.1,
                False,
                False,
                None,
                0,
                0,
                5,
                None,
                None,
                "bench",
                now - timedelta(hours=i % 48),
            )
        )


async def users_under_report(
    pool: asyncpg.Pool, tokenizer: KoreanTokenizer, args: argparse.Namespace, *, long_gaps: bool
) -> None:
    """Users' answer latency and loop lag without and with an admin report running, alternating, --runs times."""
    kb = load_knowledge_base(sample_kb_dir())
    retriever = Retriever(kb, tokenizer)
    storage = Storage(pool)
    if long_gaps:
        await _long_gaps(storage)
    spill = Path(tempfile.gettempdir()) / f"endy-bench-{uuid.uuid4().hex}.jsonl"
    recorder = Recorder(storage, metrics=Metrics(), spill_path=spill)
    await recorder.start()
    try:
        service = AnswerService(kb, retriever, None, protection=Protection(recorder=recorder))
        admin = AdminService(storage, [], tokenizer)
        await _phase(service, None, args.users, 2)  # warm-up
        quiet, busy = [], []
        for _ in range(args.runs):
            quiet.append(await _phase(service, None, args.users, args.seconds))
            busy.append(await _phase(service, admin, args.users, args.seconds))
    finally:
        await recorder.aclose()
        spill.unlink(missing_ok=True)
    _print_users(quiet, busy, args, long_gaps)


def _print_users(quiet: list[Phase], busy: list[Phase], args: argparse.Namespace, long_gaps: bool) -> None:
    what = "plus 600 long low-confidence questions in the window" if long_gaps else "the synthetic history"
    print(
        f"\n{args.users} users asking ({args.seconds:.0f} s per phase, no cache, extractive) without and with an "
        f"admin's 90-day report running back to back ({what}); median of {args.runs} runs [min–max]:\n"
    )
    print("| phase | answer p50 ms | answer p95 ms | loop lag p99 ms | loop lag max ms | reports | report ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, phases in (("users only", quiet), ("users + admin report", busy)):
        print(
            f"| {name} | {spread(percentile(p.answers, 0.5) for p in phases)} | "
            f"{spread(percentile(p.answers, 0.95) for p in phases)} | "
            f"{spread(percentile(p.lags, 0.99) for p in phases)} | "
            f"{spread(max(p.lags, default=float('nan')) for p in phases)} | {sum(len(p.reports) for p in phases)} | "
            f"{spread((percentile(p.reports, 0.5) for p in phases), '{:.0f}')} |"
        )
    rise = [percentile(b.answers, 0.95) / percentile(q.answers, 0.95) - 1 for q, b in zip(quiet, busy, strict=True)]
    verdict = "PASS" if statistics.median(rise) <= 0.20 else "MISS"
    print(
        f"\n- {verdict}: users' answer p95 rise with the report running {spread((100 * r for r in rise), '{:+.0f}')}% "
        "(target <= +20%), same-run pairs"
    )


async def run(url: str, sizes: list[int], args: argparse.Namespace | None = None) -> None:
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
            if args is not None and args.users:
                await users_under_report(pool, tokenizer, args, long_gaps=False)
                if args.long_gaps:
                    await users_under_report(pool, tokenizer, args, long_gaps=True)
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
    parser.add_argument("--users", type=int, default=20, help="users asking during the report (0: skip)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--runs", type=int, default=3, help="quiet/busy phase pairs")
    parser.add_argument(
        "--long-gaps", action="store_true", help="then again with 600 long low-confidence questions in the window"
    )
    args = parser.parse_args()
    logger.remove()
    logger.add(sys.stderr, level="WARNING")  # the pipeline logs every answer at INFO
    try:
        asyncio.run(run(args.database_url, args.sizes, args))
    finally:
        stop_processes()  # the chart process, on trees that have one


if __name__ == "__main__":
    main()
