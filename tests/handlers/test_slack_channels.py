"""Mentions, thread follow-ups, feedback (buttons, modal, reactions), escalation, output safety."""

from __future__ import annotations

import json

import pytest

from tests.endy import Endy, StartEndy

pytestmark = pytest.mark.timeout(90)


def rendered_texts(node: object) -> list[str]:
    """Every string Slack renders from blocks (text objects), where a ping could fire."""
    if isinstance(node, list):
        return [t for item in node for t in rendered_texts(item)]
    if not isinstance(node, dict):
        return []
    found = [node["text"]] if isinstance(node.get("text"), str) and node.get("type") in ("mrkdwn", "plain_text") else []
    return found + [t for key, value in node.items() if key != "value" for t in rendered_texts(value)]


USER, OTHER, CHANNEL = "U0BOB", "U0CAROL", "C0GENERAL"


async def test_mention_is_answered_in_a_thread_and_follow_ups_use_the_history(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    mention = endy.slack.event_app_mention(USER, "연차는 어떻게 신청하나요?", channel=CHANNEL)
    await endy.slack.send_event(mention)
    (first,) = await endy.slack.wait_for_messages(1)
    root = mention["event"]["ts"]
    assert first.thread_ts == root
    assert "e-HR" in first.text
    await endy.slack.send_event(
        endy.slack.event_message_channel(USER, "그럼 취소는요?", channel=CHANNEL, thread_ts=root)
    )
    _, follow = await endy.slack.wait_for_messages(2)
    assert follow.thread_ts == root
    assert "취소" in follow.text
    await endy.slack.send_event(
        endy.slack.event_message_channel(USER, "점심 뭐 먹지", channel=CHANNEL, thread_ts="1600000000.000100")
    )
    await endy.slack.send_event(endy.slack.event_app_mention(USER, "VPN 접속", channel=CHANNEL))
    messages = await endy.slack.wait_for_messages(3)
    assert "VPN" in messages[2].text  # the unrelated thread got no answer
    rows = await endy.rows(
        "SELECT c.surface, c.thread_ts FROM messages m JOIN conversations c ON c.id = m.conversation_id ORDER BY m.id"
    )
    assert [(r["surface"], r["thread_ts"]) for r in rows][:2] == [("mention", root), ("mention", root)]


async def test_user_typed_pings_are_never_emitted(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_event(
        endy.slack.event_app_mention(USER, "<!channel> <!here> 비트코인 <@U0CAROL> 어때?", channel=CHANNEL)
    )
    (reply,) = await endy.slack.wait_for_messages(1)
    raw = reply.text + "\n".join(rendered_texts(reply.blocks))
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U0CAROL>"):
        assert ping not in raw
    assert "찾지 못했어요" in reply.text
    assert "escalate" in json.dumps(reply.blocks)


async def test_thumbs_down_opens_the_modal_and_stores_reasons(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_event(endy.slack.event_message_im(USER, "와이파이 비번 뭐야?"))
    (reply,) = await endy.slack.wait_for_messages(1)
    feedback = reply.blocks[-1]["elements"][0]  # type: ignore[index]
    down = feedback["negative_button"]["value"]
    await endy.slack.send_interactive(
        endy.slack.block_actions(USER, "feedback", down, reply.channel, reply.ts, action_type="feedback_buttons")
    )
    await endy.slack.wait_for("views.open")
    await endy.slack.send_interactive(
        endy.slack.view_submission(
            USER,
            "feedback_modal",
            state_values={
                "reasons": {"value": {"type": "checkboxes", "selected_options": [{"value": "outdated"}]}},
                "comment": {"value": {"type": "plain_text_input", "value": "비번이 바뀌었어요. 제 메일 a@b.co"}},
            },
        )
    )
    await endy.slack.wait_for("chat.postEphemeral")
    rows = await endy.rows("SELECT rating, via, reasons, comment FROM feedback")
    assert [(r["rating"], r["via"], r["reasons"]) for r in rows] == [(-1, "button", ["outdated"])]
    assert "a@b.co" not in rows[0]["comment"]
    assert "[이메일]" in rows[0]["comment"]


async def test_reactions_record_and_retract_one_vote_per_user(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_event(endy.slack.event_message_im(USER, "급여일이 언제예요?"))
    (reply,) = await endy.slack.wait_for_messages(1)
    await endy.deps.recorder.flush(10)
    for event in (
        endy.slack.event_reaction_added(USER, "thumbsup", reply.channel, reply.ts),
        endy.slack.event_reaction_added(OTHER, "-1::skin-tone-3", reply.channel, reply.ts),
        endy.slack.event_reaction_added(USER, "tada", reply.channel, reply.ts),
    ):
        await endy.slack.send_event(event)
    await endy.slack.wait_until(lambda: len(endy.slack.acks) >= 4)
    rows = await endy.rows("SELECT user_id, rating FROM feedback ORDER BY user_id")
    assert [(r["user_id"], r["rating"]) for r in rows] == [(USER, 1), (OTHER, -1)]
    await endy.slack.send_event(endy.slack.event_reaction_removed(USER, "thumbsup", reply.channel, reply.ts))
    await endy.slack.wait_until(lambda: len(endy.slack.acks) >= 5)
    rows = await endy.rows("SELECT user_id FROM feedback")
    assert [r["user_id"] for r in rows] == [OTHER]


async def test_escalation_posts_the_masked_question_to_the_owning_team(start_endy: StartEndy) -> None:
    endy: Endy = await start_endy()
    await endy.slack.send_event(
        endy.slack.event_app_mention(USER, "사내 어린이집 신청은 어떻게 해요? 제 번호 010-5555-6666", channel=CHANNEL)
    )
    (reply,) = await endy.slack.wait_for_messages(1)
    button = next(
        e for b in reply.blocks or [] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "escalate"
    )
    await endy.slack.send_interactive(
        endy.slack.block_actions(USER, "escalate", button["value"], reply.channel, reply.ts)
    )
    await endy.slack.wait_for("chat.postEphemeral")
    posted = [m for m in endy.slack.messages() if m.channel in endy.slack.workspace.by_id]  # by id, not by name
    assert len(posted) == 1
    assert "어린이집" in posted[0].text
    assert "010-5555-6666" not in posted[0].text
    told = endy.slack.calls_to("chat.postEphemeral")[0].body
    assert posted[0].channel in told["text"]
    assert told["user"] == USER
