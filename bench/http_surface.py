"""HTTP surface before authentication: /liveness latency while unsigned 1 MiB requests arrive, log bytes per refusal.

Run: .venv/bin/python bench/http_surface.py [--seconds 10] [--attackers 3] [--interval 0.01] [--quick]
         [--database-url postgresql://…] [--redis-url redis://…]   (embedded PostgreSQL and Redis when unset)

Three processes, all on loopback:
  - Endy itself: `python -m endy_bot serve` in HTTP mode (no LLM, LOG_LEVEL=info so every refusal's line is written;
    production's warning writes none), against the fake Slack;
  - this one: GETs /liveness every --interval seconds on one keep-alive connection and times it from outside
    Endy's event loop, first quiet, then during the attack;
  - the attacker (this file with `--attack`): --attackers concurrent clients, each POSTing ~1 MiB JSON bodies
    to /slack/events back to back, cycling through three forgeries: no signature at all, a fresh timestamp with a
    forged signature (the door must read the whole body and compute the HMAC), and a malformed timestamp. The
    body is dense with contact details, the worst input for a masker that sees it.
Log bytes per refusal = growth of LOG_DIR/endy.log during the attack / refusals counted by the attacker (checked
against errors_total{type=~"http_.*"} on /metrics).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.sidecar import endy_serve, free_port, percentile, throwaway, wait_ready  # noqa: E402

TARGETS = {"liveness_p99_above_quiet_ms": 50.0, "log_bytes_per_refusal": 300.0}
# A JSON object Bolt parses (so before the door it reached Bolt's verifier, which logged it whole at INFO).
_PII = ("kim.canary@example.com 010-1234-5678 4111-1111-1111-1111 " * 20_000)[: 1024 * 1024 - 1024 - 40]
BODY = json.dumps({"type": "event_callback", "text": _PII}).encode()
SECRET = "bench-signing-secret-0123456789abcdef"


def forgeries() -> list[dict[str, str]]:
    """The three kinds of refused request headers the attacker cycles through."""
    return [
        {},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "1e3", "X-Slack-Signature": "v0=00"},
    ]


async def attack(url: str, attackers: int) -> dict[str, Any]:
    """POST forged 1 MiB bodies from `attackers` clients until stdin closes; return the statuses seen."""
    done = asyncio.ensure_future(asyncio.to_thread(sys.stdin.buffer.read))
    statuses: dict[str, int] = {}

    async def client(session: aiohttp.ClientSession, offset: int) -> None:
        n = offset
        while not done.done():
            headers = {"Content-Type": "application/json", **forgeries()[n % 3]}
            n += 1
            try:
                async with session.post(url, data=BODY, headers=headers) as resp:
                    await resp.read()
                    statuses[str(resp.status)] = statuses.get(str(resp.status), 0) + 1
            except (aiohttp.ClientError, TimeoutError):
                statuses["error"] = statuses.get("error", 0) + 1

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        print("ready", flush=True)
        await asyncio.gather(*(client(session, i) for i in range(attackers)))
    return statuses


async def poll(base: str, seconds: float, interval: float) -> list[float]:
    """/liveness latencies (ms), one request every `interval` s for `seconds`."""
    latencies: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            async with session.get(f"{base}/liveness") as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))
    return latencies


async def attacked(url: str, attackers: int, block: Any) -> tuple[Any, dict[str, int]]:
    """Run `block` (a coroutine) while the attacker process runs; return its result and the attacker's statuses."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--attack", url, "--attackers", str(attackers),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    try:
        if await asyncio.wait_for(proc.stdout.readline(), 30) != b"ready\n":
            raise RuntimeError("the attacker did not start")
        result = await block
        proc.stdin.close()
        statuses = json.loads(await asyncio.wait_for(proc.stdout.read(), 60))
        await asyncio.wait_for(proc.wait(), 10)
        return result, statuses
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def refusals_counted(base: str) -> float:
    """Sum of errors_total{type=~"http_.*"} on /metrics."""
    async with aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as resp:
        text = await resp.text()
    return sum(float(v) for v in re.findall(r'^errors_total\{type="http_[a-z_]+"\} ([0-9.e+]+)$', text, re.M))


