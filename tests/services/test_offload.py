"""CPU work off the event loop: results come back unchanged, from a worker thread, while the loop stays free."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import pytest

from services.offload import run_cpu
from services.processes import run_in_process, stop_processes
from services.report_chart import daily_chart, render_daily_chart
from services.storage import DailyStat
from tests.helpers import eventually, process_alive

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def chart_process() -> Iterator[None]:
    """The chart process a test starts is stopped after it (the session-end check would find it otherwise)."""
    yield
    stop_processes()


async def test_the_chart_rendered_off_the_loop_is_the_same_png(chart_process: None) -> None:
    days = [DailyStat(date(2026, 3, 18) - timedelta(days=6 - i), i + 1, i, i // 2, i % 2) for i in range(7)]
    off_loop = await render_daily_chart(days, "7일 리포트")
    assert off_loop is not None
    assert off_loop.startswith(b"\x89PNG")
    assert off_loop == daily_chart(days, "7일 리포트")
    assert await render_daily_chart([], "빈 기간") is None


async def test_charts_are_drawn_in_another_process_that_stop_ends(chart_process: None) -> None:
    first = await run_in_process(os.getpid)
    assert first != os.getpid()
    assert await run_in_process(os.getpid) == first  # one process, reused
    stop_processes()
    assert not process_alive(first)
    assert await run_in_process(os.getpid) not in (first, os.getpid())  # the next chart starts a new one


async def test_a_chart_process_that_died_is_replaced_once_for_every_caller(chart_process: None) -> None:
    first = await run_in_process(os.getpid)
    calls = [asyncio.ensure_future(run_in_process(time.sleep, 0.3)) for _ in range(3)]
    await asyncio.sleep(0.1)  # not a synchronisation: the calls are queued in the worker either way
    os.kill(first, signal.SIGKILL)
    assert await asyncio.gather(*calls) == [None, None, None]  # each caller got its retry
    second = await run_in_process(os.getpid)
    assert second not in (first, os.getpid())
    assert await run_in_process(os.getpid) == second  # one new worker for all of them


async def test_the_chart_process_leaves_when_its_parent_is_killed(tmp_path: Path) -> None:
    script = (
        "import asyncio, os, sys\n"
        "from services.processes import run_in_process\n"
        "async def main():\n"
        "    print(await run_in_process(os.getpid), flush=True)\n"
        "    await asyncio.sleep(600)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n"
    )
    (tmp_path / "parent.py").write_text(script)
    parent = await asyncio.create_subprocess_exec(
        sys.executable,
        str(tmp_path / "parent.py"),
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
    )
    stdout = cast(asyncio.StreamReader, parent.stdout)  # stdout=PIPE: a reader
    try:
        worker = int((await asyncio.wait_for(stdout.readline(), 60)).decode())
        assert process_alive(worker)
    finally:
        parent.kill()  # SIGKILL: no exit stack runs
        await parent.wait()
    await eventually(lambda: not process_alive(worker), "the orphaned chart process to leave", bound=15)


def _gone(pid: int) -> None:
    """Wait (bounded) until the killed process is reaped or a zombie."""
    for _ in range(200):
        if not process_alive(pid):
            return
        time.sleep(0.05)  # not a synchronisation: polling the process table, which nothing signals
    raise AssertionError(f"process {pid} still alive")
