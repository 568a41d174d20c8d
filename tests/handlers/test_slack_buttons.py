"""Buttons and modals trust only what Endy built and who may press them: signed values, escalation once, the asker
(or an admin) alone escalates or shares, feedback reasons from the list. Real Bolt app, fake Slack, real stores."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers import texts
from tests.endy import Endy, StartEndy
from tests.fakes.slack import Message

pytestmark = pytest.mark.timeout(120)
USER, OTHER, ADMIN, CHANNEL = "U0BOB", "U0CAROL", "U0ADMIN", "C0GENERAL"
NOT_FOUND_QUESTION = "사내 어린이집 신청은 어떻게 해요?"


def errors(endy: Endy, kind: str) -> float:
    """errors_total{type=kind} of one replica."""
    return endy.deps.metrics.registry.get_sample_value("errors_total", {"type": kind}) or 0.0


def button(message: Message | dict[str, Any], action_id: str) -> dict[str, Any]:
    """The first button with that action id in a message's blocks."""
    found = message.blocks if isinstance(message, Message) else message["blocks"]
    return next(e for b in found or [] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id)


def team_posts(endy: Endy) -> list[Message]:
    """What reached a team's channel."""
    return [m for m in endy.slack.messages() if m.channel in endy.slack.workspace.by_id]


def notes_to(endy: Endy, user: str) -> list[str]:
    """The ephemeral notes a user got, in order."""
    return [str(c.body.get("text")) for c in endy.slack.calls_to("chat.postEphemeral") if c.body.get("user") == user]


async def not_found_reply(endy: Endy) -> Message:
    """USER's channel question Endy cannot answer: the reply offers the escalation button."""
    await endy.slack.send_event(endy.slack.event_app_mention(USER, NOT_FOUND_QUESTION, channel=CHANNEL))
    (reply,) = await endy.slack.wait_for_messages(1)
    return reply


async def press(endy: Endy, user: str, action_id: str, value: str, reply: Message, **kwargs: Any) -> None:
    """A click on a button of a message, acked."""
    action = endy.slack.block_actions(user, action_id, value, reply.channel, reply.ts, **kwargs)
    await endy.slack.wait_for_ack(await endy.slack.send_interactive(action))