def environment(args: argparse.Namespace, tmp: str, slack_api_url: str, ports: tuple[int, int]) -> dict[str, str]:
    """`endy serve`'s variables: HTTP mode, no LLM, INFO logs into tmp."""
    env = {
        "SLACK_MODE": "http", "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack_api_url, "HOST": "127.0.0.1", "PORT": str(ports[0]), "SLACK_HTTP_PORT": str(ports[1]),
        "OPENAI_API_KEY": "", "LOG_LEVEL": "info", "DATA_DIR": f"{tmp}/data", "LOG_DIR": f"{tmp}/logs",
        "ENVIRONMENT": "development",
    }  # fmt: skip
    return env


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start Endy, measure quiet, then attacked; return the raw figures."""
    from tests.fakes.slack import FakeSlack

    with tempfile.TemporaryDirectory(prefix="endy-bench-") as tmp:
        async with AsyncExitStack() as stack:
            fake = await stack.enter_async_context(FakeSlack())
            ports = (free_port(), free_port())
            env = environment(args, tmp, fake.api_url, ports)
            if args.database_url and args.redis_url:
                db_url, prefix = await stack.enter_async_context(throwaway(args.database_url, args.redis_url))
                env |= {"DATABASE_URL": db_url, "REDIS_URL": args.redis_url, "REDIS_KEY_PREFIX": prefix}
            proc = await stack.enter_async_context(endy_serve(env, Path(tmp)))
            base, url = f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}/slack/events"
            await wait_ready(proc, base)
            await poll(base, 1.0, args.interval)  # warm-up
            quiet = await poll(base, args.seconds, args.interval)
            log = Path(tmp) / "logs" / "endy.log"
            size = log.stat().st_size
            counted = await refusals_counted(base)
            busy, statuses = await attacked(url, args.attackers, poll(base, args.seconds, args.interval))
            await asyncio.sleep(0.5)  # the last refusals' lines
            grown = log.stat().st_size - size
            counted = await refusals_counted(base) - counted
            tail = log.read_text(encoding="utf-8").splitlines()[-1]
    return {"quiet": quiet, "busy": busy, "statuses": statuses, "log_growth": grown, "counted": counted, "line": tail}


def report(figures: dict[str, Any], args: argparse.Namespace) -> bool:
    """Print the Markdown table and the verdicts; True when every target is met."""
    quiet, busy, statuses = figures["quiet"], figures["busy"], figures["statuses"]
    refused = sum(n for status, n in statuses.items() if status.startswith("4"))
    per_refusal = figures["log_growth"] / max(1, refused)
    p99_delta = percentile(busy, 0.99) - percentile(quiet, 0.99)
    print(f"\n## HTTP surface before authentication — {args.attackers} attackers × 1 MiB forged POSTs, "
          f"/liveness every {args.interval * 1000:.0f} ms\n")  # fmt: skip
    print("| phase | /liveness n | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    for name, values in (("quiet", quiet), ("under attack", busy)):
        print(f"| {name} | {len(values)} | {percentile(values, 0.5):.1f} ms | {percentile(values, 0.99):.1f} ms "
              f"| {max(values):.1f} ms |")  # fmt: skip
    verdicts = [
        (f"/liveness p99 {p99_delta:+.1f} ms above quiet (≤ {TARGETS['liveness_p99_above_quiet_ms']:.0f} ms)",
         p99_delta <= TARGETS["liveness_p99_above_quiet_ms"]),
        (f"{per_refusal:.0f} log bytes per refused request ({figures['log_growth']} bytes / {refused} refusals; "
         f"≤ {TARGETS['log_bytes_per_refusal']:.0f})", per_refusal <= TARGETS["log_bytes_per_refusal"]),
        (f"attacker saw {statuses}; errors_total{{type=~\"http_.*\"}} grew by {figures['counted']:.0f}",
         "500" not in statuses and figures["counted"] >= refused),
    ]  # fmt: skip
    print()
    for text, ok in verdicts:
        print(f"- {'PASS' if ok else 'MISS'}: {text}")
    print(f"\nA refusal's line: `{figures['line']}`")
    print(f"\nNotes: load average at the end {', '.join(f'{v:.2f}' for v in os.getloadavg())}; python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs shared by Endy, this poller and the attacker process; "
          f"{args.seconds:.0f} s per phase; LOG_LEVEL=info.")  # fmt: skip
    return all(ok for _, ok in verdicts)


def main() -> None:
    """Parse arguments; run the benchmark (or, with --attack, be the attacker process)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--attackers", type=int, default=3, help="concurrent clients sending 1 MiB forged requests")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between /liveness requests")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s phases")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--database-url", help="admin URL of a PostgreSQL to create a throwaway database on")
    parser.add_argument("--redis-url")
    parser.add_argument("--attack", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attack:
        print(json.dumps(asyncio.run(attack(args.attack, args.attackers))))
        return
    if args.quick:
        args.seconds = 3.0
    met = report(asyncio.run(asyncio.wait_for(run(args), 600)), args)
    sys.exit(1 if args.check and not met else 0)


if __name__ == "__main__":
    main()
