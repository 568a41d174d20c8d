"""Shared bench helpers: an event-loop lag probe, nearest-rank percentiles, and median [min–max] over runs."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Iterable
from types import TracebackType

TICK_SECONDS = 0.010


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def spread(values: Iterable[float], fmt: str = "{:.1f}") -> str:
    """`median [min–max]` of one figure over several runs (NaN-free), or – when there is none."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return "–"
    if any(math.isinf(v) for v in finite):
        return "timeout"
    text = fmt.format(statistics.median(finite))
    return text if len(finite) == 1 else f"{text} [{fmt.format(min(finite))}–{fmt.format(max(finite))}]"


class LoopLag:
    """A 10 ms ticker on the running loop: how late each tick fires is how long the loop was held (ms)."""

    def __init__(self, tick: float = TICK_SECONDS) -> None:
        self.tick = tick
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.tick)
            self.samples.append(max(0.0, (loop.time() - before - self.tick) * 1000))

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    @property
    def p99(self) -> float:
        """99th percentile lag (ms)."""
        return percentile(self.samples, 0.99)

    @property
    def worst(self) -> float:
        """Largest lag seen (ms)."""
        return max(self.samples, default=math.nan)
