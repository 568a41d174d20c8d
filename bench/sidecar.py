"""Sidecar benchmark: /health and /metrics latency under a concurrent scrape while Endy answers a Slack load.

Run: .venv/bin/python bench/sidecar.py [--seconds 10] [--rounds 3] [--concurrency 20] [--interval 0.1] [--quick]
         [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]

Three processes, all on loopback:
  - Endy itself: `python -m endy_bot serve` (Socket Mode, no LLM), as production runs it, on PostgreSQL and Redis;
  - this one: the fake Slack and C closed-loop DM users (the load of bench/slack_load.py in Socket Mode): send a
    question, wait for the reply in its thread, send the next; answers/s = answers / phase wall time;
  - the scraper (this file with `--scrape`): GETs /health and /metrics every --interval seconds each, as kubelet
    and Prometheus would, and times them from outside Endy's event loop (it runs only during scraped phases).
Timed phases alternate without and with the scraper (off/on, then on/off, …) so drift hits both alike. A throwaway
database `endy_bench_<hex>` is created on --database-url and dropped; Redis keys live under a unique prefix and are
deleted; Endy gets SIGTERM at the end and must exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

TARGETS = {"throughput_cost": 0.05, "health_p99_ms": 50.0}
SCRAPE_TIMEOUT = 5.0


@dataclass
class Phase:
    """One timed phase: answers, and (when scraped) the scraper's latencies, in milliseconds."""

    name: str
    scraped: bool
    answers: list[float] = field(default_factory=list)
    wall: float = 0.0
    health: list[float] = field(default_factory=list)
    metrics: list[float] = field(default_factory=list)
    errors: int = 0
    endy_cpu: float = math.nan  # CPU seconds `endy serve` used during the phase
    round: int = 0  # timed phases: the round they belong to (one without and one with scraping)

    @property
    def rate(self) -> float:
        """Answers per second."""
        return len(self.answers) / self.wall if self.wall > 0 else math.nan


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# ------------------------------------------------------------------------------ the scraper (child process)


async def scrape(base: str, interval: float) -> dict[str, Any]:
    """GET /health and /metrics every `interval` s each until stdin closes; return latencies (ms) and errors."""
    done = asyncio.ensure_future(asyncio.to_thread(sys.stdin.buffer.read))
    result: dict[str, Any] = {"health": [], "metrics": [], "errors": 0}
    timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT)

    async def every(session: aiohttp.ClientSession, path: str) -> None:
        due = time.perf_counter()
        while not done.done():
            started = time.perf_counter()
            try:
                async with session.get(f"{base}{path}") as resp:
                    await resp.read()
                    ok = resp.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            result[path[1:]].append((time.perf_counter() - started) * 1000)
            result["errors"] += not ok
            due += interval
            await asyncio.wait([done], timeout=max(0.0, due - time.perf_counter()))

    async with aiohttp.ClientSession(timeout=timeout) as session:
        print("ready", flush=True)
        await asyncio.gather(every(session, "/health"), every(session, "/metrics"))
    return result


