"""Slack faults: 429s and 500s on posting and streaming, and a Socket Mode reconnect mid-burst.

Every question must still be answered exactly once (replies are matched to events by thread_ts).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from tests.endy import Endy
from tests.resilience.helpers import (
    HIGH_LIMIT,
    QUESTIONS,
    LaunchEndy,
    answer_of,
    answered_once,
    metric,
    report,
    settle,
    wait_answered,
)

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(120)]
STREAM = ("chat.startStream", "chat.appendStream", "chat.stopStream")
# Over twice the SDK's 256-character stream buffer: an answer needs startStream, appendStream and stopStream.
REPEATS = 15
LONG_REPLY = (
    "연차는 e-HR 근태 메뉴에서 휴가 신청을 누르고 기간을 고른 뒤 팀장 승인을 받으면 돼요. [1] " * REPEATS + "끝."
)
FAULTS_PER_METHOD = 2  # within the client's retry budget (3 for 429, 2 for 5xx) even if one call gets both


async def _endy(launch: LaunchEndy, pg_url: str, redis_url: str, *, llm: bool = False) -> Endy:
    endy = await launch(
        database_url=pg_url,
        redis_url=redis_url,
        llm=llm,
        rate_limit_per_minute=HIGH_LIMIT,
        rate_limit_per_hour=HIGH_LIMIT,
    )
    if endy.llm is not None:
        endy.llm.reply = LONG_REPLY
    return endy


def _questions(endy: Endy, n: int, tag: str) -> list[dict[str, Any]]:
    return [endy.slack.event_message_im(f"U0{tag}{i:03d}", QUESTIONS[i % len(QUESTIONS)]) for i in range(n)]


async def _assert_each_answered_once(endy: Endy, payloads: list[dict[str, Any]]) -> None:
    await settle(endy)
    assert answered_once(endy.slack, payloads) == ([], [])
    rows = await endy.rows("SELECT count(*) AS n, count(DISTINCT request_id) AS d, count(reply_ts) AS r FROM messages")
    assert (rows[0]["n"], rows[0]["d"], rows[0]["r"]) == (len(payloads),) * 3


@pytest.mark.parametrize(
    ("methods", "status", "llm"),
    [
        (("chat.postMessage",), 429, False),
        (("chat.postMessage",), 500, False),
        (STREAM, 429, True),
        (STREAM, 500, True),
    ],
    ids=["post-429", "post-500", "stream-429", "stream-500"],
)
async def test_web_api_faults_are_retried_and_every_question_answered_once(
    pg_url: str, redis_url: str, launch_endy: LaunchEndy, methods: tuple[str, ...], status: int, llm: bool
) -> None:
    endy = await _endy(launch_endy, pg_url, redis_url, llm=llm)
    for method in methods:
        endy.slack.fail_next(method, status=status, times=FAULTS_PER_METHOD)
    payloads = _questions(endy, 12, "F")
    for payload in payloads:
        await endy.slack.send_event(payload)
    await wait_answered(endy.slack, payloads, within=60)
    await _assert_each_answered_once(endy, payloads)
    for method in methods:  # every scripted fault was met (and retried), not skipped
        answered = 12 if method != "chat.appendStream" else 0
        assert len(endy.slack.calls_to(method)) >= answered + FAULTS_PER_METHOD
    if llm:
        await _assert_streams_whole(endy, payloads)


async def _assert_streams_whole(endy: Endy, payloads: list[dict[str, Any]]) -> None:
    """No append was lost to a fault or sent twice; a repeat (an answer-cache hit) streams the same text."""
    hits = metric(endy, "cache_operations_total", {"operation": "hit"})
    repeat = endy.slack.event_message_im("U0REPEAT", QUESTIONS[0])
    endy.slack.fail_next("chat.startStream", status=429)
    await endy.slack.send_event(repeat)
    await wait_answered(endy.slack, [repeat], within=30)
    assert metric(endy, "cache_operations_total", {"operation": "hit"}) == hits + 1
    texts = {answer_of(endy.slack, p).text for p in [*payloads, repeat]}
    assert len(texts) == 1
    assert next(iter(texts)).rstrip().endswith("끝.")
    assert next(iter(texts)).count("팀장 승인") == REPEATS


async def test_socket_mode_disconnect_mid_burst_loses_and_repeats_nothing(
    pg_url: str, redis_url: str, launch_endy: LaunchEndy
) -> None:
    endy = await _endy(launch_endy, pg_url, redis_url)
    slack = endy.slack
    await slack.wait_for_connections(1)
    payloads = _questions(endy, 50, "S")
    envelopes: dict[str, dict[str, Any]] = {}
    for i, payload in enumerate(payloads):
        if i == 20:
            await slack.disconnect_all()  # as Slack does on its deploys; Endy reconnects by itself
        envelopes[await slack.send_event(payload)] = payload
    await slack.wait_until(lambda: slack.connects >= 2 and slack.connections == 1, 10, "a reconnection")
    with contextlib.suppress(TimeoutError):  # Slack waits ~3 s for an ack before it redelivers
        await slack.wait_until(lambda: envelopes.keys() <= slack.acks.keys(), 5, "every ack")
    unacked = [payload for envelope, payload in envelopes.items() if envelope not in slack.acks]
    for payload in unacked:  # redelivered: answered if it was lost, absorbed by the dedupe if it was not
        await slack.wait_for_ack(await slack.send_event(payload, retry_attempt=1, retry_reason="timeout"))
    await wait_answered(slack, payloads, within=60)
    await _assert_each_answered_once(endy, payloads)
    report(
        f"Socket Mode disconnect after 20 of 50 events: {slack.connects} connections, {len(unacked)} envelope(s) "
        f"unacknowledged and redelivered, 0 lost, 0 duplicated"
    )
