"""CPU work off the event loop: results come back unchanged, from a worker thread, while the loop stays free."""

from __future__ import annotations

import asyncio
import threading
from datetime import date, timedelta

from services.offload import run_cpu
from services.report_chart import daily_chart, render_daily_chart
from services.storage import DailyStat


def _where() -> str:
    return threading.current_thread().name


async def test_work_runs_in_a_named_worker_thread() -> None:
    assert (await run_cpu(_where)).startswith("endy-cpu")
    assert _where() != await run_cpu(_where)


async def test_the_loop_keeps_running_while_a_worker_computes() -> None:
    started, release = threading.Event(), threading.Event()

    def compute() -> int:
        started.set()
        assert release.wait(10), "the loop never got to release the worker"
        return 42

    job = asyncio.ensure_future(run_cpu(compute))
    await asyncio.to_thread(started.wait, 10)
    release.set()  # the loop runs this while the worker is still busy
    assert await job == 42


async def test_the_chart_rendered_off_the_loop_is_the_same_png() -> None:
    days = [DailyStat(date(2026, 3, 18) - timedelta(days=6 - i), i + 1, i, i // 2, i % 2) for i in range(7)]
    off_loop = await render_daily_chart(days, "7일 리포트")
    assert off_loop is not None
    assert off_loop.startswith(b"\x89PNG")
    assert off_loop == daily_chart(days, "7일 리포트")
    assert await render_daily_chart([], "빈 기간") is None
