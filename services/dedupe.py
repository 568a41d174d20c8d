"""Slack event de-duplication: Slack retries a delivery it thinks failed, and we must answer only once.

The same "first time?" question, under its own namespace, also guards replayed slash commands and interactions
(handlers/replay.py) and escalations (once per question, handlers/escalation.py)."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

import redis.asyncio as aioredis
from loguru import logger

from services.metrics import Metrics
from services.redis_watch import UNREACHABLE, RedisSlow, RedisWatch

# Deciding runs after Slack's ack, so a Redis that is alive but busy is waited for this long: answering late
# beats answering twice (deciding alone while another replica may hold the same event).
PATIENCE_SECONDS = 10.0


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

    def discard(self, event_id: str) -> None:
        """Forget event_id."""
        self._expires.pop(event_id, None)

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
        watch: RedisWatch | None = None,
        namespace: str = "event",
        patience: float = PATIENCE_SECONDS,
    ) -> None:
        if ttl_seconds < 1:
            raise ValueError("ttl_seconds must be at least 1")
        self._redis = redis
        self._prefix = f"{key_prefix}{namespace}:"
        self._patience = patience  # how long a busy Redis is waited for (shorter when an ack waits too)
        self._ttl = ttl_seconds
        self._metrics = metrics or Metrics()
        # Also fed while Redis answers, so a retry arriving during a later outage is still recognised.
        self._local = _LocalSeen(ttl_seconds, max_local, clock)
        self._clock = clock
        self._owner = uuid.uuid4().hex  # the marker's value: a retried SET NX can tell its own marker from another's
        self._timeout = timeout  # a window this long with no reply from Redis at all means unreachable
        self._watch = watch or RedisWatch(redis)
        self._probe_interval = probe_interval  # during an outage, try Redis at most once per interval
        self._down = False
        self._next_probe = 0.0

    def key(self, event_id: str) -> str:
        """The Redis key marking event_id as seen."""
        return f"{self._prefix}{event_id}"

    async def first_time(self, event_id: str) -> bool:
        """True the first time event_id is offered (within ttl_seconds), False for every repeat."""
        if self._local.seen(event_id):
            return False  # this process has it (maybe still asking Redis): its own delivery decides
        self._local.add(event_id)  # before asking Redis: a second delivery may arrive while we wait
        fresh = await self._set_nx(event_id)
        return fresh is not False

    async def forget(self, event_id: str) -> None:
        """Undo first_time (the work it guarded failed and may be tried again); best effort."""
        self._local.discard(event_id)
        try:
            await self._watch.run(self._redis.delete(self.key(event_id)), silence=self._timeout)
        except (RedisSlow, *UNREACHABLE) as err:
            logger.bind(error=type(err).__name__).warning("dedupe marker not removed")

    async def _set_nx(self, event_id: str) -> bool | None:
        """Redis's verdict, or None when it cannot be asked."""
        now = self._clock()
        if self._down and now < self._next_probe:
            self._metrics.errors.labels(type="dedupe_redis_unreachable").inc()
            return None
        self._next_probe = now + self._probe_interval
        try:
            try:
                fresh = await self._claim(event_id)
            except RedisSlow:
                # Alive but busy (the pool had no free connection, or the reply was late): ask once more. The
                # marker holds this process's token, so a first SET that did land is recognised as ours.
                self._metrics.errors.labels(type="dedupe_redis_slow").inc()
                fresh = await self._claim(event_id)
        except RedisSlow:
            return None  # still swamped: decide from memory this once
        except UNREACHABLE as err:
            self._outage(err)
            return None
        self._recovered()
        return fresh

    async def _claim(self, event_id: str) -> bool:
        """SET NX with this process's token; when the key exists, whether it holds that token (our earlier try)."""
        key, token = self.key(event_id), f"{self._owner}:{event_id}"
        run = self._watch.run
        if await run(
            self._redis.set(key, token, nx=True, ex=self._ttl), silence=self._timeout, patience=self._patience
        ):
            return True
        held = await run(self._redis.get(key), silence=self._timeout, patience=self._patience)
        return (held.decode() if isinstance(held, bytes) else held) == token

    def _outage(self, err: BaseException) -> None:
        self._metrics.errors.labels(type="dedupe_redis_unreachable").inc()
        if not self._down:
            self._down = True
            logger.bind(error=type(err).__name__).warning("event dedupe cannot reach Redis; using in-process ids")

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            logger.bind(remembered=len(self._local)).info("event dedupe back on Redis")
