"""Hostile completions from the fake OpenAI, end to end through every door of a real Endy and the fake Slack: what
Slack received (every recorded request body) links only to the knowledge base, pings nobody and cites no made-up
source. The 1,000-completion corpus runs through the same renderers without Slack in
tests/services/test_hostile_completions.py; here a smaller number per door proves the handlers use them.

Hypothesis runs in a worker thread and hands each example to the test's loop (as tests/resilience does).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from handlers import texts
from services.prompts import NOT_IN_HANDBOOK
from tests.endy import Endy, StartEndy
from tests.fakes.hostile_llm import KB_LINK, has_kb_link, hostile_completion, inspect, shown_texts
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import Message

pytestmark = pytest.mark.timeout(600)
PER_DOOR = settings(
    max_examples=int(os.environ.get("ENDY_HOSTILE_E2E", "100")),
    deadline=None,
    # The same corpus on every run (CI stays reproducible); ENDY_HOSTILE_RANDOM=1 explores new examples.
    derandomize=os.environ.get("ENDY_HOSTILE_RANDOM") != "1",
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
USER, CHANNEL, QUESTION = "U0HOSTILE", "C0HOSTILE", "연차는 어떻게 신청하나요?"
HIGH_LIMIT = 1_000_000
PERMALINKS = ("https://endy-test.slack.com/archives/",)  # the fake's chat.getPermalink, linked by the escalation
ESCALATION = "escalation"
ACTORS = frozenset({f"<@{USER}>"})  # the share header names who shared
QUOTING = (texts.ESCALATION_POST.split("\n", 1)[0], texts.SHARED_BY.format(user=f"<@{USER}>")[:12])


def button(blocks: Any, action_id: str) -> dict[str, Any]:
    """The first button with that action id in a message's blocks."""
    found: list[dict[str, Any]] = blocks or []
    return next(e for b in found if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id)


Shown = Coroutine[Any, Any, list[str]]  # a door's run: what the answer's body showed (markdown or mrkdwn)