async def test_forged_button_values_are_refused_with_a_kind_note(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    reply = await not_found_reply(endy)
    signed = button(reply, "escalate")["value"]
    request_id = json.loads(signed.split(".", 2)[2])["r"]
    forged = {
        "escalate": [
            json.dumps({"r": request_id, "d": "hr", "q": "<!channel> 급여 정보는 https://evil.example 에서"}),
            signed.replace("어린이집", "비트코인"),  # a genuine value, edited
        ],
        "share_answer": [request_id],
        "feedback": [f"up|{request_id}", f"down|{request_id}"],
        "ask_related": ["<!here> 아무 질문"],
    }
    for action_id, values in forged.items():
        for value in values:
            kind = "feedback_buttons" if action_id == "feedback" else "button"
            await press(endy, USER, action_id, value, reply, action_type=kind)
    count = sum(len(v) for v in forged.values())
    await endy.slack.wait_until(lambda: len(notes_to(endy, USER)) >= count, what="a note per forged press")
    assert notes_to(endy, USER) == [texts.BUTTON_REFUSED] * count
    assert team_posts(endy) == []
    assert len(endy.slack.messages()) == 1 + count  # the reply and the notes only
    assert await endy.rows("SELECT id FROM feedback") == []
    assert errors(endy, "button_forged") == count


async def test_escalation_is_posted_once_however_often_and_wherever_it_is_pressed(start_endy: StartEndy) -> None:
    first: Endy = await start_endy()
    second: Endy = await start_endy()
    await first.slack.wait_for_connections(2)
    reply = await not_found_reply(first)
    value = button(reply, "escalate")["value"]
    await press(first, USER, "escalate", value, reply)
    await first.slack.wait_until(lambda: len(notes_to(first, USER)) == 1, what="the first note")
    for _ in range(4):  # the fake deals the presses to both replicas in turn
        await press(first, USER, "escalate", value, reply)
    await first.slack.wait_until(lambda: len(notes_to(first, USER)) == 5, what="a note per press")
    (posted,) = team_posts(first)
    assert "어린이집" in posted.text
    department = posted.channel
    assert department in notes_to(first, USER)[0]
    assert "전달했어요" in notes_to(first, USER)[0]
    assert all("이미" in note and department in note for note in notes_to(first, USER)[1:])
    assert {e.connection_id for e in first.slack.envelopes[-5:]} == {1, 2}
    assert errors(first, "escalation_repeated") + errors(second, "escalation_repeated") == 4


async def test_only_the_asker_or_an_admin_escalates(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy(admin_user_ids=[ADMIN])
    reply = await not_found_reply(endy)
    value = button(reply, "escalate")["value"]
    await press(endy, OTHER, "escalate", value, reply)
    await endy.slack.wait_until(lambda: bool(notes_to(endy, OTHER)), what="the refusal")
    assert notes_to(endy, OTHER) == [texts.NOT_YOUR_QUESTION]
    assert team_posts(endy) == []
    assert errors(endy, "button_not_owner") == 1
    await press(endy, ADMIN, "escalate", value, reply)
    await endy.slack.wait_until(lambda: bool(notes_to(endy, ADMIN)), what="the admin's note")
    assert len(team_posts(endy)) == 1
    assert "전달했어요" in notes_to(endy, ADMIN)[0]


async def test_only_the_asker_shares_a_private_answer(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_slash_command(endy.slack.slash_command("/endy", "와이파이 비번 뭐야?", USER, CHANNEL))
    (response,) = await endy.slack.wait_for_responses(1)
    value = button(response.body, "share_answer")["value"]

    async def share_as(user: str) -> None:
        action = endy.slack.block_actions(user, "share_answer", value)
        action["container"] = {"type": "message", "channel_id": CHANNEL, "is_ephemeral": True, "message_ts": "1.2"}
        action["response_url"] = endy.slack.response_url()
        await endy.slack.wait_for_ack(await endy.slack.send_interactive(action))

    await share_as(OTHER)
    await endy.slack.wait_for_responses(2)
    assert endy.slack.responses[1].body["text"] == texts.NOT_YOUR_QUESTION
    assert endy.slack.messages(CHANNEL) == []
    await share_as(USER)
    (shared,) = await endy.slack.wait_for_messages(1, channel=CHANNEL)
    assert f"<@{USER}>" in str(shared.blocks)
    assert "와이파이" in shared.text


def _reasons(*values: str) -> dict[str, Any]:
    return {"reasons": {"value": {"type": "checkboxes", "selected_options": [{"value": v} for v in values]}}}


async def test_feedback_reasons_off_the_list_and_forged_modals_are_refused(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_event(endy.slack.event_message_im(USER, "와이파이 비번 뭐야?"))
    (reply,) = await endy.slack.wait_for_messages(1)
    down = reply.blocks[-1]["elements"][0]["negative_button"]["value"]  # type: ignore[index]
    await press(endy, USER, "feedback", down, reply, action_type="feedback_buttons")
    await endy.slack.wait_for("views.open")

    async def submit(state: dict[str, Any], metadata: str | None = None) -> dict[str, Any]:
        submission = endy.slack.view_submission(USER, "feedback_modal", metadata, state)
        return await endy.slack.wait_for_ack(await endy.slack.send_interactive(submission))

    refused = await submit(_reasons("outdated", '=HYPERLINK("https://evil.example")'))
    assert refused == {"response_action": "errors", "errors": {"reasons": texts.FEEDBACK_BAD_REASON}}
    forged = await submit(_reasons("outdated"), json.dumps({"r": str(reply.ts), "c": CHANNEL, "t": None}))
    assert forged["response_action"] == "errors"
    assert forged["errors"] == {"comment": texts.BUTTON_REFUSED}
    rows = await endy.rows("SELECT rating, reasons FROM feedback")
    assert [(r["rating"], list(r["reasons"] or [])) for r in rows] == [(-1, [])]  # the 👎 alone
    assert (errors(endy, "feedback_bad_reason"), errors(endy, "feedback_forged")) == (1, 1)
    assert await submit(_reasons("outdated", "outdated")) == {}
    rows = await endy.rows("SELECT reasons FROM feedback")
    assert [list(r["reasons"]) for r in rows] == [["outdated"]]
