"""Soak benchmark: Endy at a steady question rate for minutes, with the fake Slack and the fake LLM.

Run: .venv/bin/python bench/soak.py [--minutes 10] [--rate 5] [--sample-every 10] [--warmup 60]
         [--mode socket|http] [--out bench/results/soak] [--check]
         [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/0]

Everything runs in this one process and event loop on loopback, set up as bench/slack_load.py does (its helpers
are reused): the load generator, the fake Slack (tests/fakes/slack.py), the fake OpenAI server
(tests/fakes/openai_server.py: streamed chat completions and embeddings over real HTTP) and a real Endy
(`open_deps` + `Server`) with the LLM enabled, on PostgreSQL and Redis. `--database-url` is an admin URL: a
throwaway database `endy_bench_<hex>` is created there and dropped at the end; Redis keys live under a unique
prefix and are deleted at the end. Rate limits are raised so the limiter never refuses the load (it still runs).

Load, open loop: one DM question every 1/--rate seconds on a fixed schedule, whether or not the earlier ones were
answered; users take turns. Questions are tests/data/devset.jsonl's: a --repeat-share of them verbatim (after
their first asking they come from the answer cache), the others made unique with a punctuation tag the tokenizer
ignores but the cache key keeps (cache miss: retrieval, a query embedding, a streamed LLM answer). Every
--feedback-every'th answer gets a 👍, alternately as a reaction (resolved through the reply's Slack ts) and as a
feedback button press (resolved through the request id), so votes are written too.

Every --sample-every seconds one CSV row (written as it is taken, so an interrupted soak keeps its rows):
  - this process: RSS (/proc/self/status VmRSS), open file descriptors (/proc/self/fd), CPU %, asyncio tasks,
    and objects tracked by the GC beyond the start-up set (frozen with gc.freeze() as `endy serve` does);
  - Endy: tracked background tasks, asyncpg pool size / idle, Redis pool connections created / in use, HTTP
    connections of the LLM client and of the Slack Web API client, the recorder's pending writes;
  - load: questions sent and answered in the interval, questions in flight, p50 / p95 answer latency of the
    answers finished in the interval (send → the fake receives the reply's chat.stopStream, i.e. the whole
    streamed answer), p95 ack latency, and questions lost so far (unanswered after --answer-wait seconds).
At the end: `<out>.csv`, `<out>.png` (RSS; FDs and tasks; pools; latency — against elapsed time) and
`<out>.json`, the summary also printed: growth of RSS and FDs from the first sample after --warmup to the last
(target ≤ 10 %), the least-squares RSS slope after warm-up (MB/min), the median per-interval p95 of the first and
the second half after warm-up (stable: the second ≤ 1.2 × the first), sent / answered / lost / duplicated.

Baseline, same run: RSS / FDs / GC objects of the bare process (imports done, nothing started), with the fakes
up, with Endy started (before any question), and after the load, once in-flight work drained and a full GC ran.
The CSV's RSS is the whole process: the fakes and the load generator live in it. So that they do not grow with
the run, what the fakes record and Endy never reads back (Web API calls, envelopes and acks, messages of earlier
intervals, LLM requests) is forgotten as the run goes; `fake_retained` shows what they hold at each sample.
An open loop on a saturated machine queues work (in_flight grows, and memory with it): that is capacity, not a
leak — read in_flight and cpu_pct next to RSS. Memory bounded by a TTL grows until the TTL first expires: the
dedupe's in-process event ids are kept 600 s (a few hundred bytes each), so a 10-minute soak sees them grow (about
1 MB at 5 questions/s); run longer to see the plateau. The machine is shared: absolute latencies are indicative.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loop_lag import percentile  # noqa: E402
from bench.slack_load import (  # noqa: E402
    ACK_TIMEOUT,
    HIGH_LIMIT,
    REPLY_METHODS,
    Send,
    _sample,
    endy_settings,
    http_sender,
    questions,
    redis_prefix,
    socket_sender,
    throwaway_database,
)
from config.settings import Settings  # noqa: E402
from endy_bot.deps import Deps, open_deps  # noqa: E402
from endy_bot.runtime import Server  # noqa: E402
from handlers.blocks import ACTION_FEEDBACK  # noqa: E402
from services.logging import configure_logging  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.fakes.slack import ApiCall, FakeSlack  # noqa: E402

Key = tuple[str, str]  # (channel, thread_ts) of one question's DM thread
USERS = [f"U0SOAK{i:03d}" for i in range(50)]
SCAN_SECONDS = 1.0  # how often the fake's calls are read (latencies use the fake's own arrival times)
REMEMBER_SECONDS = 60.0  # a thread with a reply is remembered this long, to tell a duplicate from a stray reply
GROWTH_TARGET_PCT = 10.0
P95_TOLERANCE = 1.2  # "stable": the second half's median p95 at most 20 % above the first half's
TAG_MARKS = ",;:"  # the unique-question tag: dropped by the tokenizer, kept by the answer-cache key


# ------------------------------------------------------------------------------------------ process probes


def rss_mb() -> float:
    """This process's resident set size in MB (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def open_fds() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


