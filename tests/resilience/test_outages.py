"""PostgreSQL and Redis outages mid-conversation: answers keep flowing, writes land once, Redis comes back in use.

Each test stops a throwaway server it started itself (pgserver in a temporary folder, RedisProcess), never the
machine's.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.endy import Endy
from tests.fakes.pg_process import PgProcess
from tests.fakes.redis_process import RedisProcess
from tests.fakes.slack import Message
from tests.helpers import eventually
from tests.resilience.helpers import (
    HIGH_LIMIT,
    QUESTIONS,
    LaunchEndy,
    answer_of,
    answered_once,
    distribution,
    metric,
    report,
    settle,
    sidecar,
    wait_answered,
)

# The issue asks for 30 s, and CI runs that (~1.5 min in all); ENDY_TEST_OUTAGE_SECONDS shortens it by hand.
OUTAGE_SECONDS = float(os.environ.get("ENDY_TEST_OUTAGE_SECONDS", "30"))
ANSWER_WITHIN = 10.0  # bound for one answer while a dependency is down (figures are reported, not asserted)
pytestmark = [pytest.mark.resilience, pytest.mark.timeout(120 + 3 * OUTAGE_SECONDS)]
LIMIT_TEXT = "질문이 너무 많이 들어왔어요"


async def ask(endy: Endy, user: str, text: str) -> tuple[dict[str, Any], Message, float]:
    """One DM question: (payload, the answer, seconds until it was finished in Slack)."""
    started = time.perf_counter()
    payload = endy.slack.event_message_im(user, text)
    await endy.slack.send_event(payload)
    await wait_answered(endy.slack, [payload], ANSWER_WITHIN)
    return payload, answer_of(endy.slack, payload), time.perf_counter() - started


def request_id_of(reply: Message) -> uuid.UUID:
    """The request id carried by the answer's 👍/👎 buttons."""
    buttons = reply.blocks[-1]["elements"][0]  # type: ignore[index]
    return uuid.UUID(str(buttons["positive_button"]["value"]).partition("|")[2])


async def thumbs_up(endy: Endy, user: str, reply: Message) -> None:
    """Press 👍 under an answer and wait for the ack (the vote is queued for PostgreSQL at once)."""
    value = reply.blocks[-1]["elements"][0]["positive_button"]["value"]  # type: ignore[index]
    action = endy.slack.block_actions(user, "feedback", value, reply.channel, reply.ts, action_type="feedback_buttons")
    await endy.slack.wait_for_ack(await endy.slack.send_interactive(action))


async def test_postgres_outage_mid_conversation(
    throwaway_pg: PgProcess, launch_endy: LaunchEndy, redis_url: str
) -> None:
    endy = await launch_endy(
        database_url=throwaway_pg.url,
        redis_url=redis_url,
        rate_limit_per_minute=HIGH_LIMIT,
        rate_limit_per_hour=HIGH_LIMIT,
    )
    replies: list[Message] = []
    votes: list[tuple[str, str]] = []  # (reply_ts, user) of every 👍
    for i, question in enumerate(QUESTIONS[:3]):
        replies.append((await ask(endy, f"U0PRE{i}", question))[1])
    assert len(await endy.rows("SELECT id FROM messages")) == 3

    await throwaway_pg.stop()
    began, during = time.monotonic(), list[float]()
    while time.monotonic() - began < OUTAGE_SECONDS or not during:
        _, reply, took = await ask(endy, f"U0OUT{len(during)}", QUESTIONS[len(during) % len(QUESTIONS)])
        replies.append(reply)
        during.append(took)
        await asyncio.sleep(0.5)  # paces the questions across the outage (the outage length is the point)
    for user, reply in (("U0PRE0", replies[0]), ("U0OUT0", replies[3])):  # a vote on an old and a new answer
        await thumbs_up(endy, user, reply)
        votes.append((reply.ts, user))
    health, readiness = await sidecar(endy, "/health"), await sidecar(endy, "/readiness")
    assert health[1]["checks"]["database"] is False
    assert not endy.deps.recorder.healthy
    assert endy.deps.recorder.pending > 0  # buffered in memory, not lost
    outage = time.monotonic() - began

    await throwaway_pg.start()
    recovered = time.monotonic()
    await settle(endy, within=OUTAGE_SECONDS + 45)  # the recorder's backoff may sleep a while after the restart
    caught_up = time.monotonic() - recovered
    rows = await endy.rows("SELECT request_id, reply_ts FROM messages")
    per_request = Counter(r["request_id"] for r in rows)
    assert per_request == Counter(request_id_of(r) for r in replies)  # every answer stored, exactly once
    assert {r["reply_ts"] for r in rows} == {r.ts for r in replies}  # and tied to its Slack message
    feedback = await endy.rows(
        "SELECT m.reply_ts, f.user_id, f.rating, f.via FROM feedback f JOIN messages m ON m.id = f.message_id"
    )
    assert sorted((f["reply_ts"], f["user_id"], f["rating"], f["via"]) for f in feedback) == sorted(
        (ts, user, 1, "button") for ts, user in votes
    )
    assert metric(endy, "persist_operations_total", {"operation": "retry"}) > 0
    assert metric(endy, "persist_operations_total", {"operation": "spilled"}) == 0
    assert metric(endy, "persist_operations_total", {"operation": "failed"}) == 0
    after = await sidecar(endy, "/health")
    assert after[1]["checks"]["database"] is True
    assert endy.deps.recorder.healthy
    report(
        f"PostgreSQL outage {outage:.1f} s: {len(during)} questions answered meanwhile, answer time "
        f"{distribution([t * 1000 for t in during])}; /health {health[0]} {health[1]['status']!r}, /readiness "
        f"{readiness[0]} {readiness[1]}; writes caught up {caught_up:.1f} s after the restart; "
        f"{len(rows)} messages rows, {len(feedback)} feedback rows; after: /health {after[0]} {after[1]['status']!r}"
    )


