"""Slack load benchmark: signed events (HTTP mode) and envelopes (Socket Mode) into Endy with the fake Slack, no LLM.

Run: .venv/bin/python bench/slack_load.py [--events 1000] [--concurrency 20] [--quick]
         [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]

Everything runs in this one process and event loop on loopback: the load generator, the fake Slack, and a
real Endy (`open_deps` + `Server`) on PostgreSQL and Redis. Each of C workers is one user at a time in a
closed loop: send a question, wait for the ack, wait for its answer in the DM thread, send the next one.
  - ack latency: HTTP response time (HTTP mode), or until the fake records the envelope's ack (Socket Mode);
  - answer latency: from the send until the fake receives the bot's reply in that thread (thread_ts = event ts);
  - answers/s: answered questions / (last first answer − first send);
  - lost: no reply within --answer-wait seconds of the last send; duplicated: more than one reply.
The floor is a bare aiohttp handler that returns 200 at once, hit by the same client with the same N and C.
`--database-url` is an admin URL: a throwaway database `endy_bench_<hex>` per mode is created there and dropped
at the end; Redis keys live under a unique prefix and are deleted at the end. Rate limits are raised to 1,000,000 so
the limiter never refuses the load (it still runs its Redis script for every question).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402
from endy_bot.deps import Deps, open_deps  # noqa: E402
from endy_bot.runtime import Server  # noqa: E402
from services.logging import configure_logging  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.fakes.slack_payloads import EnvelopeType, SlackPayloads, http_body, sign  # noqa: E402

DATA = ROOT / "tests" / "data"
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
USERS = [f"U0BENCH{i:02d}" for i in range(20)]
REPLY_METHODS = ("chat.postMessage", "chat.postEphemeral")
ACK_TIMEOUT = 10.0  # an ack slower than this is reported as a timeout (Slack itself gives up after 3 s)
PER_QUESTION_WAIT = 10.0  # a worker moves on after this; the question still counts if answered within --answer-wait
HIGH_LIMIT = 1_000_000
TARGETS = {"ack_p99": 50.0, "answer_p95": 150.0}

Key = tuple[str, str]  # (channel, thread_ts) of one question's DM thread


@dataclass
class Result:
    """One mode's measurements (latencies in milliseconds)."""

    mode: str
    n: int
    c: int
    acks: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)
    wall: float = 0.0
    lost: int = 0
    duplicated: int = 0
    notes: list[str] = field(default_factory=list)


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


def questions(name: str) -> list[str]:
    """The questions of one tests/data/*.jsonl file."""
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def throwaway_database(admin_url: str) -> AsyncIterator[str]:
    """Create `endy_bench_<hex>` on the server of `admin_url`; drop it (even if still in use) at the end."""
    name = f"endy_bench_{uuid.uuid4().hex[:10]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def redis_prefix(url: str) -> AsyncIterator[str]:
    """A unique key prefix on the Redis at `url`; every key under it is deleted at the end."""
    prefix = f"endy-bench-{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        client = aioredis.Redis.from_url(url)
        try:
            async for key in client.scan_iter(match=f"{prefix}*", count=1000):
                await client.delete(key)
        finally:
            await client.aclose()


