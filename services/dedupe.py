"""Slack event de-duplication: Slack retries a delivery it thinks failed, and we must answer only once."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

import redis.asyncio as aioredis
from loguru import logger

from services.metrics import Metrics
from services.ratelimit import UNREACHABLE


class _LocalSeen:
    """Event ids seen by this process, each for ttl seconds; bounded, oldest dropped first."""

    def __init__(self, ttl: float, max_entries: int, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._expires: OrderedDict[str, float] = OrderedDict()  # insertion order == expiry order

    def __len__(self) -> int:
        return len(self._expires)

    def seen(self, event_id: str) -> bool:
        """True when event_id was added less than ttl seconds ago."""
        self._purge()
        return event_id in self._expires

    def add(self, event_id: str) -> None:
        """Remember event_id for ttl seconds (a repeat does not extend it, like SET NX)."""
        if event_id not in self._expires:
            self._expires[event_id] = self._clock() + self._ttl
        while len(self._expires) > self._max:
            self._expires.popitem(last=False)

    def _purge(self) -> None:
        now = self._clock()
        while self._expires and next(iter(self._expires.values())) <= now:
            self._expires.popitem(last=False)


class EventDeduper:
    """Says whether an event id is new: Redis SET NX across processes, an in-process set during outages."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        key_prefix: str,
        ttl_seconds: int = 600,
        metrics: Metrics | None = None,
        max_local: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 0.5,
        probe_interval: float = 1.0,
    ) -> None:
        if ttl_seconds < 1:
            raise ValueError("ttl_seconds must be at least 1")
        self._redis = redis
        self._prefix = key_prefix
        self._ttl = ttl_seconds
        self._metrics = metrics or Metrics()
        # Also fed while Redis answers, so a retry arriving during a later outage is still recognised.
        self._local = _LocalSeen(ttl_seconds, max_local, clock)
        self._clock = clock
        self._timeout = timeout  # Slack wants its ack within 3 s; the client's own retries could take longer
        self._probe_interval = probe_interval  # during an outage, try Redis at most once per interval
        self._down = False
        self._next_probe = 0.0

    def key(self, event_id: str) -> str:
        """The Redis key marking event_id as seen."""
        return f"{self._prefix}event:{event_id}"

    async def first_time(self, event_id: str) -> bool:
        """True the first time event_id is offered (within ttl_seconds), False for every repeat."""
        seen_here = self._local.seen(event_id)
        fresh = await self._set_nx(event_id)
        self._local.add(event_id)
        return fresh is not False and not seen_here

    async def _set_nx(self, event_id: str) -> bool | None:
        """Redis's verdict, or None when it cannot be asked."""
        now = self._clock()
        if self._down and now < self._next_probe:
            self._metrics.errors.labels(type="dedupe_redis_unreachable").inc()
            return None
        self._next_probe = now + self._probe_interval
        try:
            async with asyncio.timeout(self._timeout):
                fresh = await self._redis.set(self.key(event_id), 1, nx=True, ex=self._ttl)
        except UNREACHABLE as err:
            self._outage(err)
            return None
        self._recovered()
        return bool(fresh)

    def _outage(self, err: BaseException) -> None:
        self._metrics.errors.labels(type="dedupe_redis_unreachable").inc()
        if not self._down:
            self._down = True
            logger.bind(error=type(err).__name__).warning("event dedupe cannot reach Redis; using in-process ids")

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            logger.bind(remembered=len(self._local)).info("event dedupe back on Redis")
