"""Endy running for real (open_deps + Server) against the fake Slack, real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from config.settings import Settings
from endy_bot.deps import Deps, open_deps
from endy_bot.runtime import Server
from endy_bot.slack_http import ReadTimeouts
from endy_bot.slack_link import Backoff
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import FakeSlack

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
READY_BOUND = 15.0  # auth.test and the first Socket Mode connection against the fake Slack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Endy:
    slack: FakeSlack
    server: Server
    deps: Deps
    llm: FakeOpenAI | None = None

    async def rows(self, sql: str, *args: Any) -> list[Any]:
        """Query PostgreSQL after the work in flight finished and every queued write has landed."""
        assert await self.server.tasks.settle(10)
        assert await self.deps.recorder.flush(10)
        return list(await self.deps.pool.fetch(sql, *args))


StartEndy = Callable[..., Any]


async def run_endy(
    stack: AsyncExitStack,
    make_settings: Callable[..., Settings],
    slack: FakeSlack,
    *,
    database_url: str,
    redis_url: str,
    key_prefix: str,
    llm: bool = False,
    mode: str = "socket",
    timeouts: ReadTimeouts | None = None,
    ready: bool = True,
    backoff: Backoff | None = None,
    **overrides: Any,
) -> Endy:
    """Start a real Endy (open_deps + Server) against the fake Slack (and a fake OpenAI when llm=True); `stack`
    stops it gracefully later. `timeouts`: the listeners' read timeouts (Endy's defaults otherwise). `ready`: wait
    until Slack accepted the token and (Socket Mode) the first connection is open. `backoff`: between attempts to
    reach Slack."""
    fake_llm = await stack.enter_async_context(FakeOpenAI()) if llm else None
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test",
        "slack_app_token": "xapp-test",
        "slack_api_url": slack.api_url,
        "slack_mode": mode,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_http_port": free_port(),
        "database_url": database_url,
        "redis_url": redis_url,
        "redis_key_prefix": key_prefix,
        "host": "127.0.0.1",
        "port": free_port(),
    }
    if fake_llm is not None:
        values |= {"openai_api_key": "sk-test", "openai_base_url": fake_llm.base_url}
    deps = await stack.enter_async_context(open_deps(make_settings(**(values | overrides))))
    server = Server(deps, grace_seconds=10, timeouts=timeouts, backoff=backoff)
    await server.start()
    stack.push_async_callback(server.stop)
    if ready:
        assert server.link is not None
        await asyncio.wait_for(server.link.until_ready(), READY_BOUND)
        await asyncio.wait_for(server.link.settled.wait(), READY_BOUND)  # start-up logging is over too
    return Endy(slack, server, deps, fake_llm)


@pytest.fixture
async def start_endy(
    make_settings: Callable[..., Settings], pg_url: str, redis_url: str, key_prefix: str
) -> AsyncIterator[StartEndy]:
    """Start one or more Endy processes (sharing the fake Slack, PostgreSQL and Redis)."""
    async with AsyncExitStack() as stack:
        shared: dict[str, Any] = {}

        async def start(*, llm: bool = False, mode: str = "socket", **overrides: Any) -> Endy:
            if "slack" not in shared:
                shared["slack"] = await stack.enter_async_context(FakeSlack())
            values = {"database_url": pg_url, "redis_url": redis_url, "key_prefix": key_prefix} | overrides
            return await run_endy(stack, make_settings, shared["slack"], llm=llm, mode=mode, **values)

        yield start
