"""Rate-limiter benchmark: decisions per second and latency, next to Redis PING on the same client and run.

Run: .venv/bin/python bench/limiter.py [--redis-url redis://127.0.0.1:6379/0] [--ops 5000] [--callers 50]
Without --redis-url a throwaway redis-server (tests/fakes/redis_process.py) is started. Loopback only:
the target is one round trip per decision, so p99(decision) <= 1.5 x p99(PING).
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
    from services.ratelimit import RateLimiter

    prefix = f"endy-bench-{uuid.uuid4().hex[:8]}:"
    # Defaults from the deployment guide; 5 questions per user keep every decision an allowed one.
    limiter = RateLimiter(client, per_minute=10, per_hour=100, key_prefix=prefix)

    def decide(offset: int) -> Op:
        return lambda i: limiter.check("TBENCH", f"U{(offset + i) // 5}")

    async def ping(_: int) -> object:
        return await client.ping()

    try:
        await _concurrent("warm-up", ping, callers * 20, callers)  # opens the pool's connections
        await _concurrent("warm-up", decide(10**8), callers * 20, callers)  # loads the script
        rows = await _sequential(ops, {"PING": ping, "decision": decide(0)})
        rows.append(await _concurrent("PING", ping, ops, callers))
        rows.append(await _concurrent("decision", decide(10**7), ops, callers))
    finally:
        await _delete(client, prefix)
    return rows


async def _delete(client: aioredis.Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
    for i in range(0, len(keys), 500):
        await client.delete(*keys[i : i + 500])


def _report(rows: list[Row], where: str, version: str) -> None:
    print(f"Redis {version} at {where}, one client, {sys.version.split()[0]}\n")
    print("| operation | callers | ops | ops/s | p50 (ms) | p99 (ms) | round trips/op |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row.cells())
    ping_p99 = _p50_p99(rows[0].latencies_ns)[1]
    decision_p99 = _p50_p99(rows[1].latencies_ns)[1]
    ratio = decision_p99 / ping_p99
    verdict = "meets" if ratio <= 1.5 else "MISSES"
    print(f"\np99(decision) / p99(PING), sequential: {ratio:.2f} ({verdict} the 1.5 target)")


async def main_async(url: str | None, ops: int, callers: int) -> None:
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
        rows = await _bench(client, ops, callers)
    finally:
        await client.aclose()
        if server is not None:
            await server.stop()
    _report(rows, f"{parts.hostname}:{parts.port}" + (" (throwaway)" if server else ""), version)


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--redis-url", help="a loopback Redis (default: start a throwaway redis-server)")
    parser.add_argument("--ops", type=int, default=5000, help="operations per measurement (default 5000)")
    parser.add_argument("--callers", type=int, default=50, help="concurrent callers (default 50)")
    args = parser.parse_args()
    asyncio.run(main_async(args.redis_url, args.ops, args.callers))


if __name__ == "__main__":
    main()
