"""Malformed and partial Slack payloads through one real Endy: fuzzed events, broken envelopes, forged interactions.

Each broken delivery is followed by a marker question: Endy must still answer it, and no exception may come from
Endy's own code (a traceback through handlers/, services/ or endy_bot/, at the error hook or in any log).
Exceptions raised inside Bolt or slack_sdk alone (their payload parsing and middleware) are counted, not failed:
Slack never sends such payloads, and Endy cannot intercept them.
Hypothesis runs in a worker thread against the test's event loop, as in test_hostile_input.py.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from handlers import texts
from tests.endy import Endy, StartEndy
from tests.helpers import eventually
from tests.resilience import test_hostile_input as hostile
from tests.resilience.helpers import HIGH_LIMIT, report, settle
from tests.resilience.test_hostile_input import APOLOGY, BOT, CHANNEL, FUZZ, Crashes

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(300)]
crashes = hostile.crashes  # the fixture: every ERROR logged while a test runs, split by whose code raised


DROP = "<drop the field>"
USERS = itertools.count(1000)
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)
KINDS = "message.im message.thread app_mention reaction_added reaction_removed app_home_opened".split()
KINDS += ["assistant_thread_started", "no_such_event"]  # the last: no listener, Bolt answers 404
KEYS = "type user text channel ts thread_ts channel_type subtype bot_id blocks event_ts item item_user".split()
KEYS += ["reaction", "tab", "assistant_thread"]
mutations = st.dictionaries(st.sampled_from(KEYS), st.one_of(st.just(DROP), junk), min_size=1, max_size=4)


def well_formed(endy: Endy, kind: str, answer: tuple[str, str]) -> dict[str, Any]:
    """A genuine event_callback of ``kind`` (to be broken afterwards); reactions are votes on a stored answer."""
    slack, user = endy.slack, f"U0B{next(USERS)}"  # a new user each time: examples do not share greeting state
    if kind == "message.im":
        return slack.event_message_im(user, "연차 신청 방법")
    if kind == "message.thread":
        return slack.event_message_channel(user, "그럼 취소는요?", channel=CHANNEL, thread_ts="1600000000.000100")
    if kind == "app_mention":
        return slack.event_app_mention(user, "급여일", channel=CHANNEL)
    if kind in ("reaction_added", "reaction_removed"):
        return slack._reaction(kind, user, "-1", *answer, BOT)  # noqa: SLF001
    if kind == "app_home_opened":
        return slack.event_app_home_opened(user, tab="messages")
    thread = {"user_id": user, "context": {}, "channel_id": "D0BROKEN", "thread_ts": "1600000000.000300"}
    return slack.event_callback({"type": kind, "assistant_thread": thread, "event_ts": "1600000000.000300"})


class Survivor:
    """Delivers one broken payload, then proves Endy still answers and none of its own code raised for it."""

    def __init__(self, endy: Endy, crashes: Crashes) -> None:
        self.endy, self.slack, self.crashes = endy, endy.slack, crashes
        self.cases = 0

    async def survives(self, what: str, envelope: dict[str, Any]) -> None:
        """Deliver a raw Socket Mode envelope (any payload), then a marker question that must be answered."""
        self.cases += 1
        crashes, rejected, apologies = len(self.crashes.ours), len(self.crashes.library), self.apologies()
        await self.slack._deliver(envelope, 10.0)  # noqa: SLF001 -- raw: send_event insists on a dict payload
        marker = self.slack.event_message_im("U0MARKER", "급여일이 언제예요?")
        await self.slack.send_event(marker)
        ts = marker["event"]["ts"]
        await self.slack.wait_until(lambda: bool(self.slack.messages(thread_ts=ts)), 30, f"the marker after {what}")
        await eventually(lambda: len(self.endy.server.tasks) == 0, f"idle answer tasks after {what}", 20)
        new = self.crashes.ours[crashes:]
        assert not new, f"{what}: {new}"
        if len(self.crashes.library) == rejected:  # Bolt's own failures reach the error hook, which apologises
            assert self.apologies() == apologies, f"an apology was posted for {what}"
        assert await self.endy.deps.recorder.flush(5), f"{what}: the write-behind recorder stopped writing"

    def apologies(self) -> int:
        return sum(APOLOGY in m.text for m in self.slack.messages())


def envelope(kind: str, payload: Any) -> dict[str, Any]:
    """A Socket Mode envelope around any payload."""
    return {"envelope_id": f"env-{id(payload)}", "type": kind, "payload": payload, "accepts_response_payload": True}


async def test_fuzzed_broken_events_never_crash_a_handler(start_endy: StartEndy, crashes: Crashes) -> None:
    endy: Endy = await start_endy(rate_limit_per_minute=HIGH_LIMIT, rate_limit_per_hour=HIGH_LIMIT)
    survivor, loop = Survivor(endy, crashes), asyncio.get_running_loop()
    await endy.slack.send_event(endy.slack.event_message_im("U0BROKEN", "연차는 어떻게 신청하나요?"))
    (answer,) = await endy.slack.wait_for_messages(1)
    await settle(endy)  # stored: a vote on it lands at once

    async def send(kind: str, changes: dict[str, Any]) -> None:
        payload = well_formed(endy, kind, (answer.channel, answer.ts))
        for key, value in changes.items():
            if value == DROP:
                payload["event"].pop(key, None)
            else:
                payload["event"][key] = value
        await survivor.survives(f"{kind} with {changes!r}", envelope("events_api", payload))

    @FUZZ
    @given(kind=st.sampled_from(KINDS), changes=mutations)
    @example(kind="message.im", changes={"channel": DROP})
    @example(kind="message.im", changes={"ts": DROP})
    @example(kind="app_mention", changes={"channel": DROP, "text": None})
    @example(kind="app_mention", changes={"ts": DROP})
    @example(kind="app_home_opened", changes={"user": DROP})
    @example(kind="reaction_added", changes={"item": DROP})
    @example(kind="message.im", changes={"text": 12345, "user": {"id": "U1"}})
    @example(kind="no_such_event", changes={"user": "U0X"})
    @example(kind="assistant_thread_started", changes={"assistant_thread": True})
    @example(kind="message.im", changes={"text": DROP, "channel": ""})
    def case(kind: str, changes: dict[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(send(kind, changes), loop).result(timeout=60)

    await asyncio.to_thread(case)
    await settle(endy)
    assert crashes.ours == []
    report(f"broken events: {survivor.cases} fuzz cases; {len(crashes.library)} refused inside Bolt/slack_sdk")


def broken_envelopes(endy: Endy) -> dict[str, dict[str, Any]]:
    """Envelope-level garbage, and interaction payloads carrying values Endy never built."""
    slack = endy.slack

    env = envelope

    def action(action_id: str, value: str, **kwargs: Any) -> dict[str, Any]:
        return env("interactive", slack.block_actions("U0BROKEN", action_id, value, "D0BROKEN", "1.000200", **kwargs))

    slash = slack.slash_command("/endy", "연차", "U0BROKEN")
    no_actions = {**slack.block_actions("U0BROKEN", "feedback", "up|x"), "actions": []}
    return {
        "events_api without event": env("events_api", {"type": "event_callback", "event_id": "Ev0NOEVENT"}),
        "events_api with null event": env(
            "events_api", {"type": "event_callback", "event_id": "Ev0NULL", "event": None}
        ),
        "events_api payload is a list": env("events_api", [1, 2, 3]),
        "events_api payload is null": env("events_api", None),
        "unknown envelope type": env("bogus_type", {"type": "event_callback"}),
        "slash without text": env("slash_commands", {k: v for k, v in slash.items() if k != "text"}),
        "slash with null text": env("slash_commands", {**slash, "text": None}),
        "slash for an unknown command": env("slash_commands", {**slash, "command": "/nope"}),
        "block_actions without actions": env("interactive", no_actions),
        "feedback sideways": action("feedback", "sideways", action_type="feedback_buttons"),
        "escalate to an unknown team": action("escalate", '{"d": "nope", "q": "질문"}'),
        "share of garbage": action("share_answer", "garbage"),
        "modal with an unknown callback": env("interactive", slack.view_submission("U0BROKEN", "no_such_modal")),
        "interactive of unknown type": env("interactive", {"type": "bogus", "user": {"id": "U0BROKEN"}}),
    }


async def test_broken_envelopes_and_interactions_never_crash_a_handler(start_endy: StartEndy, crashes: Crashes) -> None:
    endy: Endy = await start_endy(rate_limit_per_minute=HIGH_LIMIT, rate_limit_per_hour=HIGH_LIMIT)
    survivor, failures = Survivor(endy, crashes), []
    for what, broken in broken_envelopes(endy).items():
        try:
            await survivor.survives(what, broken)
        except AssertionError as err:
            failures.append(str(err).splitlines()[0])
    assert failures == []


async def test_a_vote_for_a_request_id_that_is_not_a_uuid_does_not_stop_the_recorder(
    start_endy: StartEndy, crashes: Crashes
) -> None:
    endy: Endy = await start_endy()
    vote = endy.slack.block_actions("U0BROKEN", "feedback", "down|not-a-uuid", "D0BROKEN", "1.000200")
    vote["actions"][0]["type"] = "feedback_buttons"
    await Survivor(endy, crashes).survives("a vote for request id 'not-a-uuid'", envelope("interactive", vote))


async def test_a_thumbs_up_on_the_greeting_holds_up_no_other_write(start_endy: StartEndy, crashes: Crashes) -> None:
    """The greeting is no stored answer: the vote is set aside (services/persist.py) while the writes behind it,
    such as the /endy answer being shared, go ahead."""
    endy: Endy = await start_endy()
    await endy.slack.send_event(endy.slack.event_app_home_opened("U0FAN", tab="messages"))
    (greeting,) = await endy.slack.wait_for_messages(1)
    await endy.slack.send_event(endy.slack.event_reaction_added("U0FAN", "thumbsup", greeting.channel, greeting.ts))
    await endy.slack.send_slash_command(endy.slack.slash_command("/endy", "와이파이 비번 뭐야?", "U0FAN", CHANNEL))
    (response,) = await endy.slack.wait_for_responses(1)
    share = next(
        e
        for b in response.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == "share_answer"
    )
    action = endy.slack.block_actions("U0FAN", "share_answer", share["value"])
    action |= {"container": {"type": "message", "channel_id": CHANNEL, "is_ephemeral": True, "message_ts": "1.2"}}
    action["response_url"] = endy.slack.response_url()
    await endy.slack.send_interactive(action)
    await endy.slack.wait_for_responses(2)
    assert texts.ANSWER_EXPIRED not in str(endy.slack.responses[1].body)
    assert endy.slack.messages(CHANNEL), "the answer was shared into the channel"
    assert crashes.ours == []


async def test_the_error_hook_survives_an_event_that_is_not_an_object(start_endy: StartEndy, crashes: Crashes) -> None:
    endy: Endy = await start_endy()
    payload = {"type": "event_callback", "event_id": "Ev0STRING", "event": "hi"}
    await Survivor(endy, crashes).survives("an event that is a string", envelope("events_api", payload))
