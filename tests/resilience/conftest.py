"""Resilience fixtures: throwaway PostgreSQL/Redis a test may stop, and real Endy processes on chosen services.

The machine's shared PostgreSQL and Redis (DATABASE_URL / REDIS_URL) are not used here at all: pg_admin_url and
redis_url are overridden with a throwaway pgserver and redis-server for the package, and an outage test starts
its own (throwaway_pg; redis_server from tests/conftest.py) and breaks only that one.
Request `launch_endy` after the services it runs on (pg_url, throwaway_pg …): fixtures are torn down in
reverse, so Endy then stops (and flushes its writes) before its database goes away.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from config.settings import Settings
from tests.endy import Endy, TokenizerPool, run_endy
from tests.fakes.pg_process import PgProcess
from tests.fakes.redis_process import RedisProcess
from tests.fakes.slack import FakeSlack
from tests.resilience.helpers import LaunchEndy


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so CI can select (or skip) the suite with -m resilience."""
    config.addinivalue_line("markers", "resilience: fault, outage and burst tests (run by default)")


# ----------------------------------------------------------------------------- throwaway services


@pytest.fixture(scope="session")
async def pg_admin_url() -> AsyncIterator[str]:
    """Overrides the suite-wide fixture: resilience tests never touch the machine's PostgreSQL. One throwaway
    server serves the package (each test still gets its own database through pg_url); a test that stops a
    server starts its own (throwaway_pg)."""
    with tempfile.TemporaryDirectory(prefix="endy-resilience-pg-") as folder:
        pg = PgProcess(Path(folder) / "pg")
        await pg.start()
        try:
            yield pg.url
        finally:
            await pg.stop()


@pytest.fixture(scope="session")
async def redis_url() -> AsyncIterator[str]:
    """Overrides the suite-wide fixture: a throwaway redis-server for the package, never the machine's."""
    async with RedisProcess() as server:
        yield server.url


# ------------------------------------------------------------------------------------ Endy itself


async def _forget_keys(redis_urls: set[str], prefix: str) -> None:
    """Delete the test's keys (its own prefix) from every Redis it used that still answers."""
    for url in redis_urls:
        client = aioredis.Redis.from_url(url)
        try:
            async for key in client.scan_iter(match=f"{prefix}*", count=1000):
                await client.delete(key)
        except (RedisError, OSError):
            pass  # a throwaway server already stopped: nothing left to forget
        finally:
            await client.aclose()


@pytest.fixture
async def launch_endy(
    make_settings: Callable[..., Settings], tmp_path: Path, key_prefix: str, tokenizers: TokenizerPool
) -> AsyncIterator[LaunchEndy]:
    """Real Endy (open_deps + Server) on the PostgreSQL and Redis the test names; stopped gracefully after.

    Every process gets its own DATA_DIR (its spill file), as replicas on separate pods do.
    """
    redis_urls: set[str] = set()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(_forget_keys, redis_urls, key_prefix)  # runs last, once every Endy stopped
        slack = await stack.enter_async_context(FakeSlack())
        started: list[Endy] = []

        async def launch(
            *, database_url: str, redis_url: str, llm: bool = False, mode: str = "socket", **overrides: Any
        ) -> Endy:
            redis_urls.add(redis_url)
            values: dict[str, Any] = {"data_dir": tmp_path / f"data-{len(started)}", "log_level": "warning"} | overrides
            endy = await run_endy(
                stack,
                make_settings,
                slack,
                tokenizers=tokenizers,
                database_url=database_url,
                redis_url=redis_url,
                key_prefix=key_prefix,
                llm=llm,
                mode=mode,
                **values,
            )
            started.append(endy)
            return endy

        yield launch