class Replies:
    """First-reply times per DM thread, read incrementally from the fake's recorded Web API calls."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.first: dict[Key, float] = {}
        self._cursor = 0

    def scan(self) -> None:
        """Take in the calls recorded since the last scan (O(new calls))."""
        calls = self.fake.calls
        for call in calls[self._cursor :]:
            if call.method in REPLY_METHODS and call.body.get("thread_ts"):
                self.first.setdefault((str(call.body.get("channel")), str(call.body["thread_ts"])), call.time)
        self._cursor = len(calls)

    def answered(self, key: Key) -> bool:
        """True once the bot has replied in the thread."""
        self.scan()
        return key in self.first

    async def wait(self, keys: list[Key], within: float) -> None:
        """Wait (without polling) until every key has a reply, or `within` seconds pass."""
        try:
            await self.fake.wait_until(lambda: all(self.answered(k) for k in keys), max(within, 0.001), "answers")
        except TimeoutError:
            pass


Send = Callable[[dict[str, Any]], Awaitable[float]]  # sends one event_callback payload; returns ack ms


async def drive(
    payloads: list[dict[str, Any]],
    send: Send,
    concurrency: int,
    replies: Replies | None,
    answer_wait: float,
    result: Result,
) -> None:
    """C closed-loop workers over the payloads: send, ack, wait for the answer (when `replies`), next."""
    todo = iter(payloads)
    sent: dict[Key, float] = {}

    async def worker() -> None:
        for payload in todo:
            event = payload["event"]
            key = (str(event["channel"]), str(event["ts"]))
            sent[key] = time.time()
            result.acks.append(await send(payload))
            if replies is not None:
                await replies.wait([key], min(answer_wait, PER_QUESTION_WAIT))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if replies is not None:
        await replies.wait(list(sent), answer_wait)
        answered = {k: t for k, t in sent.items() if k in replies.first}
        result.answers = [(replies.first[k] - t) * 1000 for k, t in answered.items()]
        if answered:
            result.wall = max(replies.first[k] for k in answered) - min(sent.values())


def http_sender(session: aiohttp.ClientSession, url: str, kind: EnvelopeType = "events_api") -> Send:
    """POST a signed body of `kind` (events_api, interactive), as Slack does; the ack is the HTTP response."""

    async def send(payload: dict[str, Any]) -> float:
        body, content_type = http_body(kind, payload)
        headers = {"Content-Type": content_type, **sign(body, SIGNING_SECRET)}
        started = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
        except TimeoutError:
            return math.inf
        if resp.status != 200:
            raise RuntimeError(f"{url} answered HTTP {resp.status}")
        return (time.perf_counter() - started) * 1000

    return send


def socket_sender(fake: FakeSlack, kind: str = "events_api") -> Send:
    """Deliver an envelope of `kind` (events_api, interactive); the ack is the app's reply on the socket, as the
    fake records it."""
    deliver = fake.send_interactive if kind == "interactive" else fake.send_event

    async def send(payload: dict[str, Any]) -> float:
        started = time.perf_counter()
        try:
            await fake.wait_for_ack(await deliver(payload), timeout=ACK_TIMEOUT)
        except TimeoutError:
            return math.inf
        return (time.perf_counter() - started) * 1000

    return send


def build_payloads(builder: SlackPayloads, texts: list[str], n: int) -> list[dict[str, Any]]:
    """`n` DM questions (message.im), users and questions cycling."""
    return [builder.event_message_im(USERS[i % len(USERS)], texts[i % len(texts)]) for i in range(n)]


async def run_floor(args: argparse.Namespace) -> Result:
    """A bare aiohttp handler returning 200 at once: the machine's floor for an HTTP ack."""

    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/slack/events", ok)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    result = Result("floor (bare aiohttp)", args.events, args.concurrency)
    try:
        payloads = build_payloads(SlackPayloads(), questions("devset.jsonl"), args.events)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ACK_TIMEOUT)) as session:
            await drive(
                payloads,
                http_sender(session, f"http://127.0.0.1:{port}/slack/events"),
                args.concurrency,
                None,
                0,
                result,
            )
    finally:
        await runner.cleanup()
    return result


def endy_settings(
    mode: str, args: argparse.Namespace, fake: FakeSlack, db_url: str, prefix: str, tmp: Path
) -> Settings:
    """Endy's settings for one run: fake Slack, the throwaway database, high rate limits, no LLM."""
    values: dict[str, Any] = {
        "slack_mode": mode,
        "slack_bot_token": "xoxb-bench",
        "slack_app_token": "xapp-bench",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.api_url,
        "host": "127.0.0.1",
        "port": free_port(),
        "slack_http_port": free_port(),
        "database_url": db_url,
        "redis_url": args.redis_url,
        "redis_key_prefix": f"{prefix}{mode}:",
        "data_dir": tmp / mode / "data",
        "log_dir": tmp / "logs",
        "log_level": "warning",
        "rate_limit_per_minute": HIGH_LIMIT,
        "rate_limit_per_hour": HIGH_LIMIT,
        "cache_ttl_seconds": 0 if args.no_cache else 3600,
    }
    return Settings(_env_file=None, **values)


def _sample(deps: Deps, name: str, labels: dict[str, str] | None = None) -> int:
    return int(deps.metrics.registry.get_sample_value(name, labels or {}) or 0)


async def _account(fake: FakeSlack, server: Server, deps: Deps, payloads: list[dict[str, Any]], result: Result) -> None:
    """Lost / duplicated replies per thread once in-flight answers drained, and what the metrics saw."""
    await server.tasks.settle(10)
    per_thread = Counter((m.channel, m.thread_ts) for m in fake.messages())
    counts = [per_thread[(str(p["event"]["channel"]), str(p["event"]["ts"]))] for p in payloads]
    result.lost = sum(1 for c in counts if c == 0)
    result.duplicated = sum(1 for c in counts if c > 1)
    await deps.recorder.flush(10)
    stored = await deps.pool.fetchval("SELECT count(*) FROM messages")
    hits, misses = (_sample(deps, "cache_operations_total", {"operation": op}) for op in ("hit", "miss"))
    errors = sum(
        int(s.value)
        for m in deps.metrics.registry.collect()
        if m.name == "errors"
        for s in m.samples
        if s.name == "errors_total"
    )
    result.notes.append(
        f"{result.mode}: answer cache {hits} hits / {misses} misses, rate-limited "
        f"{_sample(deps, 'rate_limited_total')}, errors {errors}, ephemeral replies "
        f"{len([m for m in fake.messages() if m.kind == 'ephemeral'])}, rows in `messages` {stored} "
        f"(incl. warm-up)"
    )