class Doors:
    """The ways in: each sends a question, waits for everything Endy posts about it; `check` reads every request
    body Slack received meanwhile."""

    def __init__(self, endy: Endy, loop: asyncio.AbstractEventLoop) -> None:
        self.endy, self.slack, self.loop = endy, endy.slack, loop
        self.allowed = endy.deps.answers.kb_links
        self.tried: Counter[str] = Counter()
        self.leaks: Counter[str] = Counter()

    def check(self, door: str, run: Shown, completion: str) -> None:
        """Run one example on Endy's loop, then inspect all Slack received for it."""
        calls, responses = len(self.slack.calls), len(self.slack.responses)
        body = asyncio.run_coroutine_threadsafe(run, self.loop).result(timeout=60)
        sent = [call.body for call in self.slack.calls[calls:]] + [r.body for r in self.slack.responses[responses:]]
        shown = [t for item in sent for t in shown_texts(item)]
        quoting = [t for t in shown if t.startswith(QUOTING)]  # a person's own words, quoted back
        own = self.team_channels()
        generated = [t for t in shown if t not in quoting]
        found = inspect(generated, allowed=self.allowed, prefixes=PERMALINKS, actors=own).leaks
        found += inspect(quoting, allowed=self.allowed, prefixes=PERMALINKS, actors=ACTORS, generated=False).leaks
        self.tried[door] += 1
        self.leaks[door] += len(found)
        assert not found, f"{door}: {found[:3]}"
        if door != ESCALATION:
            assert any(f"<{link}|" in t for t in shown for link in self.allowed), f"{door}: no cited KB link"
            assert not has_kb_link(completion) or KB_LINK in "".join(body), f"{door}: the KB's own link was lost"

    def team_channels(self) -> frozenset[str]:
        """The `<#C…>` links Endy builds itself to the teams' channels it resolved (never from generated text)."""
        deps = self.endy.deps
        found = (deps.channels.cached(d.channel).id for d in deps.kb.departments.values())
        return frozenset(f"<#{channel_id}>" for channel_id in found if channel_id)

    async def streamed(self, event: dict[str, Any]) -> list[str]:
        """A DM or a mention: the answer streams into the thread; its body is the markdown chunks."""
        return [str(c.get("text", "")) for c in (await self._stream(event)).chunks]

    async def _stream(self, event: dict[str, Any]) -> Message:
        channel, ts = str(event["event"]["channel"]), str(event["event"]["ts"])
        await self.slack.send_event(event)

        def done() -> list[Message]:
            return [m for m in self.slack.messages(channel, thread_ts=ts) if m.stream_state == "completed"]

        await self.slack.wait_until(lambda: bool(done()), 30, "a finished stream")
        return done()[0]

    async def slash(self) -> dict[str, Any]:
        """/endy: the private answer, posted to the response_url."""
        payload = self.slack.slash_command("/endy", QUESTION, USER, CHANNEL)
        rid = payload["response_url"].rsplit("/", 1)[1]

        def mine() -> list[dict[str, Any]]:
            return [r.body for r in self.slack.responses if r.response_id == rid and isinstance(r.body, dict)]

        await self.slack.send_slash_command(payload)
        await self.slack.wait_until(lambda: bool(mine()), 30, "the /endy answer")
        return mine()[0]

    async def ephemeral(self) -> list[str]:
        """/endy's private answer; its body is the message text."""
        return [str((await self.slash()).get("text"))]

    async def share(self) -> list[str]:
        """/endy, then the asker presses 채널에 공유하기: the stored answer is rendered again for the channel."""
        value = button((await self.slash()).get("blocks"), "share_answer")["value"]
        posted = len(self.slack.messages(CHANNEL))
        action = self.slack.block_actions(USER, "share_answer", value)
        action["container"] = {"type": "message", "channel_id": CHANNEL, "is_ephemeral": True, "message_ts": "1.2"}
        action["response_url"] = self.slack.response_url()
        await self.slack.send_interactive(action)
        await self.slack.wait_until(lambda: len(self.slack.messages(CHANNEL)) > posted, 30, "the shared answer")
        return [self.slack.messages(CHANNEL)[-1].text]

    async def escalate(self, completion: str) -> list[str]:
        """The model declines (hostile text after NOT_IN_HANDBOOK) a question that carries the hostile text too;
        the asker presses 담당 팀에 물어보기 and the question reaches the team's channel."""
        question = " ".join(f"{QUESTION} {completion}".split())[:480]
        reply = await self._stream(self.slack.event_app_mention(USER, question, channel=CHANNEL))

        def teams() -> list[Message]:
            return [m for m in self.slack.messages() if m.channel in self.slack.workspace.by_id]

        before = len(teams())
        value = button(reply.blocks, "escalate")["value"]
        await self.slack.send_interactive(self.slack.block_actions(USER, "escalate", value, reply.channel, reply.ts))
        await self.slack.wait_until(lambda: len(teams()) > before, 30, "the escalation post")
        return []


def door_case(doors: Doors, llm: FakeOpenAI, door: str, route: Callable[[str], Shown]) -> Callable[[], None]:
    """The hypothesis test for one door."""

    @PER_DOOR
    @given(completion=hostile_completion())
    def case(completion: str) -> None:
        llm.reply = f"{NOT_IN_HANDBOOK} {completion}" if door == ESCALATION else completion
        doors.check(door, route(completion), completion)

    return case


async def test_hostile_completions_through_every_door_end_to_end(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(
        llm=True, cache_ttl_seconds=0, rate_limit_per_minute=HIGH_LIMIT, rate_limit_per_hour=HIGH_LIMIT
    )
    assert endy.llm is not None
    doors, slack = Doors(endy, asyncio.get_running_loop()), endy.slack
    routes: dict[str, Callable[[str], Shown]] = {
        "DM (streamed)": lambda _: doors.streamed(slack.event_message_im(USER, QUESTION)),
        "@mention (streamed)": lambda _: doors.streamed(slack.event_app_mention(USER, QUESTION, channel=CHANNEL)),
        "/endy (ephemeral)": lambda _: doors.ephemeral(),
        "share button": lambda _: doors.share(),
        ESCALATION: doors.escalate,
    }
    for door, route in routes.items():
        await asyncio.to_thread(door_case(doors, endy.llm, door, route))
    for door in routes:
        print(f"[trust] hostile completions end to end, {door}: {doors.tried[door]} tried, {doors.leaks[door]} leaks")
    assert min(doors.tried.values()) >= PER_DOOR.max_examples
    assert sum(doors.leaks.values()) == 0
