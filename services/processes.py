"""The chart process: work that holds the GIL in long C calls (matplotlib's drawing and PNG encoding) runs in one
spawned worker instead of a thread (services/offload.py says why). This module imports nothing heavy, so neither
does the worker (it loads only what the function it runs needs).

Started by the first call, stopped by its owner (`stop_processes`: the composition root's exit stack, a bench, a
test); it ignores Ctrl-C (the terminal's SIGINT reaches the whole process group and the parent stops it) and exits
by itself when its parent is gone (killed with SIGKILL, out of memory), so it is never left behind.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

PARENT_CHECK_SECONDS = 1.0

_processes: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)  # not a synchronisation: nothing signals a parent's death to a child
    os._exit(0)


def _worker_start(parent: int) -> None:
    """In the worker: ignore Ctrl-C, and leave when the parent does."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), name="endy-parent-watch", daemon=True).start()


def _pool() -> ProcessPoolExecutor:
    global _processes
    with _lock:
        if _processes is None:
            context = multiprocessing.get_context("spawn")  # not fork: the parent runs threads
            _processes = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=_worker_start, initargs=(os.getpid(),)
            )
        return _processes


def _discard(pool: ProcessPoolExecutor) -> None:
    """Forget a broken pool (only if it is still the current one: a caller may have replaced it already)."""
    global _processes
    with _lock:
        if _processes is pool:
            _processes = None
    pool.shutdown(wait=False, cancel_futures=True)


async def run_in_process(fn: Callable[..., T], *args: Any) -> T:
    """Run the picklable `fn(*args)` in the worker and await its result; if the worker died (killed, out of
    memory), a new one gets one more try."""
    loop = asyncio.get_running_loop()
    pool = _pool()
    try:
        return await loop.run_in_executor(pool, fn, *args)
    except BrokenProcessPool:
        _discard(pool)
        return await loop.run_in_executor(_pool(), fn, *args)


def stop_processes() -> None:
    """Stop the worker (if one was started) and wait for it; the next call starts a new one."""
    global _processes
    with _lock:
        pool, _processes = _processes, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
