"""Helpers of the resilience tests: what Endy answered, its metrics and sidecar, and figures for the report."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

import aiohttp

from tests.endy import Endy
from tests.fakes.slack import FakeSlack, Message
from tests.helpers import eventually

HIGH_LIMIT = 1_000_000  # rate limits for load tests: the limiter still runs, it never refuses
REPLY_KINDS = ("message", "stream")  # an answer is posted or streamed; ephemeral notices are not answers
QUESTIONS = (
    "연차는 어떻게 신청하나요?",
    "급여일이 언제예요?",
    "VPN 접속 방법",
    "와이파이 비번 뭐야?",
    "재직증명서 발급",
)


class LaunchEndy(Protocol):
    """Start one Endy process (they share the fake Slack of the test)."""

    async def __call__(
        self, *, database_url: str, redis_url: str, llm: bool = False, mode: str = "socket", **overrides: Any
    ) -> Endy: ...


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


async def settle(*endys: Endy, within: float = 30.0) -> None:
    """Wait until no answer is in flight, then until every queued write has landed."""
    await eventually(lambda: all(len(e.server.tasks) == 0 for e in endys), "idle answer tasks", within)
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