def cpu_seconds() -> float:
    """User + system CPU time of this process."""
    times = os.times()
    return times.user + times.system


def footprint() -> dict[str, float]:
    """RSS, FDs, GC-tracked objects (the frozen start-up set excluded) and asyncio tasks, now."""
    return {
        "rss_mb": round(rss_mb(), 1),
        "open_fds": open_fds(),
        "gc_objects": len(gc.get_objects()),
        "asyncio_tasks": len(asyncio.all_tasks()),
    }


def _dig(obj: Any, *names: str) -> Any:
    """obj.a.b.c, or None when any link is missing (private attributes of third-party clients)."""
    for name in names:
        obj = getattr(obj, name, None)
    return obj


def redis_pool(deps: Deps) -> tuple[int, int]:
    """(connections in use, connections created) of Endy's redis-py BlockingConnectionPool."""
    pool = deps.redis.connection_pool
    in_use = len(getattr(pool, "_in_use_connections", ()))
    return in_use, in_use + len(getattr(pool, "_available_connections", ()))


def llm_connections(deps: Deps) -> int:
    """HTTP connections in the OpenAI client's pool (httpcore), -1 when it cannot be seen."""
    pool = _dig(deps.llm, "_client", "_client", "_transport", "_pool")
    return len(pool.connections) if pool is not None else -1


def slack_connections(server: Server) -> int:
    """HTTP connections (busy + idle) of the Slack Web API client's aiohttp session, -1 when unseen."""
    connector = _dig(server.app.client, "session", "connector")
    if connector is None:
        return -1
    idle = sum(len(c) for c in getattr(connector, "_conns", {}).values())
    return idle + len(getattr(connector, "_acquired", ()))


def errors_total(deps: Deps) -> int:
    """errors_total of Endy's registry, over every type."""
    return sum(
        int(s.value)
        for m in deps.metrics.registry.collect()
        if m.name == "errors"
        for s in m.samples
        if s.name == "errors_total"
    )


# ------------------------------------------------------------------------------------------------ the load


def unique_tag(n: int) -> str:
    """A tag for question n, made of punctuation only (base 3 over TAG_MARKS)."""
    tag = ""
    while True:
        tag += TAG_MARKS[n % 3]
        n //= 3
        if not n:
            return tag


class QuestionMix:
    """Dev-set questions in turn: a share verbatim (cacheable), the rest tagged to be unique (LLM)."""

    def __init__(self, repeat_share: float, seed: int) -> None:
        self.texts = questions("devset.jsonl")
        self.repeat_share = repeat_share
        self.rng = random.Random(seed)
        self.n = 0

    def next(self) -> str:
        """The next question's text."""
        self.n += 1
        text = self.texts[self.n % len(self.texts)]
        return text if self.rng.random() < self.repeat_share else f"{text} {unique_tag(self.n)}"


@dataclass(frozen=True, slots=True)
class Vote:
    """A 👍 to give on one answer."""

    user: str
    channel: str
    reply_ts: str
    value: str | None  # the 👍 button's value as Endy built it (signed)
    by_button: bool


@dataclass
class Counts:
    """Totals of the run, and the current interval's figures (reset at each sample)."""

    sent: int = 0
    answered: int = 0
    duplicated: int = 0
    stray: int = 0
    ack_timeouts: int = 0
    send_errors: int = 0
    votes: int = 0
    interval_sent: int = 0
    interval_answered: int = 0
    latencies: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)

    def reset_interval(self) -> None:
        """Start a new sampling interval."""
        self.interval_sent = self.interval_answered = 0
        self.latencies, self.acks = [], []