@asynccontextmanager
async def scraper(base: str, interval: float, phase: Phase) -> AsyncIterator[None]:
    """Run the scraper process around a block; its measurements land in `phase`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--scrape", base, "--interval", str(interval),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        if await asyncio.wait_for(proc.stdout.readline(), 30) != b"ready\n":
            raise RuntimeError("the scraper did not start")
        yield
        proc.stdin.close()
        out = json.loads(await asyncio.wait_for(proc.stdout.read(), 30))
        await asyncio.wait_for(proc.wait(), 10)
        phase.health, phase.metrics, phase.errors = out["health"], out["metrics"], out["errors"]
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


# ------------------------------------------------------------------------------------- Endy under load


class Load:
    """C closed-loop DM users against one running Endy, over the fake Slack's Socket Mode."""

    def __init__(self, fake: Any, questions: list[str], concurrency: int) -> None:
        self.fake, self.questions, self.concurrency = fake, questions, concurrency
        self.replied: dict[tuple[str, str], float] = {}
        self._cursor = 0
        self._n = 0

    def _answered(self, key: tuple[str, str]) -> bool:
        calls = self.fake.calls
        for call in calls[self._cursor :]:
            if call.method in ("chat.postMessage", "chat.postEphemeral") and call.body.get("thread_ts"):
                self.replied.setdefault((str(call.body["channel"]), str(call.body["thread_ts"])), call.time)
        self._cursor = len(calls)
        return key in self.replied

    async def ask(self, user: str) -> float:
        """One question; the answer latency in ms (from the send to the reply reaching Slack)."""
        self._n += 1
        event = self.fake.event_message_im(user, self.questions[self._n % len(self.questions)])
        key = (str(event["event"]["channel"]), str(event["event"]["ts"]))
        sent = time.time()
        await self.fake.send_event(event)
        await self.fake.wait_until(lambda: self._answered(key), 30, "answer")
        return (self.replied[key] - sent) * 1000

    async def run(self, seconds: float, phase: Phase, *, at_least: int = 0) -> None:
        """Every user asks in a loop until `seconds` have passed (and `at_least` were asked); last answers awaited."""
        started, first = time.monotonic(), self._n

        async def user(name: str) -> None:
            while time.monotonic() - started < seconds or self._n - first < at_least:
                phase.answers.append(await self.ask(name))

        await asyncio.gather(*(user(f"U0BENCH{i:03d}") for i in range(self.concurrency)))
        phase.wall = time.monotonic() - started


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@asynccontextmanager
async def throwaway(database_url: str, redis_url: str) -> AsyncIterator[tuple[str, str]]:
    """A database created for the run and a Redis key prefix, both removed at the end."""
    name, prefix = f"endy_bench_{uuid.uuid4().hex[:10]}", f"endy-bench-{uuid.uuid4().hex[:10]}:"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(database_url, name), prefix
    finally:
        admin = await asyncpg.connect(database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
        client = aioredis.Redis.from_url(redis_url)
        try:
            async for key in client.scan_iter(match=f"{prefix}*", count=1000):
                await client.delete(key)
        finally:
            await client.aclose()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clean_environ() -> dict[str, str]:
    """This environment without any Endy variable (the benchmark sets the ones it means)."""
    from config.settings import Settings

    endy = {name.upper() for name in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k not in endy}


@asynccontextmanager
async def endy_serve(env: dict[str, str], workdir: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m endy_bot serve` (the production entry point); SIGTERM at the end, and it must exit 0."""
    log = workdir / "serve.out"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "endy_bot", "serve", cwd=workdir, env={**clean_environ(), **env},
            stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        yield proc
        proc.send_signal(signal.SIGTERM)
        if await asyncio.wait_for(proc.wait(), 60) != 0:
            raise RuntimeError(f"endy serve exited {proc.returncode}:\n{log.read_text()[-2000:]}")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def wait_ready(proc: asyncio.subprocess.Process, base: str, bound: float = 120.0) -> None:
    """Poll /readiness until 200 (bounded); fail at once if the process died."""
    deadline = time.monotonic() + bound
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"endy serve exited {proc.returncode} during start-up")
            try:
                async with session.get(f"{base}/readiness") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"endy serve not ready within {bound}s")


async def settle(base: str, bound: float = 60.0) -> None:
    """Wait until Endy's write-behind queue is empty (its /metrics says so), then one more quiet second."""
    deadline = time.monotonic() + bound
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < deadline:
            async with session.get(f"{base}/metrics") as resp:
                if "\npersist_queue_depth 0.0\n" in await resp.text():
                    break
            await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)


async def run(args: argparse.Namespace) -> list[Phase]:
    """Fake Slack + load here, `endy serve` as a child; warm up, idle scrape, then the alternating timed phases."""
    from tests.fakes.slack import FakeSlack

    lines = (ROOT / "tests" / "data" / "devset.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="endy-bench-") as tmp:
        async with AsyncExitStack() as stack:
            db_url, prefix = await stack.enter_async_context(throwaway(args.database_url, args.redis_url))
            fake = await stack.enter_async_context(FakeSlack())
            port = free_port()
            env = {
                "SLACK_MODE": "socket", "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_APP_TOKEN": "xapp-bench",
                "SLACK_API_URL": fake.api_url, "HOST": "127.0.0.1", "PORT": str(port), "DATABASE_URL": db_url,
                "REDIS_URL": args.redis_url, "REDIS_KEY_PREFIX": prefix, "RATE_LIMIT_PER_MINUTE": "1000000",
                "RATE_LIMIT_PER_HOUR": "1000000", "OPENAI_API_KEY": "", "LOG_LEVEL": "warning",
                "DATA_DIR": f"{tmp}/data", "LOG_DIR": f"{tmp}/logs", "ENVIRONMENT": "development",
            }  # fmt: skip
            proc = await stack.enter_async_context(endy_serve(env, Path(tmp)))
            base = f"http://127.0.0.1:{port}"
            await wait_ready(proc, base)
            load = Load(fake, questions, args.concurrency)
            await load.run(args.warmup, Phase("warm-up", False), at_least=len(questions))  # every answer cached
            await settle(base)
            for scraped in (False, True):  # Endy's CPU per scrape, measured without the answer load's noise
                idle = Phase(f"idle: no load, {'scraped' if scraped else 'not scraped'}", scraped)
                cpu, started = cpu_seconds(proc.pid), time.monotonic()
                async with scraper(base, args.interval, idle) if scraped else contextlib.nullcontext():
                    await asyncio.sleep(args.idle)
                idle.endy_cpu, idle.wall = cpu_seconds(proc.pid) - cpu, time.monotonic() - started
                phases.append(idle)
            for r in range(args.rounds):
                for scraped in (False, True) if r % 2 == 0 else (True, False):
                    # The fake keeps every call and message: freeze them so this process's full collections
                    # do not slow the load generator down phase after phase.
                    gc.collect()
                    gc.freeze()
                    phase = Phase(f"round {r + 1}: {'with' if scraped else 'without'} scraping", scraped, round=r + 1)
                    cpu = cpu_seconds(proc.pid)
                    if scraped:
                        async with scraper(base, args.interval, phase):
                            await load.run(args.seconds, phase)
                    else:
                        await load.run(args.seconds, phase)
                    phase.endy_cpu = cpu_seconds(proc.pid) - cpu
                    phases.append(phase)
    return phases


# --------------------------------------------------------------------------------------------- report


def _ms(values: list[float], q: float) -> str:
    value = percentile(values, q)
    return "–" if math.isnan(value) else f"{value:.1f} ms"


def _merge(name: str, phases: list[Phase]) -> Phase:
    merged = Phase(name, phases[0].scraped)
    for p in phases:
        merged.answers += p.answers
        merged.wall += p.wall
        merged.health += p.health
        merged.metrics += p.metrics
        merged.errors += p.errors
        merged.endy_cpu = p.endy_cpu + (0.0 if math.isnan(merged.endy_cpu) else merged.endy_cpu)
    return merged


def _row(p: Phase) -> str:
    rate = f"{p.rate:.1f}" if p.answers else "–"
    cpu = "–" if math.isnan(p.endy_cpu) else f"{p.endy_cpu / p.wall:.0%}"
    scraped = (str(len(p.health)), _ms(p.health, 0.5), _ms(p.health, 0.99), str(len(p.metrics)),
               _ms(p.metrics, 0.5), _ms(p.metrics, 0.99), str(p.errors)) if p.scraped else ("–",) * 7  # fmt: skip
    answers = str(len(p.answers)) if p.answers else "–"
    return f"| {p.name} | {answers} | {rate} | {cpu} | {_ms(p.answers, 0.5)} | {_ms(p.answers, 0.95)} | " + (
        " | ".join(scraped) + " |"
    )


def _verdicts(phases: list[Phase], on: Phase, args: argparse.Namespace) -> list[tuple[str, bool]]:
    """Throughput cost as the median of each round's paired phases (robust to drift), /health p99, errors."""
    rounds = {p.round for p in phases if p.round}
    paired = [
        1 - next(p for p in phases if p.round == r and p.scraped).rate
        / next(p for p in phases if p.round == r and not p.scraped).rate
        for r in sorted(rounds)
    ]  # fmt: skip
    cost = sorted(paired)[len(paired) // 2]
    quiet, scraped = (next(p for p in phases if p.name.startswith("idle") and p.scraped is s) for s in (False, True))
    per_pair = (scraped.endy_cpu - quiet.endy_cpu * scraped.wall / quiet.wall) / max(1, len(scraped.health))
    health_p99 = percentile(on.health, 0.99)
    rounds_text = ", ".join(f"{c:+.1%}" for c in paired)
    return [
        (f"scraping costs {cost:+.1%} of answer throughput: median of the rounds' paired phases ({rounds_text}) "
         f"(< {TARGETS['throughput_cost']:.0%})", cost < TARGETS["throughput_cost"]),
        (f"scraping costs {per_pair / args.interval:.1%} of a core at this rate: idle, Endy spends "
         f"{per_pair * 1000:.2f} ms CPU per /health + /metrics pair (< {TARGETS['throughput_cost']:.0%} of the "
         "throughput of a CPU-bound Endy; immune to other load on the machine)",
         per_pair / args.interval < TARGETS["throughput_cost"]),
        (f"/health p99 under load {health_p99:.1f} ms (≤ {TARGETS['health_p99_ms']:.0f} ms, all six checks)",
         health_p99 <= TARGETS["health_p99_ms"]),
        (f"{on.errors} scrape errors", on.errors == 0),
    ]  # fmt: skip


def report(phases: list[Phase], args: argparse.Namespace) -> bool:
    """Print the Markdown table and the verdicts; True when every target is met."""
    timed = [p for p in phases if p.round]
    off = _merge("**all phases without scraping**", [p for p in timed if not p.scraped])
    on = _merge("**all phases with scraping**", [p for p in timed if p.scraped])
    print(f"\n## Sidecar under load — {args.concurrency} closed-loop DM users (Socket Mode, no LLM), "
          f"scrape every {args.interval * 1000:.0f} ms per endpoint\n")  # fmt: skip
    print("| phase | answers | answers/s | Endy CPU | answer p50 | answer p95 | /health n | /health p50 | /health p99 "
          "| /metrics n | /metrics p50 | /metrics p99 | scrape errors |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in [*phases, off, on]:
        print(_row(p))
    verdicts = _verdicts(phases, on, args)
    print()
    for text, ok in verdicts:
        print(f"- {'PASS' if ok else 'MISS'}: {text}")
    load_avg = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nNotes: load average at the end {load_avg} (other work on the machine shows here); "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs shared by Endy (`endy serve`), the fake "
          f"Slack + load generator (one process) and the scraper (keep-alive connections, {SCRAPE_TIMEOUT:.0f} s "
          f"timeout); {args.rounds} rounds × 2 phases × {args.seconds:.0f} s; Endy CPU = its CPU seconds / wall time "
          "(100% = one core); answer cache on (dev-set questions repeat, warmed first), LOG_LEVEL=warning, "
          "rate limits raised to 1,000,000.")  # fmt: skip
    return all(ok for _, ok in verdicts)


def main() -> None:
    """Parse arguments; run the benchmark (or, with --scrape, be the scraper process)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each timed phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of one phase without and one with scraping")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between scrapes of each endpoint")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds of unmeasured load (at least every question)"
    )
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of the idle phases (no load)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 3 s phases")
    parser.add_argument("--timeout", type=float, default=600.0, help="overall bound (seconds)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test", help="admin URL")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--scrape", metavar="BASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scrape:
        print(json.dumps(asyncio.run(scrape(args.scrape, args.interval))))
        return
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.idle = 1, 3.0, 1.0, 2.0

    async def bounded() -> list[Phase]:
        async with asyncio.timeout(args.timeout):
            return await run(args)

    met = report(asyncio.run(bounded()), args)
    sys.exit(1 if args.check and not met else 0)


if __name__ == "__main__":
    main()