async def _deliver_twice(endy: Endy, payload: dict[str, Any]) -> None:
    """Slack's delivery and its retry (same event_id), both acknowledged."""
    for attempt in (0, 1):
        reason = "timeout" if attempt else ""
        envelope = await endy.slack.send_event(payload, retry_attempt=attempt, retry_reason=reason)
        await endy.slack.wait_for_ack(envelope)


async def _redis_keys(url: str, pattern: str) -> list[bytes]:
    client = aioredis.Redis.from_url(url)
    try:
        return [key async for key in client.scan_iter(match=pattern)]
    finally:
        await client.aclose()


@pytest.mark.parametrize("how", ["stopped", "frozen"])
async def test_redis_outage_fails_open_and_recovers_without_restart(
    pg_url: str, redis_server: RedisProcess, launch_endy: LaunchEndy, key_prefix: str, how: str
) -> None:
    endy = await launch_endy(database_url=pg_url, redis_url=redis_server.url, rate_limit_per_minute=3)
    before, _, _ = await ask(endy, "U0R0", QUESTIONS[0])
    await ask(endy, "U0R1", QUESTIONS[0])
    assert metric(endy, "cache_operations_total", {"operation": "hit"}) == 1
    assert metric(endy, "ratelimit_fallback_active") == 0

    if how == "stopped":
        await redis_server.stop()  # connections refused
    else:
        redis_server.pause()  # SIGSTOP: connections accepted, nothing answers
    began, during = time.monotonic(), list[float]()
    while time.monotonic() - began < OUTAGE_SECONDS or len(during) < 3:  # the cached question again, and others
        during.append((await ask(endy, f"U0D{len(during)}", QUESTIONS[len(during) % 3]))[2])
        await asyncio.sleep(0.5)  # paces the questions across the outage
    assert metric(endy, "ratelimit_fallback_active") == 1
    assert metric(endy, "ratelimit_fallback_decisions_total") > 0
    assert metric(endy, "cache_operations_total", {"operation": "hit"}) == 1
    assert metric(endy, "cache_operations_total", {"operation": "error"}) > 0
    fresh = endy.slack.event_message_im("U0D9", QUESTIONS[3])
    await _deliver_twice(endy, fresh)  # first seen during the outage, retried during it
    await endy.slack.wait_for_ack(await endy.slack.send_event(before, retry_attempt=1, retry_reason="timeout"))
    greedy = [endy.slack.event_message_im("U0GREEDY", q) for q in QUESTIONS[:4]]
    for payload in greedy:  # the in-process buckets still hold the limit (3 a minute)
        await endy.slack.send_event(payload)
    await wait_answered(endy.slack, [fresh, *greedy], ANSWER_WITHIN)
    await settle(endy)
    assert answered_once(endy.slack, [before, fresh, *greedy]) == ([], [])
    limited = [p for p in greedy if LIMIT_TEXT in answer_of(endy.slack, p).text]
    assert len(limited) == 1
    health = await sidecar(endy, "/health")
    assert health[0] == 200
    assert health[1]["status"] == "degraded"
    assert health[1]["checks"]["redis"] is False
    outage = time.monotonic() - began

    if how == "stopped":
        await redis_server.start()  # same port, empty: the limiter's buckets start over
    else:
        redis_server.resume()
    recovered, asked = time.monotonic(), 0

    async def limiter_back() -> bool:  # the limiter probes Redis about once a second; questions keep coming
        nonlocal asked
        if metric(endy, "ratelimit_fallback_active") != 1:
            return True
        await ask(endy, f"U0AFTER{asked}", QUESTIONS[asked % len(QUESTIONS)])
        asked += 1
        return False

    await eventually(limiter_back, "the limiter back on Redis", 15, interval=0.2)
    back_after = time.monotonic() - recovered
    assert await _redis_keys(redis_server.url, f"{key_prefix}rl:*")  # the shared buckets are in use again
    hits = metric(endy, "cache_operations_total", {"operation": "hit"})
    await ask(endy, "U0AFTERX", "노트북 교체 주기")
    await ask(endy, "U0AFTERY", "노트북 교체 주기")
    assert metric(endy, "cache_operations_total", {"operation": "hit"}) == hits + 1
    report(
        f"Redis {how} {outage:.1f} s: {len(during)} questions answered meanwhile, answer time "
        f"{distribution([t * 1000 for t in during])}; "
        f"/health {health[0]} {health[1]['status']!r}; limiter back on Redis {back_after:.1f} s after the restart "
        f"({asked} question(s))"
    )