def vote_value_of(blocks: Any) -> str | None:
    """The value of the answer's 👍 feedback button (signed by Endy: pressing it sends it back as it is)."""
    for block in blocks if isinstance(blocks, list) else []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == ACTION_FEEDBACK:
                return str((element.get("positive_button") or {}).get("value") or "") or None
    return None


class Tracker:
    """Reads the fake's Web API calls: reply starts (duplicates), finished answers (latency), votes to give."""

    def __init__(self, fake: FakeSlack, feedback_every: int) -> None:
        self.fake = fake
        self.feedback_every = feedback_every
        self.pending: dict[Key, tuple[float, str]] = {}  # thread -> (send time, asker) until answered
        self.replied: dict[Key, float] = {}  # threads with a reply, when (forgotten after REMEMBER_SECONDS)
        self.counts = Counts()
        self.votes: list[Vote] = []

    def asked(self, key: Key, user: str) -> None:
        """A question was sent into `key`."""
        self.pending[key] = (time.time(), user)
        self.counts.sent += 1
        self.counts.interval_sent += 1

    def scan(self) -> None:
        """Take in every call recorded since the last scan, then let the fake forget them."""
        for call in self.fake.calls:
            self._take(call)
        self.fake.calls.clear()
        for calls in self.fake._calls_by_method.values():
            calls.clear()

    def _take(self, call: ApiCall) -> None:
        body = call.body
        if call.method in (*REPLY_METHODS, "chat.startStream") and body.get("thread_ts"):
            key = (str(body.get("channel")), str(body["thread_ts"]))
            self._started(key, call.time)
            if call.method in REPLY_METHODS:
                self._finished(key, call, None)
        elif call.method == "chat.stopStream":
            stream = self.fake.message(str(body.get("channel")), str(body.get("ts")))
            if stream is not None and stream.thread_ts:
                self._finished((stream.channel, stream.thread_ts), call, stream.ts)

    def _started(self, key: Key, at: float) -> None:
        if key in self.replied:
            self.counts.duplicated += 1
        elif key not in self.pending:
            self.counts.stray += 1
        self.replied[key] = at

    def _finished(self, key: Key, call: ApiCall, reply_ts: str | None) -> None:
        asked = self.pending.pop(key, None)
        if asked is None:
            return
        sent_at, user = asked
        self.counts.answered += 1
        self.counts.interval_answered += 1
        self.counts.latencies.append((call.time - sent_at) * 1000)
        if reply_ts and self.counts.answered % self.feedback_every == 0:
            by_button = (self.counts.answered // self.feedback_every) % 2 == 0
            self.votes.append(Vote(user, key[0], reply_ts, vote_value_of(call.body.get("blocks")), by_button))

    def overdue(self, seconds: float) -> int:
        """Questions unanswered for more than `seconds`."""
        cutoff = time.time() - seconds
        return sum(1 for sent_at, _ in self.pending.values() if sent_at < cutoff)

    def forget_old(self) -> None:
        """Drop answered threads older than REMEMBER_SECONDS."""
        cutoff = time.time() - REMEMBER_SECONDS
        for key in [k for k, at in self.replied.items() if at < cutoff]:
            del self.replied[key]


class FakeTrimmer:
    """Makes the fakes forget what they recorded an interval ago (Endy never reads it back)."""

    def __init__(self, fake: FakeSlack, llm: FakeOpenAI) -> None:
        self.fake, self.llm = fake, llm
        self._messages: set[Key] = set()
        self._acks: set[str] = set()

    def retained(self) -> int:
        """Records the fakes hold now."""
        f = self.fake
        return len(f._store) + len(f.acks) + len(f.envelopes) + len(f.calls) + len(self.llm.requests)

    def trim(self) -> None:
        """Forget the previous interval's messages (not streams still running) and acks, all envelopes etc."""
        store = self.fake._store
        for key in self._messages:
            msg = store.get(key)
            if msg is not None and msg.stream_state != "in_progress":
                del store[key]
        for envelope_id in self._acks:
            self.fake.acks.pop(envelope_id, None)
        self._messages, self._acks = set(store), set(self.fake.acks)
        self.fake.envelopes.clear()
        self.fake.responses.clear()
        self.fake.views.clear()
        self.llm.requests.clear()


# ------------------------------------------------------------------------------------------------ the soak


@dataclass
class Rig:
    """One running Endy and what drives it."""

    fake: FakeSlack
    llm: FakeOpenAI
    deps: Deps
    server: Server
    send_event: Send
    send_interactive: Send


class Soak:
    """Drives the load on a fixed schedule, samples, and accounts for every question."""

    def __init__(self, args: argparse.Namespace, rig: Rig, writer: Callable[[dict[str, float]], None]) -> None:
        self.args, self.rig, self.write = args, rig, writer
        self.tracker = Tracker(rig.fake, args.feedback_every)
        self.trimmer = FakeTrimmer(rig.fake, rig.llm)
        self.mix = QuestionMix(args.repeat_share, args.seed)
        self.rows: list[dict[str, float]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._cpu = (0.0, cpu_seconds())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, send: Send, payload: dict[str, Any], measured: bool) -> None:
        try:
            ack = await send(payload)
        except Exception:  # a refused or broken delivery: counted, the soak goes on
            self.tracker.counts.send_errors += 1
            return
        if math.isinf(ack):
            self.tracker.counts.ack_timeouts += 1
        elif measured:
            self.tracker.counts.acks.append(ack)

    async def _ask(self, i: int) -> None:
        user = USERS[i % len(USERS)]
        payload = self.rig.fake.event_message_im(user, self.mix.next())
        event = payload["event"]
        self.tracker.asked((str(event["channel"]), str(event["ts"])), user)
        await self._send(self.rig.send_event, payload, measured=True)

    def _vote(self) -> None:
        fake = self.rig.fake
        for vote in self.tracker.votes:
            if vote.by_button and vote.value:
                value = vote.value
                payload = fake.block_actions(
                    vote.user, ACTION_FEEDBACK, value, vote.channel, vote.reply_ts, action_type="feedback_buttons"
                )
                self._spawn(self._send(self.rig.send_interactive, payload, measured=False))
            else:
                payload = fake.event_reaction_added(vote.user, "+1", vote.channel, vote.reply_ts, fake.bot_user_id)
                self._spawn(self._send(self.rig.send_event, payload, measured=False))
            self.tracker.counts.votes += 1
        self.tracker.votes.clear()

    async def generate(self, start: float, seconds: float) -> None:
        """One question every 1/rate seconds from `start` (loop time), for `seconds`: an open loop."""
        loop = asyncio.get_running_loop()
        count = int(seconds * self.args.rate)
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / self.args.rate - loop.time()))
            self._spawn(self._ask(i))

    async def monitor(self, start: float, seconds: float) -> None:
        """Scan the fake every SCAN_SECONDS; sample every --sample-every seconds until `seconds` have passed."""
        loop = asyncio.get_running_loop()
        every = self.args.sample_every
        for k in range(1, int(seconds // every) + 1):
            due = start + k * every
            while (left := due - loop.time()) > 0:
                await asyncio.sleep(min(SCAN_SECONDS, left))
                self.tracker.scan()
                self._vote()
            self.sample(loop.time() - start)

    def sample(self, elapsed: float) -> None:
        """Take, keep and write one row; then start a new interval and let the fakes forget."""
        deps, server, counts = self.rig.deps, self.rig.server, self.tracker.counts
        in_use, created = redis_pool(deps)
        last_elapsed, last_cpu = self._cpu
        self._cpu = (elapsed, cpu_seconds())
        row: dict[str, float] = {
            "elapsed_s": round(elapsed, 1),
            **footprint(),
            "cpu_pct": round(100 * (self._cpu[1] - last_cpu) / max(elapsed - last_elapsed, 1e-9), 1),
            "endy_tasks": len(server.tasks),
            "db_pool_size": deps.pool.get_size(),
            "db_pool_idle": deps.pool.get_idle_size(),
            "redis_in_use": in_use,
            "redis_created": created,
            "llm_http_conns": llm_connections(deps),
            "slack_http_conns": slack_connections(server),
            "recorder_pending": deps.recorder.pending,
            "sent": counts.interval_sent,
            "answered": counts.interval_answered,
            "in_flight": len(self.tracker.pending),
            "answer_p50_ms": round(percentile(counts.latencies, 0.5), 1),
            "answer_p95_ms": round(percentile(counts.latencies, 0.95), 1),
            "ack_p95_ms": round(percentile(counts.acks, 0.95), 1),
            "lost_so_far": self.tracker.overdue(self.args.answer_wait),
            "fake_retained": self.trimmer.retained(),
        }
        self.rows.append(row)
        self.write(row)
        counts.reset_interval()
        self.trimmer.trim()
        self.tracker.forget_old()
        print(_progress(row), flush=True)

    async def run(self) -> None:
        """The load and the sampling, side by side, for --minutes."""
        loop = asyncio.get_running_loop()
        start, seconds = loop.time(), self.args.minutes * 60
        generator = asyncio.create_task(self.generate(start, seconds))
        try:
            await self.monitor(start, seconds)
        finally:
            await generator

    async def drain(self) -> None:
        """After the load: wait for the last answers (up to --answer-wait), their votes, and Endy's writes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.args.answer_wait
        while True:
            self.tracker.scan()
            self._vote()
            if not self.tracker.pending or loop.time() >= deadline:
                break
            await asyncio.sleep(0.2)
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        await self.rig.server.tasks.settle(30)
        await self.rig.deps.recorder.flush(30)


def _progress(row: dict[str, float]) -> str:
    return (
        f"[{row['elapsed_s']:6.0f} s] rss {row['rss_mb']:.0f} MB, fds {row['open_fds']:.0f}, "
        f"tasks {row['asyncio_tasks']:.0f}, sent {row['sent']:.0f}, answered {row['answered']:.0f}, "
        f"in flight {row['in_flight']:.0f}, p95 {row['answer_p95_ms']:.0f} ms, cpu {row['cpu_pct']:.0f} %"
    )


# ------------------------------------------------------------------------------------------------ set-up


def soak_settings(
    args: argparse.Namespace, fake: FakeSlack, llm: FakeOpenAI, db_url: str, prefix: str, tmp: Path
) -> Settings:
    """slack_load's settings (fake Slack, throwaway database, high rate limits), plus the fake OpenAI."""
    base = endy_settings(args.mode, argparse.Namespace(redis_url=args.redis_url), fake, db_url, prefix, tmp, cache=True)
    return base.model_copy(update={"openai_api_key": SecretStr("sk-bench"), "openai_base_url": llm.base_url})


async def start_rig(
    stack: AsyncExitStack, args: argparse.Namespace, db_url: str, prefix: str, tmp: Path, baseline: dict[str, Any]
) -> Rig:
    """Fakes up, Endy started (stopped by `stack`), the senders for the mode."""
    fake = await stack.enter_async_context(FakeSlack())
    llm = await stack.enter_async_context(FakeOpenAI())
    baseline["fakes_started"] = footprint()
    deps = await stack.enter_async_context(open_deps(soak_settings(args, fake, llm, db_url, prefix, tmp)))
    server = Server(deps, grace_seconds=10)
    await server.start()
    stack.push_async_callback(server.stop)
    session = await stack.enter_async_context(aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ACK_TIMEOUT)))
    url = f"http://127.0.0.1:{deps.settings.slack_http_port}/slack/events"
    if args.mode == "socket":
        await fake.wait_for_connections(1)
        events, presses = socket_sender(fake), socket_sender(fake, "interactive")
    else:
        events, presses = http_sender(session, url), http_sender(session, url, "interactive")
    return Rig(fake, llm, deps, server, events, presses)


