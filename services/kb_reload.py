"""Reload the knowledge base on every replica: one replica publishes through Redis, all reload.

Anyone who can reach Redis can publish on the channel, so a request is signed with SECRET_KEY (services/signing.py)
and carries its time and a unique id: an unsigned, forged or stale one is ignored (counted, and one warning per
quiet period), and so is a replay of a valid one (each replica remembers the ids it acted on, with Redis SET NX, for
as long as a request stays fresh).
Requests are debounced: a burst of them is one reload, once the burst has been quiet for `quiet_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from loguru import logger
from redis.exceptions import RedisError

from services.metrics import Metrics
from services.signing import VERSION, Signer

_POLL_SECONDS = 0.5
MAX_AGE_SECONDS = 120.0  # a signed request older than this (a replay of a captured one) is ignored
QUIET_SECONDS = 1.0  # a burst ends when no request came for this long
MAX_DELAY_SECONDS = 10.0  # a reload is never put off longer than this by requests that keep coming
WARN_EVERY_SECONDS = 60.0  # refused requests: one warning per this period, the rest only counted
SEEN_SECONDS = int(2 * MAX_AGE_SECONDS) + 1  # a request id is remembered while its time can pass as fresh


class KnowledgeReloader:
    """Publishes signed reload requests and listens for other replicas' (its own are reloaded in place)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        key_prefix: str,
        reload: Callable[[], Awaitable[object]],
        signer: Signer,
        metrics: Metrics,
        quiet_seconds: float = QUIET_SECONDS,
        max_delay_seconds: float = MAX_DELAY_SECONDS,
    ) -> None:
        self._redis = redis
        self.channel = f"{key_prefix}kb:reload"
        self._seen_prefix = f"{key_prefix}kb:reload-seen:"
        self._reload = reload
        self._signer = signer
        self._metrics = metrics
        self._quiet = quiet_seconds
        self._max_delay = max_delay_seconds
        self.instance = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.subscribed = asyncio.Event()
        self._burst_started: float | None = None  # monotonic time of the first request of the pending burst
        self._due = 0.0  # when the pending burst's reload runs
        self._warned_at = float("-inf")
        self._unwarned = 0

    async def start(self) -> None:
        """Begin listening in the background."""
        self._task = asyncio.create_task(self._listen(), name="endy-kb-reload")

    async def aclose(self) -> None:
        """Stop listening (the listener polls, so it notices within a second; cancel as a last resort)."""
        self._stop.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), _POLL_SECONDS * 3)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 1.0)

    def request(self) -> str:
        """A signed reload request from this replica."""
        body = json.dumps({"origin": self.instance, "at": time.time(), "nonce": uuid.uuid4().hex})
        return self._signer.seal(body, context=self.channel)

    async def publish(self) -> int:
        """Ask the other replicas to reload; returns how many of them got the request (0 if Redis is down)."""
        try:
            receivers = int(await self._redis.publish(self.channel, self.request()))
            return max(0, receivers - (1 if self.subscribed.is_set() else 0))  # not counting ourselves
        except (RedisError, OSError) as err:
            logger.bind(error=type(err).__name__).warning("knowledge reload not broadcast (Redis unreachable)")
            return 0

    async def _listen(self) -> None:
        # Polling get_message (not `listen()`): redis-py's pubsub can swallow a task cancellation while it
        # waits, which hung shutdown; a stop flag checked every poll always ends the loop.
        backoff = 0.5
        while not self._stop.is_set():
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    backoff = 0.5
                    while not self._stop.is_set():
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=self._wait())
                        if message is not None:
                            await self._handle(message)
                        await self._reload_when_due()
            except (RedisError, OSError) as err:
                self.subscribed.clear()
                logger.bind(error=type(err).__name__).warning("knowledge reload listener reconnecting")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), backoff)
                backoff = min(backoff * 2, 30.0)

    def _wait(self) -> float:
        """How long the next poll may wait: until the pending reload is due, at most one poll interval."""
        if self._burst_started is None:
            return _POLL_SECONDS
        return max(0.0, min(_POLL_SECONDS, self._due - time.monotonic()))

    async def _handle(self, message: dict[str, object]) -> None:
        if message.get("type") != "message":
            return
        data = message.get("data")
        request = self._request(data.decode(errors="replace") if isinstance(data, bytes) else str(data))
        if request is None or request[0] == self.instance:
            return
        if not await self._first_time(request[1]):
            self._refuse("replayed")
            return
        now = time.monotonic()
        if self._burst_started is None:
            self._burst_started = now
        self._due = min(now + self._quiet, self._burst_started + self._max_delay)

    async def _first_time(self, request_id: str) -> bool:
        """True the first time this replica sees a request id (remembered in Redis for SEEN_SECONDS). The key names
        the replica: every replica must act on the same request once, so a shared key would let only one reload."""
        key = f"{self._seen_prefix}{self.instance}:{request_id}"
        return bool(await self._redis.set(key, b"1", nx=True, ex=SEEN_SECONDS))

    def _request(self, sealed: str) -> tuple[str, str] | None:
        """The publishing replica and unique id of a valid request; None (counted, warned) for anything else."""
        text = self._signer.unseal(sealed, context=self.channel)
        if text is None:
            self._refuse("bad_signature" if sealed.startswith(f"{VERSION}.") else "unsigned")
            return None
        try:
            body = json.loads(text)
            origin, at, request_id = str(body["origin"]), float(body["at"]), str(body["nonce"])
        except (ValueError, TypeError, KeyError):
            self._refuse("malformed")
            return None
        if not request_id or len(request_id) > 64:
            self._refuse("malformed")
            return None
        if abs(time.time() - at) > MAX_AGE_SECONDS:
            self._refuse("stale")
            return None
        return origin, request_id

    def _refuse(self, reason: str) -> None:
        self._metrics.errors.labels(type=f"kb_reload_{reason}").inc()
        now = time.monotonic()
        if now - self._warned_at < WARN_EVERY_SECONDS:
            self._unwarned += 1
            return
        logger.bind(reason=reason, also_refused=self._unwarned).warning("knowledge reload request ignored")
        self._warned_at, self._unwarned = now, 0

    async def _reload_when_due(self) -> None:
        if self._burst_started is None or time.monotonic() < self._due:
            return
        self._burst_started = None
        logger.info("knowledge reload requested by another replica")
        try:
            await self._reload()
        except Exception:  # a bad knowledge folder must not kill the listener; the old KB keeps serving
            logger.exception("knowledge reload failed; still serving the previous knowledge base")
