"""Answer cache in Redis: keyed by the normalised (masked) question, the knowledge-base version and the engine
version (derived from the answer pipeline's code and the settings that shape an answer: services/versions.py).

Entries are signed with SECRET_KEY (services/signing.py), bound to their own key: anyone who can write to Redis
can plant or copy an entry, and an entry Endy did not write for that key is a miss (counted as "tampered")."""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from loguru import logger
from redis.exceptions import RedisError

from services.metrics import Metrics
from services.redis_watch import RedisSlow, RedisWatch
from services.signing import Signer
from services.versions import engine_version

_TRAILING = re.compile(r"[\s?!.~…。？！]+$")


def normalise_question(question: str) -> str:
    """The form two askings of the same question share: NFKC, lower case, single spaces, no trailing ?!."""
    text = " ".join(unicodedata.normalize("NFKC", question).lower().split())
    return _TRAILING.sub("", text)


class AnswerCache:
    """Stores finished answers for CACHE_TTL_SECONDS; a KB change (new version) misses automatically."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        key_prefix: str,
        ttl_seconds: int,
        metrics: Metrics,
        signer: Signer,
        timeout: float = 0.5,
        probe_interval: float = 1.0,
        watch: RedisWatch | None = None,
        clock: Callable[[], float] = time.monotonic,
        engine: str | None = None,
    ) -> None:
        """`engine` is `versions.engine_version(versions.answer_shaping(settings))`; without it, the code's alone."""
        self._redis = redis
        self._prefix = key_prefix
        self._ttl = ttl_seconds
        self._metrics = metrics
        self._signer = signer
        self._timeout = timeout  # a cache is worth only a short wait: a miss costs one answer
        self._probe_interval = probe_interval  # after a failure, skip Redis this long (one probe per interval)
        self._watch = watch or RedisWatch(redis)
        self._clock = clock
        self._skip_until = 0.0
        self._engine = engine if engine is not None else engine_version()

    @property
    def enabled(self) -> bool:
        """False when CACHE_TTL_SECONDS=0."""
        return self._ttl > 0

    def key(self, question: str, kb_version: str) -> str:
        """The Redis key for a question under one knowledge-base version (and this cache's engine version)."""
        digest = hashlib.sha256(normalise_question(question).encode()).hexdigest()[:32]
        return f"{self._prefix}answer:{kb_version}:{self._engine}:{digest}"

    async def get(self, question: str, kb_version: str) -> dict[str, Any] | None:
        """The cached payload, or None on a miss (or when Redis is unreachable)."""
        if self._skipping("get"):
            return None
        key = self.key(question, kb_version)
        try:
            raw = await self._watch.run(self._redis.get(key), silence=self._timeout)
        except (RedisError, RedisSlow, OSError) as err:
            self._error("get", err)
            return None
        if raw is None:
            self._metrics.cache_operations.labels("miss").inc()
            return None
        text = self._verified(key, raw)
        if text is None:
            return None
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self._metrics.cache_operations.labels("error").inc()
            return None
        self._metrics.cache_operations.labels("hit").inc()
        return payload

    def _verified(self, key: str, raw: bytes | str) -> str | None:
        """The entry's JSON when Endy signed it for this key; otherwise a miss, counted and logged once."""
        try:
            sealed = raw.decode() if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            sealed = ""
        text = self._signer.unseal(sealed, context=key)
        if text is None:
            self._metrics.cache_operations.labels("tampered").inc()
            self._metrics.errors.labels(type="cache_tampered").inc()
            logger.bind(bytes=len(raw)).warning("answer cache entry refused: not signed by Endy")
        return text

    async def set(self, question: str, kb_version: str, payload: dict[str, Any]) -> None:
        """Store a payload (best effort: a Redis failure only counts an error)."""
        if self._skipping("set"):
            return
        key = self.key(question, kb_version)
        value = self._signer.seal(json.dumps(payload, ensure_ascii=False), context=key)
        try:
            await self._watch.run(self._redis.set(key, value, ex=self._ttl), silence=self._timeout)
        except (RedisError, RedisSlow, OSError) as err:
            self._error("set", err)
            return
        self._metrics.cache_operations.labels("set").inc()

    def _skipping(self, op: str) -> bool:
        """True (and counted as a bypass) while a recent failure says Redis cannot help."""
        if self._clock() < self._skip_until:
            self._metrics.cache_operations.labels("bypass").inc()
            return True
        return False

    def _error(self, op: str, err: BaseException) -> None:
        self._skip_until = self._clock() + self._probe_interval
        self._metrics.cache_operations.labels("error").inc()
        logger.bind(op=op, error=type(err).__name__).debug("answer cache unavailable; bypassing")