async def stored(deps: Deps) -> dict[str, int]:
    """What reached PostgreSQL and what the metrics counted."""
    row = await deps.pool.fetchrow("SELECT count(*) AS n, count(*) FILTER (WHERE used_llm) AS llm FROM messages")
    votes = await deps.pool.fetchval("SELECT count(*) FROM feedback")
    return {
        "messages_stored": int(row["n"]),
        "messages_by_llm": int(row["llm"]),
        "feedback_stored": int(votes),
        "cache_hits": _sample(deps, "cache_operations_total", {"operation": "hit"}),
        "cache_misses": _sample(deps, "cache_operations_total", {"operation": "miss"}),
        "llm_success": _sample(deps, "llm_requests_total", {"status": "success"}),
        "errors": errors_total(deps),
    }


def csv_writer(path: Path) -> tuple[Callable[[dict[str, float]], None], Callable[[], None]]:
    """(write a row, close): the header comes from the first row; each row is flushed at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w", newline="", encoding="utf-8")
    writer: list[csv.DictWriter[str]] = []

    def write(row: dict[str, float]) -> None:
        if not writer:
            writer.append(csv.DictWriter(handle, fieldnames=list(row)))
            writer[0].writeheader()
        writer[0].writerow(row)
        handle.flush()

    return write, handle.close


async def soak(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Baseline, Endy started, the soak, the drain; everything cleaned up; returns the rows and the facts."""
    baseline: dict[str, Any] = {"bare_process": footprint()}
    write, close = csv_writer(Path(f"{args.out}.csv"))
    try:
        async with redis_prefix(args.redis_url) as prefix, throwaway_database(args.database_url) as db_url:
            async with AsyncExitStack() as stack:
                rig = await start_rig(stack, args, db_url, prefix, tmp, baseline)
                gc.collect()
                gc.freeze()  # as `endy serve` does after start-up: gc_objects counts what came after
                baseline["endy_started"] = footprint() | {"gc_frozen": gc.get_freeze_count()}
                run = Soak(args, rig, write)
                await run.run()
                await run.drain()
                gc.collect()
                baseline["after_drain"] = footprint()
                facts = await stored(rig.deps)
                facts["lost"] = len(run.tracker.pending)
    finally:
        close()
    counts = run.tracker.counts
    facts |= {k: getattr(counts, k) for k in ("sent", "answered", "duplicated", "stray", "ack_timeouts", "send_errors")}
    facts["feedback_sent"] = counts.votes
    return {"rows": run.rows, "baseline": baseline, "facts": facts}


