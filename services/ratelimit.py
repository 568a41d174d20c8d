"""Per-user question budget: two token buckets (minute and hour) in Redis, decided by one Lua call."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from loguru import logger

from services.errors import RateLimited
from services.metrics import Metrics
from services.redis_watch import PATIENCE_SECONDS, UNREACHABLE, RedisSlow, RedisWatch

MINUTE_MS = 60_000
HOUR_MS = 3_600_000

# KEYS: minute bucket, hour bucket (one hash slot). ARGV: capacity and window (ms) of each, then the cost.
# The clock is Redis TIME so every replica of Endy shares it; buckets are hashes {tokens, ts (ms)}.
# Nothing is written on a refusal, and a bucket expires once it would be full again.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[5])
local level, rate, cap = {}, {}, {}
local allowed, wait = 1, 0
for i = 1, 2 do
  cap[i] = tonumber(ARGV[2 * i - 1])
  rate[i] = cap[i] / tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens, ts = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or ts == nil then tokens, ts = cap[i], now end
  level[i] = math.min(cap[i], tokens + math.max(0, now - ts) * rate[i])
  if level[i] < cost then
    allowed = 0
    wait = math.max(wait, (cost - level[i]) / rate[i])
  end
end
if allowed == 1 then
  for i = 1, 2 do
    level[i] = level[i] - cost
    redis.call('HSET', KEYS[i], 'tokens', level[i], 'ts', now)
    redis.call('PEXPIRE', KEYS[i], math.max(1, math.ceil((cap[i] - level[i]) / rate[i])))
  end
end
return {allowed, math.ceil(wait), math.floor(level[1]), math.floor(level[2])}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """The limiter's answer for one question."""

    allowed: bool
    retry_after: float  # seconds until one more question is allowed (0 when allowed)
    remaining_minute: int
    remaining_hour: int
    fallback: bool = False  # decided by the in-process bucket because Redis was unreachable


class _LocalBuckets:
    """The same two buckets in process memory, for Redis outages; bounded, least recently used evicted."""

    def __init__(self, windows: tuple[tuple[int, int], ...], max_users: int) -> None:
        self._windows = windows  # (capacity, window ms) per bucket
        self._max_users = max_users
        self._state: OrderedDict[str, tuple[list[float], float]] = OrderedDict()

    def take(self, who: str, now: float) -> Decision:
        """Decide one question for `who` at `now` (seconds on the limiter's clock)."""
        levels, last = self._state.pop(who, ([float(cap) for cap, _ in self._windows], now))
        wait_ms = 0.0
        for i, (cap, window) in enumerate(self._windows):
            rate = cap / window
            levels[i] = min(cap, levels[i] + max(0.0, now - last) * 1000 * rate)
            if levels[i] < 1:
                wait_ms = max(wait_ms, (1 - levels[i]) / rate)
        if wait_ms == 0:
            levels = [level - 1 for level in levels]
        self._state[who] = (levels, now)
        while len(self._state) > self._max_users:
            self._state.popitem(last=False)
        return Decision(
            wait_ms == 0, math.ceil(wait_ms) / 1000, math.floor(levels[0]), math.floor(levels[1]), fallback=True
        )


class RateLimiter:
    """Token buckets per Slack user (per minute AND per hour), failing open to in-process buckets."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        per_minute: int,
        per_hour: int,
        key_prefix: str,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 0.5,
        probe_interval: float = 1.0,
        max_local_users: int = 10_000,
        watch: RedisWatch | None = None,
    ) -> None:
        if per_minute < 1 or per_hour < 1:
            raise ValueError("per_minute and per_hour must be at least 1")
        self._script = redis.register_script(_LUA)
        self._args = (per_minute, MINUTE_MS, per_hour, HOUR_MS, 1)
        self._prefix = key_prefix
        self._metrics = metrics or Metrics()
        self._clock = clock
        self._timeout = timeout  # a window this long with no reply from Redis at all means unreachable
        self._watch = watch or RedisWatch(redis)
        self._probe_interval = probe_interval  # while Redis is down, only one caller per interval tries it
        self._local = _LocalBuckets(((per_minute, MINUTE_MS), (per_hour, HOUR_MS)), max_local_users)
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._outage_decisions = 0

    def keys(self, team_id: str | None, user_id: str) -> tuple[str, str]:
        """The minute and hour bucket keys; the {team:user} hash tag puts both in one cluster slot."""
        base = f"{self._prefix}rl:{{{team_id or '-'}:{user_id}}}"
        return f"{base}:m", f"{base}:h"

    async def check(self, team_id: str | None, user_id: str) -> Decision:
        """Decide one question, consuming a token from both buckets only when both have one."""
        now = self._clock()
        if self._down_since is not None and now < self._next_probe:
            return self._fallback(team_id, user_id, now)
        self._next_probe = now + self._probe_interval
        command = self._script(keys=self.keys(team_id, user_id), args=self._args)
        try:
            # In this task, no task of its own: a decision given up on is made in process, so the command need
            # not outlive it (services/redis_watch.py).
            reply = await self._watch.run(command, silence=self._timeout, patience=PATIENCE_SECONDS, keep_running=False)
        except RedisSlow:
            self._metrics.errors.labels(type="limiter_redis_slow").inc()
            return self._fallback(team_id, user_id, now)  # this once; Redis is not down
        except UNREACHABLE as err:
            self._enter_outage(err, now)
            return self._fallback(team_id, user_id, now)
        self._leave_outage(now)
        allowed, wait_ms, minute, hour = (int(v) for v in reply)
        return self._count(Decision(allowed == 1, wait_ms / 1000, minute, hour))

    async def acquire(self, team_id: str | None, user_id: str) -> Decision:
        """Like check, but raise RateLimited(retry_after) when the question is refused."""
        decision = await self.check(team_id, user_id)
        if not decision.allowed:
            raise RateLimited(decision.retry_after)
        return decision

    def _fallback(self, team_id: str | None, user_id: str, now: float) -> Decision:
        self._outage_decisions += 1
        self._metrics.limiter_fallback_decisions.inc()
        return self._count(self._local.take(self.keys(team_id, user_id)[0], now))

    def _count(self, decision: Decision) -> Decision:
        if not decision.allowed:
            self._metrics.rate_limited.inc()
        return decision

    def _enter_outage(self, err: BaseException, now: float) -> None:
        if self._down_since is not None:
            return
        self._down_since = now
        self._outage_decisions = 0
        self._metrics.limiter_fallback.set(1)
        logger.bind(error=type(err).__name__, detail=str(err)[:200]).warning(
            "rate limiter cannot reach Redis; deciding with in-process buckets until it answers"
        )

    def _leave_outage(self, now: float) -> None:
        if self._down_since is None:
            return
        outage = now - self._down_since
        self._down_since = None
        self._metrics.limiter_fallback.set(0)
        logger.bind(outage_seconds=round(outage, 1), fallback_decisions=self._outage_decisions).info(
            "rate limiter back on Redis"
        )