async def run_endy(mode: str, args: argparse.Namespace, db_url: str, prefix: str, tmp: Path) -> Result:
    """Start a fake Slack and Endy in `mode`, warm up, drive the load, count, and shut everything down."""
    result = Result(f"Endy {mode}", args.events, args.concurrency)
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(FakeSlack())
        deps = await stack.enter_async_context(open_deps(endy_settings(mode, args, fake, db_url, prefix, tmp)))
        server = Server(deps, grace_seconds=10)
        await server.start()
        stack.push_async_callback(server.stop)
        session = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ACK_TIMEOUT))
        )
        if mode == "socket":
            await fake.wait_for_connections(1)
            send = socket_sender(fake)
        else:
            send = http_sender(session, f"http://127.0.0.1:{deps.settings.slack_http_port}/slack/events")
        replies = Replies(fake)
        warmup = build_payloads(fake, questions("heldout.jsonl"), args.warmup)
        await drive(warmup, send, args.concurrency, replies, args.answer_wait, Result("warm-up", 0, 0))
        payloads = build_payloads(fake, questions("devset.jsonl"), args.events)
        await drive(payloads, send, args.concurrency, replies, args.answer_wait, result)
        await _account(fake, server, deps, payloads, result)
    return result


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else "timeout" if math.isinf(value) else f"{value:.1f} ms"


def table(results: list[Result]) -> str:
    """The Markdown table of every run."""
    lines = [
        "| run | N | C | ack p50 | ack p99 | answer p50 | answer p95 | answers/s | lost | duplicated |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        endy = r.mode.startswith("Endy")
        rate = f"{len(r.answers) / r.wall:.0f}" if r.wall > 0 else "–"
        lost, dup = (str(r.lost), str(r.duplicated)) if endy else ("–", "–")
        lines.append(
            f"| {r.mode} | {r.n} | {r.c} | {_ms(percentile(r.acks, 0.5))} | {_ms(percentile(r.acks, 0.99))} | "
            f"{_ms(percentile(r.answers, 0.5))} | {_ms(percentile(r.answers, 0.95))} | {rate} | {lost} | {dup} |"
        )
    return "\n".join(lines)


def verdicts(results: list[Result]) -> Iterator[tuple[str, bool]]:
    """Each target of the issue, per Endy mode: (description, met)."""
    for r in (r for r in results if r.mode.startswith("Endy")):
        ack, answer = percentile(r.acks, 0.99), percentile(r.answers, 0.95)
        yield f"{r.mode}: ack p99 {_ms(ack)} ≤ {TARGETS['ack_p99']:.0f} ms", ack <= TARGETS["ack_p99"]
        yield f"{r.mode}: answer p95 {_ms(answer)} ≤ {TARGETS['answer_p95']:.0f} ms", answer <= TARGETS["answer_p95"]
        yield f"{r.mode}: {r.lost} lost, {r.duplicated} duplicated of {r.n}", r.lost == 0 and r.duplicated == 0


def report(results: list[Result], args: argparse.Namespace) -> bool:
    """Print the table, the verdicts and the notes; True when every target is met."""
    print(f"\n## Slack load — {args.events} events, {args.concurrency} concurrent users (closed loop), no LLM\n")
    print(table(results))
    print()
    met = True
    for text, ok in verdicts(results):
        met &= ok
        print(f"- {'PASS' if ok else 'MISS'}: {text}")
    print(f"\nNotes (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, one process and event loop):")
    print(f"- RATE_LIMIT_PER_MINUTE/HOUR raised to {HIGH_LIMIT:,} so the limiter does not refuse the load.")
    print(
        f"- {len(USERS)} users cycling; {args.warmup} warm-up questions (held-out set) per mode, not measured; "
        f"answer cache {'off (--no-cache)' if args.no_cache else 'on (dev-set questions repeat)'}."
    )
    for r in results:
        for note in r.notes:
            print(f"- {note}")
    return met


async def run(args: argparse.Namespace) -> bool:
    """Floor, HTTP mode, Socket Mode, inside one overall timeout; everything cleaned up on the way out."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="endy-bench-") as tmp:
        quiet: dict[str, Any] = {"log_dir": Path(tmp) / "logs", "log_level": "warning"}
        configure_logging(Settings(_env_file=None, **quiet), console_level="WARNING")
        async with asyncio.timeout(args.timeout), redis_prefix(args.redis_url) as prefix:
            results.append(await run_floor(args))
            for mode in ("http", "socket"):
                # a database per mode: each fake Slack's ts clock starts over, and (channel, reply_ts) is unique
                async with throwaway_database(args.database_url) as db_url:
                    results.append(await run_endy(mode, args, db_url, prefix, Path(tmp)))
    return report(results, args)


def main() -> None:
    """Parse arguments and run the benchmark (exit 1 with --check when a target is missed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 events")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--answer-wait", type=float, default=60.0, help="seconds before a question counts as lost")
    parser.add_argument("--timeout", type=float, default=900.0, help="overall bound for the whole run (seconds)")
    parser.add_argument("--no-cache", action="store_true", help="CACHE_TTL_SECONDS=0: every answer is retrieved")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="admin URL: a throwaway database is created on this server and dropped",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if args.quick:
        args.events = 200
    try:
        met = asyncio.run(run(args))
    except TimeoutError:
        sys.exit(f"the benchmark did not finish within --timeout {args.timeout:.0f} s (everything was cleaned up)")
    sys.exit(1 if args.check and not met else 0)


if __name__ == "__main__":
    main()
