"""CPU-heavy work off the event loop: retrieval, composition, gap grouping, CSV building in threads; charts in a
process of their own.

Measured on this code (bench/slack_load.py notes): Kiwi, bm25s and numpy at these sizes keep the GIL, so two
threads run no faster than one. A worker thread still frees the loop: the loop waits at most Python's switch
interval (5 ms) for the GIL instead of the whole call (60–130 ms for a 500-character question). A process pool
would add parallelism but needs its own Kiwi and indexes per process and a reload protocol; more processes
(replicas) already give that.

Charts are the exception: matplotlib's Agg drawing and PNG encoding hold the GIL in long C calls (a 90-day chart
~400 ms; from a worker thread it still cost the loop 111 ms at a time), and with an admin's reports running back to
back 20 users' answer p95 rose 76%; drawn in a process it rose 8% (bench/reports.py, quiet machine). They need no
Kiwi nor index, so one spawned process is enough: services/processes.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

import numpy as np

from services.retrieval import DenseScorer

P = ParamSpec("P")
T = TypeVar("T")

# Two threads: a long question does not queue the short ones behind it (they share the GIL), while more
# threads would only take more GIL turns away from the loop.
CPU_THREADS = 2
# A worker waiting for the app loop (a dense scorer's HTTP call) gives up after this; the LLM client has its own
# shorter timeouts, so this only fires when the app loop has stopped.
APP_LOOP_WAIT_SECONDS = 60.0

_APP_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "endy_app_loop", default=None
)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=CPU_THREADS, thread_name_prefix="endy-cpu")
        return _pool


async def run_cpu(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn` in the CPU pool and await its result; context variables (log bindings) go with it."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    context.run(_APP_LOOP.set, loop)
    return await loop.run_in_executor(_executor(), functools.partial(context.run, fn, *args, **kwargs))


def run_coroutine(coro: Coroutine[Any, Any, T], *, may_suspend: bool) -> T:
    """In a worker: run an async computation to its end. One that never awaits real I/O (`may_suspend=False`,
    lexical retrieval) is stepped directly; otherwise it gets a private event loop for this call."""
    if may_suspend:
        return asyncio.run(coro)
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a coroutine declared as not suspending awaited I/O in a worker thread")


async def on_app_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Await `coro` on the app's event loop: clients (HTTP sessions) are bound to the loop that opened them."""
    app, here = _APP_LOOP.get(), asyncio.get_running_loop()
    if app is None or app is here:
        return await coro
    async with asyncio.timeout(APP_LOOP_WAIT_SECONDS):
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, app))


class AppLoopDense:
    """A dense scorer whose question embedding is always fetched on the app's loop, wherever retrieval runs."""

    def __init__(self, inner: DenseScorer) -> None:
        self.inner = inner

    async def scores(self, question: str) -> np.ndarray | None:
        """The inner scorer's similarities, its HTTP call made on the app loop."""
        return await on_app_loop(self.inner.scores(question))
