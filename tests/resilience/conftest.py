"""Resilience fixtures: throwaway PostgreSQL/Redis a test may stop, and real Endy processes on chosen services.

The machine's shared PostgreSQL and Redis (DATABASE_URL / REDIS_URL) are not used here at all: pg_admin_url and
redis_url are overridden with a throwaway pgserver and redis-server for the package, and an outage test starts
its own (throwaway_pg; redis_server from tests/conftest.py) and breaks only that one.
Request `launch_endy` after the services it runs on (pg_url, throwaway_pg …): fixtures are torn down in
reverse, so Endy then stops (and flushes its writes) before its database goes away.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from config.settings import Settings
from tests.fakes.redis_process import RedisProcess
from tests.fakes.slack import FakeSlack, Message
from tests.handlers.conftest import Endy, run_endy

HIGH_LIMIT = 1_000_000  # rate limits for load tests: the limiter still runs, it never refuses
REPLY_KINDS = ("message", "stream")  # an answer is posted or streamed; ephemeral notices are not answers
QUESTIONS = (
    "연차는 어떻게 신청하나요?",
    "급여일이 언제예요?",
    "VPN 접속 방법",
    "와이파이 비번 뭐야?",
    "재직증명서 발급",
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so CI can select (or skip) the suite with -m resilience."""
    config.addinivalue_line("markers", "resilience: fault, outage and burst tests (run by default)")


# ----------------------------------------------------------------------------- throwaway services


class PgProcess:
    """A throwaway PostgreSQL (pgserver) in its own data directory; stopping it is a real outage."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The connection URL (a Unix socket in pgdata: the same before and after a restart)."""
        if self._url is None:
            raise RuntimeError("PgProcess was never started")
        return self._url

    @property
    def running(self) -> bool:
        """True while the server is up."""
        return self._server is not None

    def _start_blocking(self) -> Any:
        import pgserver

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
            return pgserver.get_server(self.pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]

    async def start(self) -> None:
        """Start (or restart) the server; pg_ctl runs in a thread so Endy keeps serving meanwhile."""
        if self._server is None:
            self._server = await asyncio.to_thread(self._start_blocking)
            self._url = self._url or str(self._server.get_uri())

    async def stop(self) -> None:
        """Stop the server (pg_ctl stop, fast mode: open connections are cut)."""
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.cleanup)


@pytest.fixture
async def throwaway_pg() -> AsyncIterator[PgProcess]:
    """Our own PostgreSQL, never the machine's: the test may stop and start it."""
    # Not under tmp_path: as root, pgserver runs postgres as the `pgserver` user and opens up the parent
    # folders, but any other pytest run starting meanwhile resets /tmp/pytest-of-root to 0700 and postgres
    # PANICs ("pg_control: Permission denied") — an outage nobody asked for.
    with tempfile.TemporaryDirectory(prefix="endy-resilience-pg-") as folder:
        pg = PgProcess(Path(folder) / "pg")
        await pg.start()
        try:
            yield pg
        finally:
            await pg.stop()


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


class LaunchEndy(Protocol):
    """Start one Endy process (they share the fake Slack of the test)."""

    async def __call__(
        self, *, database_url: str, redis_url: str, llm: bool = False, mode: str = "socket", **overrides: Any
    ) -> Endy: ...


@pytest.fixture
async def launch_endy(
    make_settings: Callable[..., Settings], tmp_path: Path, key_prefix: str
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
            values = {"data_dir": tmp_path / f"data-{len(started)}", "log_level": "warning"} | overrides
            endy = await run_endy(
                stack,
                make_settings,
                slack,
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


# ----------------------------------------------------------------------------------------- helpers


def metric(endy: Endy, name: str, labels: dict[str, str] | None = None) -> float:
    """One sample of Endy's Prometheus registry (0 when absent)."""
    return float(endy.deps.metrics.registry.get_sample_value(name, labels or {}) or 0)


async def sidecar(endy: Endy, path: str) -> tuple[int, dict[str, Any]]:
    """GET a sidecar endpoint: (status, JSON body)."""
    url = f"http://127.0.0.1:{endy.deps.settings.port}{path}"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.json()


def replies_per_thread(slack: FakeSlack) -> Counter[tuple[str, str | None]]:
    """How many answers the bot put in each (channel, thread_ts): exactly one per question is the goal."""
    return Counter((m.channel, m.thread_ts) for m in slack.messages() if m.kind in REPLY_KINDS)


def thread_of(payload: dict[str, Any]) -> tuple[str, str]:
    """The (channel, thread_ts) a DM question's answer belongs in."""
    event = payload["event"]
    return str(event["channel"]), str(event["ts"])


def answer_of(slack: FakeSlack, payload: dict[str, Any]) -> Message:
    """The one answer in a question's thread."""
    channel, ts = thread_of(payload)
    (answer,) = [m for m in slack.messages(channel, thread_ts=ts) if m.kind in REPLY_KINDS]
    return answer


def answered_once(slack: FakeSlack, payloads: Iterable[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(ts of questions without an answer, ts of questions answered more than once)."""
    counts = replies_per_thread(slack)
    keys = [thread_of(p) for p in payloads]
    return [ts for ch, ts in keys if counts[(ch, ts)] == 0], [ts for ch, ts in keys if counts[(ch, ts)] > 1]


async def wait_answered(slack: FakeSlack, payloads: list[dict[str, Any]], within: float) -> None:
    """Wait (on fake-side changes, no polling) until every question has a finished answer in its thread."""

    def done() -> bool:
        finished = Counter(
            (m.channel, m.thread_ts)
            for m in slack.messages()
            if m.kind in REPLY_KINDS and m.stream_state != "in_progress"
        )
        return all(finished[thread_of(p)] for p in payloads)

    await slack.wait_until(done, within, f"answers to {len(payloads)} question(s)")


async def eventually(predicate: Callable[[], bool], within: float, what: str, interval: float = 0.05) -> None:
    """Poll `predicate` until it holds (for state the fake cannot signal, e.g. Endy's own task set)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {within}s")
        await asyncio.sleep(interval)


async def settle(*endys: Endy, within: float = 30.0) -> None:
    """Wait until no answer is in flight, then until every queued write has landed."""
    await eventually(lambda: all(len(e.server.tasks) == 0 for e in endys), within, "idle answer tasks")
    for endy in endys:
        assert await endy.deps.recorder.flush(within), "writes still queued after the flush timeout"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def distribution(values_ms: list[float]) -> str:
    """p50/p90/p99/max of millisecond figures, for the report."""
    parts = [f"p{int(q * 100)} {percentile(values_ms, q):.0f}" for q in (0.5, 0.9, 0.99)]
    return " / ".join(parts) + f" / max {max(values_ms, default=math.nan):.0f} ms (n={len(values_ms)})"


def report(line: str) -> None:
    """A figure for the issue note: printed (run with -s to see it) — timings are reported, never asserted."""
    print(f"[resilience] {line}")