# ------------------------------------------------------------------------------------------------ results


def growth_pct(first: float, last: float) -> float:
    """Relative change from first to last, in %."""
    return (last - first) / first * 100 if first else math.nan


def slope_per_minute(rows: list[dict[str, float]], column: str) -> float:
    """Least-squares slope of a column against elapsed minutes."""
    if len(rows) < 2:
        return math.nan
    xs, ys = [r["elapsed_s"] / 60 for r in rows], [r[column] for r in rows]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else math.nan


def p95_halves(rows: list[dict[str, float]]) -> tuple[float, float]:
    """Median per-interval p95 of the first and the second half of the rows."""
    values = [r["answer_p95_ms"] for r in rows if not math.isnan(r["answer_p95_ms"])]
    if len(values) < 2:
        return math.nan, math.nan
    half = len(values) // 2
    return statistics.median(values[:half]), statistics.median(values[half:])


def summarize(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The JSON summary: growth, slope, latency halves, counts and verdicts."""
    after = [r for r in result["rows"] if r["elapsed_s"] >= args.warmup]
    first, last = (after[0], after[-1]) if len(after) >= 2 else ({}, {})
    rss_growth = growth_pct(first.get("rss_mb", math.nan), last.get("rss_mb", math.nan))
    fd_growth = growth_pct(first.get("open_fds", math.nan), last.get("open_fds", math.nan))
    p95_first, p95_second = p95_halves(after)
    return {
        "config": {k: getattr(args, k) for k in ("minutes", "rate", "sample_every", "warmup", "mode")}
        | {k: getattr(args, k) for k in ("repeat_share", "feedback_every", "answer_wait")}
        | {"users": len(USERS), "rate_limits": HIGH_LIMIT},
        "environment": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "loadavg": os.getloadavg()},
        "baseline": result["baseline"],
        "samples_after_warmup": len(after),
        "rss_mb_after_warmup": [first.get("rss_mb"), last.get("rss_mb")],
        "rss_growth_pct": rss_growth,
        "rss_slope_mb_per_min": slope_per_minute(after, "rss_mb"),
        "open_fds_after_warmup": [first.get("open_fds"), last.get("open_fds")],
        "fds_growth_pct": fd_growth,
        "fds_slope_per_min": slope_per_minute(after, "open_fds"),
        "gc_objects_growth_pct": growth_pct(first.get("gc_objects", math.nan), last.get("gc_objects", math.nan)),
        "p95_first_half_ms": p95_first,
        "p95_second_half_ms": p95_second,
        **result["facts"],
        "verdict": {
            "rss_ok": rss_growth <= GROWTH_TARGET_PCT,
            "fds_ok": fd_growth <= GROWTH_TARGET_PCT,
            "p95_stable": p95_second <= P95_TOLERANCE * p95_first,
        },
    }


def _json_safe(value: Any) -> Any:
    """NaN becomes null, floats are rounded (JSON has no NaN)."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 2)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


PANELS = [
    ("RSS (MB)", ["rss_mb"]),
    ("FDs, tasks, queues", ["open_fds", "asyncio_tasks", "endy_tasks", "in_flight", "recorder_pending"]),
    ("Pools (connections)", ["db_pool_size", "db_pool_idle", "redis_created", "redis_in_use", "llm_http_conns"]),
    ("Answer latency (ms)", ["answer_p50_ms", "answer_p95_ms"]),
]
STYLES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "v"), ("-", "x")]  # overlapping lines stay visible


