"""Graceful shutdown of a real `endy serve` process: SIGTERM while an answer is in flight."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.conftest import HOST_ENV
from tests.endy import TokenizerPool
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import FakeSlack
from tests.helpers import eventually, free_port

pytestmark = pytest.mark.timeout(120)
USER = "U0ALICE"
START_BOUND = 60.0  # Kiwi, the knowledge base, migrations and embeddings, on a slow CI machine
EXIT_BOUND = 30.0
LLM_DELAY = 3.0  # the in-flight answer: well inside the 20 s grace period, long enough to observe draining


@dataclass
class Serving:
    proc: asyncio.subprocess.Process
    sidecar: str
    output: Path

    def tail(self) -> str:
        """The last lines the process printed (for failure messages)."""
        return self.output.read_text(encoding="utf-8", errors="replace")[-3000:]


async def probe(session: aiohttp.ClientSession, url: str) -> int | None:
    """The HTTP status of a probe, or None while nothing listens."""
    try:
        async with session.get(url) as resp:
            return resp.status
    except aiohttp.ClientError:
        return None


@asynccontextmanager
async def endy_serve(tmp_path: Path, env: dict[str, str]) -> AsyncIterator[Serving]:
    """`python -m endy_bot serve` as a child process; killed at the end if it is still running."""
    output = tmp_path / "serve.out"
    clean = {k: v for k, v in os.environ.items() if k not in HOST_ENV}
    with output.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "endy_bot",
            "serve",
            cwd=tmp_path,
            env={**clean, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        yield Serving(proc, f"http://127.0.0.1:{env['PORT']}", output)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_sigterm_lets_the_in_flight_answer_finish_then_exits_0(
    tmp_path: Path, pg_url: str, redis_url: str, key_prefix: str, tokenizers: TokenizerPool
) -> None:
    tokenizers.seed_child(tmp_path / "data")  # the handbook's caches (tests/endy.py): its analysis is not the point
    async with FakeSlack() as slack, FakeOpenAI(reply="연차는 e-HR > 근태 > 휴가 신청에서 해요. [1]") as llm:
        env = {
            "SLACK_MODE": "socket",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-test",
            "SLACK_API_URL": slack.api_url,
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": llm.base_url,
            "DATABASE_URL": pg_url,
            "REDIS_URL": redis_url,
            "REDIS_KEY_PREFIX": key_prefix,
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "DATA_DIR": str(tmp_path / "data"),
            "LOG_DIR": str(tmp_path / "logs"),
        }
        async with endy_serve(tmp_path, env) as endy, aiohttp.ClientSession() as http:
            readiness = f"{endy.sidecar}/readiness"

            async def ready() -> bool:
                assert endy.proc.returncode is None, f"endy serve exited early:\n{endy.tail()}"
                return await probe(http, readiness) == 200

            await eventually(ready, "readiness", START_BOUND)
            llm.slow_next(1, LLM_DELAY, path="/chat/completions")
            event = slack.event_message_im(USER, "연차는 어떻게 신청하나요?")
            await slack.send_event(event)
            await eventually(llm.chat_requests, "LLM request", 10)  # the answer is now in flight

            async def draining() -> bool:
                return await probe(http, readiness) == 503

            endy.proc.send_signal(signal.SIGTERM)
            await eventually(draining, "503 from /readiness while draining", LLM_DELAY)
            await slack.wait_until(lambda: slack.connections == 0, LLM_DELAY, "Socket Mode disconnect")
            assert (await probe(http, f"{endy.sidecar}/liveness")) == 200  # the probes outlive the drain
            (reply,) = await slack.wait_for_messages(1, timeout=EXIT_BOUND)
            assert await asyncio.wait_for(endy.proc.wait(), EXIT_BOUND) == 0, endy.tail()

    assert reply.thread_ts == event["event"]["ts"]
    assert "e-HR" in reply.text
    assert "Traceback" not in endy.tail()
    conn = await asyncpg.connect(pg_url)
    try:
        rows = await conn.fetch("SELECT kind, used_llm, reply_ts FROM messages")
    finally:
        await conn.close()
    assert [(r["kind"], r["used_llm"], r["reply_ts"]) for r in rows] == [("answer", True, reply.ts)]
    log = [json.loads(line) for line in (tmp_path / "logs" / "endy.log").read_text(encoding="utf-8").splitlines()]
    drained = [r for r in log if r["message"] == "in-flight answers drained"]
    assert [(r["extra"]["clean"], r["extra"]["left"]) for r in drained] == [(True, 0)]
