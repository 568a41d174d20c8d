"""Redis connection: REDIS_URL, or an embedded redis-server (services/embedded_redis.py) outside production."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from loguru import logger
from redis.exceptions import RedisError

from config import problems
from config.settings import ConfigError, Settings, mask_url
from services.embedded import start_in_thread
from services.embedded_redis import EmbeddedRedis

_SCHEMES = {"redis", "rediss", "unix"}
MAX_CONNECTIONS = 100  # per process; commands beyond it queue for a connection
# A burst queues this long at most for a connection (the limiter and the dedupe bound their own waits sooner);
# not shorter: a busy event loop must not turn the queue into "Redis unreachable".
POOL_WAIT_SECONDS = 5.0
# Above the dedupe's patience: services/redis_watch.py decides when Redis is down (by the absence of any reply);
# this only ends a command nobody waits for any more, so a slow reply is not cut short as a "timeout".
SOCKET_TIMEOUT_SECONDS = 15.0


def check_redis_url(url: str) -> None:
    """Raise ConfigError (password masked) when REDIS_URL is not a Redis URL."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise ConfigError([problems.url_unparseable("REDIS_URL", mask_url(url))]) from None
    if parts.scheme not in _SCHEMES or (parts.scheme != "unix" and not parts.hostname):
        raise ConfigError([problems.url_wrong_form("REDIS_URL", mask_url(url))])


def make_client(url: str, **options: Any) -> aioredis.Redis:
    """A client whose pool makes a burst wait for a free connection: redis-py's default pool raises
    ConnectionError ("Too many connections") beyond 100 concurrent commands, which the limiter, the dedupe
    and the cache would take for an outage of a perfectly healthy Redis."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        **options,
    )
    return aioredis.Redis.from_pool(pool)


async def open_redis(settings: Settings, stack: AsyncExitStack) -> aioredis.Redis:
    """Connect to Redis; a malformed REDIS_URL is a ConfigError, an unreachable one only a warning
    (the limiter fails open and the cache is bypassed until Redis answers)."""
    if settings.redis_url is not None:
        url = settings.redis_url.get_secret_value()
        check_redis_url(url)
        client = make_client(url, socket_connect_timeout=1.0, health_check_interval=15)
        where = mask_url(url)
    elif settings.is_production:
        raise ConfigError([problems.url_unset_in_production("REDIS_URL")])
    else:
        server = EmbeddedRedis(settings.data_dir.resolve() / "redis")
        await start_in_thread(server.start, lambda _: server.stop())  # a signal meanwhile still stops it
        stack.callback(server.stop)
        client = make_client(server.url)
        where = f"embedded Redis ({settings.data_dir / 'redis'})"
    stack.push_async_callback(client.aclose)
    try:
        await client.ping()
    except (RedisError, OSError) as err:
        logger.bind(redis=where, error=type(err).__name__).warning("Redis unreachable at start-up; continuing degraded")
    else:
        logger.bind(redis=where).info("using Redis")
    return client