def _limit_lines(ax: Any, rows: list[dict[str, float]], column: str, warmup: float) -> None:
    """The +10 % growth limit over the first sample after warm-up, and the least-squares fit after it."""
    after = [r for r in rows if r["elapsed_s"] >= warmup]
    if len(after) < 2:
        return
    limit = after[0][column] * (1 + GROWTH_TARGET_PCT / 100)
    ax.axhline(limit, color="red", linestyle="--", linewidth=1, label=f"{column} +{GROWTH_TARGET_PCT:.0f} % limit")
    slope = slope_per_minute(after, column)
    mx = statistics.fmean(r["elapsed_s"] for r in after)
    my = statistics.fmean(r[column] for r in after)
    ends = [after[0]["elapsed_s"], after[-1]["elapsed_s"]]
    fit = [my + slope * (x - mx) / 60 for x in ends]
    ax.plot(ends, fit, color="black", linewidth=1, label=f"fit {slope:+.2f}/min")


def plot(rows: list[dict[str, float]], warmup: float, path: Path) -> None:
    """2×2 PNG against elapsed time: RSS; FDs, tasks and queues; pool sizes; answer latency p50/p95."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["elapsed_s"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(13, 8), sharex=True)
    for ax, (title, columns) in zip(axes.flat, PANELS, strict=True):
        for column, (line, marker) in zip(columns, STYLES, strict=False):
            ax.plot(t, [r[column] for r in rows], linestyle=line, marker=marker, markersize=4, label=column)
        ax.axvspan(0, warmup, color="grey", alpha=0.15, label="warm-up")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    _limit_lines(axes[0][0], rows, "rss_mb", warmup)
    _limit_lines(axes[0][1], rows, "open_fds", warmup)
    for ax in axes.flat:
        ax.legend(fontsize=8, loc="best")
    for ax in axes[1]:
        ax.set_xlabel("elapsed (s)")
    fig.suptitle(
        f"Endy soak: {len(rows)} samples every {t[1] - t[0] if len(t) > 1 else 0:.0f} s, warm-up {warmup:.0f} s"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ entry


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=5.0, help="questions per second (open loop)")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before growth is measured")
    parser.add_argument("--mode", choices=("socket", "http"), default="socket")
    parser.add_argument("--out", default="bench/results/soak", help="prefix of the .csv, .png and .json")
    parser.add_argument("--repeat-share", type=float, default=0.5, help="share of verbatim (cacheable) questions")
    parser.add_argument("--feedback-every", type=int, default=10, help="a 👍 on every n-th answer")
    parser.add_argument("--answer-wait", type=float, default=30.0, help="seconds before a question counts as lost")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="exit 1 when a verdict is false")
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="admin URL: a throwaway database is created on this server and dropped",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    return parser.parse_args()


async def run_soak(args: argparse.Namespace) -> dict[str, Any]:
    """Quiet logs, then the soak inside an overall timeout."""
    with tempfile.TemporaryDirectory(prefix="endy-soak-") as folder:
        tmp = Path(folder)
        quiet: dict[str, Any] = {"log_dir": tmp / "logs", "log_level": "warning"}
        configure_logging(Settings(_env_file=None, **quiet), console_level="WARNING")  # type: ignore[call-arg]
        async with asyncio.timeout(args.minutes * 60 + args.answer_wait + 300):
            return await soak(args, tmp)


def write_outputs(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The PNG and the JSON summary (the CSV was written during the run); returns the summary."""
    plot(result["rows"], args.warmup, Path(f"{args.out}.png"))
    summary: dict[str, Any] = _json_safe(summarize(result, args))
    summary["files"] = [f"{args.out}.{ext}" for ext in ("csv", "png", "json")]
    Path(f"{args.out}.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def main() -> None:
    """Run the soak, print the summary (exit 1 with --check when a verdict is false)."""
    args = parse_args()
    summary = write_outputs(asyncio.run(run_soak(args)), args)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    sys.exit(1 if args.check and not all(summary["verdict"].values()) else 0)


if __name__ == "__main__":
    main()
