"""Rate-limiter benchmark: decisions per second and latency, next to Redis PING on the same client and run.

Run: .venv/bin/python bench/limiter.py [--redis-url redis://127.0.0.1:6379/0] [--ops 5000] [--callers 50] [--runs 5]
Without --redis-url a throwaway redis-server (tests/fakes/redis_process.py) is started. Loopback only:
the target is one round trip per decision, so p50 and p99 of a decision <= 1.3 x those of PING (single caller,
interleaved), as the median over the runs; a bare EVALSHA of the limiter's script (no watch, no limiter code) is
the floor measured beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class CountingConnection(Connection):
    """A TCP connection that counts the commands it writes (one write = one round trip here)."""

    sent = 0

    async def send_packed_command(self, command: bytes | str | Iterable[bytes], check_health: bool = True) -> None:
        """Count, then send."""
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


@dataclass
class Row:
    """One line of the results table."""

    operation: str
    callers: int
    ops: int
    seconds: float
    latencies_ns: list[int]
    round_trips: int

    def cells(self) -> str:
        """The Markdown table row."""
        p50, p99 = _p50_p99(self.latencies_ns)
        per_op = self.round_trips / self.ops
        return (f"| {self.operation} | {self.callers} | {self.ops} | {self.ops / self.seconds:,.0f} | "
                f"{p50 / 1e6:.3f} | {p99 / 1e6:.3f} | {per_op:.2f} |")  # fmt: skip


def _p50_p99(values: list[int]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


Op = Callable[[int], Awaitable[object]]


async def _sequential(ops: int, named: dict[str, Op]) -> list[Row]:
    """One caller; the operations alternate op by op so drift on a noisy machine hits them alike."""
    latencies: dict[str, list[int]] = {name: [] for name in named}
    trips = dict.fromkeys(named, 0)
    for i in range(ops):
        for name, op in named.items():
            sent, start = CountingConnection.sent, time.perf_counter_ns()
            await op(i)
            latencies[name].append(time.perf_counter_ns() - start)
            trips[name] += CountingConnection.sent - sent
    return [Row(name, 1, ops, sum(latencies[name]) / 1e9, latencies[name], trips[name]) for name in named]


async def _concurrent(name: str, op: Op, ops: int, callers: int) -> Row:
    """`ops` operations split over `callers` concurrent loops; latency includes waiting for the event loop."""
    latencies: list[int] = []

    async def loop(indices: range) -> None:
        for i in indices:
            start = time.perf_counter_ns()
            await op(i)
            latencies.append(time.perf_counter_ns() - start)

    per = ops // callers
    sent, start = CountingConnection.sent, time.perf_counter()
    await asyncio.gather(*(loop(range(c * per, (c + 1) * per)) for c in range(callers)))
    elapsed = time.perf_counter() - start
    return Row(name, callers, per * callers, elapsed, latencies, CountingConnection.sent - sent)


async def _bench(client: aioredis.Redis, ops: int, callers: int) -> list[Row]:
    from services import ratelimit

    prefix = f"endy-bench-{uuid.uuid4().hex[:8]}:"
    # Defaults from the deployment guide; 5 questions per user keep every decision an allowed one.
    limiter = ratelimit.RateLimiter(client, per_minute=10, per_hour=100, key_prefix=prefix)
    script = client.register_script(ratelimit._LUA)  # the same script, called bare: the floor
    args = (10, ratelimit.MINUTE_MS, 100, ratelimit.HOUR_MS, 1)

    def decide(offset: int) -> Op:
        return lambda i: limiter.check("TBENCH", f"U{(offset + i) // 5}")

    def bare(offset: int) -> Op:
        return lambda i: script(keys=limiter.keys("TBENCH", f"B{(offset + i) // 5}"), args=args)

    async def ping(_: int) -> object:
        return await client.ping()

    try:
        await _concurrent("warm-up", ping, callers * 20, callers)  # opens the pool's connections
        await _concurrent("warm-up", decide(10**8), callers * 20, callers)  # loads the script
        rows = await _sequential(ops, {"PING": ping, "decision": decide(0), "EVALSHA (bare)": bare(0)})
        rows.append(await _concurrent("PING", ping, ops, callers))
        rows.append(await _concurrent("decision", decide(10**7), ops, callers))
    finally:
        await _delete(client, prefix)
    return rows


async def _delete(client: aioredis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
    for i in range(0, len(keys), 500):
        await client.delete(*keys[i : i + 500])


TARGET = 1.3


def _ratios(rows: list[Row]) -> tuple[float, float]:
    """p50 and p99 of a decision over those of PING, single caller (rows 0 and 1)."""
    ping, decision = _p50_p99(rows[0].latencies_ns), _p50_p99(rows[1].latencies_ns)
    return decision[0] / ping[0], decision[1] / ping[1]


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def _report(runs: list[list[Row]], where: str, version: str) -> None:
    print(f"Redis {version} at {where}, one client, {sys.version.split()[0]}; {len(runs)} runs, the last one:\n")
    print("| operation | callers | ops | ops/s | p50 (ms) | p99 (ms) | round trips/op |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in runs[-1]:
        print(row.cells())
    ratios = [_ratios(rows) for rows in runs]
    print("\nper run, decision / PING (single caller): " + ", ".join(f"p50 {a:.2f} p99 {b:.2f}" for a, b in ratios))
    for name, values in (("p50", [a for a, _ in ratios]), ("p99", [b for _, b in ratios])):
        verdict = "meets" if statistics.median(values) <= TARGET else "MISSES"
        print(f"{name}(decision) / {name}(PING): median (min–max) {_spread(values)} ({verdict} the {TARGET} target)")


async def main_async(url: str | None, ops: int, callers: int, runs: int = 5) -> None:
    """Benchmark against `url`, or against a throwaway redis-server when it is None."""
    from tests.fakes.redis_process import RedisProcess

    server = RedisProcess() if url is None else None
    if server is not None:
        await server.start()
        url = server.url
    assert url is not None
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.hostname not in LOOPBACK:
        raise SystemExit(f"loopback redis:// URLs only (got {parts.scheme}://{parts.hostname})")
    client = aioredis.Redis.from_url(url, connection_class=CountingConnection)
    try:
        version = str((await client.info("server"))["redis_version"])
        results = [await _bench(client, ops, callers) for _ in range(runs)]
    finally:
        await client.aclose()
        if server is not None:
            await server.stop()
    _report(results, f"{parts.hostname}:{parts.port}" + (" (throwaway)" if server else ""), version)


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", help="a loopback Redis (default: start a throwaway redis-server)")
    parser.add_argument("--ops", type=int, default=5000, help="operations per measurement (default 5000)")
    parser.add_argument("--callers", type=int, default=50, help="concurrent callers (default 50)")
    parser.add_argument("--runs", type=int, default=5, help="repetitions; ratios are their median (default 5)")
    args = parser.parse_args()
    asyncio.run(main_async(args.redis_url, args.ops, args.callers, args.runs))


if __name__ == "__main__":
    main()
